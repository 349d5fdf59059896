"""What the controller says about the DynamoDB emulator."""

from chaoslib.types import Configuration, Secrets

from tenfold.chaos._components import component_state

__all__ = ["dynamodb_is_running"]


def dynamodb_is_running(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """True when the DynamoDB emulator is running and answering."""
    return component_state("dynamodb", configuration).get("state") == "running"
