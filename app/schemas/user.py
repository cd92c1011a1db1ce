"""User schemas: passwords go in, hashes never come out."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, EmailStr, Field, StringConstraints, field_validator

from app.core.messages import pattern
from app.core.security import is_common_password, normalise_password
from app.core.zones import ZONE_EXAMPLE, is_zone
from app.schemas.common import Bool, Id, InputSchema, ReadSchema, Text, Timestamp, no_nul, partial

Username = Annotated[
    str,
    StringConstraints(min_length=3, max_length=50),
    pattern(r"^[A-Za-z0-9_.\-]+$", "letters, digits, '.', '_' and '-' only"),
]
PASSWORD_MIN, PASSWORD_MAX = 8, 128


def _new_password(value: str) -> str:
    """A password as set: NFC, 8 to 128 characters, not a common one; never trimmed."""
    value = normalise_password(no_nul(value))
    if len(value) < PASSWORD_MIN:
        raise ValueError(f"at least {PASSWORD_MIN} characters")
    if len(value) > PASSWORD_MAX:
        raise ValueError(f"at most {PASSWORD_MAX} characters")
    if is_common_password(value):
        raise ValueError("not one of the most common passwords: choose one harder to guess")
    return value


def _given_password(value: str) -> str:
    return normalise_password(no_nul(value))


Password = Annotated[
    str,
    Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX),
    AfterValidator(_new_password),
]
# A password as typed to sign in: compared as it was set (NFC, untrimmed), longer allowed
# since a longer one simply never matches.
GivenPassword = Annotated[
    str, Field(min_length=1, max_length=1024), AfterValidator(_given_password)
]
FullName = Text(200)


def _zone(value: str) -> str:
    if not is_zone(value):
        raise ValueError(f"a time zone such as {ZONE_EXAMPLE} or UTC")
    return value


# Empty: the zone of the browser the pages are viewed in.
TimeZone = Annotated[
    str,
    Field(max_length=64, description=f"an IANA time zone such as {ZONE_EXAMPLE}"),
    AfterValidator(_zone),
]
# Stored lowercased, so the unique constraint holds in any case (login matches any case too).
Email = Annotated[EmailStr, Field(max_length=320), AfterValidator(str.lower)]

# Fields a user holding only `user:update:own` may change on their own row.
SELF_EDITABLE = frozenset({"email", "full_name", "password", "time_zone"})
CURRENT_PASSWORD = "Your current password: needed, and checked, when you change your own password."


class UserCreate(InputSchema):
    username: Username
    email: Email
    password: Password
    full_name: FullName | None = None
    is_active: Bool = True
    role_ids: list[Id] = Field(default_factory=list, max_length=500)
    group_ids: list[Id] = Field(default_factory=list, max_length=500)
    owner_group_id: Id | None = None
    time_zone: TimeZone | None = None


# Changing one's own password needs the current one (`app/services/accounts.py`).
UserUpdate = partial(
    UserCreate,
    "UserUpdate",
    current_password=(GivenPassword | None, Field(default=None, description=CURRENT_PASSWORD)),
)


def _names(items: object) -> object:
    if isinstance(items, list):
        return [getattr(item, "name", item) for item in items]
    return items


class UserRead(ReadSchema):
    username: str
    email: str
    full_name: str | None
    is_active: bool
    last_login_at: Timestamp | None
    time_zone: str | None
    roles: list[str]
    role_ids: list[int]
    groups: list[str]
    group_ids: list[int]

    _role_names = field_validator("roles", "groups", mode="before")(_names)


class Me(UserRead):
    permissions: list[str]


class RegisterRequest(BaseModel):
    """Public registration; any field beyond these is ignored, never assigned."""

    username: Username
    email: Email
    password: Password
    full_name: FullName | None = None


class LoginRequest(BaseModel):
    username: Text(320, min_length=1)  # a username, or an email (up to 320 characters)
    password: GivenPassword


class TokenResponse(BaseModel):
    """A bearer token for scripts: send it as `Authorization: Bearer <access_token>`."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
