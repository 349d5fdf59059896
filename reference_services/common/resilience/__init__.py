"""Resilience primitives, composed per dependency by :class:`Dependency`."""

from .breaker import AsyncBreaker, BreakerOpen
from .bulkhead import Bulkhead, BulkheadFull
from .dependency import Dependency, DependencyError, DomainOutcome
from .fallback import Fallback
from .ratelimit import TokenBucket
from .retry import RetryBudget, RetryPolicy
from .shedding import PRIORITIES, PRIORITY, Shedder

__all__ = [
    "PRIORITIES",
    "PRIORITY",
    "AsyncBreaker",
    "BreakerOpen",
    "Bulkhead",
    "BulkheadFull",
    "Dependency",
    "DependencyError",
    "DomainOutcome",
    "Fallback",
    "RetryBudget",
    "RetryPolicy",
    "Shedder",
    "TokenBucket",
]
