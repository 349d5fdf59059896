"""The controller's readout (tenfold.stack.readout) of parts wired without starting anything: every key of the
StackStatus type, in the order docs/control-api.md shows, and the links by the names chaos uses."""

from __future__ import annotations

import os
from pathlib import Path

from tenfold.stack.cgroups import CgroupRoot
from tenfold.stack.hogs import Hogs
from tenfold.stack.manifests import load_overlay
from tenfold.stack.parts import StackParts
from tenfold.stack.ports import Ports
from tenfold.stack.readout import link_members, stack_status
from tenfold.stack.status import StackStatus
from tenfold.stack.wiring import default_links


def _parts(home: Path, links: bool = True) -> StackParts:
    ports = Ports(7000)
    cgroups = CgroupRoot("tenfold-test", mount=home / "no-cgroups")
    return StackParts(
        home=home, ports=ports, overlay=load_overlay(), specs=[], links=default_links(ports) if links else [],
        cgroups=cgroups, hogs=Hogs(cgroups, home / "logs"), autoscaling=True, rate_limit=5000, seed=False,
    )  # fmt: skip


def test_every_key_of_the_type_in_its_order(tmp_path: Path) -> None:
    status = stack_status(_parts(tmp_path))
    assert list(status) == list(StackStatus.__annotations__)
    assert status["phase"] == "starting" and status["pids"] == [os.getpid()] and status["services"] == {}
    assert status["gateway"] == "http://127.0.0.1:7001" and status["events"] == str(tmp_path / "events.jsonl")
    assert status["cgroups"] is False and "not writable" in status["cgroups_reason"]


def test_the_cache_nodes_proxies_are_one_link(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    assert stack_status(parts)["links"] == {
        "postgres": {"control": "http://127.0.0.1:7021", "listen": "127.0.0.1:7020", "upstream": "127.0.0.1:7004"},
        "dynamodb": {"control": "http://127.0.0.1:7023", "listen": "127.0.0.1:7022", "upstream": "127.0.0.1:7010"},
        "cache": {"control": "http://127.0.0.1:7000/links/cache",
                  "members": ["http://127.0.0.1:7025", "http://127.0.0.1:7027"]},
    }  # fmt: skip
    assert link_members(parts, "cache") == ["http://127.0.0.1:7025", "http://127.0.0.1:7027"]
    assert stack_status(_parts(tmp_path, links=False))["links"] == {}
