"""`policy audit-export` then `audit-prune` with the same --before: the entries exported are
exactly the entries deleted, on both backends, and every refusal deletes nothing."""

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from app.cli.retention import EXPORT_BATCH
from app.models.audit import AuditEntry
from tests.cli.conftest import OTHER_SETTINGS, SCRIPT, PolicyRunner, Result, environment
from tests.conftest import Backend
from tests.support.checks import db

CUT = datetime(2021, 1, 1, tzinfo=UTC)
COLUMNS = [column.name for column in AuditEntry.__table__.columns]
# One entry with every column filled, and text JSON must escape.
FULL = {
    "at": datetime(2020, 6, 1, 12, 30, 45, 123456, tzinfo=UTC),
    "actor_id": 7,
    "actor_name": "zoë",
    "address": "203.0.113.9",
    "request_id": "req-1",
    "event": "updated",
    "resource": "users",
    "record_id": 2,
    "changes": {"role_ids": [[2], [2, 3]], "note": ['a "quote"\n', "ü"]},
}


def add_entries(live: Backend, *ats: datetime, **values: Any) -> None:
    with db(live.settings) as connection:
        connection.execute(
            insert(AuditEntry), [{"event": "sign_in", **values, "at": at} for at in ats]
        )


def stored(live: Backend) -> dict[int, datetime]:
    """Every entry's id and time, read outside the command."""
    with db(live.settings) as connection:
        return dict(connection.execute(select(AuditEntry.id, AuditEntry.at)).all())


def older(live: Backend, cut: datetime) -> list[int]:
    """The ids before `cut`, compared in Python (not by the command's own predicate)."""
    return sorted(i for i, at in stored(live).items() if at.replace(tzinfo=UTC) < cut)


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.err, result.err


@pytest.fixture
def history(live: Backend) -> list[int]:
    """Entries on both sides of CUT (one microsecond before it, exactly at it), more than a
    batch of them, and an old one written last (its id after newer ones'); return the ids
    before CUT."""
    add_entries(live, *(datetime(2019, 1, 1, tzinfo=UTC) + timedelta(minutes=i) for i in range(5)))
    add_entries(live, CUT - timedelta(microseconds=1), CUT, CUT + timedelta(days=1))
    add_entries(live, *[datetime(2020, 1, 1, tzinfo=UTC)] * (EXPORT_BATCH + 7))
    add_entries(live, FULL["at"], **{k: v for k, v in FULL.items() if k != "at"})
    add_entries(live, datetime(2018, 1, 1, tzinfo=UTC))
    ids = older(live, CUT)
    assert len(ids) == 5 + 1 + EXPORT_BATCH + 7 + 1 + 1
    return ids


def test_prune_deletes_exactly_what_the_export_wrote(
    live: Backend, policy: PolicyRunner, history: list[int], tmp_path: Path
) -> None:
    before = stored(live)
    target = tmp_path / "audit-2021-01-01.jsonl"
    exported = policy("audit-export", "--before", "2021-01-01", "--output", str(target))
    assert exported.code == 0, exported.err
    assert exported.out == ""
    assert exported.err == (
        f"exported {len(history)} audit entries (ids {history[0]}-{history[-1]}) "
        f"from before 2021-01-01T00:00:00+00:00 to {target}\n"
    )
    written = lines(target.read_text())
    assert [entry["id"] for entry in written] == history, "oldest first by id, nothing else"
    assert all(list(entry) == COLUMNS for entry in written), "every column, in order"
    full = next(entry for entry in written if entry["actor_name"] == "zoë")
    assert full == {
        **FULL,
        "id": full["id"],
        "at": "2020-06-01T12:30:45.123456+00:00",
    }
    assert stored(live) == before, "an export deletes nothing"

    pruned = policy("audit-prune", "--before", "2021-01-01", "--yes")
    assert pruned.code == 0, pruned.err
    assert f"deleted {len(history)} audit entries from before 2021-01-01" in pruned.out
    with db(live.settings) as connection:
        (entry,) = connection.execute(
            select(AuditEntry).where(AuditEntry.event == "audit_pruned")
        ).all()
    assert entry.resource == "audit_log"
    assert entry.changes == {"before": CUT.isoformat(), "entries": len(history)}
    # SQLite may give the prune's own entry the id of one it deleted (the largest, here)
    after = {i: at for i, at in stored(live).items() if i != entry.id}
    assert set(before) - set(after) == set(history), "deleted: exactly the exported ids"
    assert after == {i: at for i, at in before.items() if i not in history}, "the rest: kept"
    assert min(at.replace(tzinfo=UTC) for at in after.values()) == CUT, "at CUT: kept"

    again = policy("audit-export", "--before", "2021-01-01")
    assert (again.code, again.out) == (0, "")
    assert again.err.startswith("exported 0 audit entries from before 2021-01-01T00:00:00+00:00")


