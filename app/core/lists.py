"""What a list request asks for (`ListParams`) and what one page of it holds
(`PageResult`), as values every layer passes: the API and the pages parse them from a query
string, `app/crud/paging.py` runs them."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.core.zones import DEFAULT_ZONE

# A list counts the rows it matches up to this many past its offset and no further: beyond
# that, `total` is a lower bound and the page says so (`total_exact` false).
COUNT_CAP = 1000
# A search tests every row it passes (about twelve per match for a common word at a million
# rows), so its count stops sooner.
SEARCH_COUNT_CAP = 250
# A list whose filter looks up other records for each row it passes (a condition asking
# `can()` or `any()`: `RowScope.looks_up`) pays an index probe per row, matching or not:
# about 1,000 probes per 250 matches when a quarter match. It counts two default pages.
LOOKUP_COUNT_CAP = 100


@dataclass(frozen=True)
class ListParams:
    """What a list request asks for, already validated against the resource.

    `after` is the decoded keyset cursor: the sort value and id of the last row of the
    previous page (the value is None for a sort by id). A filter is a column's value
    (`status`), a linked record (`tag_id`: the records whose `tag_ids` hold it) or a day
    that starts or ends a range (`due_at_from`, `due_at_to`: both days included, in `zone`
    for a time).
    """

    limit: int = 50
    offset: int = 0
    sort: str | None = None
    q: str | None = None
    filters: tuple[tuple[str, Any], ...] = ()
    after: tuple[Any, int] | None = None
    zone: str = DEFAULT_ZONE


@dataclass(frozen=True)
class PageResult:
    """One page of a list: its rows, how many match (exactly or at least) and the cursor
    of the page after it (None on the last page)."""

    items: list[Any]
    total: int
    total_exact: bool
    next_cursor: str | None


@dataclass(frozen=True)
class AuditFilter:
    """What a reader of the log asks for; None: any."""

    actor_id: int | None = None
    actor_name: str | None = None
    event: str | None = None
    resource: str | None = None
    record_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
