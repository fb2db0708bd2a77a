"""Jail.spawn and Jail.run on the model: subprocess's API, failures, the jail, descriptors,
signals and threads.

The scenarios shared with the kernel tests (tests/kernel/spawn_scenarios.py) run
here first; the tests after them need Linux's /proc, the model's own knobs, or
a jail root with programs in it.  Spec: shared/spec/freebsd-jail-kernel.md
sections 4.7, 6.1 and 8.1; issue 4.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from kernel.jail_scenarios import unique_name
from kernel.spawn_scenarios import SCENARIOS

# Creating and entering jails takes privilege, which the model grants from the real euid.
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: the model takes privilege from the real euid")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_kernel_scenario_on_the_model(scenario: Callable[[str, str], None],
                                      tmp_path: Path) -> None:
    path = tmp_path / "jail"
    path.mkdir()
    scenario(str(path.resolve()), unique_name())