def test_export_to_standard_output(
    live: Backend, policy: PolicyRunner, history: list[int], tmp_path: Path
) -> None:
    """Standard output holds the entries and nothing else, as the file would; a cut with
    an offset is the same instant in UTC."""
    printed = policy("audit-export", "--before", "2021-01-01T02:00+02:00", "--json")
    assert printed.code == 0, printed.err
    assert [entry["id"] for entry in lines(printed.out)] == history
    summary = json.loads(printed.err)
    assert summary == {
        "entries": len(history),
        "first_id": history[0],
        "last_id": history[-1],
        "before": "2021-01-01T00:00:00+00:00",
        "output": None,
    }
    target = tmp_path / "same.jsonl"
    assert policy("audit-export", "--before", "2021-01-01", "--output", str(target)).code == 0
    assert target.read_text() == printed.out


def test_export_as_a_process_keeps_the_summary_off_standard_output(
    live: Backend, policy_script: PolicyRunner
) -> None:
    add_entries(live, CUT - timedelta(days=1), CUT - timedelta(days=2))
    ran = policy_script("audit-export", "--before", "2021-01-01")
    assert ran.code == 0, ran.err
    assert [entry["id"] for entry in lines(ran.out)] == older(live, CUT)
    assert ran.err.startswith("exported 2 audit entries (ids ")


def test_a_reader_that_leaves_fails_the_export(live: Backend, history: list[int]) -> None:
    """`policy audit-export | head` is not an export: exit 1, so `&& audit-prune` never runs."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(OTHER_SETTINGS)}
    process = subprocess.Popen(
        [str(SCRIPT), "audit-export", "--before", "2021-01-01"],
        env=env | environment(live),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    assert json.loads(process.stdout.readline())["id"] == history[0]
    process.stdout.close()  # the rest (over 64 KiB) has nowhere to go
    err = process.stderr.read()
    assert process.wait(timeout=120) == 1, err
    assert "audit-export: incomplete" in err and "Traceback" not in err, err


def test_prune_without_yes_deletes_nothing_and_says_how_many(
    live: Backend, policy: PolicyRunner, history: list[int]
) -> None:
    before = stored(live)
    refused = policy("audit-prune", "--before", "2021-01-01")
    assert refused.code == 2
    assert f"would delete {len(history)} audit entries" in refused.err
    assert "--yes" in refused.err
    no_traceback(refused)
    assert stored(live) == before


def future() -> str:
    return (datetime.now(UTC) + timedelta(minutes=5)).isoformat()


@pytest.mark.parametrize(
    "date",
    ["someday", "2021-13-01", "2021-01-01\x00", "0001-01-01T00:00+05:00", "", "future"],
)
@pytest.mark.parametrize("command", ["audit-export", "audit-prune"])
def test_a_bad_date_is_refused_and_nothing_deleted(
    live: Backend, policy: PolicyRunner, history: list[int], tmp_path: Path, command: str, date: str
) -> None:
    before = stored(live)
    target = tmp_path / "out.jsonl"
    given = future() if date == "future" else date
    extra = ("--output", str(target)) if command == "audit-export" else ("--yes",)
    refused = policy(command, "--before", given, *extra)
    assert refused.code == 2, refused.err
    assert refused.out == ""
    said = "is in the future" if date == "future" else "expected a date like 2026-01-31"
    assert said in refused.err
    no_traceback(refused)
    assert stored(live) == before
    assert not target.exists()


@pytest.mark.parametrize("command", ["audit-export", "audit-prune"])
def test_before_is_required(policy: PolicyRunner, command: str) -> None:
    refused = policy(command)
    assert refused.code == 2 and "--before" in refused.err


def test_an_output_that_exists_or_cannot_be_written_is_refused(
    live: Backend, policy: PolicyRunner, history: list[int], tmp_path: Path
) -> None:
    before = stored(live)
    earlier = tmp_path / "earlier.jsonl"
    earlier.write_text("an earlier export\n")
    for path, said in (
        (earlier, "exists: refusing to overwrite it"),
        (tmp_path, "exists: refusing to overwrite it"),
        (tmp_path / "no-such-folder" / "x.jsonl", "cannot create"),
        (f"{tmp_path}/bad\x00name", "cannot create"),
    ):
        refused = policy("audit-export", "--before", "2021-01-01", "--output", str(path))
        assert refused.code == 2, refused.err
        assert refused.err.startswith("policy: ") and refused.err.count("\n") == 1
        assert said in refused.err and repr(str(path)) in refused.err, refused.err
        no_traceback(refused)
    assert earlier.read_text() == "an earlier export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["earlier.jsonl"]
    assert stored(live) == before


def test_a_failed_export_leaves_no_file(policy: PolicyRunner, tmp_path: Path) -> None:
    """A database error halfway (here: no tables at all) removes the file it created, so a
    file there is always a whole export."""
    empty = tmp_path / "empty.db"
    empty.touch()
    target = tmp_path / "out.jsonl"
    failed = policy(
        "audit-export",
        "--before",
        "2021-01-01",
        "--output",
        str(target),
        DATABASE_URL=f"sqlite:///{empty}",
        SQLITE_PATH=str(empty),
    )
    assert failed.code == 1
    assert failed.err.startswith("policy audit-export: database error on SQLite file")
    no_traceback(failed)
    assert not target.exists()
