"""Exponential backoff with full jitter, capped by a retry budget so retries cannot amplify an outage."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

__all__ = ["RetryBudget", "RetryPolicy"]


class RetryBudget:
    """Retries may add at most ``ratio`` of the recent request volume (plus a small floor per second).

    A token bucket: every first attempt deposits ``ratio`` tokens, every retry withdraws one. Under a full
    outage this keeps the extra load at ~10% instead of multiplying it by the attempt count.
    """

    def __init__(self, ratio: float = 0.1, min_per_second: float = 5.0, max_tokens: float = 50.0) -> None:
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.max_tokens = max_tokens
        self._tokens = max_tokens
        self._last = time.monotonic()

    def record_attempt(self) -> None:
        self._refill()
        self._tokens = min(self.max_tokens, self._tokens + self.ratio)

    def try_spend(self) -> bool:
        self._refill()
        if self._tokens >= 1.0 - 1e-9:  # 10 x 0.1 must buy a retry despite float rounding
            self._tokens -= 1.0
            return True
        return False

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.max_tokens, self._tokens + (now - self._last) * self.min_per_second)
        self._last = now


@dataclass
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.01
    max_delay: float = 0.2
    budget: RetryBudget = field(default_factory=RetryBudget)

    def backoff(self, retry_number: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2^n)] (AWS Architecture Blog)."""
        return random.uniform(0.0, min(self.max_delay, self.base_delay * (2**retry_number)))
