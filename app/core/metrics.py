"""Prometheus metrics (`prometheus-client`), what operators alert on: requests by route
template, decisions, the policy in force, sign-ins, tokens, audit entries, the pool.

Every label value comes from a bounded set: a route's template (never the raw path; a path
no route matches is `unmatched`), a permission model and action the registry knows, an
outcome word. No client can create series.

Several worker processes: with `PROMETHEUS_MULTIPROC_DIR` set (to an empty directory, by
the script that starts them), each process writes its values to files there and a scrape
sums them (`MultiProcessCollector`), as the library documents; gauges say how (`livesum`:
the live processes' sum, `max`). Without it the process's own registry answers.

`ENABLED` off (`METRICS_ENABLED=false`): the functions below return at once (the
benchmark's baseline, `scripts/bench_observability.py`).
"""

import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy import event

ENABLED = True
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# The text format every Prometheus 2 reads (Debian 12's is 2.42); our names need no more.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

REQUESTS = Counter(
    "crud_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "crud_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DECISIONS = Counter(
    "crud_authz_decisions_total",
    "Authorization decisions by permission model, action and outcome (allowed, denied).",
    ["model", "action", "outcome"],
)
CACHE = Counter(
    "crud_authz_decision_cache_total",
    "Decisions on one record answered from the decision cache (hit) or by Casbin (miss).",
    ["result"],
)
REVISION = Gauge(
    "crud_policy_revision",
    "The policy revision in force (the newest of the live workers).",
    multiprocess_mode="livemax",
)
RELOAD_SECONDS = Gauge(
    "crud_policy_last_reload_seconds",
    "How long the last policy update took (a change applied, caught up or a whole load).",
    multiprocess_mode="livemax",
)
RELOADS = Counter(
    "crud_policy_reloads_total",
    "Policy updates by kind (applied, caught_up, loaded) and failures (failed).",
    ["result"],
)
SIGN_INS = Counter(
    "crud_sign_ins_total",
    "Sign-in attempts (the form, the API and token requests) by outcome: success, "
    "failure, throttled.",
    ["outcome"],
)
TOKENS = Counter(
    "crud_bearer_tokens_total",
    "Bearer tokens issued, and presented but refused (invalid, expired or revoked).",
    ["outcome"],
)
AUDIT = Counter("crud_audit_entries_total", "Audit log entries written.")
POOL_SIZE = Gauge(
    "crud_db_pool_size",
    "Connections the database pool keeps (summed over the live workers).",
    multiprocess_mode="livesum",
)
POOL_CHECKED_OUT = Gauge(
    "crud_db_pool_checked_out",
    "Database connections in use now (summed over the live workers).",
    multiprocess_mode="livesum",
)
POOL_WAITS = Counter(
    "crud_db_pool_waits_total",
    "Connections asked for while every pooled one was in use (an overflow connection was "
    "opened, or the request waited for one).",
)
BUILD = Gauge(
    "crud_build_info",
    "The running build: its version and git commit (unknown when not from a checkout).",
    ["version", "commit"],
    multiprocess_mode="max",
)

# Label children looked up once: `labels()` costs a lock and a dict lookup per call.
_decisions: dict[tuple[str, str, bool], Any] = {}
_requests: dict[tuple[str, str, int], Any] = {}
_latency: dict[tuple[str, str], Any] = {}
_HIT, _MISS = CACHE.labels("hit"), CACHE.labels("miss")


def decided(model: str, action: str, allowed: bool) -> None:
    """Count one authorization decision."""
    if ENABLED:
        key = (model, action, allowed)
        child = _decisions.get(key)
        if child is None:
            outcome = "allowed" if allowed else "denied"
            child = _decisions[key] = DECISIONS.labels(model, action, outcome)
        child.inc()


def cached(hit: bool) -> None:
    """Count one look-up of the decision cache."""
    if ENABLED:
        (_HIT if hit else _MISS).inc()


def answered(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its time."""
    if not ENABLED:
        return
    counted = _requests.get((method, route, status))
    if counted is None:
        counted = _requests[(method, route, status)] = REQUESTS.labels(method, route, status)
    counted.inc()
    timed = _latency.get((method, route))
    if timed is None:
        timed = _latency[(method, route)] = LATENCY.labels(method, route)
    timed.observe(seconds)


def policy_in_force(revision: int) -> None:
    if ENABLED:
        REVISION.set(revision)


def policy_updated(kind: str, seconds: float | None = None) -> None:
    """Count a policy update (`applied`, `caught_up`, `loaded`, or `failed`) and its time."""
    if ENABLED:
        RELOADS.labels(kind).inc()
        if seconds is not None:
            RELOAD_SECONDS.set(seconds)


def sign_in(outcome: str) -> None:
    if ENABLED:
        SIGN_INS.labels(outcome).inc()


def token(outcome: str) -> None:
    if ENABLED:
        TOKENS.labels(outcome).inc()


def audited() -> None:
    if ENABLED:
        AUDIT.inc()


def watch_pool(pool: Any) -> None:
    """Follow a SQLAlchemy pool: its size, its connections in use, and the checkouts that
    found every pooled connection in use."""
    size = getattr(pool, "size", None)
    if not ENABLED or size is None:  # SQLite's pools keep no fixed number
        return
    POOL_SIZE.inc(size())

    def checkout(*_: Any) -> None:
        POOL_CHECKED_OUT.inc()
        if pool.checkedout() > size():
            POOL_WAITS.inc()

    def checkin(*_: Any) -> None:
        POOL_CHECKED_OUT.dec()

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)


def build_info(version: str) -> None:
    """Say which build runs: the version and, from a git checkout, its commit."""
    if ENABLED:
        BUILD.labels(version, commit()).set(1)


@cache
def commit() -> str:
    """The checkout's commit (`GIT_COMMIT` when the deployment names it), else unknown:
    asked of git once per process, however many apps it builds."""
    named = os.environ.get("GIT_COMMIT", "").strip()
    if named:
        return named[:40]
    root = Path(__file__).resolve().parents[2]
    try:
        found = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = found.stdout.strip()
    return sha if found.returncode == 0 and len(sha) == 40 else "unknown"


def process_ended() -> None:
    """Drop this worker's live gauges (multiprocess mode), as the library asks of a worker
    that stops: the pool it no longer holds, the revision it no longer enforces."""
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.mark_process_dead(os.getpid())


def scrape_registry() -> CollectorRegistry:
    """What a scrape reads: in multiprocess mode, every worker's files; else this process."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def exposition() -> bytes:
    """Every metric in Prometheus's text format: every worker's, in multiprocess mode."""
    return generate_latest(scrape_registry())
