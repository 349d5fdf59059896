"""Dependency links (service → cache / postgres / dynamodb), each behind a `tenfold.stack.linkproxy`."""
