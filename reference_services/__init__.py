"""The system under test: Netflix-style reference services that tenfold loads and breaks on purpose."""

SERVICES = ("users", "catalog", "recommendations", "events")

__all__ = ["SERVICES"]
