"""Names for the records a page refers to: every reference (a foreign key, an owner, a
session's user) is shown by its record's title and linked when the viewer may read that
record, and as "hidden" when not; never by its id. A list names them from its filters'
choices, read in one statement (`filter_options`, `list_names`); a record's page reads
them in one statement per referenced table (`page_names`).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.resources import REGISTRY, Resource
from app.services.access import Access

# Columns every table may have that name a user or a group, beside its own foreign keys.
OWNERS = {"owner_user_id": "users", "user_id": "users", "owner_group_id": "groups"}


def reference_targets(res: Resource) -> dict[str, str]:
    """Each column of `res` that names one record, with the path of that record's table."""
    columns = res.model.__table__.columns
    found = {
        column: path
        for column, path in res.references.items()
        if not column.endswith("_ids") and column in columns
    }
    for column, path in OWNERS.items():
        if column in columns:
            found.setdefault(column, path)
    return found


@dataclass
class PageTitles:
    """The titles a page may show: column -> table path, and path -> id -> title."""

    targets: dict[str, str] = field(default_factory=dict)
    titles: dict[str, dict[int, str]] = field(default_factory=dict)

    def path_of(self, column: str) -> str | None:
        return self.targets.get(column)

    def title(self, column: str, record_id: Any) -> str | None:
        """The title of the record `column` names, None when the viewer may not read it."""
        return self.titles.get(self.targets[column], {}).get(record_id)


def value_of(record: Any, column: str) -> Any:
    return record[column] if isinstance(record, dict) else getattr(record, column, None)


def named_columns(res: Resource, columns: Sequence[str]) -> dict[str, Resource]:
    """The columns among `columns` that refer to records (`tag_ids` included), with the
    resource of those records."""
    linked = {c: p for c, p in res.references.items() if c.endswith("_ids")}
    targets = reference_targets(res) | linked
    return {column: REGISTRY[path] for column, path in targets.items() if column in columns}


async def list_names(
    access: Access,
    session: AsyncSession,
    res: Resource,
    records: Iterable[Any],
    columns: Sequence[str],
    offered: dict[str, dict[int, str]],
) -> PageTitles:
    """The names of a list page: from the filters' choices (`filter_options`, what the
    viewer may read of each table), and for an id those leave out while cut at
    `FILTER_CHOICES`, or of a table no filter offers, one statement per table."""
    known: dict[str, dict[int, str]] = {}
    complete: set[str] = set()
    for column, titles in offered.items():
        path = target_of(res, column)
        if path is not None and path not in known:
            known[path] = titles
            if len(titles) < FILTER_CHOICES:
                complete.add(path)
    targets = {column: target.path for column, target in named_columns(res, columns).items()}
    wanted = {
        path: {id for id in ids if id not in known.get(path, {})}
        for path, ids in referenced_ids(records, targets).items()
        if path not in complete
    }
    found = await titles_by_path(access, session, {p: ids for p, ids in wanted.items() if ids})
    titles = {path: known.get(path, {}) | found.get(path, {}) for path in targets.values()}
    return PageTitles(targets, titles)


def referenced_ids(records: Iterable[Any], targets: dict[str, str]) -> dict[str, set[int]]:
    """The ids the `targets` columns (column -> table path) of `records` hold, by path."""
    wanted: dict[str, set[int]] = {}
    for record in records:
        for column, path in targets.items():
            value = value_of(record, column)
            if isinstance(value, list):  # a many-to-many field: a task's tag_ids
                wanted.setdefault(path, set()).update(value)
            elif value is not None:
                wanted.setdefault(path, set()).add(value)
    return wanted


async def page_names(
    access: Access,
    session: AsyncSession,
    res: Resource,
    records: Iterable[Any],
    columns: Sequence[str],
) -> PageTitles:
    """Look up the titles of what `columns` of `records` refer to, that the viewer may read
    (a record's page: one statement per referenced table)."""
    targets = {column: target.path for column, target in named_columns(res, columns).items()}
    wanted = referenced_ids(records, targets)
    return PageTitles(targets, await titles_by_path(access, session, wanted))


async def titles_by_path(
    access: Access, session: AsyncSession, wanted: dict[str, set[int]]
) -> dict[str, dict[int, str]]:
    """The titles of the `wanted` ids of each table the viewer may read: one statement per
    table."""
    return {
        path: await access.titles_of(REGISTRY[path], session, ids) for path, ids in wanted.items()
    }


async def entry_names(
    access: Access, session: AsyncSession, entries: Iterable[Any]
) -> dict[tuple[str, int], str]:
    """The titles of the records audit entries are about, and of those their changes name
    (`project_id: 3 → 5`), that the viewer may read: (path, id) -> title. A deleted record
    has none: its entry shows the table and id it had."""
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        if entry.resource not in REGISTRY:
            continue
        if entry.record_id is not None:
            wanted.setdefault(entry.resource, set()).add(entry.record_id)
        res = REGISTRY[entry.resource]
        for name, change in (entry.changes or {}).items():
            path = target_of(res, name)
            if path is not None:
                wanted.setdefault(path, set()).update(changed_ids(change))
    titles = await titles_by_path(access, session, wanted)
    return {(path, id): title for path, found in titles.items() for id, title in found.items()}


def changed_ids(change: Any) -> set[int]:
    """The ids a change of a reference holds, before and after (`[3, 5]`, `[[1], [1, 2]]`)."""
    found: set[int] = set()
    for side in change if isinstance(change, list) else []:
        for value in side if isinstance(side, list) else [side]:
            if isinstance(value, int) and not isinstance(value, bool):
                found.add(value)
    return found


FILTER_CHOICES = 500  # the most records a list filter offers by name


def target_of(res: Resource, column: str) -> str | None:
    """The table path of the records `column` names (a foreign key, an owner, `tag_ids`,
    the `tag_id` filter)."""
    if column in res.link_filters:
        column = res.link_filters[column]
    return res.references.get(column) or reference_targets(res).get(column)


async def filter_options(
    access: Access, session: AsyncSession, res: Resource
) -> dict[str, dict[int, str]]:
    """The choices of each list filter that names records (owner, group, project, ...):
    the records of its table the viewer may read, id -> title; all tables in one statement
    (a task's assignee and owner are both users: read once)."""
    paths = {column: target_of(res, column) for column in res.choice_filters}
    named = {column: path for column, path in paths.items() if path is not None}
    found = await access.choices(
        (REGISTRY[path] for path in named.values()), session, FILTER_CHOICES
    )
    return {column: found[path] for column, path in named.items()}
