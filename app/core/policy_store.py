"""The policy in force in this process, kept current as revisions are announced.

Changes are applied in place (announced, or read from `policy_change` by revision); the
whole policy is loaded again only when a change was too large to describe or is no longer
recorded, in a worker thread, while the previous engine keeps answering.
"""

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, make_url, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import logs, metrics
from app.core.config import Settings, with_driver
from app.core.enforcer import PolicyEngine, build_engine, current_revision
from app.core.policy_lines import POLICY_CHANNEL, Change, decode_notice, parse_changes
from app.models import PolicyChange, PolicyState

log = logging.getLogger(__name__)


class PolicyStore:
    """Holds the current `PolicyEngine` and keeps it current.

    A request asks for an engine at least as new as the revision it read from the database
    (read-your-writes). A newer revision is applied in place: announced with its changes
    (the writer's own process, a notification), or read from `policy_change` (catching up
    by revision). Only when a change was too large to describe, or is no longer recorded,
    is the whole policy loaded again: one build (in a worker thread) however many requests
    wait for it, while the previous engine keeps answering those that need nothing newer.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._current: PolicyEngine | None = None
        self._updating: asyncio.Task[PolicyEngine] | None = None
        self.lookups = 0  # requests for the policy in force so far (`at_least`)
        self.builds = 0  # whole loads so far
        self.catch_ups = 0  # revisions applied from `policy_change` so far
        # The time a request's decisions read as `now` (a test fixes it to a boundary).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @property
    def current(self) -> PolicyEngine | None:
        return self._current

    async def get(self, session: AsyncSession) -> PolicyEngine:
        """Return an engine at least as new as the revision the database holds now."""
        return await self.at_least(await current_revision(session))

    async def at_least(self, revision: int) -> PolicyEngine:
        """Return an engine of `revision` or newer, waiting for (or starting) an update."""
        self.lookups += 1
        while True:
            engine = self._current
            if engine is not None and engine.revision >= revision:
                return engine
            await asyncio.shield(self.refresh())

    def advance(self, revision: int, changes: list[Change] | None) -> None:
        """Take an announced revision: apply its changes in place when it is the next one;
        otherwise catch up (or load) off the caller's path."""
        engine = self._current
        if engine is not None and engine.revision >= revision:
            return
        started = time.perf_counter()
        if engine is not None and changes is not None and engine.apply(revision, changes):
            metrics.policy_updated("applied", time.perf_counter() - started)
            metrics.policy_in_force(engine.revision)
            return
        self.refresh()

    def refresh(self) -> asyncio.Task[PolicyEngine]:
        """Start an update to the stored revision unless one is running; return its task."""
        task = self._updating
        if task is None or task.done():
            task = self._updating = asyncio.get_running_loop().create_task(self._update())
        return task

    async def _update(self) -> PolicyEngine:
        current = self._current
        started = time.perf_counter()
        try:
            if current is not None and await self._catch_up(current):
                metrics.policy_updated("caught_up", time.perf_counter() - started)
                metrics.policy_in_force(current.revision)
                return current
        except Exception as exc:  # a recorded change it cannot apply: load the whole policy
            log.warning("policy catch-up failed (%s: %s); loading it", type(exc).__name__, exc)
        try:
            return await self._build()
        except Exception as exc:
            metrics.policy_updated("failed")
            logs.event(
                "policy_reload_failed",
                f"policy reload failed: {type(exc).__name__}",
                logging.ERROR,
                error=type(exc).__name__,
            )
            raise

    async def _catch_up(self, engine: PolicyEngine) -> bool:
        """Apply the recorded revisions after the engine's, in order; False when that cannot
        bring it to the stored revision (one is missing or undescribed, or the stored
        revision went back: a restored database)."""
        stored, recorded = await asyncio.to_thread(read_changes, self._engine, engine.revision)
        if stored < engine.revision:
            return False
        for revision, changes in recorded:
            if revision <= engine.revision:
                continue
            if changes is None or not engine.apply(revision, changes):
                return False
            self.catch_ups += 1
        return engine.revision >= stored

    async def _build(self) -> PolicyEngine:
        started = time.perf_counter()
        # Builds run one at a time (see `refresh`), each reading what is stored when it
        # starts: the newest build is the newest policy, even when the revision went down
        # (a database restored from a backup). Revisions committed while it loaded are
        # then applied to it (applying a change it already holds changes nothing).
        engine = await build_engine(self._engine)
        await self._catch_up(engine)
        warmed = 0 if self._current is None else await engine.warm(self._current)
        # Revisions applied to the current engine meanwhile (announced during the load or
        # the warming), applied to this one too before it takes over.
        while self._current is not None and self._current.revision > engine.revision:
            before = engine.revision
            await self._catch_up(engine)
            if engine.revision == before:  # the stored revision went down: this one is newer
                break
        self._current = engine
        self.builds += 1
        elapsed = time.perf_counter() - started
        metrics.policy_updated("loaded", elapsed)
        metrics.policy_in_force(engine.revision)
        logs.event(
            "policy_reloaded",
            f"policy revision {engine.revision} loaded in {1000 * elapsed:.0f} ms "
            f"({warmed} decisions warmed)",
            revision=engine.revision,
            duration_ms=round(1000 * elapsed, 1),
            warmed=warmed,
        )
        return engine

    async def watch(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Keep the engine current without waiting for a request: on PostgreSQL, `LISTEN`
        for the revisions syncs announce; on both backends, check the stored revision every
        `policy_poll_seconds` as well. Runs until cancelled; errors are logged and retried."""
        while True:
            try:
                if settings.is_sqlite:
                    await self._poll(settings, sessions)
                else:
                    await self._listen(settings, sessions)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: requests still check
                log.warning("policy watch: %s: %s", exc.__class__.__name__, exc)
                await asyncio.sleep(settings.policy_poll_seconds)

    async def _poll(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        while True:
            await self._check(sessions)
            await asyncio.sleep(settings.policy_poll_seconds)

    async def _check(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Update when the stored revision differs from the engine's, either way."""
        async with sessions() as session:
            revision = await current_revision(session)
        if self._current is None or self._current.revision != revision:
            await asyncio.shield(self.refresh())

    async def _listen(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        import psycopg  # here: only a PostgreSQL deployment's app listens (not the CLI, SQLite)

        url = with_driver(settings.sync_database_url, asynchronous=False)
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as connection:
            await connection.execute(f"LISTEN {POLICY_CHANNEL}")
            while True:
                # Announced revisions as they come; on a quiet channel, a check of the
                # stored one (a notification lost with a dropped connection, say).
                async for notice in connection.notifies(timeout=settings.policy_poll_seconds):
                    announced = decode_notice(notice.payload)
                    if announced is not None:
                        log.debug("policy revision %s announced", announced[0])
                        self.advance(*announced)
                await self._check(sessions)


def read_changes(engine: Engine, after: int) -> tuple[int, list[tuple[int, list[Change] | None]]]:
    """Return the stored revision and the recorded changes of the revisions after `after`."""
    with engine.connect() as connection:
        stored = connection.scalar(select(PolicyState.revision).where(PolicyState.id == 1)) or 0
        if stored <= after:
            return stored, []
        rows = connection.execute(
            select(PolicyChange.revision, PolicyChange.changes)
            .where(PolicyChange.revision > after, PolicyChange.revision <= stored)
            .order_by(PolicyChange.revision)
        )
        recorded: list[tuple[int, list[Change] | None]] = []
        expected = after + 1
        for revision, text in rows:
            if revision != expected:
                break  # a gap: no longer recorded
            recorded.append((revision, None if text is None else parse_changes(json.loads(text))))
            expected += 1
    return stored, recorded
