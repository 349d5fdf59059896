"""One load-generating process (the local runner, or a worker): its arrival clock, user pools, recorder and ledger,
and at the end its parts: ``requests-<i>.parquet``, ``ledger-<i>.jsonl`` and, last, ``health-<i>.json``.

Imported only inside the Locust process (it imports locust, which monkey-patches the interpreter).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from pathlib import Path
from typing import Any

import gevent
from locust import User

from tenfold import ledger as public_ledger

from ._capture import Capture
from ._clock import ArrivalClock
from ._gc import deferred_collection, max_new_objects_from_env
from ._health import CpuSampler
from ._ledger import Ledger
from ._recorder import Recorder
from ._scenario import Profile, Scenario, Schedule
from ._users import UserPools, ignored_wait_times

__all__ = ["DRAIN_S", "Generator", "driven_classes"]

log = logging.getLogger("tenfold.load")

DRAIN_S = 1.0
"""After the schedule: how long arrivals in flight get to end (plus a quarter of the profile's timeout)."""


def driven_classes(environment: Any) -> list[type[User]]:
    """The locustfile's user classes: every concrete one Locust found, except tenfold's arrival clock."""
    return [c for c in environment.user_classes or [] if not getattr(c, "tenfold_clock", False) and not c.abstract]


class Generator:
    """Per-process state of a load-generating process (local runner or worker)."""

    def __init__(
        self, environment: Any, worker: int, share: float, t0_epoch: float, scenario: Scenario, profile: Profile,
        schedule: Schedule, parts: Path,
    ) -> None:  # fmt: skip
        self.environment = environment
        self.scenario, self.profile = scenario, profile
        self.schedule = schedule
        self.worker = worker
        self.share = share
        self.parts = parts
        self.parts.mkdir(parents=True, exist_ok=True)
        self.recorder = Recorder(worker)
        self.capture = Capture(self.recorder)
        self.ledger = Ledger(self.parts / f"ledger-{worker}.jsonl", worker)
        classes = driven_classes(environment)
        if not classes:
            raise SystemExit("tenfold: the locustfile defines no User class to run (HttpUser/FastHttpUser with @task)")
        rng = random.Random(0x7E4F01D + worker)
        self.pools = UserPools(environment, classes, self.capture, rng)
        self.wait_times = ignored_wait_times(classes)
        # every process shares the master's time base, so the phases line up across workers
        t0_perf = time.perf_counter() + (t0_epoch - time.time())
        self.clock = ArrivalClock(self.schedule, share=share, cap=self.profile.max_in_flight,
                                  poisson=self.profile.arrivals == "poisson", rng=rng, t0_epoch=t0_epoch,
                                  t0_perf=t0_perf)  # fmt: skip
        self.cpu = CpuSampler()
        self._cpu_greenlet = gevent.spawn(self._sample_cpu)
        self._gc = contextlib.ExitStack()
        environment.events.request.add_listener(self.capture.on_request)
        public_ledger._install_sink(self._ledger_write)
        names = ", ".join(c.__name__ for c in classes)
        log.info("tenfold: open model over %s (%s arrivals/s at baseline x %g at peak, %d in flight at most)",
                 names, f"{self.profile.baseline_rate * share:g}", self.profile.peak_multiplier,
                 self.profile.max_in_flight)  # fmt: skip
        if self.wait_times:
            log.warning("tenfold: wait_time of %s has no meaning under the open model (tenfold's clock starts each "
                        "task at its scheduled arrival): ignored", ", ".join(self.wait_times))  # fmt: skip

    def _sample_cpu(self) -> None:
        while True:
            gevent.sleep(1.0)
            self.cpu.sample(time.time())

    def _ledger_write(self, kind: str, key: str, outcome: str) -> None:
        arrival = self.capture.current()
        now = time.time()
        sent = arrival.last_sent if arrival is not None and arrival.last_sent is not None else now
        self.ledger.write(kind, key, outcome, sent, now)

    def run(self) -> None:
        # Collection stays deferred until finish(): collecting as soon as the clock is done would pause the
        # arrivals it just dispatched (a full collection of a large heap takes ~1 s: the last second left late).
        self._gc.enter_context(deferred_collection(max_new_objects_from_env()))
        self.clock.run(self.pools.run)

    def finish(self) -> None:
        """Stop the clock, let arrivals in flight end (bounded), then write this process's parts; health last."""
        self.clock.stop()
        self.clock.drain(DRAIN_S + self.profile.timeout_s / 4)
        in_flight = self.clock.in_flight
        self.pools.stop_all(2.0)
        abandoned = self.capture.close()  # unanswered requests become timeouts lasting until now
        self.clock.close()
        self.environment.events.request.remove_listener(self.capture.on_request)
        public_ledger._install_sink(None)
        self._cpu_greenlet.kill(block=False)
        self.ledger.close()
        lag_p99_ms, latest = self.clock.lags.p99_ms(), self.clock.lags.worst_seconds()
        self._gc.close()
        self.recorder.write(self.parts / f"requests-{self.worker}.parquet")
        setup = self.pools.setup
        health = {
            "worker": self.worker,
            "share": self.share,
            "allowed_cores": self.cpu.allowed,
            "cpu_samples": self.cpu.samples,
            "lag_p99_ms": round(lag_p99_ms, 3),
            "latest_seconds": latest,
            "scheduled": self.clock.scheduled,
            "arrivals_by_phase": {p.name: n for p, n in zip(self.schedule.phases, self.clock.by_phase, strict=True)},
            "recorded": self.recorder.n,
            "abandoned": abandoned,
            "arrivals_unfinished": in_flight,
            "user_instances": self.pools.instances,
            "on_start": {"runs": setup.runs, "failures": setup.failures, "first_failure": setup.first_failure},
            "task_errors": setup.task_errors,
            "task_error_kinds": dict(sorted(setup.task_error_kinds.items(), key=lambda kv: -kv[1])[:10]),
            "routes": len(self.recorder.routes.names),
            "routes_overflow": {
                "requests": self.recorder.routes.overflow_requests,
                "names": len(self.recorder.routes.overflow_names),
            },
            "wait_time_ignored": self.wait_times,
            "acknowledged_writes": self.ledger.count,
            "unknown_writes": self.ledger.unknown,
        }
        tmp = self.parts / f".health-{self.worker}.tmp"
        tmp.write_text(json.dumps(health))
        tmp.rename(self.parts / f"health-{self.worker}.json")
