"""What the controller says about PostgreSQL."""

from chaoslib.types import Configuration, Secrets

from tenfold.chaos._components import component_state

__all__ = ["postgres_is_running"]


def postgres_is_running(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """True when PostgreSQL is running and accepting connections."""
    return component_state("postgres", configuration).get("state") == "running"
