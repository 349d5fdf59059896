"""The SLO file: an OpenSLO-inspired YAML, validated by pydantic, errors naming the line.

People write this file by hand, so a mistake must point at the line and say what would be accepted;
``load_slo`` maps every pydantic error location back to the YAML node it came from.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from reports.indicators import registry
from reports.indicators.indicator import Unit
from tenfold.errors import ConfigError
from tenfold.layout import PHASES
from tenfold.userfile import Located, load_yaml, parse_yaml

__all__ = [
    "PHASES",
    "Metrics",
    "Objective",
    "SloFile",
    "Target",
    "load_slo",
    "parse_slo",
]

Priority = Literal["critical", "degraded", "best-effort", "unclassified"]

_WINDOW = re.compile(r"^(baseline|ramp|peak|cooldown|run|chaos:\*|chaos:[A-Za-z0-9_.\-]+)$")
_TARGET = re.compile(r"^\s*(<=|>=|==|<|>|≤|≥)?\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|%)?\s*$")
_SYMBOLIC = re.compile(r"^\s*(<=|<|≤)\s*hpa_max\s*$")
_OPS = {"≤": "<=", "≥": ">="}
_TARGET_HELP = (
    'write a comparison and a number, e.g. "<= 500ms", "< 2s", ">= 99.5%", "== 0", "<= 3"; '
    '"true" for yes/no indicators; "<= hpa_max" for max_replicas'
)


class Target(BaseModel):
    """A parsed target: ``measured <op> value``; ``text`` keeps what the user wrote for the report."""

    model_config = ConfigDict(frozen=True)

    op: Literal["<=", ">=", "==", "<", ">"]
    value: float
    unit: Unit
    text: str
    symbolic: Literal["hpa_max"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, raw: Any) -> Any:
        return _parse_target(raw)

    def met(self, measured: float, limit: float | None = None) -> bool:
        """Whether ``measured`` meets the target; ``limit`` stands in for a symbolic value."""
        value = self.value if limit is None else limit
        match self.op:
            case "<=":
                return measured <= value
            case "<":
                return measured < value
            case ">=":
                return measured >= value
            case ">":
                return measured > value
        return math.isclose(measured, value, abs_tol=1e-12)


# The validators delegate to plain functions: mutmut (make mutation, docs/mutation.md) mutates no decorated function.
def _parse_target(raw: Any) -> Any:
    """What the user wrote (``"<= 500ms"``, ``">= 99.5%"``, ``true``, a bare number) → Target's fields."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, bool):
        raw = "true" if raw else "false"
    if isinstance(raw, int | float):
        raw = f"<= {raw}"
    if not isinstance(raw, str):
        raise ValueError(f"target must be a string, got {type(raw).__name__}; {_TARGET_HELP}")
    text = raw.strip()
    if text.lower() == "true":
        return {"op": "==", "value": 1.0, "unit": "bool", "text": "true"}
    if _SYMBOLIC.match(text):
        return {"op": "<=", "value": math.inf, "unit": "count", "text": text, "symbolic": "hpa_max"}
    m = _TARGET.match(text)
    if m is None:
        raise ValueError(f"cannot read target {raw!r}: {_TARGET_HELP}")
    op = _OPS.get(m.group(1) or "<=", m.group(1) or "<=")
    value = float(m.group(2))
    suffix = m.group(3)
    unit = "count"
    if suffix == "ms":
        value, unit = value / 1000.0, "s"
    elif suffix == "s":
        unit = "s"
    elif suffix == "%":
        value, unit = value / 100.0, "ratio"
    return {"op": op, "value": value, "unit": unit, "text": text}


