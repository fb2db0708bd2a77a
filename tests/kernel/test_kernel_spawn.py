"""The main Jail.spawn / Jail.run scenarios against a real FreeBSD kernel, as root.

Skipped (visibly) elsewhere; tests/test_spawn.py runs the same scenarios on the model.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable
from pathlib import Path

import pytest

from jailcore import Jail

from .jail_scenarios import cleanup, unique_name
from .spawn_scenarios import SCENARIOS

pytestmark = pytest.mark.kernel


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_spawn_scenario(scenario: Callable[[str, str], None], tmp_path: Path) -> None:
    path = tmp_path / "jail"
    path.mkdir()
    scenario(str(path.resolve()), unique_name())


def test_the_login_class_applies_as_jexec_applies_it() -> None:
    """FreeBSD only (the model has no login classes): with a user named,
    setusercontext(3) sets the class's umask (the default class: 022) whatever
    the caller's; with login, the class's PATH (its ~ the user's home)."""
    nobody = pwd.getpwnam("nobody")
    name = unique_name()
    old = os.umask(0o077)
    try:
        with cleanup(name):
            jail = Jail.create(name=name, path="/")
            out = jail.run(["/bin/sh", "-c", "umask"], user="nobody", capture_output=True,
                           check=True).stdout.decode()
            assert out == "0022\n"
            env = jail.run(["/usr/bin/env"], user="nobody", login=True, cwd="/",
                           capture_output=True, check=True).stdout.decode().splitlines()
            assert (f"PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:"
                    f"{nobody.pw_dir}/bin") in env
    finally:
        os.umask(old)
