"""Run a function in a forked child and get its result back as JSON.

Attaching to a jail is one-way, so every test that attaches does it in a forked
child.  The model keeps its host in shared memory, so the child works on the same
jails as the test; on FreeBSD the child simply is a process of the same kernel.
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
from collections.abc import Callable
from typing import Any


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """A JSON-able picture of an exception: its type and, for OSErrors, errno and errmsg."""
    return {
        "raised": type(exc).__name__,
        "errno": getattr(exc, "errno", None),
        "errmsg": getattr(exc, "errmsg", None),
        "str": str(exc),
    }


class Forked:
    """A forked child running ``body``; it writes ``body()`` as one JSON line.

    With ``linger=True`` the child blocks after reporting until it is killed,
    so the parent can look at the state it leaves while still alive.
    """

    def __init__(self, body: Callable[[], Any], *, linger: bool = False) -> None:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 0
            try:
                os.close(r)
                try:
                    out = {"result": body()}
                except BaseException as exc:
                    out = {"exception": describe_exception(exc)}
                os.write(w, (json.dumps(out) + "\n").encode())
                while linger:
                    signal.pause()
            except BaseException:
                code = 70
            finally:
                os._exit(code)
        os.close(w)
        self.pid = pid
        self._r = r
        self._buf = b""
        self.status: int | None = None

    def report(self, timeout: float = 10.0) -> dict[str, Any]:
        """The child's JSON report: {"result": ...} or {"exception": {...}}."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("the forked child did not report in time")
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = os.read(self._r, 65536)
                if not chunk:
                    raise AssertionError("the forked child exited without reporting")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        out: dict[str, Any] = json.loads(line)
        return out

    def result(self, timeout: float = 10.0) -> Any:
        """The value ``body`` returned; AssertionError if it raised."""
        out = self.report(timeout)
        if "exception" in out:
            raise AssertionError(f"the forked child raised {out['exception']}")
        return out["result"]

    def kill(self) -> int:
        """SIGKILL the child and reap it; returns its wait status."""
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            _, self.status = os.waitpid(self.pid, 0)
        return self.status

    def wait(self, timeout: float = 10.0) -> int:
        """Reap the child (killing it if it outlives ``timeout``); its wait status."""
        deadline = time.monotonic() + timeout
        while self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = status
            elif time.monotonic() > deadline:
                self.kill()
                raise AssertionError("the forked child did not exit in time")
            else:
                time.sleep(0.005)
        return self.status

    def close(self) -> None:
        if self.status is None:
            try:
                self.kill()
            except ProcessLookupError:  # pragma: no cover - already reaped elsewhere
                self.status = -1
        os.close(self._r)

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def in_child(body: Callable[[], Any]) -> dict[str, Any]:
    """Run ``body`` in a forked child that exits after reporting; its report."""
    with Forked(body) as child:
        out = child.report()
        status = child.wait()
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        return out


def result_in_child(body: Callable[[], Any]) -> Any:
    """The value ``body`` returns in a forked child (AssertionError if it raised)."""
    out = in_child(body)
    if "exception" in out:
        raise AssertionError(f"the forked child raised {out['exception']}")
    return out["result"]
