"""`policy audit-export` and `audit-prune` (and the older `audit prune`): the audit log's
retention, the entries before a date written out as JSON lines, then exactly those deleted.

The export and the prune select with one predicate (`crud.audit.older_than`), and a date
in the future is refused by both: entries written until then would fall before it too, so
a prune could delete entries that no export wrote.
"""

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from app.cli.directory import transaction
from app.cli.output import CliError, emit_json
from app.core.config import Settings
from app.crud import audit

EXPORT_BATCH = 1000  # entries read per statement: the export's memory, whatever the log holds


class WriteFailed(Exception):
    """The export could not be written in full (a full disk, a reader that left)."""


async def cmd_audit_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the entries before --before as JSON lines, oldest first; sum it up on stderr."""
    before = in_the_past(args.before)
    count, first_id, last_id = 0, None, None
    try:
        with destination(args.output) as out:
            async with transaction(settings) as session:
                async for rows in audit.entries_before(session, before, batch=EXPORT_BATCH):
                    write(out, "".join(entry_line(row) + "\n" for row in rows))
                    count += len(rows)
                    first_id = rows[0].id if first_id is None else first_id
                    last_id = rows[-1].id
    except WriteFailed as exc:  # exit 1: a cron line's `&&` then never runs the prune
        removed = f" ({args.output!r} removed)" if args.output else ""
        print(f"policy: audit-export: incomplete{removed}: {exc}", file=sys.stderr)
        return 1
    where = args.output or "standard output"
    if args.json:
        summary = {"entries": count, "first_id": first_id, "last_id": last_id}
        summary |= {"before": before.isoformat(), "output": args.output}
        print(json.dumps(summary), file=sys.stderr)
    else:
        ids = f" (ids {first_id}-{last_id})" if count else ""
        said = f"exported {entries(count)}{ids} from before {before.isoformat()} to {where}"
        print(said, file=sys.stderr)
    return 0


async def cmd_audit_prune(args: argparse.Namespace, settings: Settings) -> int:
    """Delete what `audit-export` with the same --before wrote; without --yes, say how many."""
    before = in_the_past(args.before)
    if not args.yes:
        async with transaction(settings) as session:
            count = await audit.prune(session, before, dry_run=True)
        raise CliError(
            f"would delete {entries(count)} from before {before.isoformat()}; nothing deleted: "
            "export them first (`policy audit-export` with the same --before), then give --yes"
        )
    return await prune(args, settings, before, dry_run=False)


async def cmd_prune(args: argparse.Namespace, settings: Settings) -> int:
    """`policy audit prune`, the older form: --before defaults to AUDIT_RETENTION_DAYS ago."""
    before = args.before
    if before is None:
        days = settings.audit_retention_days
        if days is None:
            raise CliError(
                "give --before DATE: AUDIT_RETENTION_DAYS is unset, so entries are kept forever"
            )
        before = datetime.now(UTC) - timedelta(days=days)
    return await prune(args, settings, before, dry_run=args.dry_run)


async def prune(
    args: argparse.Namespace, settings: Settings, before: datetime, *, dry_run: bool
) -> int:
    """Delete (or count) the entries before `before`, which records an `audit_pruned` entry."""
    async with transaction(settings) as session:
        count = await audit.prune(session, before, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    if args.json:
        emit_json({"dry_run": dry_run, "before": before.isoformat(), "entries": count})
    else:
        print(f"{verb} {entries(count)} from before {before:%Y-%m-%d %H:%M:%S} UTC")
    return 0


def in_the_past(before: datetime) -> datetime:
    """Refuse a cut in the future: entries written until then would fall before it too."""
    if before > datetime.now(UTC):
        raise CliError(
            f"--before {before.isoformat()} is in the future: entries written until then "
            "would fall before it too, so a prune could delete entries no export wrote"
        )
    return before


def entry_line(row: Any) -> str:
    """One entry as a JSON object: every column, by name, times in ISO 8601 with offset."""
    return json.dumps({name: audit.jsonable(value) for name, value in row._mapping.items()})


def entries(count: int) -> str:
    return f"{count} audit {'entry' if count == 1 else 'entries'}"


@contextmanager
def destination(path: str | None) -> Iterator[TextIO]:
    """Where an export goes: standard output, or a new file, never one that exists (it may
    be an earlier export: an archive). A failed export removes its file, so a file there is
    a whole export; a whole one is on disk before the command says so (a prune follows)."""
    if path is None:
        yield sys.stdout
        write(sys.stdout, "")  # flushes: a reader that left fails the export here
        return
    try:
        file = open(path, "x", encoding="utf-8")  # noqa: SIM115 (closed below, or removed)
    except FileExistsError:
        raise CliError(f"{path!r} exists: refusing to overwrite it; give a new --output") from None
    except (OSError, ValueError) as exc:  # no such folder, no right to write, a NUL byte
        raise CliError(f"cannot create {path!r}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        with file:
            yield file
            write(file, "")
            durable(file, path)
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise


def write(out: TextIO, text: str) -> None:
    """Write and flush, a failure said as `WriteFailed` (never a traceback, never exit 0)."""
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        # the reader left: point stdout at nothing, so the interpreter's exit flush is quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        raise WriteFailed("the reader of standard output left") from None
    except OSError as exc:
        raise WriteFailed(f"cannot write: {exc.strerror or exc}") from None


def durable(file: TextIO, path: str) -> None:
    """Put the file and its name in its folder on disk: the prune that follows is final."""
    try:
        os.fsync(file.fileno())
    except OSError as exc:
        raise WriteFailed(f"cannot write {path}: {exc.strerror or exc}") from None
    folder = os.open(Path(path).resolve().parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    except OSError:  # some file systems cannot sync a folder; the file itself is synced
        pass
    finally:
        os.close(folder)
