"""The controller's process: ``python -m tenfold.stack.controller_process --home DIR --port-base N`` (``tenfold up``
starts it in its own session). It builds the :class:`~tenfold.stack.controller.Controller`, serves the control API
(:mod:`tenfold.stack.api`), maps SIGTERM/SIGINT/SIGHUP to a stop, and stops the stack when the run that started it
is gone (``--owner-pid``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from tenfold.errors import TenfoldError
from tenfold.stack.api import serve
from tenfold.stack.controller import OWNER_GRACE_S, Controller
from tenfold.stack.manifests import DEFAULT_MANIFESTS, DEFAULT_OVERLAY
from tenfold.stack.ports import Ports
from tenfold.stack.state import pid_alive

__all__ = ["main"]


async def _watch_owner(ctl: Controller, owner_pid: int) -> None:
    """A stack started by ``tenfold run`` goes when that run is gone (SIGKILL included). The grace lets the
    experiments' rollbacks, which the same death signalled (PR_SET_PDEATHSIG = SIGINT), reach a live stack."""
    while pid_alive(owner_pid):  # noqa: ASYNC110 (a pid has no awaitable exit)
        await asyncio.sleep(0.5)
    ctl.event("owner_gone", reason=f"pid {owner_pid} that started this stack is gone")
    print(f"tenfold controller: pid {owner_pid} (the run that started this stack) is gone: stopping in "
          f"{OWNER_GRACE_S:g} s", file=sys.stderr, flush=True)  # fmt: skip
    await asyncio.sleep(OWNER_GRACE_S)
    ctl.request_stop()


async def _amain(args: argparse.Namespace) -> int:
    home = Path(args.home)
    ctl = Controller(
        home,
        Ports(args.port_base),
        autoscaling=not args.no_autoscaling,
        rate_limit=args.rate_limit,
        seed=not args.no_seed,
        seed_users=args.seed_users,
        seed_titles=args.seed_titles,
        links=not args.no_links,
        overlay=Path(args.overlay) if args.overlay else DEFAULT_OVERLAY,
        manifests=Path(args.manifests) if args.manifests else DEFAULT_MANIFESTS,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, ctl.request_stop)
    server = await serve(ctl, args.port_base)
    owner = asyncio.create_task(_watch_owner(ctl, args.owner_pid)) if args.owner_pid else None
    code = 0
    starting = asyncio.create_task(ctl.start())
    stopper = asyncio.create_task(ctl.supervisor.stop.wait())
    try:
        done, _ = await asyncio.wait({starting, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if starting in done:
            starting.result()
            await ctl.run()
        else:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, TenfoldError):
                await starting
    except TenfoldError as exc:
        ctl.fail(str(exc))
        print(f"tenfold controller: {exc}", file=sys.stderr)
        code = 1
    finally:
        stopper.cancel()
        if owner is not None:
            owner.cancel()
        server.should_exit = True
        ctl.shutdown()
        if ctl.parts.error:
            ctl.parts.phase = "failed"
            ctl.write_state()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tenfold.stack.controller_process")
    parser.add_argument("--home", required=True)
    parser.add_argument("--port-base", type=int, required=True)
    parser.add_argument("--no-autoscaling", action="store_true")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--rate-limit", type=int, default=5000)
    parser.add_argument("--no-links", action="store_true", help="services talk to dependencies directly")
    parser.add_argument("--seed-users", type=int)
    parser.add_argument("--seed-titles", type=int)
    parser.add_argument("--overlay", help="local autoscaling overlay (default infra/local/autoscaling.yaml)")
    parser.add_argument("--manifests", help="directory of service manifests (default infra/k8s/services)")
    parser.add_argument("--owner-pid", type=int, help="stop the stack when this process is gone (tenfold run)")
    args = parser.parse_args(argv)
    return asyncio.run(_amain(args))


if __name__ == "__main__":
    raise SystemExit(main())
