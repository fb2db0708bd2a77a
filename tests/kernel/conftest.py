"""Tests that need a real FreeBSD kernel and root.

They run only on FreeBSD, as root, with jailcore's kernel backend; everywhere else
each of them is skipped with the reason (shown by ``pytest -rs``).  Here the
model is never reset: the tests work on the machine's real jails, under names
with a random suffix, and remove what they create.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jailcore.testing import kernel_skip_reason


@pytest.fixture(autouse=True)
def fresh_model_host() -> Iterator[None]:
    """Overrides tests/conftest.py's fixture: the model is not touched here."""
    yield


@pytest.fixture(autouse=True)
def only_on_freebsd_as_root() -> None:
    reason = kernel_skip_reason()
    if reason is not None:
        pytest.skip(reason)
