"""The local stack a run loads: the running one, or one started for this run (with the controls it asks for)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenfold.run_options import RunOptions, Say

if TYPE_CHECKING:
    from tenfold.stack.status import StackStatus

__all__ = ["RunStack", "ensure_stack", "local_hpa"]


@dataclass
class RunStack:
    status: StackStatus
    started_here: bool


def _flags_file(home: Path) -> Path:
    return home / "run-flags.json"


def ensure_stack(opts: RunOptions, say: Say) -> RunStack:
    from tenfold.stack.client import ControlClient
    from tenfold.stack.lifecycle import down, running_state, up
    from tenfold.stack.state import state_dir

    home = state_dir(opts.home)
    autoscaling = "autoscaling" not in opts.disable
    fallbacks = "fallbacks" not in opts.disable
    state = running_state(home)
    if state is not None:
        flags = json.loads(_flags_file(home).read_text()) if _flags_file(home).is_file() else {"fallbacks": True}
        if flags.get("fallbacks", True) != fallbacks:
            say(f"restarting the local stack with fallbacks {'enabled' if fallbacks else 'disabled'}")
            down(opts.home)
            state = None
    if state is None:
        say("starting the local stack (tenfold up) …")
        started = time.monotonic()
        env_before = os.environ.get("TENFOLD_DISABLE_FALLBACKS")
        os.environ["TENFOLD_DISABLE_FALLBACKS"] = "0" if fallbacks else "1"  # replicas inherit it
        try:
            # A stack started for this run alone stops itself if the run dies without a word (SIGKILL).
            owner = None if opts.keep_stack else os.getpid()
            state = up(opts.home, autoscaling=autoscaling, owner_pid=owner, **opts.stack_options)
        finally:
            if env_before is None:
                os.environ.pop("TENFOLD_DISABLE_FALLBACKS", None)
            else:
                os.environ["TENFOLD_DISABLE_FALLBACKS"] = env_before
        _flags_file(home).write_text(json.dumps({"fallbacks": fallbacks}))
        say(f"stack ready in {time.monotonic() - started:.1f} s: gateway {state['gateway']}")
        started_here = True
    else:
        say(f"using the running stack: gateway {state['gateway']}")
        started_here = False
    client = ControlClient(state["control"])
    client.autoscaling(autoscaling)
    status = client.status()
    if not autoscaling:
        for name, svc in status["services"].items():
            low = svc.get("min")
            if low and svc["replicas"] != low:
                client.scale(name, int(low))
        say("control run: autoscaling is off, replicas stay at their initial count")
    return RunStack(status, started_here)


def local_hpa() -> dict[str, dict[str, Any]]:
    """The HPA bounds and CPU target from infra/k8s and the local calibration (what the controller read)."""
    from tenfold.stack.calibration import calibrate, load_calibration
    from tenfold.stack.manifests import load_services

    out: dict[str, dict[str, Any]] = {}
    with contextlib.suppress(Exception):
        for spec in calibrate(load_services(), load_calibration()):
            if spec.hpa is not None:
                cpu = next((m.target for m in spec.hpa.metrics if m.name == "cpu"), None)
                out[spec.name] = {"min": spec.hpa.min_replicas, "max": spec.hpa.max_replicas,
                                  "target_cpu_utilization": cpu}  # fmt: skip
    return out
