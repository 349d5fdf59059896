"""The cache (Redis primary + replica + Sentinel; ElastiCache Multi-AZ on AWS)."""
