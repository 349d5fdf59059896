"""The soak profile (``tenfold run --soak 30m``): constant baseline load for a long time, memory watched.

A soak is the scenario file's ``soak`` profile (baseline rate, no ramp, no peak) with its length taken from
the command line; the scenario actually run is written into the run folder as ``scenario.yaml``, so the
load generator reads data like every other profile and the folder shows what ran.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tenfold.errors import ConfigError, UsageError

__all__ = ["SOAK_PROFILE", "parse_duration", "soak_lengths", "write_soak_scenario"]

SOAK_PROFILE = "soak"
_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(text: str) -> float:
    """``30m``, ``90s``, ``1h30m`` or plain seconds → seconds; anything else is a usage error."""
    raw = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        seconds = float(raw)
    elif raw and _PART.sub("", raw) == "" and _PART.match(raw):
        seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(raw))
    else:
        raise UsageError(f"--soak {text!r} is not a duration: write e.g. 30m, 90s, 1h30m (or seconds)")
    if seconds < 20:
        raise UsageError(f"--soak {text!r} is too short to measure memory growth: give at least 20s")
    return seconds


def soak_lengths(seconds: float) -> dict[str, float]:
    """Phase lengths of a soak: all of it at the baseline rate."""
    return {"baseline": seconds, "ramp": 0.0, "peak": 0.0, "cooldown": 0.0}


def write_soak_scenario(source: Path, scenario: str, seconds: float, dest: Path) -> Path:
    """Copy ``scenario`` from ``source`` into ``dest`` with its soak profile lasting ``seconds``."""
    doc: Any = yaml.safe_load(source.read_text(encoding="utf-8"))
    profiles = (doc.get(scenario) or {}).get("profiles") or {} if isinstance(doc, dict) else {}
    if SOAK_PROFILE not in profiles:
        raise ConfigError(
            f"scenario {scenario!r} has no {SOAK_PROFILE!r} profile; add one (baseline_rate, peak_multiplier: 1) "
            "like locustfiles/scenarios.yaml's",
            path=str(source),
        )
    profiles[SOAK_PROFILE]["phases"] = soak_lengths(seconds)
    dest.write_text(yaml.safe_dump({scenario: doc[scenario]}, sort_keys=False), encoding="utf-8")
    return dest
