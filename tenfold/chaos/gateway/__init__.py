"""The gateway as a user sees it: status codes and degraded answers."""
