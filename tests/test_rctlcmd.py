"""``jailcore rctl``: rctl(8)'s command line, output, messages and exit
status (usr.bin/rctl/rctl.c) on the model, and ``jailcore ls -u``."""

from __future__ import annotations

import io
import json
import os
import pwd

import pytest
from portable import needs_ptable

import jailcore.model
from jailcore import Jail, cli
from jailcore.rctlcmd import main

ROOT = pwd.getpwuid(0).pw_name


def rctl(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out, err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def racct() -> None:
    jailcore.model.set_racct(True)


def test_disabled_stops_with_rctl8s_explanation() -> None:
    for argv in ((), ("-a", "jail:web:maxproc:deny=5"), ("-u", "jail:web"), ("jail:web",)):
        assert rctl(*argv) == (1, "", "rctl: RACCT/RCTL present, but disabled; enable using "
                                      "kern.racct.enable=1 tunable\n")
    jailcore.model.set_racct(None)
    assert rctl("-l", "process:1") == (
        1, "", "rctl: RACCT/RCTL support not present in kernel; see rctl(8) for details\n")


@pytest.mark.usefixtures("racct")
def test_add_show_remove() -> None:
    assert rctl("-a", "j:web:maxproc:deny=5", "u:root:memoryuse:log=1g") == (0, "", "")
    assert rctl() == (0, f"user:{ROOT}:memoryuse:log=1073741824\njail:web:maxproc:deny=5\n", "")
    assert rctl("-n") == (0, "user:0:memoryuse:log=1073741824\njail:web:maxproc:deny=5\n", "")
    assert rctl("-h", "u:") == (0, f"user:{ROOT}:memoryuse:log=1024M\n", "")
    assert rctl("jail:web", "jail:other") == (0, "jail:web:maxproc:deny=5\n", "")
    assert rctl("-r", "u:root") == (0, "", "")
    assert rctl("-r", "u:root") == (1, "", "rctl: failed to remove rule 'u:root': "
                                          "No such process\n")
    assert rctl() == (0, "jail:web:maxproc:deny=5\n", "")


@pytest.mark.usefixtures("racct")
def test_the_exit_status_counts_failed_arguments() -> None:
    status, out, err = rctl("-a", "j:web:maxproc:deny=5", "jail:web:cputime:deny=1",
                            "u:nosuchuser-jc:maxproc:deny=1", "j:web:nthr:deny=1x", "web")
    assert (status, out) == (4, "")
    assert err.splitlines() == [
        "rctl: failed to add rule 'jail:web:cputime:deny=1': Operation not supported",
        "rctl: malformed rule 'u:nosuchuser-jc:maxproc:deny=1': unknown user 'nosuchuser-jc'",
        "rctl: malformed rule 'j:web:nthr:deny=1x': invalid numeric value '1x'",
        "rctl: malformed rule 'web': missing subject",
    ]
    # Names are the kernel's to judge: EINVAL.
    assert rctl("-a", "jail:web:nosuch:deny=1") == (
        1, "", "rctl: failed to add rule 'jail:web:nosuch:deny=1': Invalid argument\n")


@pytest.mark.usefixtures("racct")
def test_n_with_a_keeps_names_unresolved() -> None:
    # The kernel wants a number: "root" is EINVAL.
    assert rctl("-a", "-n", "u:root:maxproc:deny=1") == (
        1, "", "rctl: failed to add rule 'u:root:maxproc:deny=1': Invalid argument\n")
    assert rctl("-a", "-n", "u:0:maxproc:deny=1") == (0, "", "")


def test_usage_errors() -> None:
    assert rctl("-a", "-r", "x") == (
        1, "", "rctl: at most one of -a, -l, -r, or -u may be specified\n")
    usage = "usage: rctl [ -h ] [-a rule | -l filter | -r filter | -u filter | filter]\n"
    assert rctl("-u") == (1, "", usage)
    assert rctl("-x") == (1, "", "rctl: illegal option -- x\n" + usage)


@needs_ptable
@pytest.mark.usefixtures("racct")
def test_usage_of_a_jail() -> None:
    jail = Jail.create(name="web", path="/")
    procs = [jail.spawn(["sleep", "30"]) for _ in range(2)]
    try:
        status, out, err = rctl("-u", "jail:web")
        lines = out.splitlines()
        assert (status, err) == (0, "")
        assert [line.split("=")[0] for line in lines][:3] == ["cputime", "datasize", "stacksize"]
        assert len(lines) == 25 and "maxproc=2" in lines and "nthr=2" in lines
        memory = int(next(x for x in lines if x.startswith("memoryuse=")).split("=")[1])
        assert memory > 0
        status, out, _ = rctl("-hu", "jail:web")
        human = dict(x.split("=") for x in out.splitlines())
        assert human["maxproc"] == "2" and human["memoryuse"][-1] in "KMG"
        status, out, _ = rctl("-u", "--json", "jail:web")
        assert json.loads(out)["jail:web"]["maxproc"] == 2
    finally:
        for p in procs:
            p.kill()
            p.wait()


@needs_ptable
@pytest.mark.usefixtures("racct")
def test_limits_and_json() -> None:
    uid = os.getuid()
    assert rctl("-a", f"user:{uid}:openfiles:log=1000")[0] == 0
    status, out, _ = rctl("-n", "-l", f"process:{os.getpid()}")
    assert (status, out) == (0, f"user:{uid}:openfiles:log=1000\n")
    assert rctl("-l", "jail:web") == (
        1, "", "rctl: failed to get limits for 'jail:web': Operation not supported\n")
    status, out, _ = rctl("--json")
    assert json.loads(out) == [{"rule": f"user:{uid}:openfiles:log=1000", "subject": "user",
                                "id": str(uid), "resource": "openfiles", "action": "log",
                                "amount": 1000, "per": "user"}]


@pytest.mark.usefixtures("racct")
def test_through_jailcore_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rctl", "-a", "j:web:memoryuse:deny=1g"]) == 0
    assert cli.main(["rctl", "jail:web"]) == 0
    assert capsys.readouterr().out == "jail:web:memoryuse:deny=1073741824\n"


@needs_ptable
@pytest.mark.usefixtures("racct")
def test_ls_usage_columns(capsys: pytest.CaptureFixture[str]) -> None:
    jail = Jail.create(name="web", path="/", host__hostname="web.example")
    proc = jail.spawn(["sleep", "30"])
    try:
        assert cli.main(["ls", "-u", "maxproc,nthr"]) == 0
        assert capsys.readouterr().out == (
            "   JID  IP Address      Hostname                         maxproc       nthr Path\n"
            f"{jail.jid:6d}                  web.example                            1"
            "          1 /\n")
        assert cli.main(["ls", "-u", "maxproc", "-h", "name"]) == 0
        assert capsys.readouterr().out == "name maxproc\nweb 1\n"
        assert cli.main(["ls", "-u", "maxproc", "-n", "name"]) == 0
        assert capsys.readouterr().out == "name=web maxproc=1\n"
        assert cli.main(["ls", "-u", "maxproc", "--json"]) == 0
        row = json.loads(capsys.readouterr().out)["jail-information"]["jail"][0]
        assert row["usage"] == {"maxproc": 1}
    finally:
        proc.kill()
        proc.wait()
    assert cli.main(["ls", "-u", "bogus"]) == 1
    assert "jailcore ls: -u: unknown resource 'bogus'" in capsys.readouterr().err


def test_ls_usage_when_disabled(capsys: pytest.CaptureFixture[str]) -> None:
    Jail.create(name="web", path="/")
    assert cli.main(["ls", "-u", "maxproc"]) == 1
    assert capsys.readouterr().err == (
        "jailcore ls: -u: RACCT/RCTL present, but disabled; enable using "
        "kern.racct.enable=1 tunable\n")


def test_model_racct_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["model", "racct"]) == 0
    assert cli.main(["model", "racct", "on"]) == 0
    assert cli.main(["model", "racct"]) == 0
    assert capsys.readouterr().out == "off\non\n"
    assert cli.main(["model", "racct", "maybe"]) == 1
    assert capsys.readouterr().err == (
        "jailcore model: racct: 'maybe' is not one of on, off, absent\n")
