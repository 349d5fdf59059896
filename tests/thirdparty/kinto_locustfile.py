"""Kinto's writers: records PUT into the default bucket, acknowledged in tenfold's ledger and read back afterwards."""

import uuid

from locust import FastHttpUser, task

from tenfold import ledger

AUTH = ("tenfold", "s3cret")
RECORDS = "/v1/buckets/default/collections/tasks/records"


class Writer(FastHttpUser):
    @task(3)
    def write(self):
        key = str(uuid.uuid4())
        with self.client.put(
            f"{RECORDS}/{key}",
            json={"data": {"done": False}},
            auth=AUTH,
            name=f"{RECORDS}/{{id}}",
            headers={"X-Priority": "critical"},
            catch_response=True,
        ) as r:
            if r.status_code in (200, 201):
                ledger.acknowledged("record", key)
            elif r.status_code == 0 or r.status_code >= 500:
                ledger.unknown("record", key)

    @task(1)
    def read(self):
        self.client.get(f"{RECORDS}?_limit=10", auth=AUTH, name=RECORDS, headers={"X-Priority": "degraded"})


@ledger.verifier("record")
def stored(client, key):
    r = client.get(f"{RECORDS}/{key}", auth=AUTH)
    if r.status_code in (200, 404):
        return r.status_code == 200
    r.raise_for_status()
    return None
