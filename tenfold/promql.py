"""The harness's one Prometheus client: PromQL instant and range queries, on prometheus-api-client.

Every failure is a :class:`~tenfold.errors.PrometheusError` naming the URL and the query: Prometheus not answering
within ``timeout_s`` (``kind="unreachable"``), rejecting the query (``"rejected"``, with Prometheus' own error text),
or answering with something else than was asked for (``"unexpected"``). No retries: whoever polls asks again on its
next tick, and a run's collection records the error instead of waiting.

Imports nothing of tenfold but its errors: ``reports/`` uses it (tests/test_import_boundary.py). requests (under
prometheus-api-client) is imported on first use, not with this module: urllib3 imported before Locust's gevent
patches ``ssl`` breaks Locust in that process, and importing a harness module must not do that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tenfold.errors import PrometheusError

if TYPE_CHECKING:
    import requests

__all__ = ["Prometheus", "PrometheusError", "Sample"]


@dataclass(frozen=True)
class Sample:
    """One series of an instant query's answer: its labels and its value (NaN stays NaN)."""

    labels: dict[str, str]
    value: float


class _Rejected(Exception):
    """Prometheus answered with an error: raised from the session's response hook, carrying Prometheus' own error
    text (prometheus-api-client's exception carries only the status and the raw body)."""


def _raise_on_error(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    if response.status_code == 200:
        return
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    raise _Rejected(str(error) if error else f"HTTP {response.status_code}: {response.text[:300]}")


class Prometheus:
    """The query API of the Prometheus at ``url`` (e.g. ``http://127.0.0.1:9090``); ``timeout_s`` bounds each
    request (connecting, and each wait for data). Use it as a context manager, or ``close()`` it."""

    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        import requests
        from prometheus_api_client.prometheus_connect import PrometheusConnect
        from urllib3.util.retry import Retry

        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        session = requests.Session()
        session.hooks["response"].append(_raise_on_error)
        # requests' own default (no retry, a read timeout raised as such), not the library's three with back-off
        self._api = PrometheusConnect(self.url, retry=Retry(0, read=False), session=session)

    def instant(self, query: str, *, at: float | None = None) -> list[Sample]:
        """The instant vector of ``query`` now (or at ``at``, Unix seconds); a scalar is one sample without labels."""
        params = {} if at is None else {"time": at}
        timeout: Any = self.timeout_s  # the library annotates int; requests takes float seconds
        result = self._call(query, lambda: self._api.custom_query(query, params=params, timeout=timeout))
        try:
            if result and isinstance(result[0], dict):
                if "value" not in result[0]:
                    raise ValueError("a range vector; write it so it returns one number per series")
                return [Sample({str(k): str(v) for k, v in r["metric"].items()}, float(r["value"][1])) for r in result]
            if not result:
                return []
            return [Sample({}, float(result[1]))]  # a scalar: [time, "value"]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise PrometheusError(self.url, query, str(exc), kind="unexpected") from exc

    def range(self, query: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        """The series of ``query`` over [``start``, ``end``] (Unix seconds) every ``step`` seconds, as Prometheus
        gives them: ``{"metric": {labels}, "values": [[time, "value"], ...]}``."""
        # start and end as given: the library would round them to whole seconds
        params = {"start": start, "end": end}
        low, high = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
        timeout: Any = self.timeout_s  # the library annotates int; requests takes float seconds
        result = self._call(
            query, lambda: self._api.custom_query_range(query, low, high, str(step), params=params, timeout=timeout)
        )
        if not isinstance(result, list):
            raise PrometheusError(self.url, query, f"{type(result).__name__}, not a list of series", kind="unexpected")
        return result

    def _call(self, query: str, ask: Callable[[], Any]) -> Any:
        import requests
        from prometheus_api_client.exceptions import PrometheusApiClientException

        try:
            return ask()
        except (_Rejected, PrometheusApiClientException) as exc:
            raise PrometheusError(self.url, query, str(exc), kind="rejected") from exc
        except requests.JSONDecodeError as exc:  # before RequestException, which it also is
            raise PrometheusError(self.url, query, f"not JSON ({exc})", kind="unexpected") from exc
        except requests.Timeout as exc:
            reason = f"no answer within {self.timeout_s:g} s"
            raise PrometheusError(self.url, query, reason, kind="unreachable") from exc
        except requests.RequestException as exc:
            inner = exc.args[0] if exc.args else None  # urllib3's MaxRetryError: its reason is the short story
            reason = f"{type(exc).__name__}: {getattr(inner, 'reason', None) or exc}"
            raise PrometheusError(self.url, query, reason, kind="unreachable") from exc
        except (KeyError, TypeError, ValueError) as exc:  # JSON, but not the query API's
            reason = f"not Prometheus' query API ({type(exc).__name__}: {exc})"
            raise PrometheusError(self.url, query, reason, kind="unexpected") from exc

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> Prometheus:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
