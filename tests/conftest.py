"""Every test runs on a fresh model host of its own (jailcore's pytest plugin)."""

from __future__ import annotations

import os

import pytest

if os.environ.get("JAILCORE_SANITIZER_RUN"):
    # tools/sanitize.py: this process has the ASan runtime; the programs the tests
    # start must not (Python ones get it back through sys.executable's wrapper).
    os.environ.pop("LD_PRELOAD", None)

from seam import Recorder, install

# The plugin is registered by jailcore's pytest11 entry point once installed;
# importing the fixture here also serves a build made in place.
from jailcore.testing import JailHost, jail_host

__all__ = ["jail_host"]

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def fresh_model_host(request: pytest.FixtureRequest) -> JailHost | None:
    """A fresh model host (jail_host) for each test, except those marked ``kernel``:
    they work on the real kernel's jails, and jail_host would skip them there for
    want of the model (the kernel backend on FreeBSD, as root, runs them; elsewhere
    jailcore's plugin skips them with the reason).  tests/kernel/conftest.py
    overrides this fixture for its own tests."""
    if request.node.get_closest_marker("kernel") is not None:
        return None
    host: JailHost = request.getfixturevalue("jail_host")
    return host


@pytest.fixture
def seam(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """The jail_set/jail_get calls of this test, as the kernel sees them (tests/seam.py)."""
    return install(monkeypatch)
