"""What the pages show of a value: list cells, labels, times in the viewer's zone, a
change in the audit log, links to the records a field names. Jinja globals
(`app/routers/templating.py`)."""

import typing
from datetime import datetime
from html import escape as html_escape
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment
from jinja2.filters import do_truncate
from markupsafe import Markup

from app.core.lists import ListParams
from app.core.zones import DEFAULT_ZONE, shown
from app.resources import REGISTRY, Resource
from app.routers.forms import literal_choices
from app.services.naming import PageTitles, target_of


def filter_choices(res: Resource, column: str) -> list[tuple[str, str]]:
    """Return the options of a list filter: an enum's values, or yes/no."""
    schema = res.create_schema or res.read_schema
    info = schema.model_fields.get(column)
    annotation = info.annotation if info else None
    if annotation is bool:
        return [("true", "Yes"), ("false", "No")]
    if typing.get_origin(annotation) is typing.Literal:
        return literal_choices(annotation)
    return []


def query(params: ListParams, **overrides: Any) -> str:
    """Return a list page's query string, with some parameters changed."""
    current: dict[str, Any] = {"q": params.q, "sort": params.sort, "offset": params.offset}
    current |= {name: value for name, value in params.filters}
    current |= overrides
    pairs = []
    for key, value in current.items():
        if value is None or value == "" or (key == "offset" and not value):
            continue
        pairs.append((key, str(value).lower() if isinstance(value, bool) else str(value)))
    if params.limit != 50:
        pairs.append(("limit", str(params.limit)))
    return urlencode(pairs)


def show(
    prefix: str, res: Any, record: Any, column: str, names: PageTitles, zone: str = DEFAULT_ZONE
) -> Markup:
    """Return one field of a record as HTML: references by name, times and flags in words.

    Python rather than a template macro, and f-strings around `html.escape` rather than
    `Markup.format` or `escape` (a `Markup` object per call): a list page shows hundreds of
    cells, and the per-cell machinery cost more than the rest of the page.
    """
    value = record[column] if isinstance(record, dict) else getattr(record, column, None)
    return Markup(_cell(html_escape(prefix), res, column, value, names, zone))


TRUNCATING = Environment()  # `do_truncate` reads its default leeway from an environment
MISSING = '<span class="muted">—</span>'
HIDDEN = '<span class="muted">hidden</span>'
# Column headings that say what a reference is rather than how it is stored.
LABELS = {"owner_user_id": "Owner", "owner_group_id": "Group", "user_id": "User"}


def column_label(column: str) -> str:
    """`project_id` -> "Project", `tag_ids` -> "Tags", `owner_user_id` -> "Owner"."""
    if column in LABELS:
        return LABELS[column]
    if column.endswith("_ids"):
        column = column.removesuffix("_ids") + "s"
    return column.removesuffix("_id").replace("_", " ").capitalize()


def label(value: str) -> str:
    """An enumeration's value in words: `in_progress` -> "In progress"."""
    return value.replace("_", " ").capitalize()


_ENUMS: dict[str, frozenset[str]] = {}


def enum_columns(res: Any) -> frozenset[str]:
    """The columns of `res` whose values are one of a fixed set (`Literal`), shown by label."""
    found = _ENUMS.get(res.path)
    if found is None:
        found = frozenset(
            name
            for name, info in res.read_schema.model_fields.items()
            if any(
                typing.get_origin(arg) is typing.Literal
                for arg in (info.annotation, *typing.get_args(info.annotation))
            )
        )
        _ENUMS[res.path] = found
    return found


def _named(prefix: str, path: str, title: str | None, record_id: Any) -> str:
    if title is None:  # a record the viewer may not read: never its id
        return HIDDEN
    return f'<a href="{prefix}/{path}/{record_id}">{html_escape(title)}</a>'


def when(value: datetime, zone: str, seconds: bool = False) -> Markup:
    """A time as HTML: in the viewer's zone, the zone named, the UTC moment machine-readable."""
    return Markup(_time(value, zone, seconds))


def _time(value: datetime, zone: str, seconds: bool = False) -> str:
    moment, text = html_escape(value.isoformat()), shown(value, zone, seconds)
    return f'<time datetime="{moment}" title="{html_escape(zone)}">{text}</time>'


