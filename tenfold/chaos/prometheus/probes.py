"""One PromQL instant query → one number, so a steady-state hypothesis can hold it to a range."""

import math

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from tenfold.chaos._controller import prometheus_url
from tenfold.promql import Prometheus, PrometheusError

__all__ = ["query_value"]


def query_value(
    query: str,
    when_empty: float = 0.0,
    timeout_s: float = 5.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Run `query` now and return the first sample's value (`when_empty` when no series matches).

    Write queries that reduce to one series, e.g. `sum(rate(http_requests_total{code=~"5.."}[15s]))`."""
    base = prometheus_url(configuration)
    try:
        with Prometheus(base, timeout_s=timeout_s) as prom:
            found = prom.instant(query)
    except PrometheusError as exc:
        if exc.kind == "unreachable":
            raise ActivityFailed(f"Prometheus does not answer at {base}: is the stack running (`tenfold up`)?") from exc
        if exc.kind == "rejected":
            raise ActivityFailed(f"Prometheus rejected {query!r}: {exc.reason}") from exc
        raise ActivityFailed(str(exc)) from exc  # e.g. a range vector: "write it so it returns one number ..."
    value = found[0].value if found else when_empty
    return when_empty if math.isnan(value) else value
