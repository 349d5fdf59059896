"""Stale copies in memory: the degraded flag, the bound, and a scan that fails keeping what was there."""

from __future__ import annotations

import asyncio

import orjson

from reference_services.common.stale import StaleCopies, flagged


def test_flagged_adds_or_flips_the_degraded_flag() -> None:
    doc = orjson.dumps({"id": 1, "name": "x"})
    fresh = flagged(doc)
    assert orjson.loads(fresh) == {"id": 1, "name": "x", "degraded": False}
    stale = flagged(fresh, degraded=True)
    assert orjson.loads(stale) == {"id": 1, "name": "x", "degraded": True}
    assert flagged(doc, degraded=True) == stale


async def test_copies_come_from_the_scan_and_from_answers_within_the_bound() -> None:
    scans: list[int] = []
    scanned = asyncio.Event()

    async def scan(limit: int) -> dict[int, bytes]:
        scans.append(limit)
        scanned.set()
        if len(scans) > 1:
            raise OSError("store down")
        return {1: b"{}", 2: b"{}"}

    copies = StaleCopies(scan, entries=3, every=0.05, first_delay=0.0)
    await copies.start()
    try:
        await asyncio.wait_for(scanned.wait(), 2)
        await asyncio.sleep(0)  # the value is swapped in right after the scan returns
        assert copies.get(1) == b"{}" and copies.get(3) is None
        copies.keep(3, b'{"a":1}')
        copies.keep(4, b'{"a":2}')  # past the bound: not kept
        copies.keep(1, b'{"a":3}')  # already there: refreshed
        assert (len(copies), copies.get(4), copies.get(1)) == (3, None, b'{"a":3}')
        await asyncio.sleep(0.15)  # later scans fail: the copies stay
        assert len(scans) >= 2 and scans[0] == 3 and len(copies) == 3
    finally:
        await copies.stop()
