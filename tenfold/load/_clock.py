"""The open model's arrival clock: one per generator process, a sender greenlet per arrival in flight.

Locust is closed-model: a user starts its next task only when the last one returned, so a slow service slows
the load down and hides its own slowness (coordinated omission). Here one clock per process starts each
arrival at its scheduled time whatever the earlier ones are doing; the scheduled time is the arrival's
*intended* start, and latency measured from it is what a real client would have seen. At most ``cap`` arrivals
are in flight; past that the clock waits for one to end, and the wait is the service's doing (it shows in the
latency from the intended start), not the generator's lag.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
from gevent.hub import Waiter, get_hub

from ._recorder import Lags
from ._scenario import Schedule

__all__ = ["ArrivalClock"]

log = logging.getLogger("tenfold.load")

Handler = Callable[[float, float], None]
"""Runs one arrival: ``(intended start in epoch seconds, perf_counter when it could have started)``."""


class ArrivalClock:
    def __init__(
        self, schedule: Schedule, *, share: float, cap: int, poisson: bool, rng: random.Random, t0_epoch: float,
        t0_perf: float,
    ) -> None:  # fmt: skip
        self.schedule = schedule
        self.share = share
        self.cap = cap
        self.poisson = poisson
        self.rng = rng
        self.t0_epoch = t0_epoch
        self.t0_perf = t0_perf
        self.lags = Lags()
        self.in_flight = 0
        self.scheduled = 0
        self.by_phase = [0] * len(schedule.phases)
        self.started = False
        self.closed = False
        self._stop = False
        self._slot_free = gevent.event.Event()
        self._clock_waiting = False
        self._idle = gevent.event.Event()
        self._idle.set()
        self._parked: list[Any] = []  # Waiters of sender greenlets with nothing to do

    def stop(self) -> None:
        """No more arrivals after the current one (a signal, or the runner stopping early)."""
        self._stop = True
        self._slot_free.set()

    def run(self, handle: Handler) -> None:
        """Start every arrival at its scheduled time until the schedule ends; never wait for answers."""
        self.started = True
        schedule, share, rng, poisson = self.schedule, self.share, self.rng, self.poisson
        base = self.t0_perf
        end = schedule.duration
        phase_ends = [p.end for p in schedule.phases]
        cap = self.cap
        spawn = gevent.spawn_raw
        sender = self._sender
        parked = self._parked
        run_callback = get_hub().loop.run_callback
        perf = time.perf_counter
        e0 = self.t0_epoch
        phase = 0

        def gap(t: float) -> float:
            rate = schedule.rate_at(max(t, 0.0)) * share
            draw = rng.expovariate(1.0) if poisson else 1.0
            return draw / rate if rate > 0 else 0.05

        t = 0.0
        while t < end and not self._stop:
            now = perf() - base
            if t > now:
                gevent.sleep(t - now)
                if self._stop:
                    break
            elif now >= end:
                break  # so far behind that the schedule is over: what was not sent is not sent late
            ready = t
            if self.in_flight >= cap:
                self._clock_waiting = True
                while self.in_flight >= cap and not self._stop:
                    self._slot_free.clear()
                    self._slot_free.wait()
                self._clock_waiting = False
                if self._stop:
                    break
                ready = max(t, perf() - base)  # waiting for a free slot is the service's doing, not ours
            while phase < len(phase_ends) - 1 and t >= phase_ends[phase]:
                phase += 1
            self.by_phase[phase] += 1
            self.scheduled += 1
            self.in_flight += 1
            self._idle.clear()
            job = (e0 + t, base + ready)
            if parked:
                run_callback(parked.pop().switch, job)
            else:
                spawn(sender, handle, job)
            t += gap(t)

    def _sender(self, handle: Handler, job: tuple[float, float]) -> None:
        """A sender greenlet: runs an arrival, parks, repeats. Handing a job to a parked greenlet costs ~1 µs,
        spawning a greenlet per arrival ~9 µs."""
        parked = self._parked
        while True:
            intended, ready_perf = job
            self.lags.add(time.perf_counter() - ready_perf, intended)
            try:
                handle(intended, ready_perf)
            except gevent.GreenletExit:
                raise
            except Exception:  # a bug must not silently shrink the generator
                log.exception("tenfold: an arrival failed inside the generator")
            self.in_flight -= 1
            if self._clock_waiting:
                self._slot_free.set()
            if self.in_flight == 0:
                self._idle.set()
            if self.closed:
                return
            w = Waiter()
            parked.append(w)
            got = w.get()
            if got is None:
                return
            job = got

    def drain(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the arrivals in flight to end; True when none is left."""
        return bool(self._idle.wait(timeout=timeout_s))

    def close(self) -> None:
        """Release the parked sender greenlets; arrivals still running end on their own."""
        self.closed = True
        self.stop()
        hub = get_hub()
        while self._parked:
            hub.loop.run_callback(self._parked.pop().switch, None)
