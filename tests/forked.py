"""Running a piece of a test in a forked child of the model's tests: attached
to a model jail, as another user, or both (needs root)."""

from __future__ import annotations

import errno
import os
import pickle
import traceback
from collections.abc import Callable
from typing import Any

import modelabi
import pytest


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: forks a child that drops privileges or attaches to a jail")


def in_child(fn: Callable[[], Any], *, uid: int | None = None, attach: int | None = None) -> Any:
    """Run `fn` in a forked child (optionally attached to model jail `attach`, then
    setuid(`uid`)) and return what it returned, passed back over a pipe."""
    need_root()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(rfd)
            try:
                if attach is not None:
                    ret, err = modelabi.attach(attach)
                    if ret != 0:
                        raise RuntimeError(
                            f"jail_attach({attach}) -> {ret} {errno.errorcode.get(err)}")
                if uid is not None:
                    os.setuid(uid)
                payload: tuple[str, Any] = ("ok", fn())
            except BaseException:
                payload = ("error", traceback.format_exc())
            with os.fdopen(wfd, "wb") as f:
                f.write(pickle.dumps(payload))
        finally:
            os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    assert data, "child reported nothing"
    kind, value = pickle.loads(data)
    if kind != "ok":
        pytest.fail("child failed:\n" + value)
    return value
