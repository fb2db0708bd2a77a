"""``jailcore jail``: jail(8)'s command line (jailcore.jailcmd), its styles,
options, messages, streams and exit status; and the issue's walkthrough from
a shell, each command a new process sharing one model host."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import jailcore
from jailcore import Jail, jails, mount, net
from jailcore.jailcmd import USAGE, main


def jail(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out, err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def conf_file(tmp_path: Path) -> Path:
    f = tmp_path / "jail.conf"
    f.write_text('path = "/";\npersist;\nweb { host.hostname = web.example; }\n'
                 'db { host.hostname = db.example; }\n')
    return f


@pytest.mark.parametrize("argv", [
    [], ["-q"], ["web"], ["relative", "h", "ip", "cmd"], ["/j", "h", "ip"],
    ["-e", "|", "-c"], ["-r"], ["-r", "name=web"], ["-R", "-f", "x"],
    ["-c", "-n", "x", "-f", "/dev/null"], ["-C", "name=web", "path=/"],
])
def test_usage(argv: list[str]) -> None:
    assert jail(*argv) == (1, "", USAGE)


def test_bad_option() -> None:
    status, out, err = jail("-Z")
    assert (status, out) == (1, "")
    assert err == "jail: illegal option -- Z\n" + USAGE
    assert jail("-f")[2] == "jail: option requires an argument -- f\n" + USAGE


def test_show(conf_file: Path) -> None:
    assert jail("-f", str(conf_file), "-e", "|") == (
        0, "name=web|path=/|persist|host.hostname=web.example\n"
           "name=db|path=/|persist|host.hostname=db.example\n", "")


def test_config_file_errors(tmp_path: Path) -> None:
    assert jail("-f", str(tmp_path / "none.conf"), "-c") == (
        1, "", f"jail: {tmp_path}/none.conf: No such file or directory\n")
    bad = tmp_path / "bad.conf"
    bad.write_text("web {\n path = /a//b;\n}\n")
    assert jail("-f", str(bad), "-c") == (1, "", f"jail: {bad} line 3: }}: syntax error\n")


def test_config_create_remove(conf_file: Path) -> None:
    assert jail("-f", str(conf_file), "-c") == (0, "web: created\ndb: created\n", "")
    assert sorted(j.name for j in jails(("name",))) == ["db", "web"]
    assert jail("-f", str(conf_file), "-c", "web") == (1, "", 'jail: "web" already exists\n')
    assert jail("-f", str(conf_file), "-c") == (0, "", "")  # all: running ones skipped
    assert jail("-f", str(conf_file), "-m", "web") == (0, "web: updated\n", "")
    assert jail("-f", str(conf_file), "-r", "web") == (0, "web: removed\n", "")
    assert jail("-f", str(conf_file), "-r", "web") == (1, "", 'jail: "web" not found\n')
    assert jail("-q", "-f", str(conf_file), "-r", "web") == (1, "", "")
    assert jail("-f", str(conf_file), "-r", "*") == (0, "db: removed\n", "")
    assert list(jails()) == []


def test_remove_without_a_config_file(tmp_path: Path) -> None:
    Jail.create(name="x", persist=True)
    Jail.create(name="y", persist=True)
    # No file: -r works on running jails; one name, not a wildcard: no note.
    assert jail("-f", str(tmp_path / "none"), "-r", "x") == (0, "", "")
    assert jail("-R", "y") == (0, "", "")
    assert list(jails()) == []


def test_R_with_a_wildcard_matches_running_jails() -> None:
    Jail.create(name="a", persist=True, children__max=1)
    Jail.create(name="c", persist=True)
    Jail.create({"name": "a.b", "persist": True})
    status, out, err = jail("-R", "a.*")
    assert (status, out, err) == (0, "a.b: removed\n", "")
    assert sorted(j.name for j in jails(("name",))) == ["a", "c"]


def test_command_line_jail() -> None:
    assert jail("-c", "name=t", "path=/", "persist") == (0, "", "")
    assert Jail.get("t").path == "/"
    assert jail("-v", "-m", "name=t", "host.hostname=x") == (
        0, "jail_set(JAIL_UPDATE) jid=1 name=t host.hostname=x\nupdated\n", "")
    assert jail("-i", "-c", "name=u", "persist") == (0, "2\n", "")
    assert jail("-c", "name=v", "ip4.addr=192.0.2.1,192.0.2.2", "persist") == (0, "", "")
    assert [str(a) for a in Jail.get("v")["ip4.addr"]] == ["192.0.2.1", "192.0.2.2"]


def test_deprecated_options() -> None:
    status, out, err = jail("-d", "-c", "name=t", "persist")
    assert (status, out) == (0, "")
    assert err == ("jail: the 'allow.dying' parameter and '-d' flag are deprecated and have "
                   "no effect.\n")
    # One word without "=" is a jail of the configuration file, which -n
    # excludes: usage, as jail(8) says.
    assert jail("-n", "w", "-s", "2", "-c", "persist") == (1, "", USAGE)
    assert jail("-n", "w", "-s", "2", "-c", "persist", "host.hostname=w") == (0, "", "")
    assert Jail.get("w")["securelevel"] == 2


def test_old_style_command_line(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    jfile = tmp_path / "jids"
    status = main(["-J", str(jfile), "/", "test", "192.0.2.10", "/bin/echo", "hello"])
    assert status == 0
    assert capfd.readouterr().out == "hello\n"
    assert jfile.read_text() == "1\t/\ttest\t192.0.2.10\t/bin/echo hello\n"
    assert list(jails()) == []  # the command ended: nothing keeps it


def test_old_style_follows_the_legacy_sysctls() -> None:
    # security.jail.*_allowed of a fresh host: set_hostname_allowed=1 and the
    # others 0, socket_unixiproute_only=1 (allow.socket_af false).
    status, out, err = jail("-v", "/", "t", "", "/bin/sh", "-c", "exit 0")
    assert (status, err) == (0, "")
    create = next(line for line in out.splitlines() if "JAIL_CREATE" in line)
    assert create == ("jail_set(JAIL_CREATE) persist path=/ host.hostname=t allow.set_hostname "
                      "allow.sysvipc=false allow.raw_sockets=false allow.chflags=false "
                      "allow.mount=false allow.socket_af=false")


WALKTHROUGH = """\
db {
    path = "/";
    persist;
}
web {
    path = "/";
    host.hostname = web.example;
    ip4.addr = "em0|192.0.2.10/24";
    mount.devfs;
    exec.start = "/bin/sh -c 'echo starting'";
    exec.stop = "/bin/sh -c 'echo stopping'";
    persist;
    depend = db;
}
"""


def test_the_issue_walkthrough_from_a_shell(tmp_path: Path) -> None:
    """Each command a new process on one model host, as an admin types them:
    start, list, restart, stop; the host's interfaces and mounts are back as
    they were."""
    conf = tmp_path / "jail.conf"
    conf.write_text(WALKTHROUGH)
    # The jailcore under test (a build in place or the installed one), from a
    # directory without a source checkout in it.
    where = str(Path(jailcore.__file__).resolve().parents[1])
    env = dict(os.environ, JAILCORE_MODEL_STATE=str(tmp_path / "host"), PYTHONPATH=where)

    def jc(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "jailcore", *argv], env=env, text=True,
                              capture_output=True, timeout=120, cwd=tmp_path)

    def host() -> str:
        return jc("net", "ls").stdout + jc("mount", "ls").stdout

    before = host()
    r = jc("jail", "-f", str(conf), "-c", "web")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "db: created\nweb: created\nstarting\n"
    assert "192.0.2.10" in jc("net", "ls").stdout
    assert "devfs" in jc("mount", "ls").stdout
    listed = jc("ls").stdout.splitlines()
    assert listed[2].split() == ["2", "192.0.2.10", "web.example", "/"]
    r = jc("jail", "-f", str(conf), "-rc", "web")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "stopping\nweb: created\nstarting\n"
    r = jc("jail", "-f", str(conf), "-r", "db")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "stopping\nweb: removed\ndb: removed\n"
    assert jc("ls").stdout.splitlines()[1:] == []
    assert host() == before


def test_R_ignores_the_config(tmp_path: Path) -> None:
    conf = tmp_path / "jail.conf"
    conf.write_text('web { path = "/"; persist; exec.prestop = "false"; }\n')
    assert jail("-f", str(conf), "-c") == (0, "web: created\n", "")
    assert jail("-f", str(conf), "-r", "web") == (1, "", "jail: web: false: failed\n")
    assert jail("-R", "web") == (0, "", "")
    assert list(jails()) == []


def test_the_host_is_untouched_by_a_refused_config(tmp_path: Path) -> None:
    before = ([(i.name, i.addresses) for i in net.interfaces()], mount.mounts())
    conf = tmp_path / "jail.conf"
    conf.write_text('web { path = "/"; ip4.addr = "em0|192.0.2.10/24"; mount.devfs; '
                    'exec.prestart = "false"; }\n')
    assert jail("-f", str(conf), "-c") == (1, "", "jail: web: false: failed\n")
    assert ([(i.name, i.addresses) for i in net.interfaces()], mount.mounts()) == before


def test_rc_start_status_stop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``jailcore rc``: rc.d/jail over ``jailcore jail``, from a root's rc.conf."""
    from jailcore.cli import main as cli

    (tmp_path / "etc").mkdir()
    (tmp_path / "var" / "run").mkdir(parents=True)
    (tmp_path / "etc" / "rc.conf").write_text('jail_enable="YES"\n')
    (tmp_path / "etc" / "jail.conf").write_text(WALKTHROUGH)
    assert cli(["rc", "--root", str(tmp_path), "start"]) == 0
    assert capsys.readouterr().out == "Starting jails: db web.\n"
    ids = tmp_path / "var" / "run"
    assert (ids / "jail_db.id").read_text() == "1\n"
    assert (ids / "jail_web.id").read_text() == "2\n"
    assert sorted(j.name for j in jails(("name",))) == ["db", "web"]
    assert cli(["rc", "--root", str(tmp_path), "stop"]) == 0
    assert capsys.readouterr().out == "Stopping jails: db web.\n"
    assert list(jails()) == [] and sorted(os.listdir(ids)) == []
    (tmp_path / "etc" / "rc.conf").write_text('jail_enable="NO"\n')
    assert cli(["rc", "--root", str(tmp_path), "onestart", "web"]) == 0
    assert capsys.readouterr().out == "Starting jails: web.\n"  # jail_web_hostname unset
    assert sorted(j.name for j in jails(("name",))) == ["db", "web"]
    assert cli(["rc", "--root", str(tmp_path), "console"]) == 1
    assert capsys.readouterr().err == ("jailcore rc: console: not one of start, stop, restart, "
                                       "status (with rc.subr's one, force, fast or quiet "
                                       "before it)\n")


def test_cleanup_needs_the_file(tmp_path: Path) -> None:
    # -rC is not -r alone: jail.c reads the configuration file for it.
    assert jail("-f", str(tmp_path / "none"), "-rC", "web") == (
        1, "", f"jail: {tmp_path}/none: No such file or directory\n")
    conf = tmp_path / "jail.conf"
    conf.write_text('web { path = "/"; persist; exec.release = "sleep 0"; }\n')
    assert jail("-f", str(conf), "-rC", "web") == (0, "", "")  # gone: only clean-up
    assert jail("-f", str(conf), "-rC", "web", "db") == (1, "", USAGE)
