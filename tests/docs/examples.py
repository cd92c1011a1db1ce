"""The curl examples of the docs: found in shell blocks, run with bash, checked by status.

A fenced `sh`/`bash`/`shell` block that calls `curl` is an example. Each command in it that
calls curl ends with the status it should get, as a comment: `curl ... # → 201`. A page's
examples run in order in one bash process (so `ID=$(curl ... | jq .id)` carries over), with
`BASE` set to the server and a fresh directory for the cookie jars; curl is wrapped so each
call also reports its status, method and URL to a log of its own.
"""

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.core.config import PROJECT_ROOT

# Every page with examples; docs/tech-spec.md links the others.
PAGES = ("README.md", "docs/tech-spec.md", "docs/api.md")

FENCE = re.compile(r"^```(sh|bash|shell)\b[^\n]*\n(.*?)^```", re.M | re.S)
CURL = re.compile(r"(?:^|[\s(|;&])curl\s")
EXPECT = re.compile(r"#\s*→\s*(\d{3})\b")
MARK = "@@curl"
PRELUDE = f"""\
set -euo pipefail
curl() {{
    command curl --silent --show-error \\
        --write-out '%{{stderr}}{MARK} %{{http_code}} %{{method}} %{{url_effective}}\\n' "$@" \\
        2>>"$CURL_LOG"
}}
"""


@dataclass(frozen=True)
class Example:
    """One command of a page that calls curl, and the status it documents."""

    page: str
    command: str
    status: int


@dataclass(frozen=True)
class Call:
    """One curl call as it happened: status, method and URL."""

    status: int
    method: str
    url: str

    @property
    def route(self) -> tuple[str, str]:
        """Return (method, path template): numeric path segments become `{id}`."""
        return self.method, re.sub(r"/\d+(?=/|$)", "/{id}", urlsplit(self.url).path)


@dataclass(frozen=True)
class Run:
    """What running a page's examples did."""

    page: str
    examples: list[Example]
    calls: list[Call]
    code: int
    out: str
    err: str


def blocks(text: str) -> list[str]:
    """Return the shell blocks of a Markdown text that call curl."""
    return [body for _, body in FENCE.findall(text) if CURL.search(body)]


def commands(block: str) -> list[str]:
    """Split a shell block into logical commands (backslash continuations joined)."""
    joined = re.sub(r"\\\n", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip()]


def read(page: str) -> str:
    """Return the text of a page, named relative to the project."""
    return (PROJECT_ROOT / page).read_text()


def examples(page: str, text: str) -> list[Example]:
    """Return a page's curl commands with their documented statuses, in order."""
    found = []
    for block in blocks(text):
        for command in commands(block):
            if command.startswith("#"):
                continue
            calls = len(CURL.findall(EXPECT.split(command, 1)[0]))
            if not calls:
                continue
            expected = EXPECT.findall(command)
            if calls != 1 or len(expected) != 1:
                raise ValueError(f"{page}: want one curl and one '# → status' in: {command}")
            found.append(Example(page, command, int(expected[0])))
    return found


def run_page(page: str, text: str, base_url: str, workdir: Path) -> Run:
    """Run every example block of a page in one bash process against `base_url`."""
    script = PRELUDE + "\n".join(blocks(text))
    workdir.mkdir(parents=True, exist_ok=True)
    # curl's reports go to a file of their own: on stderr, a failing command's messages
    # (jq's, say) could land in the middle of one
    log = workdir.with_name(workdir.name + ".curl.log")
    log.write_text("")
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=workdir,
        env={**os.environ, "BASE": base_url, "CURL_LOG": str(log)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    calls = []
    for line in log.read_text().splitlines():
        if line.startswith(MARK + " "):
            status, method, url = line.split(" ", 3)[1:]
            calls.append(Call(int(status), method, url))
    err = result.stderr + log.read_text()  # curl's own messages are in the log too
    return Run(page, examples(page, text), calls, result.returncode, result.stdout, err)


def mismatches(run: Run) -> list[str]:
    """Say where the calls differ from the documented statuses; empty when they agree."""
    problems = []
    for example, call in zip(run.examples, run.calls, strict=False):
        if call.status != example.status:
            problems.append(
                f"{run.page}: got {call.status} for {call.method} {call.url}, "
                f"documented {example.status}: {example.command}"
            )
    if len(run.calls) != len(run.examples):
        done = len(run.calls)
        stuck = run.examples[done].command if done < len(run.examples) else "(extra calls)"
        problems.append(
            f"{run.page}: {done} of {len(run.examples)} examples ran (exit {run.code}); "
            f"stopped at: {stuck}\nstderr:\n{run.err[-3000:]}"
        )
    elif run.code != 0:
        problems.append(f"{run.page}: bash exited {run.code}\nstderr:\n{run.err[-3000:]}")
    return problems