def _cell(
    prefix: str, res: Any, column: str, value: Any, names: PageTitles, zone: str = DEFAULT_ZONE
) -> str:
    """Return a cell's HTML; `prefix` comes escaped."""
    if value is None or value == "":
        return MISSING
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    path = names.path_of(column)
    if path is not None and isinstance(value, list):  # tag_ids: each by name
        if not value:
            return MISSING
        return ", ".join(_named(prefix, path, names.title(column, one), one) for one in value)
    if path is not None:
        title = names.title(column, value)
        if title is None:  # a record the viewer may not read: never its id
            return HIDDEN
        return f'<a href="{prefix}/{path}/{value}">{html_escape(title)}</a>'
    if isinstance(value, datetime):
        return _time(value, zone)
    if column == "color":
        color = html_escape(str(value))
        return f'<span class="swatch" data-color="{color}"></span> {color}'
    if column in enum_columns(res):
        return html_escape(label(str(value)))
    text = str(value)
    return html_escape(do_truncate(TRUNCATING, text, 80) if len(text) > 80 else text)


def _repeatable(column: str, value: Any) -> tuple[Any, ...] | None:
    """The key a cell of `value` is built once by, for values equal only when shown alike
    (ids, texts, flags, lists of ids); None for the rest (times, decimals: built each time)."""
    if value is None or type(value) in (str, int, bool):
        return (column, type(value), value)
    if type(value) is list and all(type(one) is int for one in value):
        return (column, list, tuple(value))
    return None


def table_rows(
    prefix: str,
    res: Any,
    items: list[Any],
    columns: list[str],
    names: PageTitles,
    selectable: bool = False,
    zone: str = DEFAULT_ZONE,
) -> Markup:
    """Return a list page's rows (`<tr>`s; empty without items): a box to select each (for
    a bulk delete), its id, then each column; the title links to the record (the id does
    where the title is not a column).

    Built in Python for the same reason as `show`: fifty rows of cells in template code
    cost more than the page's query and the rest of the page together.
    """
    rows = []
    noun = html_escape(res.singular.lower())
    prefix = html_escape(prefix)
    base = f"{prefix}/{res.path}/"
    # A cell depends only on its column and value here, and values repeat down a list (a
    # project, an assignee, a status): each distinct one is built once.
    built: dict[tuple[str, Any], str] = {}
    titled = res.title_field in columns
    for item in items:
        href = f"{base}{item.id}"
        title = html_escape(res.title_of(item))
        if titled:  # one link a row, named by what it shows: the title
            cells = [f"<td>{item.id}</td>"]
        else:  # the id is the link; its name starts with what it shows
            hidden = f'<span class="visually-hidden"> {noun} {title}</span>'
            cells = [f'<td><a href="{href}">{item.id}{hidden}</a></td>']
        if selectable:  # the bulk form's boxes (`form="bulk"`: the form is below the table)
            box = f'<input type="checkbox" name="ids" value="{item.id}" form="bulk"'
            cells.insert(0, f'<td>{box} aria-label="Select {noun} {title}"></td>')
        for column in columns:
            if column == res.title_field:
                cells.append(f'<td><a href="{href}">{title}</a></td>')
            else:
                value = getattr(item, column, None)
                key = _repeatable(column, value)
                cell = built.get(key) if key is not None else None
                if cell is None:
                    cell = f"<td>{_cell(prefix, res, column, value, names, zone)}</td>"
                    if key is not None:
                        built[key] = cell
                cells.append(cell)
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return Markup("\n".join(rows))


def change_of(prefix: str, entry: Any, field: str, change: Any, names: dict[Any, str]) -> Markup:
    """One change of an audit entry as HTML: `before → after`, a reference by its title
    (linked) when the viewer may read it (`naming.entry_names`), else as recorded."""
    res = REGISTRY.get(entry.resource or "")
    path = target_of(res, field) if res is not None else None
    prefix = html_escape(prefix)

    def side(value: Any) -> str:
        if value is None:
            return "—"
        if path is not None and isinstance(value, list):
            return ", ".join(side(one) for one in value) or "none"
        title = names.get((path, value)) if path is not None else None
        if title is not None:
            return f'<a href="{prefix}/{path}/{value}">{html_escape(title)}</a>'
        return html_escape(str(value))

    if isinstance(change, list) and len(change) == 2:
        return Markup(f"{side(change[0])} → {side(change[1])}")
    return Markup(html_escape(str(change)))


def resource_at(path: str | None) -> Resource | None:
    """The registry's resource at `path` (None for none): what a reference field names."""
    return REGISTRY.get(path) if path else None
