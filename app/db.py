"""The application's session factory: sessions that notice when a write changes the policy."""

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app.crud.policy_scope import mark_policy_dirty


class PolicyTrackingSession(Session):
    """A session whose flushes mark it when roles, permissions or memberships change."""


event.listen(PolicyTrackingSession, "before_flush", mark_policy_dirty)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory; objects stay usable after commit."""
    return async_sessionmaker(
        engine, expire_on_commit=False, sync_session_class=PolicyTrackingSession
    )
