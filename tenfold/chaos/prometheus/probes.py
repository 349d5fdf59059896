"""One PromQL instant query → one number, so a steady-state hypothesis can hold it to a range."""

import math

import httpx
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from tenfold.chaos._controller import prometheus_url

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
        r = httpx.get(f"{base}/api/v1/query", params={"query": query}, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise ActivityFailed(f"Prometheus does not answer at {base}: is the stack running (`tenfold up`)?") from exc
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    if r.status_code != 200 or body.get("status") != "success":
        raise ActivityFailed(f"Prometheus rejected {query!r}: {body.get('error') or r.text[:300]}")
    data = body["data"]
    if data["resultType"] == "scalar":
        value = float(data["result"][1])
    elif data["resultType"] == "vector":
        value = float(data["result"][0]["value"][1]) if data["result"] else when_empty
    else:
        raise ActivityFailed(f"{query!r} returns a {data['resultType']}; write it so it returns one number")
    return when_empty if math.isnan(value) else value
