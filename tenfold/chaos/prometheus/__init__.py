"""Prometheus instant queries as probes (the stack's own Prometheus, or any given URL)."""
