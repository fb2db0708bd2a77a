"""Forked children that report back over a pipe, for the model's multi-process tests.

``Child`` runs a body in a forked child that writes a JSON result and then exits,
waits for ``go()`` or pauses until killed; ``run_child`` is the one-shot form and
``as_nobody`` wraps a body to run as uid/gid 65534.  (``forked.in_child`` is the
pickling variant that can also attach first.)
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
from collections.abc import Callable
from typing import Any


class Child:
    """A forked child running `body`; it reports a JSON result over a pipe.

    after: "exit" (exit at once), "wait" (exit when the parent calls go()),
    "pause" (block in signal.pause() until killed).
    """

    def __init__(self, body: Callable[[], Any], after: str = "exit") -> None:
        r1, w1 = os.pipe()
        r2, w2 = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                os.close(r1)
                os.close(w2)
                try:
                    out = body()
                except BaseException as e:
                    out = {"child_exception": repr(e)}
                os.write(w1, (json.dumps(out) + "\n").encode())
                if after == "wait":
                    os.read(r2, 1)
                elif after == "pause":
                    while True:
                        signal.pause()
            finally:
                os._exit(0)
        os.close(w1)
        os.close(r2)
        self.pid = pid
        self._r = r1
        self._w = w2
        self._buf = b""
        self.status: int | None = None

    # Timeouts only end a child that hangs: generous, since under valgrind (and
    # on a loaded machine) a child that works may take seconds.
    def result(self, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            assert left > 0, "child did not report in time"
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = os.read(self._r, 65536)
                assert chunk, "child exited without reporting"
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        out = json.loads(line)
        if isinstance(out, dict) and "child_exception" in out:
            raise AssertionError(f"child raised {out['child_exception']}")
        return out

    def go(self) -> None:
        os.write(self._w, b"g")

    def wait(self, timeout: float = 30.0) -> int:
        """Reap the child; returns its wait status."""
        if self.status is not None:
            return self.status
        deadline = time.monotonic() + timeout
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = status
                return status
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                self.status = -1
                raise AssertionError("child did not exit in time")
            time.sleep(0.005)

    def cleanup(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.status = -1
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass


def run_child(body: Callable[[], Any]) -> Any:
    """Run `body` in a forked child that exits right after reporting; return its result."""
    c = Child(body)
    try:
        out = c.result()
        assert c.wait() == 0
        return out
    finally:
        c.cleanup()


def as_nobody(body: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        os.setgid(65534)
        os.setuid(65534)
        assert os.geteuid() == 65534
        return body()

    return run
