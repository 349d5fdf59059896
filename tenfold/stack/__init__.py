"""The embedded local runtime: the seed's AWS architecture as real processes on one machine (``tenfold up``)."""

from tenfold.stack.client import ControlClient, ReplicaInfo
from tenfold.stack.lifecycle import down, status, up

__all__ = ["ControlClient", "ReplicaInfo", "down", "status", "up"]
