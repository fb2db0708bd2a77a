"""Every test runs on a fresh model host of its own (jailcore's pytest plugin)."""

from __future__ import annotations

import pytest

# The plugin is registered by jailcore's pytest11 entry point once installed;
# importing the fixture here also serves a build made in place.
from jailcore.testing import JailHost, jail_host

__all__ = ["jail_host"]

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def fresh_model_host(jail_host: JailHost) -> JailHost:
    return jail_host
