"""``jailcore watch`` (issue 17): in one process it prints, as they happen,
the creation, change, attach and removal that ``jailcore`` commands in
another process cause on the same model host."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import jailcore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(jailcore.__file__)))


def env() -> dict[str, str]:
    """This test's environment (its model host) for the commands."""
    return {**os.environ, "PYTHONPATH": ROOT}

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="needs root: jailcore exec attaches to a jail")


def jailcore_cmd(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jailcore", *argv], cwd="/", env=env(),
                          capture_output=True, text=True, timeout=60, check=False)


class Lines:
    """The lines a process prints, read with a deadline (from the pipe's
    descriptor: a buffered reader would hide lines that came together)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.proc, self.fd, self.buf = proc, proc.stdout.fileno(), b""
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.fd, selectors.EVENT_READ)

    def next(self, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                raise AssertionError("no line in time")
            chunk = os.read(self.fd, 4096)
            if not chunk:
                raise AssertionError("the watcher ended")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()


@pytest.fixture
def watcher() -> Iterator[Lines]:
    proc = subprocess.Popen([sys.executable, "-m", "jailcore", "watch", "--json"], cwd="/",
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = Lines(proc)
    # The watcher is ready once a jail made from here shows: probe until one
    # does, then remove the probes (each a "removed" line: every jail there
    # when it started is watched too).
    probes = []
    for n in range(100):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        probe = jailcore.Jail.create(name=f"probe{n}", path="/")
        probes.append(probe)
        try:
            line = json.loads(lines.next(0.5))
        except AssertionError:
            continue
        assert line == {"event": "created", "jail": 0, "child": probe.jid, "multiple": False}
        break
    for probe in probes:
        probe.remove()
    assert sorted(json.loads(lines.next())["jail"] for _ in probes) == sorted(
        p.jid for p in probes)
    yield lines
    proc.terminate()
    proc.wait(10)


def test_events_of_other_commands(watcher: Lines) -> None:
    assert jailcore_cmd("create", "web", "path=/").returncode == 0
    jid = jailcore.Jail.get("web").jid
    assert json.loads(watcher.next()) == {"event": "created", "jail": 0, "child": jid,
                                          "multiple": False}
    assert jailcore_cmd("set", "web", "host.hostname=web.example").returncode == 0
    assert json.loads(watcher.next()) == {"event": "changed", "jail": jid}
    done = jailcore_cmd("exec", "web", sys.executable, "-c", "import os; print(os.getpid())")
    assert done.returncode == 0, done.stderr
    assert json.loads(watcher.next()) == {"event": "attached", "jail": jid,
                                          "pid": int(done.stdout), "multiple": False}
    assert jailcore_cmd("rm", "web").returncode == 0
    assert json.loads(watcher.next()) == {"event": "removed", "jail": jid}


def test_text_lines(capsys: pytest.CaptureFixture[str]) -> None:
    from jailcore.cli import _event_line
    from jailcore.events import JailAttached, JailChanged, JailCreated, JailRemoved

    assert [_event_line(e, False) for e in (JailCreated(0, 3), JailCreated(0, None, True),
                                            JailChanged(3), JailAttached(3, 1234),
                                            JailRemoved(3))] == [
        "created jail=0 child=3", "created jail=0 child=- multiple", "changed jail=3",
        "attached jail=3 pid=1234", "removed jail=3"]
