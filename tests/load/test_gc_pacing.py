"""Paced collection: frozen set-up, no automatic collection inside, cyclic garbage still collected on the cadence."""

from __future__ import annotations

import gc
import weakref

import gevent
import pytest

from tenfold.load._gc import interval_from_env, paced_collection


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_inside_automatic_collection_is_off_and_set_up_objects_are_frozen() -> None:
    assert gc.isenabled()
    with paced_collection(60.0):
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def _cycle_then_churn(freed: list[bool]) -> None:
    """A garbage cycle, then enough allocations that automatic collection would run several times."""
    node = _Node()
    weakref.finalize(node, freed.append, True)
    del node
    junk = [[] for _ in range(50_000)]
    del junk


def test_automatic_collection_frees_a_cycle_during_allocation_churn() -> None:
    freed: list[bool] = []
    with paced_collection(0):  # the control: what pacing takes away
        _cycle_then_churn(freed)
        assert freed


def test_cyclic_garbage_is_collected_on_the_cadence_not_during_churn() -> None:
    freed: list[bool] = []
    with paced_collection(0.2):
        _cycle_then_churn(freed)
        gevent.sleep(0.05)
        assert not freed  # no pause in the middle of the work: the cycle waits for the paced collection
        gevent.sleep(0.3)
        assert freed


def test_interval_zero_leaves_collection_automatic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENFOLD_GC_INTERVAL_S", "0")
    with paced_collection(interval_from_env()):
        assert gc.isenabled()
        assert gc.get_freeze_count() == 0


def test_a_bad_interval_says_what_to_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENFOLD_GC_INTERVAL_S", "soon")
    with pytest.raises(SystemExit, match="TENFOLD_GC_INTERVAL_S='soon' is not a number of seconds"):
        interval_from_env()
