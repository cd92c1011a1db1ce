"""`policy test`: expected decisions (a TOML file) checked against the stored policy, the
shipped ones on the seed, a changed grant named, broken files refused."""

from pathlib import Path

import httpx
import pytest

from app.core.config import PROJECT_ROOT
from tests.cli.conftest import PolicyRunner, permission_id, permission_ids

SHIPPED_TESTS = str(PROJECT_ROOT / "policy" / "tests.toml")


def test_the_shipped_policy_tests_pass_on_the_seed(policy: PolicyRunner) -> None:
    result = policy("test", SHIPPED_TESTS)
    assert result.code == 0, result.out + result.err
    assert " passed, 0 failed" in result.out


def test_policy_tests_fail_naming_the_case_when_a_grant_changes(
    policy: PolicyRunner, admin: httpx.Client
) -> None:
    role_id, granted = permission_ids(admin, "user")
    dropped = permission_id(admin, "task:update:own")
    added = permission_id(admin, "task:delete:all")
    changed = [p for p in granted if p != dropped] + [added]
    assert admin.put(f"/roles/{role_id}", json={"permission_ids": changed}).status_code == 200
    result = policy("test", SHIPPED_TESTS)
    assert result.code == 1
    lines = [line for line in result.out.splitlines() if line.startswith("FAIL")]
    assert any(
        "(users edit their own tasks): role user task:update on a record whose owner is them: "
        "expected allow, got deny" in line
        for line in lines
    ), result.out
    assert any("(users never delete all tasks)" in line for line in lines), result.out
    assert any("(demo deletes only their own tasks)" in line for line in lines), result.out
    assert len(lines) == 3
    failed = policy("test", SHIPPED_TESTS, "--json").json()["failed"]
    assert {f["name"] for f in failed} == {
        "users edit their own tasks",
        "users never delete all tasks",
        "demo deletes only their own tasks",
    }


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("[[case]\n", "cannot read"),
        ("title = 'no cases'\n", "no [[case]]"),
        ('[[case]]\nrole = "nobody"\npermission = "task:read"\nexpect = "allow"\n', "unknown role"),
        ('[[case]]\nuser = "nobody"\npermission = "task:read"\nexpect = "allow"\n', "unknown user"),
        (
            '[[case]]\nrole = "user"\npermission = "nomodel:read"\nexpect = "allow"\n',
            "unknown model",
        ),
        ('[[case]]\nrole = "user"\npermission = "task"\nexpect = "allow"\n', "MODEL:ACTION"),
        ('[[case]]\nrole = "user"\npermission = "task:read"\nexpect = "yes"\n', "expect must be"),
        (
            '[[case]]\nrole = "user"\npermission = "task:read"\nrecord = "x"\nexpect = "deny"\n',
            "record must be",
        ),
        (
            '[[case]]\nrole = "user"\nuser = "demo"\npermission = "task:read"\nexpect = "deny"\n',
            "either role",
        ),
        (
            '[[case]]\nrole = "user"\npermission = "task:read"\nexpect = "deny"\nextra = 1\n',
            "extra",
        ),
    ],
)
def test_broken_policy_test_files_exit_2(
    policy: PolicyRunner, tmp_path: Path, content: str, said: str
) -> None:
    broken = tmp_path / "tests.toml"
    broken.write_text(content)
    result = policy("test", str(broken))
    assert result.code == 2, result.out + result.err
    assert said in result.err


def test_policy_tests_of_roles_users_and_relations(policy: PolicyRunner, tmp_path: Path) -> None:
    cases = [
        ("role", "manager", "task:delete", "group", "allow"),
        ("role", "manager", "task:delete", "owner", "deny"),
        ("role", "manager", "task:delete:group", None, "allow"),
        ("role", "manager", "task:delete:group", "stranger", "deny"),
        ("role", "user", "task:read:group", "group", "allow"),
        ("role", "user", "task:read:own", "group", "deny"),
        ("role", "admin", "task:read:all", "owner", "allow"),
        ("user", "demo", "task:update", "owner", "allow"),
        ("user", "demo", "task:update", "stranger", "deny"),
    ]
    lines = []
    for kind, who, permission, record, expect in cases:
        lines += ["[[case]]", f'{kind} = "{who}"', f'permission = "{permission}"']
        lines += [f'record = "{record}"'] if record else []
        lines += [f'expect = "{expect}"', ""]
    file = tmp_path / "cases.toml"
    file.write_text("\n".join(lines))
    result = policy("test", str(file))
    assert result.code == 0, result.out
    assert f"{len(cases)} passed, 0 failed" in result.out
    flipped = tmp_path / "flipped.toml"
    flipped.write_text(
        file.read_text()
        .replace('"allow"', '"ALLOW"')
        .replace('"deny"', '"allow"')
        .replace('"ALLOW"', '"deny"')
    )
    assert policy("test", str(flipped), "--json").json()["passed"] == 0
