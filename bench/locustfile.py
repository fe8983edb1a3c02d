"""A Chicago day of GeoReport traffic, for locust; bench/load.py runs it (see there).

Each user sends OPEN311_LOAD_USER_RATE requests a second at most (constant_throughput),
so the rate offered is users x that rate whatever the answers' latency, until a user
falls behind because its answers take longer than its period. What it asks for comes
from the plan bench/load.py wrote (OPEN311_LOAD_PLAN): real places, wards, services,
request ids, articles' words and POST forms of the store under test. The mix:

    lists 60%: near a real place (30), a ward's open requests (15), a service in 1-7 days (15)
    one request by id 20%
    POST 10%, with the bench's API key
    feeds and search 10%: the CSV feed (3) and GeoJSON feed (2) of one hour, articles (5)

Locust patches the standard library with gevent: this file runs only in locust's own
process, never imported by the bench.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import urllib.parse
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant_throughput, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["OPEN311_LOAD_PLAN"]).read_text())
USER_RATE = float(os.environ.get("OPEN311_LOAD_USER_RATE", "1"))
NOW = datetime.fromisoformat(PLAN["now"])
REQUESTS = "/open311/v2/requests"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
serial = itertools.count()


def recent(days: float) -> datetime:
    """A moment in the last 90 days, `days` before which there is still history."""
    return NOW - timedelta(seconds=random.uniform(days * 86400, 90 * 86400))


def w3c(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Resident(FastHttpUser):
    wait_time = constant_throughput(USER_RATE)

    def on_start(self) -> None:
        # Users start spread over one period, not all in the same millisecond.
        time.sleep(random.random() / USER_RATE)

    @task(30)
    def list_near_a_place(self) -> None:
        lon, lat = random.choice(PLAN["points"])
        path = f"{REQUESTS}.json?lat={lat}&long={lon}&radius=500"
        self.client.get(path, name="list: 500 m of a place")

    @task(15)
    def list_a_ward(self) -> None:
        ward = random.choice(PLAN["wards"])
        self.client.get(f"{REQUESTS}.json?ward={ward}&status=open", name="list: a ward's open")

    @task(15)
    def list_a_service_in_dates(self) -> None:
        days = random.randint(1, 7)  # this week's, or a day's, potholes
        start = recent(days)
        query = urllib.parse.urlencode(
            {
                "service_code": random.choice(PLAN["services"]),
                "start_date": w3c(start),
                "end_date": w3c(start + timedelta(days=days)),
            }
        )
        self.client.get(f"{REQUESTS}.json?{query}", name="list: a service in 1-7 days")

    @task(20)
    def one_request(self) -> None:
        number = random.choice(PLAN["numbers"])
        self.client.get(f"{REQUESTS}/{number}.json", name="one request by id")

    @task(10)
    def post(self) -> None:
        label = f"{PLAN['tag']}-{os.getpid()}-{next(serial)}"
        unique = urllib.parse.urlencode(
            {
                "description": f"Load test {label}: pothole deep enough to damage a tyre",
                "email": f"load-{label}@example.org",
            }
        )
        body = f"{random.choice(PLAN['forms'])}&{unique}"
        self.client.post(f"{REQUESTS}.json", data=body, headers=FORM, name="POST a request")

    @task(3)
    def csv_feed(self) -> None:
        self._feed("csv")

    @task(2)
    def geojson_feed(self) -> None:
        self._feed("geojson")

    @task(5)
    def search_articles(self) -> None:
        words = urllib.parse.quote(random.choice(PLAN["words"]))
        self.client.get(f"/open311/v2/articles.json?q={words}", name="article search")

    def _feed(self, fmt: str) -> None:
        start = recent(1 / 24)
        query = f"start_date={w3c(start)}&end_date={w3c(start + timedelta(hours=1))}"
        self.client.get(f"/open311/feeds/requests.{fmt}?{query}", name=f"feed: {fmt} of 1 hour")
