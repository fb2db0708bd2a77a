"""rctl(2) on a real FreeBSD kernel, as root: the model's tests of issue 16
(tests/model/test_rctl_model.py, tests/test_jail_limits.py,
tests/test_rctlcmd.py) where they hold on FreeBSD.  With kern.racct.enable=0
(GENERIC's default) every call is ENOSYS with rctl(8)'s explanation; with it
on, rules, usage and maxproc's denial (at fork(2) inside the jail).  Rules
are removed afterwards.  Skipped (visibly) elsewhere."""

from __future__ import annotations

import errno
import io
import secrets
import subprocess
import time
from collections.abc import Iterator

import pytest

from jailcore import Jail, rctl
from jailcore.rctlcmd import main as rctl_main

pytestmark = pytest.mark.kernel


def _enabled() -> bool:
    return rctl.status() is None


@pytest.fixture
def name() -> Iterator[str]:
    n = f"jcrctl{secrets.token_hex(4)}"
    yield n
    if _enabled():
        rctl.remove(f"jail:{n}", missing_ok=True)
    try:
        Jail.get(n).remove()
    except OSError:
        pass


def test_enosys_when_disabled(name: str) -> None:
    why = rctl.status()
    if why is None:
        pytest.skip("kern.racct.enable is 1 on this kernel")
    with pytest.raises(rctl.RctlError) as exc:
        rctl.add(f"jail:{name}:maxproc:deny=5")
    assert exc.value.errno == errno.ENOSYS and exc.value.errmsg == why
    out, err = io.StringIO(), io.StringIO()
    assert rctl_main(["-u", f"jail:{name}"], out, err) == 1
    assert err.getvalue() == f"rctl: {why}\n"


@pytest.fixture
def enabled() -> None:
    if not _enabled():
        pytest.skip(f"needs kern.racct.enable=1: {rctl.status()}")


@pytest.mark.usefixtures("enabled")
def test_rules_by_name_survive_the_jail(name: str) -> None:
    rctl.add(f"j:{name}:memoryuse:deny=1g")
    assert [str(r) for r in rctl.rules(f"jail:{name}:")] == [
        f"jail:{name}:memoryuse:deny=1073741824"]
    jail = Jail.create(name=name, path="/")
    assert [str(r) for r in jail.limits] == [f"jail:{name}:memoryuse:deny=1073741824"]
    jail.remove()
    assert [str(r) for r in rctl.rules(f"jail:{name}")] == [
        f"jail:{name}:memoryuse:deny=1073741824"]


@pytest.mark.usefixtures("enabled")
@pytest.mark.parametrize(("rule", "code"), [
    ("jail:{n}:cputime:deny=10", errno.EOPNOTSUPP),
    ("jail:{n}:maxproc:throttle=10", errno.EOPNOTSUPP),
    ("jail:{n}:nosuch:deny=1", errno.EINVAL),
    ("process:999999999:maxproc:deny=1", errno.ESRCH),
])
def test_refused(name: str, rule: str, code: int) -> None:
    with pytest.raises(rctl.RctlError) as exc:
        rctl._call(rctl._ADD_RULE, rule.format(n=name))
    assert exc.value.errno == code


@pytest.mark.usefixtures("enabled")
def test_create_with_limits_rolls_back(name: str) -> None:
    with pytest.raises(rctl.RctlError) as exc:
        Jail.create(name=name, path="/", limits=["maxproc:deny=5", "cputime:deny=10"])
    assert exc.value.errno == errno.EOPNOTSUPP
    assert rctl.rules(f"jail:{name}:") == []
    with pytest.raises(OSError):
        Jail.get(name)


@pytest.mark.usefixtures("enabled")
def test_usage_and_maxproc(name: str) -> None:
    jail = Jail.create(name=name, path="/", limits=["maxproc:deny=3"])
    # The shell and its sleeps: the fourth fork inside the jail fails (EAGAIN).
    proc = jail.spawn(["sh", "-c", "sleep 30 & sleep 30 & sleep 30 & wait"],
                      stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 5
        while jail.usage()["maxproc"] < 3 and time.monotonic() < deadline:
            time.sleep(0.2)  # racctd updates once a second
        assert jail.usage()["maxproc"] == 3
        assert proc.stderr is not None
        assert b"fork" in proc.stderr.readline().lower()
    finally:
        jail.remove()
        proc.wait()
