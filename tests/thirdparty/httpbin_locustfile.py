"""httpbin's readers: a plain Locust file, nothing tenfold-specific in it."""

from locust import FastHttpUser, task


class Reader(FastHttpUser):
    @task(5)
    def get(self):
        self.client.get("/get?page=1", name="/get", headers={"X-Priority": "critical"})

    @task(3)
    def json(self):
        self.client.get("/json", headers={"X-Priority": "degraded"})

    @task(2)
    def uuid(self):
        self.client.get("/uuid", headers={"X-Priority": "best-effort"})

    @task(1)
    def anything(self):
        self.client.post("/anything/orders/7", json={"qty": 1}, name="/anything/orders/{id}")
