"""The user pool's fixes for holding many requests in flight, each in a subprocess (importing Locust monkey-patches
the interpreter with gevent, as it does a generator)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_KEEP_ALIVE = """
import json, resource, socket
import locust  # monkey-patches, as in a generator process
import gevent
from geventhttpclient.connectionpool import ConnectionPool
from tenfold.load._users import _poll_socket_liveness

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard != resource.RLIM_INFINITY and hard < 1200:
    print(json.dumps("skip"))
    raise SystemExit
resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard) if hard != resource.RLIM_INFINITY else 4096, hard))
filler = [socket.socket() for _ in range(1100)]  # what a generator holding 1,000 connections has open
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
conn = socket.create_connection(srv.getsockname())
peer, _ = srv.accept()
_poll_socket_liveness()
_poll_socket_liveness()  # once per process: the second call changes nothing
idle = ConnectionPool._is_socket_alive(None, conn)
peer.sendall(b"x")  # stray bytes on an idle keep-alive connection: not reusable
gevent.sleep(0.05)
dirty = ConnectionPool._is_socket_alive(None, conn)
conn2 = socket.create_connection(srv.getsockname())
peer2, _ = srv.accept()
peer2.close()  # the server closed it (FIN)
gevent.sleep(0.05)
closed = ConnectionPool._is_socket_alive(None, conn2)
print(json.dumps({"fd": conn.fileno(), "idle": idle, "dirty": dirty, "closed": closed}))
"""

_FREEZE = """
import gc, json, random, time
import locust
from locust import User, task
from locust.env import Environment
from tenfold.load._capture import Capture
from tenfold.load._gc import deferred_collection
from tenfold.load._recorder import Recorder
from tenfold.load._users import UserPools

class U(User):
    @task
    def t(self):
        pass

def pool():
    return UserPools(Environment(user_classes=[U]), [U], Capture(Recorder(0)), random.Random(0))

def frozen_by(pools):
    before = gc.get_freeze_count()
    pools.run(time.time(), time.perf_counter())
    return gc.get_freeze_count() - before

out = {}
deferred = pool()
with deferred_collection(1_000_000):
    out["new_instance"] = frozen_by(deferred)
    out["reused_instance"] = frozen_by(deferred)
out["after"] = gc.get_freeze_count()
out["automatic"] = frozen_by(pool())  # automatic collection: nothing is frozen
print(json.dumps(out))
"""


def _run(script: str) -> object:
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_pooled_keep_alive_connection_past_descriptor_1024_is_reused_unless_the_server_closed_it() -> None:
    got = _run(_KEEP_ALIVE)
    if got == "skip":
        pytest.skip("the open-file limit is below 1,200")
    assert isinstance(got, dict)
    assert got["fd"] >= 1024  # select(2) refuses it: geventhttpclient's own check called it dead
    assert got["idle"] is True
    assert got["dirty"] is False
    assert got["closed"] is False


def test_the_pool_freezes_what_it_grows_while_collection_is_deferred_and_only_then() -> None:
    got = _run(_FREEZE)
    assert isinstance(got, dict)
    assert got["new_instance"] > 0
    assert got["reused_instance"] == 0
    assert got["after"] == 0  # the deferred collection unfreezes everything at its end
    assert got["automatic"] == 0
