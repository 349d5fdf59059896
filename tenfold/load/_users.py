"""A plain locustfile's users under the open model: each arrival runs one task on a pooled user instance.

The locustfile is written as Locust's docs write one (``HttpUser``/``FastHttpUser`` classes, ``@task`` weights,
``TaskSet``s, ``on_start``/``on_stop``). An arrival picks a user class by its ``weight``, takes an idle instance
of it from the pool (or makes one, running its ``on_start`` once: a login is made once and reused, as a client
app does), runs one task picked as Locust would pick it (weights; a ``SequentialTaskSet`` in order; a nested
``TaskSet`` entered once and left by ``interrupt()``), and puts the instance back. The pool holds at most as many
instances as arrivals are in flight, so its size bounds concurrency. ``wait_time`` has no meaning here: the clock
decides when the next task starts.
"""

from __future__ import annotations

import gc
import logging
import random
import select
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.monkey
from locust import User
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately, StopUser
from locust.user.task import DefaultTaskSet, TaskSet

from ._capture import Arrival, Capture

__all__ = ["SetupStats", "UserPools", "ignored_wait_times"]

log = logging.getLogger("tenfold.load")


_FD_SETSIZE = 1024


def _poll_socket_liveness() -> None:
    """Make geventhttpclient check a pooled keep-alive socket with poll(2) instead of select(2) (once per process).

    Before reusing a pooled connection, its ``ConnectionPool._is_socket_alive`` (2.6.1) calls ``select.select``;
    gevent's select first calls the real select(2), which refuses a descriptor >= 1024 (FD_SETSIZE), and the pool
    takes that for a dead socket. Past ~1,000 open connections every FastHttpUser request then closes its
    keep-alive connection and opens a new one (resolving the host again on gevent's thread pool): at 3,000
    arrivals/s with 1 s answers, 17k connections for 24k requests and the generator's CPU saturated. poll(2) has
    no such limit; the answer is the same (an idle keep-alive socket that is readable got a FIN or stray bytes).
    """
    try:
        from geventhttpclient.connectionpool import ConnectionPool
    except ImportError:
        return
    pool: Any = ConnectionPool
    current = getattr(pool, "_is_socket_alive", None)
    if current is None or getattr(current, "_tenfold", False):
        return
    real_poll: Any = gevent.monkey.get_original("select", "poll")  # the unpatched one: returns at once
    events = select.POLLIN | select.POLLPRI

    def is_socket_alive(self: Any, sock: Any) -> bool:
        if sock is None:
            return False
        try:
            fd = sock.fileno()
            if fd < 0:
                return False
            if fd < _FD_SETSIZE:  # select(2) works here, and its path is the cheaper one (bench/load.py: 0.9 vs 0.65)
                return bool(current(self, sock))
            p = real_poll()
            p.register(fd, events)
            return not p.poll(0)
        except (OSError, ValueError):
            return False

    is_socket_alive._tenfold = True  # type: ignore[attr-defined]
    pool._is_socket_alive = is_socket_alive


def ignored_wait_times(classes: list[type[User]]) -> list[str]:
    """The user classes and task sets that set a ``wait_time``: it is ignored under the open model."""
    out: list[str] = []
    seen: set[type] = set()

    def visit(holder: type, default: Any) -> None:
        if holder in seen:
            return
        seen.add(holder)
        if getattr(holder, "wait_time", default) is not default:
            out.append(holder.__name__)
        for t in getattr(holder, "tasks", []) or []:
            if isinstance(t, type) and issubclass(t, TaskSet):
                visit(t, TaskSet.wait_time)

    for c in classes:
        visit(c, User.wait_time)
    return out


@dataclass
class SetupStats:
    """``on_start`` runs and how many failed (raised, or a request in it failed): every one failing makes the run
    invalid (the workload cannot log in, say), and task errors (exceptions in tasks) by kind."""

    runs: int = 0
    failures: int = 0
    first_failure: str | None = None
    task_errors: int = 0
    task_error_kinds: dict[str, int] = field(default_factory=dict)


def _freeze_grown_pool() -> None:
    """The pool grew to a new size: while automatic collection is off (tenfold.load._gc defers it while the clock
    runs, its set-up objects frozen), freeze what is alive now, the new instance included, as the set-up objects were.

    An instance lives as long as the run (its session, connection pool, cookies: ~100 tracked objects), so a pool
    of 10,000 is ~1M objects that the deferred collection would otherwise walk and keep (0 unreachable, 340-370 ms
    with every arrival waiting: start lag p99 332 ms at 10,000 in flight; 6 ms frozen). Freezing is O(1) and frees
    nothing early: objects are still freed by reference counting, and the few cyclic ones made since the last
    freeze wait for the end of the run (``gc.unfreeze`` then). Only on a new high, so a locustfile whose users
    stop (StopUser) and are made again does not freeze on every arrival."""
    if not gc.isenabled():  # (gc.get_freeze_count() would walk every frozen object)
        gc.freeze()


