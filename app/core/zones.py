"""Time zones: times are stored in UTC and shown in the viewer's zone, named.

The viewer's zone is their own setting (`users.time_zone`), else the zone their browser
reports (the `tz` cookie the pages' script sets), else UTC.
"""

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

ZONE_COOKIE = "tz"
DEFAULT_ZONE = "UTC"
ZONE_EXAMPLE = "Europe/Berlin"
# What a `datetime-local` input sends: a date and a time, no offset.
WALL_CLOCK = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted (UTC among them)."""
    return tuple(sorted(available_timezones() | {DEFAULT_ZONE}))


@cache
def _known() -> frozenset[str]:
    return frozenset(zone_names())


def is_zone(name: object) -> bool:
    """Whether `name` is a zone name this machine knows."""
    return isinstance(name, str) and name in _known()


def viewer_zone(setting: str | None, browser: str | None) -> str:
    """The zone a viewer's times show in: their setting, else their browser's, else UTC."""
    for name in (setting, browser):
        if is_zone(name):
            return name  # type: ignore[return-value]
    return DEFAULT_ZONE


def tz(zone: str) -> tzinfo:
    """The zone named `zone`; UTC needs no zone database (a host may have none)."""
    return UTC if zone == DEFAULT_ZONE else ZoneInfo(zone)


def local(value: datetime, zone: str) -> datetime:
    """`value` (aware, or naive UTC) as a wall-clock time in `zone`; as it is where that
    would leave the years 1 to 9999 (9999-12-31 23:00 UTC is already 10000 in Berlin)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(tz(zone))
    except OverflowError:
        return value


def shown(value: datetime, zone: str, seconds: bool = False) -> str:
    """`value` in `zone` with the zone's abbreviation: `2026-11-30 09:22 CET`."""
    moment = local(value, zone)
    text = moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {moment.tzname() or zone}"


def day_start(day: date, zone: str) -> datetime:
    """The moment `day` begins in `zone`, in UTC."""
    return datetime.combine(day, time(), tz(zone)).astimezone(UTC)


def day_end(day: date, zone: str) -> datetime:
    """The moment after `day` ends in `zone` (the next day's start), in UTC."""
    return day_start(day + timedelta(days=1), zone)


def skipped(value: str, zone: str) -> bool:
    """Whether a `datetime-local` value is a wall-clock time `zone` never shows: one in
    the hour the clocks skip (Berlin's 02:30 on 2026-03-29)."""
    if not WALL_CLOCK.fullmatch(value):
        return False
    try:
        moment = datetime.fromisoformat(value)
        back = moment.replace(tzinfo=tz(zone)).astimezone(UTC).astimezone(tz(zone))
    except (ValueError, OverflowError):
        return False
    return back.replace(tzinfo=None) != moment


def in_utc(value: str, zone: str) -> str:
    """A form's `datetime-local` value, a wall-clock time in `zone`, as the UTC moment it
    is (`2026-11-30T08:22:00+00:00`; a time the clocks repeat is the first of the two; see
    `skipped` for one they skip). Anything else (an offset of its
    own, `20240101`) is left as it is, for the schema to judge as the API would; so is a
    time past the years 1 to 9999 in UTC, with its zone's offset, which the schema refuses
    in words."""
    if not WALL_CLOCK.fullmatch(value):
        return value
    try:
        moment = datetime.fromisoformat(value).replace(tzinfo=tz(zone))
    except ValueError:
        return value
    try:
        return moment.astimezone(UTC).isoformat()
    except OverflowError:
        return moment.isoformat()
