"""The main Jail.spawn / Jail.run scenarios against a real FreeBSD kernel, as root.

Skipped (visibly) elsewhere; tests/test_spawn.py runs the same scenarios on the model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .jail_scenarios import unique_name
from .spawn_scenarios import SCENARIOS

pytestmark = pytest.mark.kernel


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_spawn_scenario(scenario: Callable[[str, str], None], tmp_path: Path) -> None:
    path = tmp_path / "jail"
    path.mkdir()
    scenario(str(path.resolve()), unique_name())
