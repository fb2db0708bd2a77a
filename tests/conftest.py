"""Every test starts on a fresh model host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import jailcore.model


@pytest.fixture(autouse=True)
def fresh_model_host() -> Iterator[None]:
    jailcore.model.reset()
    yield
    jailcore.model.reset()
