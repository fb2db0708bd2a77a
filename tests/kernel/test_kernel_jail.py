"""The core Jail scenarios against a real FreeBSD kernel, as root.

Skipped (visibly) elsewhere; tests/test_jail.py runs the same scenarios on the model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from jailcore import _backend

from .jail_scenarios import SCENARIOS, unique_name

pytestmark = pytest.mark.kernel


def test_backend_is_the_kernel() -> None:
    assert _backend.NAME == "kernel"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_scenario(scenario: Callable[[str, str], None], tmp_path: Path) -> None:
    scenario(str(tmp_path.resolve()), unique_name())
