"""Your service's workload: a plain Locust file (https://docs.locust.io/en/stable/writing-a-locustfile.html).

tenfold drives it under the open model: each arrival of the scenario's schedule runs ONE task below (picked by its
@task weight) on a user instance from a pool; on_start runs once per instance (log in there: the login is
reused). wait_time is ignored: tenfold's clock decides when tasks start. Name requests with name= so URLs with
ids group into one route; the X-Priority header (critical, degraded, best-effort) lets the SLO file judge
priorities apart. Writes the service acknowledges go into tenfold's ledger and are read back after the run
(docs/ledger.md).
"""

from __future__ import annotations

import httpx
from locust import FastHttpUser, task

from tenfold import ledger


class Visitor(FastHttpUser):
    @task(10)
    def home(self) -> None:
        self.client.get("/", name="/", headers={"X-Priority": "critical"})

    # A write, acknowledged and read back: edit the paths to your API, then uncomment (and `import uuid`).
    #
    # @task(1)
    # def create_item(self) -> None:
    #     key = str(uuid.uuid4())
    #     with self.client.put(f"/items/{key}", json={"name": key}, name="/items/{id}",
    #                          headers={"X-Priority": "critical"}, catch_response=True) as r:
    #         if 200 <= r.status_code < 300:
    #             ledger.acknowledged("item", key)      # the service said it is stored
    #         elif r.status_code == 0 or r.status_code >= 500:
    #             ledger.unknown("item", key)           # no answer: it may or may not be there


@ledger.verifier("item")
def item_is_there(client: httpx.Client, key: str) -> bool:
    """Called after the run for every acknowledged item; ``client`` is an httpx.Client whose base_url is the target."""
    return client.get(f"/items/{key}").status_code == 200