class Objective(BaseModel):
    """One objective: an indicator measured over a window, held against a target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    indicator: str  # a name in the indicator registry (reports/indicators/registry.py)
    window: str
    target: Target
    # filters on request rows
    percentile: float | None = Field(default=None, gt=0, lt=100)
    measure: Literal["co", "locust"] = "co"
    route: str | None = None
    method: str | None = None
    priority: Priority | None = None
    # scaling indicators
    service: str | None = None
    trigger: Literal["spike", "cpu"] = "cpu"
    # recovery_time
    threshold: float = Field(default=0.05, gt=0, lt=1)
    sliding_s: float = Field(default=5.0, gt=0)
    # memory_growth: the share of the window each process gets to warm up before growth is measured, and which
    # processes are judged (shell patterns on memory.jsonl's process names, e.g. "catalog-*"; default: all)
    warmup: float = Field(default=0.1, ge=0, lt=1)
    processes: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()

    @field_validator("indicator")
    @classmethod
    def _indicator(cls, v: str) -> str:
        return _check_indicator(v)

    @field_validator("window")
    @classmethod
    def _window(cls, v: str) -> str:
        return _check_window(v)

    @model_validator(mode="after")
    def _consistent(self) -> Objective:
        _check_objective(self)
        return self


def _check_window(v: str) -> str:
    if not _WINDOW.match(v):
        raise ValueError(
            f"unknown window {v!r}: use one of baseline, ramp, peak, cooldown, run, chaos:<experiment>, chaos:*"
        )
    return v


def _check_indicator(v: str) -> str:
    if v not in registry.REGISTRY:
        raise ValueError(f"unknown indicator {v!r}: use one of {', '.join(registry.names())}")
    return v


def _check_objective(o: Objective) -> None:
    """The fields of one objective fit together: its indicator's row in the registry decides which keys, targets
    and windows it takes."""
    ind, unit, row = o.indicator, o.target.unit, registry.row(o.indicator)
    for key, example in row.needs.items():
        if getattr(o, key) is None:
            raise ValueError(f"indicator {ind!r} needs {key!r} (e.g. {example})")
    for key, owner in registry.exclusive_keys().items():
        if key not in row.keys and key in o.model_fields_set:
            raise ValueError(f"{key!r} only applies to indicator {owner!r}, not {ind!r}")
    if row.unit == "bool" and unit != "bool":
        raise ValueError(f"indicator {ind!r} is yes/no: write target: true")
    if row.unit != "bool" and unit == "bool":
        raise ValueError(f"indicator {ind!r} is measured, not yes/no: {_TARGET_HELP}")
    if row.unit == "s" and unit not in ("s", "count"):
        raise ValueError(f"indicator {ind!r} is a duration: write e.g. '<= 500ms' or '<= 30s'")
    if row.unit == "ratio" and (unit == "s" or o.target.value > 1):
        raise ValueError(f"indicator {ind!r} is a ratio: write e.g. '>= 99.5%' or '<= 0.01'")
    if o.target.symbolic and o.target.symbolic not in row.symbolic:
        owners = [r.name for r in registry.REGISTRY.values() if o.target.symbolic in r.symbolic]
        raise ValueError(f"{o.target.symbolic!r} is only a target for indicator {' or '.join(map(repr, owners))}")
    if row.chaos_only and not o.window.startswith("chaos:"):
        raise ValueError(f"indicator {ind!r} needs a chaos window: chaos:<experiment> or chaos:*")


_WATCH = re.compile(r"^deployment/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


class Metrics(BaseModel):
    """Where the replica/CPU/HPA series come from with ``--prometheus`` (docs/prometheus.md), and extra queries.

    ``watch``: the deployments to judge (``deployment/NAME``; default: every deployment an HPA scales);
    ``queries``: PromQL by metric name, replacing a default (range queries ``replicas_ready``,
    ``replicas_desired``, ``hpa_desired_replicas``, ``cpu_utilization``; instant queries at the run's end
    ``hpa_min_replicas``, ``hpa_max_replicas``, ``hpa_target_cpu_utilization``) or adding a range query of your own
    whose series go into the run folder.
    ``$deployments`` (a regex alternation of the watched names) and ``$namespace`` are filled in.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    watch: tuple[str, ...] = ()
    namespace: str | None = None
    queries: dict[str, str] = Field(default_factory=dict)

    @field_validator("watch")
    @classmethod
    def _watch(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_watch(v)

    @field_validator("queries")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_query_names(v)


def _check_watch(v: tuple[str, ...]) -> tuple[str, ...]:
    for w in v:
        if not _WATCH.match(w):
            raise ValueError(f"watch entries look like deployment/NAME (a Kubernetes name), not {w!r}")
    return v


def _check_query_names(v: dict[str, str]) -> dict[str, str]:
    for name in v:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f"query names are lower_snake_case file names, not {name!r}")
    return v


class SloFile(BaseModel):
    """The whole file; ``apiVersion``/``kind``/``metadata`` follow OpenSLO's envelope loosely."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    api_version: Literal["tenfold/v1"] = Field(default="tenfold/v1", alias="apiVersion")
    kind: Literal["SLO"] = "SLO"
    metadata: dict[str, str] = Field(default_factory=dict)
    metrics: Metrics = Field(default_factory=Metrics)
    objectives: list[Objective] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> SloFile:
        _check_unique(self.objectives)
        return self

    @property
    def name(self) -> str:
        return self.metadata.get("name", "slo")


def _check_unique(objectives: list[Objective]) -> None:
    seen: set[str] = set()
    for o in objectives:
        if o.name in seen:
            raise ValueError(f"objective name {o.name!r} appears twice; names must be unique")
        seen.add(o.name)


def _hint(err: ErrorDetails) -> str | None:
    if err["type"] == "extra_forbidden":
        return f"unknown key {err['loc'][-1]!r} (check the spelling; see docs/reports.md for the keys)"
    return None


def parse_slo(text: str, source: str = "<slo>") -> SloFile:
    """Parse SLO YAML text; errors raise ``ConfigError`` naming ``source`` and the line."""
    return _validate(parse_yaml(text, source))


def _validate(doc: Located) -> SloFile:
    source = doc.source
    if doc.data is None:
        raise ConfigError("the file is empty; it needs an 'objectives:' list", path=source, line=1)
    if not isinstance(doc.data, dict):
        raise ConfigError("the top level must be a mapping with an 'objectives:' list", path=source, line=1)
    try:
        return SloFile.model_validate(doc.data)
    except ValidationError as exc:
        raise doc.invalid(exc, _hint) from None


def load_slo(path: str | Path) -> SloFile:
    """Load and validate an SLO file; raises ``ConfigError`` with file, line and the fix."""
    return _validate(load_yaml(path, "SLO"))
