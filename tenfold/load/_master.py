"""The master's side of distributed load: who joined, who went missing, and collecting every worker's records over
Locust's messaging before the master merges them (:mod:`tenfold.load._transfer` carries them)."""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent
from locust.runners import STATE_MISSING, MasterRunner

from ._scenario import Scenario
from ._state import state
from ._transfer import FINISH, SILENCE_S, LostWorker, PartsReceiver

__all__ = ["collect_parts", "start_master"]

log = logging.getLogger("tenfold.load")


def start_master(runner: MasterRunner, scenario: Scenario, profile: str) -> None:
    """Tell the workers who joined their share, the common start and the plan; watch them while the load runs."""
    state.workers = max(1, runner.worker_count)
    index_of: Any = runner.get_worker_index  # untyped in Locust
    state.expected = {int(index_of(c.id)): c.id for c in runner.clients.all if c.state != STATE_MISSING}
    state.went_missing, state.lost, state.collected = {}, [], False
    plan = {"scenario": scenario.model_dump(mode="json"), "profile": profile, "run_time": state.run_time}
    runner.send_message("tenfold_workers", {"workers": state.workers, "t0": state.t0, "plan": plan})
    log.info("tenfold: %d workers joined: %s", state.workers,
             ", ".join(f"{i} ({c})" for i, c in sorted(state.expected.items())))  # fmt: skip
    gevent.spawn(_watch_workers, runner)


def _watch_workers(runner: MasterRunner) -> None:
    """Note when a worker stops answering (no heartbeat for 3 s) or quits before it sent its records."""
    while not state.collected:
        for index, client_id in state.expected.items():
            if index in state.went_missing or index in (state.receiver.done if state.receiver else ()):
                continue
            if not _alive(runner, client_id):
                how = "went missing" if client_id in runner.clients else "quit"
                state.went_missing[index] = (time.time(), how)
                log.error("tenfold: worker %d (%s) %s %.1f s into the schedule", index, client_id, how,
                          time.time() - state.t0)  # fmt: skip
        gevent.sleep(1.0)


def _alive(runner: MasterRunner, client_id: str) -> bool:
    return client_id in runner.clients and runner.clients[client_id].state != STATE_MISSING


def collect_parts(runner: MasterRunner) -> None:
    """Ask every worker for its parts and wait until each sent them, went missing, or fell silent."""
    receiver = state.receiver
    if state.collected or receiver is None:
        return
    for client_id in state.expected.values():
        if _alive(runner, client_id):
            runner.send_message(FINISH, None, client_id=client_id)
    receiver.last_heard = time.monotonic()
    log.info("tenfold: waiting for the records of %d workers", len(state.expected))

    def pending() -> list[int]:
        return [i for i in state.expected if i not in receiver.done and receiver.broken(i) is None]

    while any(_alive(runner, state.expected[i]) for i in pending()):
        if time.monotonic() - receiver.last_heard >= SILENCE_S:
            break
        gevent.sleep(0.1)
    state.collected = True
    unfinished = sorted(i for i in state.expected if i not in receiver.done)
    state.lost = [LostWorker(i, state.expected[i], _why_lost(runner, i, receiver)) for i in unfinished]


def _why_lost(runner: MasterRunner, index: int, receiver: PartsReceiver) -> str:
    broken = receiver.broken(index)
    if broken is not None:
        return f"{broken}: its records are incomplete"
    missing = state.went_missing.get(index)
    if missing is None and not _alive(runner, state.expected[index]):
        missing = (time.time(), "went missing" if state.expected[index] in runner.clients else "quit")
    if missing is not None:
        at, how = missing
        why = "no heartbeat: it died or lost its connection to the master" if how == "went missing" else "stopped"
        return f"{how} {at - state.t0:.1f} s into the schedule ({why}) and sent no records"
    return f"sent nothing for {SILENCE_S:g} s after it was asked for its records"
