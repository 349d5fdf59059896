"""DynamoDB emulator outage: stop it, start it again."""

from typing import Any

from chaoslib.types import Configuration, Secrets

from tenfold.chaos._components import set_component, wait_component

__all__ = ["start_dynamodb", "stop_dynamodb"]


def stop_dynamodb(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Stop the DynamoDB emulator: reads must come from the cache or a fallback, with X-Degraded."""
    return set_component("dynamodb", "stop", configuration)


def start_dynamodb(
    timeout_s: float = 30.0, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Start the DynamoDB emulator and wait until it answers (a rollback; harmless when it already runs)."""
    answer = set_component("dynamodb", "start", configuration)
    wait_component("dynamodb", "running", timeout_s, configuration)
    return answer
