"""A link's faults (tenfold.stack.link_faults) without a proxy: what a PUT /faults may set, and what it refuses."""

from __future__ import annotations

import pytest

from tenfold.stack.link_faults import Faults


def test_a_partial_update_keeps_the_rest_and_converts_numbers() -> None:
    faults = Faults(latency_ms=100).merged({"jitter_ms": 20, "bandwidth_bytes_per_s": 1000.0, "reset": True})
    assert faults == Faults(latency_ms=100.0, jitter_ms=20.0, bandwidth_bytes_per_s=1000, reset=True)
    assert isinstance(faults.jitter_ms, float) and isinstance(faults.bandwidth_bytes_per_s, int)
    assert Faults().clean() and not faults.clean() and faults.delayed() and not Faults(reset=True).delayed()


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"latency": 200}, "unknown fault field(s) ['latency']; valid fields are ['bandwidth_bytes_per_s', "),
        ({"latency_ms": -1}, "latency_ms must be a number >= 0"),
        ({"latency_ms": True}, "latency_ms must be a number >= 0"),
        ({"blackhole": 1}, "blackhole must be true or false"),
        ({"latency_ms": 10, "jitter_ms": 50}, "jitter_ms must not exceed latency_ms"),
    ],
)
def test_a_bad_update_names_what_is_wrong(changes: dict[str, object], says: str) -> None:
    with pytest.raises(ValueError) as info:
        Faults().merged(changes)
    assert says in str(info.value)


def test_jitter_alone_is_allowed() -> None:
    assert Faults().merged({"jitter_ms": 5}).delayed()
