"""One settings object per process, from ``TENFOLD_*`` environment variables, validated at start."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SECRET_SETTINGS", "SettingMissing", "Settings"]


class SettingMissing(Exception):
    """A setting a service cannot start without; the message names the variable, never a value."""

    def __init__(self, variable: str, why: str) -> None:
        super().__init__(f"{variable} is not set: {why}")
        self.variable = variable


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENFOLD_", extra="ignore")

    service: str = "unknown"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    replica: str = "0"

    postgres_dsn: str = "postgresql://tenfold@127.0.0.1:5432/tenfold"
    postgres_pool_size: int = Field(10, ge=1, le=200)
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_sentinels: str = ""
    redis_master: str = "tenfold"
    dynamodb_endpoint: str = "http://127.0.0.1:8001"
    s3_endpoint: str = "http://127.0.0.1:8002"
    s3_bucket: str = "tenfold-events"
    table_prefix: str = "tenfold-"
    aws_region: str = "us-east-1"

    disable_fallbacks: bool = False
    # recommendations: seconds (± 10%) between reads of the popular rows its fallback answers keep in memory.
    fallback_refresh_seconds: float = Field(60.0, gt=0)

    # Auth: the HS256 key of the bearer tokens users issues and every protected route checks. A SecretStr:
    # never in a repr, a log line or an error. Services with protected routes refuse to start without it.
    jwt_secret: SecretStr | None = None
    jwt_ttl_seconds: int = Field(3600, ge=60, le=86_400)

    # Per-dependency time budgets (seconds): a slow dependency must not hold a request for long.
    redis_timeout: float = Field(0.05, gt=0)
    store_timeout: float = Field(0.5, gt=0)
    postgres_timeout: float = Field(1.0, gt=0)
    s3_timeout: float = Field(2.0, gt=0)

    # Circuit breakers: open after N consecutive failures, try again (half-open) after reset seconds.
    breaker_fail_max: int = Field(5, ge=1)
    breaker_reset_seconds: float = Field(5.0, gt=0)

    # Bulkheads: max concurrent calls per dependency.
    bulkhead_limit: int = Field(64, ge=1)

    # Load shedding: in-flight requests above which best-effort, then degraded, then critical are refused.
    max_in_flight: int = Field(256, ge=1)

    # Cache-aside.
    cache_ttl_seconds: float = Field(300.0, gt=0)
    cache_ttl_jitter: float = Field(0.1, ge=0, lt=1)
    negative_ttl_seconds: float = Field(30.0, gt=0)
    near_cache_seconds: float = Field(1.0, ge=0)
    near_cache_entries: int = Field(10_000, ge=0)
    # While the cache is down: store reads per second each replica lets through before degrading (0: no limit).
    # About 10x a replica's normal miss traffic at peak: enough to stay fresh, too little to stampede.
    cache_down_store_rps: float = Field(5.0, ge=0)
    # Stale copies (catalog): every replica keeps up to N last good titles past every TTL, rescanned from the
    # store every S seconds (0: no scan, only the answers it served), the first scan within D seconds of start.
    stale_copies_entries: int = Field(20_000, ge=0)
    stale_copies_seconds: float = Field(300.0, ge=0)
    stale_copies_delay_seconds: float = Field(10.0, ge=0)

    # Events: group commit to S3.
    events_flush_seconds: float = Field(0.2, gt=0)
    events_batch_max: int = Field(500, ge=1)
    events_buffer_max: int = Field(5_000, ge=1)
    events_flush_concurrency: int = Field(4, ge=1, le=64)

    # TEST HOOK, never set in production: users acknowledges this many My List additions per replica (201)
    # without storing them, so an end-to-end test can prove the durability check fails (tests/test_run.py).
    test_drop_writes: int = Field(0, ge=0)
    # TEST HOOK, never set in production: every request to a route whose path starts with this prefix waits this
    # long before it is served: a deliberate slowdown of one route, which `tenfold compare` must flag
    # (bench/calibrate.py's A/B pairs).
    test_delay_path_prefix: str = ""
    test_delay_seconds: float = Field(0.0, ge=0, le=10)

    # Graceful shutdown: seconds of answering /readyz 503 before closing the listener; in-flight budget.
    drain_seconds: float = Field(1.0, ge=0)
    shutdown_timeout: float = Field(10.0, gt=0)

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, host: str) -> str:
        if not (host.startswith("127.") or host in ("localhost", "::1", "0.0.0.0")):
            raise ValueError("services bind loopback (127.0.0.0/8) locally, or 0.0.0.0 inside a container")
        return host

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (an HS256 key shorter than the hash is guessable)")
        return secret

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """``host:port,host:port`` → [(host, port), ...]; empty when Redis is reached directly."""
        out: list[tuple[str, int]] = []
        for part in filter(None, (p.strip() for p in self.redis_sentinels.split(","))):
            host, _, port = part.rpartition(":")
            out.append((host or "127.0.0.1", int(port)))
        return out


SECRET_SETTINGS = frozenset(name for name, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation))
"""Settings whose values no message may show (not even an invalid one: it may be the real key, mistyped)."""
