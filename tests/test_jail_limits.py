"""Resource limits from Python (issue 16): jailcore.rctl's calls, and
Jail.create(limits=), Jail.limits, Jail.limit() and Jail.usage() on the model."""

from __future__ import annotations

import errno
import os

import pytest
from portable import needs_ptable

import jailcore.model
from jailcore import Jail, JailError, rctl
from jailcore.rctl import RctlError, Rule, RuleError


@pytest.fixture
def racct() -> None:
    jailcore.model.set_racct(True)


@pytest.mark.usefixtures("racct")
def test_create_with_limits() -> None:
    jail = Jail.create(name="web", path="/", limits=[
        "maxproc:deny=5", "jail:web:memoryuse:deny=1g", Rule.parse("j:web:nthr:log=100")])
    assert [str(r) for r in jail.limits] == [
        "jail:web:nthr:log=100", "jail:web:memoryuse:deny=1073741824", "jail:web:maxproc:deny=5"]


@pytest.mark.usefixtures("racct")
def test_create_rolls_back_when_a_rule_is_refused() -> None:
    rctl.add("jail:web:openfiles:log=50")  # there before: kept
    with pytest.raises(RctlError) as exc:
        Jail.create(name="web", path="/", limits=["maxproc:deny=5", "cputime:deny=10"])
    assert exc.value.errno == errno.EOPNOTSUPP
    assert exc.value.operation == "rctl_add_rule"
    assert exc.value.target == "jail:web:cputime:deny=10"
    with pytest.raises(JailError):
        Jail.get("web")
    assert [str(r) for r in rctl.rules()] == ["jail:web:openfiles:log=50"]


@pytest.mark.usefixtures("racct")
def test_create_refuses_another_jails_rule() -> None:
    with pytest.raises(RuleError, match="not a rule of jail 'web'"):
        Jail.create(name="web", path="/", limits=["jail:db:maxproc:deny=5"])
    with pytest.raises(JailError):
        Jail.get("web")


def test_create_with_limits_when_racct_is_off() -> None:
    with pytest.raises(RctlError) as exc:
        Jail.create(name="web", path="/", limits=["maxproc:deny=5"])
    assert exc.value.errno == errno.ENOSYS
    assert exc.value.errmsg == ("RACCT/RCTL present, but disabled; enable using "
                                "kern.racct.enable=1 tunable")
    with pytest.raises(JailError):
        Jail.get("web")


@needs_ptable
@pytest.mark.usefixtures("racct")
def test_limit_and_usage() -> None:
    jail = Jail.create(name="web", path="/")
    assert jail.limit("memoryuse", "deny", "1g") == Rule("jail", "web", "memoryuse", "deny",
                                                         1 << 30)
    assert str(jail.limit("maxproc", "log", 10, per="user")) == "jail:web:maxproc:log=10/user"
    assert [str(r) for r in jail.limits] == ["jail:web:maxproc:log=10/user",
                                             "jail:web:memoryuse:deny=1073741824"]
    used = jail.usage()
    assert len(used) == 25 and used["maxproc"] == 0 and used["memoryuse"] == 0
    with jail.spawn(["sleep", "30"]) as proc:
        assert jail.usage()["maxproc"] == 1
        proc.kill()


@needs_ptable
@pytest.mark.usefixtures("racct")
def test_module_calls() -> None:
    assert rctl.add("u:0:maxproc:log=1k") == Rule("user", "0", "maxproc", "log", 1024)
    assert rctl.rules("user:") == [Rule("user", "0", "maxproc", "log", 1024)]
    rctl.remove("user:0")
    with pytest.raises(RctlError) as exc:
        rctl.remove("user:0")
    assert exc.value.errno == errno.ESRCH
    # The target is the filter as rctl(8) would send it.
    assert str(exc.value) == "rctl_remove_rule user:0:: No such process [ESRCH]"
    rctl.remove("user:0", missing_ok=True)
    assert rctl.limits(os.getpid()) == []
    rctl.add(f"user:{os.getuid()}:openfiles:log=100")
    assert rctl.limits(os.getpid()) == [Rule("user", str(os.getuid()), "openfiles", "log", 100)]
    usage = rctl.usage("user:0")
    assert usage["maxproc"] >= 1 and usage["cputime"] >= 0


@pytest.mark.usefixtures("racct")
def test_output_grown_past_the_first_buffer() -> None:
    # More than 128 KiB of rules: rctl(8)'s buffer grows four times on ERANGE.
    names = [f"jail{i:04d}" + "x" * 200 for i in range(700)]
    for n in names:
        rctl.add(f"jail:{n}:maxproc:deny=1")
    got = rctl.rules("jail:")
    assert len(got) == 700 and {r.id for r in got} == set(names)
    assert sum(len(str(r)) + 1 for r in got) > rctl.BUFSIZE


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (5, "5"), (1023, "1023"), (9999, "9999"), (10000, "9.8K"), (10240, "10K"),
    (1 << 30, "1024M"), (1610612736, "1536M"), (1 << 60, "1024P"), (-5, "-5"),
])
def test_humanize_number(value: int, text: str) -> None:
    assert rctl.humanize_number(value) == text


def test_expand_as_rctl8() -> None:
    assert rctl.expand("j:web:memoryuse:deny=1g/u") == "jail:web:memoryuse:deny=1073741824/u"
    assert rctl.expand("u:root") == "user:0:"
    assert rctl.expand("jail:web:bogus:deny=2k") == "jail:web:bogus:deny=2048"
    assert rctl.expand("u:root:maxproc:deny=1", resolve_ids=False) == "user:root:maxproc:deny=1"
