"""The CLI: exit codes come from TenfoldError.exit_code in one place; stack errors say what to do."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tenfold import cli
from tenfold.errors import MissingDependencyError, StackError, TenfoldError, UsageError
from tenfold.stack import lifecycle
from tenfold.stack.ports import Ports


def test_help_lists_the_stack_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("up", "down", "status"):
        assert command in out


def test_unknown_command_is_a_usage_error() -> None:
    assert cli.main(["frobnicate"]) == UsageError.exit_code == 64


@pytest.mark.parametrize("error", [UsageError("x"), MissingDependencyError("x"), StackError("x"), TenfoldError("x")])
def test_tenfold_errors_map_to_their_exit_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, error: TenfoldError
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(lifecycle, "down", boom)
    assert cli.main(["down", "--home", str(tmp_path)]) == error.exit_code


def test_status_when_not_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status", "--json", "--home", str(tmp_path)]) == 3
    assert json.loads(capsys.readouterr().out) == {"running": False}


def test_down_when_not_running_is_fine(tmp_path: Path) -> None:
    assert cli.main(["down", "--home", str(tmp_path)]) == 0


def _free_range() -> int:
    for base in range(12000, 20000, 500):  # below the ephemeral range
        ports = Ports(base)
        taken = False
        for port in [*ports.fixed().values(), *ports.replicas().values()]:
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    taken = True
                    break
        if not taken:
            return base
    raise RuntimeError("no free port range")


def test_port_in_use_names_the_port_and_how_to_move(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _free_range()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", base + 1))  # the gateway's port
        holder.listen()
        code = cli.main(["up", "--home", str(tmp_path), "--port-base", str(base)])
    err = capsys.readouterr().err
    assert code == StackError.exit_code
    assert str(base + 1) in err and "gateway" in err and "--port-base" in err
    assert not (tmp_path / "state.json").exists()


def test_missing_binary_says_which_package_and_make_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match=r"haproxy \(Debian package haproxy\).*make setup"):
        lifecycle.check_binaries()


def test_bad_port_base_is_a_usage_error(tmp_path: Path) -> None:
    assert cli.main(["up", "--home", str(tmp_path), "--port-base", "80"]) == UsageError.exit_code


def test_ports_are_distinct() -> None:
    ports = Ports(7000)
    fixed = list(ports.fixed().values())
    replicas = [ports.replica(i, s) for i in range(4) for s in range(20)]
    assert len(set(fixed + replicas)) == len(fixed) + len(replicas)
    assert ports.control == 7000  # tenfold.chaos's default control URL
