"""Session schemas: read-only, and never the token."""

from app.schemas.common import ReadSchema, Timestamp


class SessionRead(ReadSchema):
    user_id: int
    expires_at: Timestamp
    last_seen_at: Timestamp
    ip_address: str | None
    user_agent: str | None
