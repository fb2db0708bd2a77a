"""docs/cli.rst shows shell sessions; each runs here, in order, on a fresh host,
and prints exactly what the page shows."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import jailcore
from jailcore.cli import main

PAGE = Path(__file__).resolve().parents[1] / "docs" / "cli.rst"
ROOT = str(Path(jailcore.__file__).resolve().parents[1])

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="needs root: the sessions run commands inside a jail rooted at /")


def sessions() -> list[tuple[str, list[str]]]:
    """(command line, the lines it prints) for every `$ ` line of the page's
    console blocks, in page order."""
    out: list[tuple[str, list[str]]] = []
    for block in re.findall(r"\.\. code-block:: console\n\n((?:   .*\n|\n)+)", PAGE.read_text()):
        for line in block.splitlines():
            text = line[3:]
            if text.startswith("$ "):
                out.append((text[2:], []))
            elif out and line.strip():
                out[-1][1].append(text)
    return out


def run(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[0] == "jailcore"
    if words[1] == "exec":  # replaces its process, as jexec does: a process of its own
        env = {**os.environ, "PYTHONPATH": ROOT}
        done = subprocess.run([sys.executable, "-m", "jailcore", *words[1:]], env=env,
                              cwd="/", capture_output=True, text=True, timeout=60,
                              check=False)
        return (done.stdout + done.stderr).splitlines()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            main(words[1:])
        except SystemExit:
            pass
    return buf.getvalue().splitlines()


def test_the_page_has_sessions() -> None:
    assert len(sessions()) >= 20


def test_every_session_prints_what_the_page_shows() -> None:
    for command, expected in sessions():
        assert run(command) == expected, command
