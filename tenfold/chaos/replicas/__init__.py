"""Replicas of a service: kill, freeze and thaw them; count them."""
