"""CPU pressure beside a service (a noisy neighbour on the same node)."""
