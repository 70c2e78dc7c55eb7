"""Prometheus metrics of one process, summed over every worker process when served with ``--workers N``.

With several workers ``autooffice serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory
before the workers start; each process writes its values there and a scrape, answered by any one
worker, adds them up. Figures that are the same for every process (job queue depth, stores by status)
are read from the database at scrape time instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as mp
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Route templates, not raw paths: one series per handler whatever the slug or id.
UNMATCHED = "<unmatched>"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "autooffice_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route", "status"],
    buckets=BUCKETS,
)
POOLS = Gauge(
    "autooffice_db_pools", "Store pools open (stores active right now).", ["server"], multiprocess_mode="livesum"
)
CONNECTIONS = Gauge(
    "autooffice_db_connections", "Store connections held, by server.", ["server"], multiprocess_mode="livesum"
)
SLOTS = Gauge(
    "autooffice_db_connection_slots",
    "Connection slots taken: connections open or opening (bounded by the per-server cap).",
    ["server"],
    multiprocess_mode="livesum",
)
CAP = Gauge("autooffice_db_connection_cap", "Per-process connection cap per server.", multiprocess_mode="max")
POOL_WAITS = Counter("autooffice_db_pool_waits", "Times a request waited for a connection slot.")
POOL_EVICTIONS = Counter("autooffice_db_pool_evictions", "Idle pools closed to make room under the cap.")
POOL_SPARES_CLOSED = Counter(
    "autooffice_db_pool_spares_closed", "Idle spare connections of busy stores closed to make room under the cap."
)

_last_counts = {"waits": 0, "evictions": 0, "spares_closed": 0}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, route or UNMATCHED, str(status)).observe(seconds)


def record_pools(figures: Any) -> None:
    """Copy a pool registry's figures (``health.PoolFigures``) into this process's gauges."""
    for server in set(figures.pools_by_server) | set(figures.connections) | set(figures.slots):
        POOLS.labels(server).set(figures.pools_by_server.get(server, 0))
        CONNECTIONS.labels(server).set(figures.connections.get(server, 0))
        SLOTS.labels(server).set(figures.slots.get(server, 0))
    CAP.set(figures.cap)
    for name, counter, value in (
        ("waits", POOL_WAITS, figures.waits),
        ("evictions", POOL_EVICTIONS, figures.evictions),
        ("spares_closed", POOL_SPARES_CLOSED, figures.spares_closed),
    ):
        if value > _last_counts[name]:
            counter.inc(value - _last_counts[name])
        _last_counts[name] = value


class _Snapshot(Collector):
    """Gauge families computed once per scrape from the database."""

    def __init__(self, families: Iterable[GaugeMetricFamily]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self.families


def job_families(jobs: list[tuple[str, str, int]], stores: dict[str, int]) -> list[GaugeMetricFamily]:
    queue = GaugeMetricFamily("autooffice_jobs", "Background jobs by queue and status.", labels=["queue", "status"])
    for name, status, count in jobs:
        queue.add_metric([name, status], count)
    tenants = GaugeMetricFamily("autooffice_stores", "Stores in the catalog by status.", labels=["status"])
    for status, count in sorted(stores.items()):
        tenants.add_metric([status], count)
    return [queue, tenants]


_PID = re.compile(r"_(\d+)\.db$")


def _forget_dead_workers(directory: str) -> None:
    """Drop live-gauge files of worker processes that have exited (uvicorn restarts them with new pids)."""
    for path in Path(directory).glob("gauge_live*.db"):
        match = _PID.search(path.name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mp.mark_process_dead(pid, directory)
        except PermissionError:
            pass


def render(families: Iterable[GaugeMetricFamily]) -> tuple[bytes, str]:
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        _forget_dead_workers(directory)
        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry, path=directory)
    else:
        registry = REGISTRY
    snapshot = CollectorRegistry()
    snapshot.register(_Snapshot(families))
    return generate_latest(registry) + generate_latest(snapshot), CONTENT_TYPE_LATEST


def prepare_multiprocess_dir(directory: Path) -> None:
    """Empty ``directory`` before workers start: values of a previous run must not be summed in."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