class UserPools:
    def __init__(self, environment: Any, classes: list[type[User]], capture: Capture, rng: random.Random) -> None:
        if not classes:
            raise ValueError("no User class to run")
        self.environment = environment
        self.classes = classes
        self.capture = capture
        self.rng = rng
        weights = [max(0.0, float(getattr(c, "weight", 1) or 0)) for c in classes]
        total = sum(weights) or float(len(classes))
        acc = 0.0
        self._cum: list[float] = []
        for w in weights if sum(weights) else [1.0] * len(classes):
            acc += w / total
            self._cum.append(acc)
        self._idle: dict[type[User], list[User]] = {c: [] for c in classes}
        self.instances = 0
        self._live = 0  # instances in the pool or running a task
        self._most_live = 0
        self.setup = SetupStats()
        self._stacks: dict[int, list[Any]] = {}  # per user: its task sets (Locust's are untyped)
        _poll_socket_liveness()

    def _pick_class(self) -> type[User]:
        if len(self.classes) == 1:
            return self.classes[0]
        x = self.rng.random()
        for c, edge in zip(self.classes, self._cum, strict=True):
            if x < edge:
                return c
        return self.classes[-1]

    def run(self, intended: float, ready_perf: float) -> None:
        """One arrival (a clock handler): a user instance from the pool, one task, the instance back."""
        g = gevent.getcurrent()
        arrival = Arrival(intended)
        self.capture.arrivals[g] = arrival
        try:
            cls = self._pick_class()
            idle = self._idle[cls]
            user = idle.pop() if idle else self._new(cls, arrival)
            if user is None:
                return
            if self._one_task(user):
                idle.append(user)
        finally:
            self.capture.arrivals.pop(g, None)

    def _new(self, cls: type[User], arrival: Arrival) -> User | None:
        """A fresh instance with its ``on_start`` done, or None when it raised (the arrival is spent on it)."""
        user = cls(self.environment)
        client = getattr(user, "client", None)
        if client is not None and hasattr(client, "request"):
            self.capture.wrap_client(client)
        self.instances += 1
        self._stacks[id(user)] = [DefaultTaskSet(user)]
        arrival.setup = True
        began = time.time()
        failed: str | None = None
        raised = False
        try:
            user.on_start()
        except (StopUser, RescheduleTask, RescheduleTaskImmediately, InterruptTaskSet):
            pass
        except gevent.GreenletExit:
            raise
        except Exception as e:
            failed, raised = f"{type(e).__name__}: {e}", True
            self._user_error(user, e)
        finally:
            arrival.setup = False
        self.setup.runs += 1
        if failed is None and arrival.setup_failures:
            failed = f"{arrival.setup_failures} request(s) in on_start failed"
        if failed is not None:
            self.setup.failures += 1
            self.setup.first_failure = self.setup.first_failure or f"{cls.__name__}.on_start: {failed}"
        # the task's first request is timed from the arrival, minus the time its instance spent on on_start
        arrival.intended += time.time() - began
        arrival.first = True
        if raised:  # this instance never becomes usable; the next arrival makes another
            self._stacks.pop(id(user), None)
            return None
        self._live += 1
        if self._live > self._most_live:
            self._most_live = self._live
            _freeze_grown_pool()
        return user

    def _one_task(self, user: User) -> bool:
        """Run one task on ``user``; False when the user stopped (StopUser) and must leave the pool."""
        stack = self._stacks[id(user)]
        frame: Any = stack[-1]
        try:
            task = frame._task_queue.popleft() if frame._task_queue else frame.get_next_task()
            while isinstance(task, type) and issubclass(task, TaskSet):
                child = task(frame)
                stack.append(child)
                frame = child
                try:
                    child.on_start()
                except InterruptTaskSet:
                    self._leave(stack)
                    return True
                task = frame._task_queue.popleft() if frame._task_queue else frame.get_next_task()
            frame.execute_task(task)
        except InterruptTaskSet:
            self._leave(stack)
        except (RescheduleTask, RescheduleTaskImmediately):
            pass
        except StopUser:
            self._stop(user)
            self._live -= 1
            return False
        except gevent.GreenletExit:
            raise
        except Exception as e:
            self._user_error(user, e)
        return True

    def _leave(self, stack: list[Any]) -> None:
        """``interrupt()``: back to the parent task set (the user's own tasks are never left)."""
        if len(stack) > 1:
            ts: Any = stack.pop()
            try:
                ts.on_stop()
            except Exception as e:
                self._user_error(ts.user, e)

    def _stop(self, user: User) -> None:
        stack: list[Any] = self._stacks.pop(id(user), [])
        for ts in reversed(stack[1:]):
            try:
                ts.on_stop()
            except Exception as e:
                self._user_error(user, e)
        u: Any = user
        try:
            u.on_stop()
        except Exception as e:
            self._user_error(user, e)

    def _user_error(self, user: Any, e: Exception) -> None:
        """As Locust does for an exception in a task: the ``user_error`` event, and a log line (once per kind)."""
        kind = f"{type(e).__name__}: {e}"[:200]
        s = self.setup
        s.task_errors += 1
        first = kind not in s.task_error_kinds
        s.task_error_kinds[kind] = s.task_error_kinds.get(kind, 0) + 1
        if len(s.task_error_kinds) > 100 and first:  # bounded: a message with a changing id would grow it
            s.task_error_kinds.pop(kind)
        self.environment.events.user_error.fire(user_instance=user, exception=e, tb=e.__traceback__)
        if first:
            log.error("tenfold: %s raised in a task (logged once per kind):\n%s", type(user).__name__,
                      "".join(traceback.format_exception(e)))  # fmt: skip

    def stop_all(self, timeout_s: float, on_stop: Callable[[User], None] | None = None) -> int:
        """Run ``on_stop`` of every idle instance (bounded in time); returns how many were stopped."""
        users = [u for idle in self._idle.values() for u in idle]
        for idle in self._idle.values():
            idle.clear()
        if not users:
            return 0
        jobs = [gevent.spawn(on_stop or self._stop, u) for u in users]
        gevent.joinall(jobs, timeout=timeout_s)
        gevent.killall([j for j in jobs if not j.dead], block=False)
        return len(users)
