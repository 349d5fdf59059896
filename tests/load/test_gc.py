"""Deferred collection: frozen set-up, no automatic collection inside, a collection once garbage piles up."""

from __future__ import annotations

import gc
import weakref

import gevent
import pytest

from tenfold.load import _gc
from tenfold.load._gc import deferred_collection, max_new_objects_from_env


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def _cycle_then_churn(freed: list[bool]) -> None:
    """A garbage cycle, then enough allocations that automatic collection would run several times."""
    node = _Node()
    weakref.finalize(node, freed.append, True)
    del node
    junk = [[] for _ in range(50_000)]
    del junk


def test_inside_automatic_collection_is_off_and_set_up_objects_are_frozen() -> None:
    assert gc.isenabled()
    with deferred_collection(1_000_000):
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_automatic_collection_frees_a_cycle_during_allocation_churn() -> None:
    freed: list[bool] = []
    with deferred_collection(0):  # the control: what deferring takes away
        _cycle_then_churn(freed)
        assert freed


def test_churn_does_not_collect_but_piled_up_objects_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_gc, "CHECK_EVERY_S", 0.05)
    freed: list[bool] = []
    with deferred_collection(5_000):
        _cycle_then_churn(freed)  # 50,000 objects made and freed: the live count barely moved
        gevent.sleep(0.2)
        assert not freed  # no pause in the middle of the work
        alive = [[] for _ in range(10_000)]  # now 10,000 more objects are alive than after the last collection
        gevent.sleep(0.2)
        assert freed
        del alive


def test_zero_leaves_collection_automatic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENFOLD_GC_MAX_NEW_OBJECTS", "0")
    with deferred_collection(max_new_objects_from_env()):
        assert gc.isenabled()
        assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("raw", ["soon", "-5"])
def test_a_bad_count_says_what_to_write(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("TENFOLD_GC_MAX_NEW_OBJECTS", raw)
    with pytest.raises(SystemExit, match=f"TENFOLD_GC_MAX_NEW_OBJECTS='{raw}' is not a count of objects"):
        max_new_objects_from_env()
