"""Which processes the stack has and how they reach each other: the dependencies (PostgreSQL, the Redis nodes and
their Sentinels, the emulators, Prometheus, the link proxies), the services' Deployments with their environment, and
the gateway in front of them. Builds the components into :class:`~tenfold.stack.parts.StackParts`; starts nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tenfold.stack import emulators, keys, postgres, prometheus, redis, seeding
from tenfold.stack.autoscaler import Autoscaler
from tenfold.stack.haproxy import DEFAULT_MAX_CONNECTIONS, DEFAULT_QUEUE_TIMEOUT_S, ROUTES, Backend, RuntimeApi, haproxy
from tenfold.stack.links import Link, link
from tenfold.stack.parts import StackParts
from tenfold.stack.ports import HOST, SLOTS_PER_SERVICE, Ports
from tenfold.stack.replicas import Deployment

__all__ = ["build_infra", "build_services", "default_links", "service_env"]


def default_links(p: Ports) -> list[Link]:
    """A fault proxy in front of PostgreSQL, the DynamoDB emulator and each cache node."""
    return [
        Link("postgres", p.link(0)[0], p.postgres, p.link(0)[1]),
        Link("dynamodb", p.link(1)[0], p.dynamodb, p.link(1)[1]),
        Link("cache-0", p.link(2)[0], p.redis[0], p.link(2)[1]),
        Link("cache-1", p.link(3)[0], p.redis[1], p.link(3)[1]),
    ]


def build_infra(parts: StackParts) -> None:
    """The dependencies, with the seeded store restored from the cache when there is one."""
    p, h = parts.ports, parts.home
    shutil.rmtree(h / "redis", ignore_errors=True)
    seeding.restore(parts)
    # With links, each cache node announces its proxy's port: Sentinel, replication and services all
    # reach the nodes through the proxies.
    announce = [parts.via_link("cache-0", p.redis[0]), parts.via_link("cache-1", p.redis[1])]
    announced = [a if a != r else None for a, r in zip(announce, p.redis, strict=True)]
    comps = [
        postgres.postgres(h, p.postgres),
        redis.node(h, 0, p.redis[0], None, announced[0]),
        redis.node(h, 1, p.redis[1], announce[0], announced[1]),
        *(redis.sentinel(h, i, port, announce[0]) for i, port in enumerate(p.sentinels)),
        emulators.dynamodb(h, p.dynamodb),
        emulators.s3(h, p.s3),
        prometheus.prometheus(h, p.prometheus),
        *(link(h, spec) for spec in parts.links),
    ]
    for c in comps:
        parts.components[c.name] = c
    for node in ("redis-0", "redis-1"):
        address = parts.components[node].extra["address"]
        parts.components[node].hold = lambda a=address: _holds_primary(parts, a)
        # Sentinel usually promotes in ~2.5 s, but a split vote retries only after 2 x failover-timeout
        # (6 s); coming back early would make an empty primary.
        parts.components[node].max_hold_s = 30.0


def _holds_primary(parts: StackParts, address: str) -> bool:
    """A killed primary stays down until Sentinel has promoted someone else (at most ``max_hold_s``, 30 s)."""
    return parts.cache_primary == address


def service_env(parts: StackParts) -> dict[str, str]:
    """What every replica (and the seeder) gets: where each dependency is, through its link."""
    p = parts.ports
    env = dict(os.environ)
    env.update(
        {
            "TENFOLD_HOST": HOST,
            "TENFOLD_POSTGRES_DSN": postgres.dsn(parts.via_link("postgres", p.postgres)),
            "TENFOLD_REDIS_SENTINELS": ",".join(f"{HOST}:{s}" for s in p.sentinels),
            "TENFOLD_REDIS_MASTER": redis.MASTER,
            "TENFOLD_REDIS_URL": f"redis://{HOST}:{p.redis[0]}/0",
            "TENFOLD_DYNAMODB_ENDPOINT": f"http://{HOST}:{parts.via_link('dynamodb', p.dynamodb)}",
            "TENFOLD_S3_ENDPOINT": f"http://{HOST}:{p.s3}",
            "TENFOLD_S3_BUCKET": "tenfold-events",
            "AWS_ACCESS_KEY_ID": "tenfold",
            "AWS_SECRET_ACCESS_KEY": "tenfold",
            "AWS_DEFAULT_REGION": "us-east-1",
            keys.ENV_VAR: keys.jwt_secret(parts.home),
        }
    )
    return env


def build_services(parts: StackParts) -> None:
    """A Deployment (and an autoscaler where the manifest has an HPA) per service, and the gateway routing to them."""
    base_env = service_env(parts)
    backends = []
    for index, spec in enumerate(parts.specs):
        slots = min(SLOTS_PER_SERVICE, max(spec.replicas, spec.hpa.max_replicas if spec.hpa else 0) + 2)
        ports = [parts.ports.replica(index, s) for s in range(slots)]
        env = base_env | {k: v for k, v in spec.env.items() if k not in ("TENFOLD_HOST", "TENFOLD_PORT")}
        env |= parts.overlay.env
        parts.deployments[spec.name] = Deployment(spec, ports, parts.home, parts.cgroups, env)
        if spec.hpa is not None:
            parts.autoscalers[spec.name] = Autoscaler(spec.hpa)
        backends.append(
            Backend(
                spec.name,
                ROUTES.get(spec.name, (f"/api/{spec.name}",)),
                spec.readiness_path,
                ports,
                spec.gateway_connections or DEFAULT_MAX_CONNECTIONS,
                spec.gateway_queue_s or DEFAULT_QUEUE_TIMEOUT_S,
            )
        )
    gw = haproxy(
        parts.home,
        gateway_port=parts.ports.gateway,
        stats_port=parts.ports.haproxy_stats,
        backends=backends,
        rate_limit=parts.rate_limit,
    )
    parts.components[gw.name] = gw
    parts.runtime = RuntimeApi(Path(gw.extra["socket"]))
