"""pytest plugin: a fresh jail host for every test.

Installed with jailcore and registered through the ``pytest11`` entry point, so
a downstream project writes::

    def test_web_jail(jail_host):
        web = jailcore.Jail.create(name="web")
        assert [j.name for j in jailcore.jails()] == ["web"]

``jail_host`` gives each test a model host of its own, kept in a state file
(in ``/dev/shm`` where it exists; ``JAILCORE_MODEL_STATE`` points at it
during the test, so subprocesses the test starts share it), and resets it
afterwards.  It needs jailcore's model backend: off FreeBSD that is the
default; on FreeBSD set ``JAILCORE_BACKEND=model``.

While pytest runs, the plugin sets ``JAILCORE_MODEL_STATE=:private:`` unless
the variable is already set, so that a test without ``jail_host`` (and any
program it starts) works on a host private to the test process instead of
the user's own persistent host (see :mod:`jailcore.model`).

``freebsd_kernel`` is for tests that need the real thing: it skips, visibly
and with the reason, unless the process is root on FreeBSD with the kernel
backend.  Tests marked ``kernel`` skip the same way.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["JailHost", "freebsd_kernel", "jail_host", "kernel_skip_reason"]


class JailHost:
    """The model host of one test: its state file and the model's controls."""

    def __init__(self, state_file: Path) -> None:
        self.state_file = state_file

    def reset(self) -> None:
        """No jails, FreeBSD 15 semantics, no module loaded, no rctl rule."""
        from jailcore import model

        model.reset()

    def set_version(self, major: int) -> None:
        """Follow FreeBSD 14 or 15 (only while the host has no jail)."""
        from jailcore import model

        model.set_version(major)

    def set_racct(self, enable: bool | None) -> None:
        """Boot with RACCT/RCTL on, off (the default) or absent, as
        :func:`jailcore.model.set_racct` (only while the host has no jail)."""
        from jailcore import model

        model.set_racct(enable)

    def kldload(self, name: str) -> int:
        """Load one of the model's modules, as :func:`jailcore.model.kldload`."""
        from jailcore import model

        return model.kldload(name)

    def hold(self, jid: int) -> None:
        """Keep jail ``jid`` dying instead of freed once it is removed."""
        from jailcore import model

        model.hold(jid)

    def release(self, jid: int) -> None:
        """Release a reference taken with :meth:`hold`, as :func:`jailcore.model.release`."""
        from jailcore import model

        model.release(jid)

    def __repr__(self) -> str:
        return f"<JailHost {str(self.state_file)!r}>"


def kernel_skip_reason() -> str | None:
    """Why real-kernel tests cannot run here, or None when they can."""
    from jailcore import _backend

    why = []
    if not sys.platform.startswith("freebsd"):
        why.append(f"this is {sys.platform}, not FreeBSD")
    if _backend.NAME != "kernel":
        why.append(f"jailcore's backend is {_backend.NAME!r}, not 'kernel'")
    if os.geteuid() != 0:
        why.append("not running as root")
    if not why:
        return None
    return "needs a real FreeBSD kernel as root with the kernel backend: " + "; ".join(why)


@pytest.fixture
def jail_host(tmp_path_factory: pytest.TempPathFactory,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[JailHost]:
    """A fresh model host for this test, shared with the processes it starts."""
    from jailcore import _backend, model

    if _backend.NAME != "model":
        pytest.skip("jail_host needs the model backend (set JAILCORE_BACKEND=model)")
    state = _state_dir(tmp_path_factory) / f"host-{os.getpid()}-{next(_counter)}"
    previous = model.state_path()
    model.use_state_file(state)
    model.reset()
    monkeypatch.setenv("JAILCORE_MODEL_STATE", str(state))
    try:
        yield JailHost(state)
    finally:
        model.reset()
        model.use_state_file(None if previous in (None, model.default_state_path())
                             else previous)
        for leftover in (state, Path(f"{state}.jd")):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


_counter = itertools.count()
_state_root: Path | None = None


def _state_dir(factory: pytest.TempPathFactory) -> Path:
    """Where state files go: memory (/dev/shm) when the system has it, since a
    host is mostly untouched sparse pages and a disk would write them back;
    else the test session's temporary directory."""
    global _state_root
    if _state_root is None:
        shm = Path("/dev/shm")
        if shm.is_dir() and os.access(shm, os.W_OK):
            _state_root = Path(tempfile.mkdtemp(prefix="jailcore-test-", dir=shm))
            atexit.register(shutil.rmtree, _state_root, True)
        else:
            _state_root = factory.mktemp("jail_host")
    return _state_root


@pytest.fixture
def freebsd_kernel() -> None:
    """Skip this test (visibly, with the reason) unless root on FreeBSD's kernel."""
    reason = kernel_skip_reason()
    if reason is not None:
        pytest.skip(reason)


def pytest_configure(config: Any) -> None:
    # Tests never touch the user's own model host unless asked to.
    os.environ.setdefault("JAILCORE_MODEL_STATE", ":private:")
    config.addinivalue_line(
        "markers", "kernel: needs a real FreeBSD kernel and root (skipped elsewhere, visibly)"
    )


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    reason = None
    for item in items:
        if item.get_closest_marker("kernel") is None:
            continue
        if reason is None:
            reason = kernel_skip_reason() or ""
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
