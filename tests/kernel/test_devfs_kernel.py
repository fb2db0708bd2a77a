"""devfs rulesets against a real FreeBSD kernel, as root: a scratch ruleset
4242 loaded through /dev (DEVFSIO_RADD), read back (RGETNEXT, SGETNEXT),
then deleted (RDEL, which reaps it).  Skipped (visibly) elsewhere;
tests/model/test_devfs_mount_model.py runs the same steps on the model."""

from __future__ import annotations

import errno

import pytest

import jailcore.devfs as devfs
from jailcore.devfs import Rule, Ruleset
from jailcore.errors import DevfsError

pytestmark = pytest.mark.kernel

SCRATCH = 4242


def test_scratch_ruleset_load_show_delete() -> None:
    if SCRATCH in devfs.rulesets():
        pytest.skip(f"ruleset {SCRATCH} is in use on this machine")
    rules = Ruleset(SCRATCH, None, (
        Rule(100, hide=True),
        Rule(200, path="null", unhide=True),
        Rule(300, path="pts/*", unhide=True, mode=0o620),
        Rule(400, types=frozenset({"disk"}), group=5),
    ))
    try:
        devfs.load(rules, "/dev")
        assert SCRATCH in devfs.rulesets("/dev")
        assert devfs.show(SCRATCH, "/dev") == rules
        with pytest.raises(DevfsError) as info:
            devfs.load(Ruleset(SCRATCH, None, (Rule(100, hide=True),)), "/dev")
        assert info.value.errno == errno.EEXIST
    finally:
        devfs.delete(SCRATCH, "/dev")
    assert SCRATCH not in devfs.rulesets("/dev")
    assert len(devfs.show(SCRATCH, "/dev")) == 0


def test_default_jail_ruleset_as_rc_d_devfs_loads_it() -> None:
    if 4 not in devfs.rulesets("/dev"):
        pytest.skip("ruleset 4 is not loaded (devfs_load_rulesets)")
    # Names are gone in the kernel; the rules are what devfs.rules says.
    want = devfs.DEFAULT_RULESETS[3]
    got = devfs.show(4, "/dev")
    assert [r.include for r in got][:3] == [r.include for r in want][:3]
