"""jail(8)'s lifecycle (jailcore.lifecycle): the cases of userland spec
section 8 that belong to it, traces of host operations compared exactly,
rollback with a failure injected at every step, and runs on the model whose
effect on the host is checked (addresses, mounts, jails)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from jailcore import Jail, conf, jails, mount, net
from jailcore.lifecycle import (
    DryRun,
    Executor,
    JailConf,
    LifecycleError,
    Op,
    command_line_config,
)


class Run:
    """One jail(8) run: exit status, trace, stdout, stderr."""

    def __init__(self, status: int, jc: JailConf, out: str, err: str) -> None:
        self.status, self.trace, self.out, self.err = status, jc.trace, out, err

    def __repr__(self) -> str:
        return f"<Run {self.status} trace={self.trace} out={self.out!r} err={self.err!r}>"


def run(text: str | conf.Config | None, ops: str, targets: list[str] | None = None,
        executor: Executor | None = None, **kw: object) -> Run:
    cfg = conf.loads(text) if isinstance(text, str) else text
    out, err = io.StringIO(), io.StringIO()
    jc = JailConf(cfg, executor=executor, out=out, err=err, **kw)  # type: ignore[arg-type]
    status = jc.run(ops, targets or [])
    return Run(status, jc, out.getvalue(), err.getvalue())


def host_state() -> tuple[list[tuple[str, list[str]]], list[tuple[str, str]], list[str]]:
    """Interfaces with their addresses, mounts, jails: to compare before and after."""
    ifs = [(i.name, sorted(str(a) for a in i.addresses)) for i in net.interfaces()]
    mnts = [(m.fstype, m.fspath) for m in mount.mounts()]
    return ifs, mnts, sorted(j.name for j in jails(("name",)))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A jail root with the mount points jail(8) uses."""
    r = tmp_path / "j"
    for d in ("dev/fd", "proc", "a", "b"):
        (r / d).mkdir(parents=True)
    return r


CASE1 = 'foo { path=/j; ip4.addr="em0|10.0.0.5/24"; mount.devfs; exec.start="/bin/sh /etc/rc"; }'


def test_case1_create_trace_and_message() -> None:
    r = run(CASE1, "c", ["foo"], DryRun())
    assert r.trace == [
        "/sbin/ifconfig em0 inet 10.0.0.5/24 alias",
        "/sbin/mount -t devfs -oruleset=4 . /j/dev",
        "jail_set(JAIL_CREATE) persist name=foo path=/j ip4.addr=10.0.0.5",
        "exec.start: /bin/sh /etc/rc (in jail)",
        "jail_set(JAIL_UPDATE) jid=1 nopersist",
    ]
    assert (r.status, r.out, r.err) == (0, "foo: created\n", "")


def test_case2_remove_trace_and_message() -> None:
    dry = DryRun()
    assert run(CASE1, "c", ["foo"], dry).status == 0
    r = run(CASE1, "r", ["foo"], dry)
    assert r.trace == [
        "stop.timeout: SIGTERM to jail 1, wait 10 s",
        "jail_remove(1)",
        "/sbin/umount /j/dev",
        "/sbin/ifconfig em0 inet 10.0.0.5/24 -alias",
    ]
    assert (r.status, r.out, r.err) == (0, "foo: removed\n", "")


def test_case3_mount_order_and_reverse() -> None:
    text = ('foo { path=/j; persist; mount = "/a /j/a nullfs ro", "/b /j/b nullfs rw"; '
            'ip4.addr = "em0|10.0.0.5", "em0|10.0.0.6/255.255.255.0 vhid 1"; '
            'ip6.addr = "em0|2001:db8::5"; }')
    dry = DryRun()
    r = run(text, "c", ["foo"], dry)
    assert r.trace == [
        "/sbin/ifconfig em0 inet 10.0.0.5 netmask 255.255.255.255 alias",
        "/sbin/ifconfig em0 inet 10.0.0.6 netmask 255.255.255.0 vhid 1 alias",
        "/sbin/ifconfig em0 inet6 2001:db8::5 prefixlen 128 alias",
        "/sbin/mount -t nullfs -o ro /a /j/a",
        "/sbin/mount -t nullfs -o rw /b /j/b",
        "jail_set(JAIL_CREATE) name=foo path=/j persist ip4.addr=10.0.0.5,10.0.0.6 "
        "ip6.addr=2001:db8::5",
    ]
    r = run(text, "r", ["foo"], dry)
    assert r.trace == [
        "stop.timeout: SIGTERM to jail 1, wait 10 s",
        "jail_remove(1)",
        "/sbin/umount -t nullfs /j/b",
        "/sbin/umount -t nullfs /j/a",
        "/sbin/ifconfig em0 inet6 2001:db8::5 prefixlen 128 -alias",
        "/sbin/ifconfig em0 inet 10.0.0.6 netmask 255.255.255.0 -alias",
        "/sbin/ifconfig em0 inet 10.0.0.5 netmask 255.255.255.255 -alias",
    ]


# Every step of a creation, in jail(8)'s order; the ones a failed creation undoes.
CREATE = ("jail_set(JAIL_CREATE) name=foo path=/j vnet persist ip4.addr=10.0.0.5,10.0.0.6 "
          "ip6.addr=2001:db8::5")
FULL = """
foo {
    path = /j; vnet; persist;
    exec.prepare = "echo prepare";
    ip4.addr = "em0|10.0.0.5/24", "em0|10.0.0.6/24";
    ip6.addr = "em0|2001:db8::5/64";
    mount = "/a /j/a nullfs ro";
    mount.devfs; mount.fdescfs; mount.procfs;
    exec.prestart = "echo prestart";
    exec.created = "echo created";
    vnet.interface = epair0b, epair1b;
    exec.start = "echo start";
    command = "echo command";
    exec.poststart = "echo poststart";
    exec.release = "echo release";
}
"""
FULL_TRACE = [
    "exec.prepare: echo prepare",
    "/sbin/ifconfig em0 inet 10.0.0.5/24 alias",
    "/sbin/ifconfig em0 inet 10.0.0.6/24 alias",
    "/sbin/ifconfig em0 inet6 2001:db8::5/64 alias",
    "/sbin/mount -t nullfs -o ro /a /j/a",
    "/sbin/mount -t devfs -oruleset=4 . /j/dev",
    "/sbin/mount -t fdescfs . /j/dev/fd",
    "/sbin/mount -t procfs . /j/proc",
    "exec.prestart: echo prestart",
    CREATE,
    "exec.created: echo created",
    "/sbin/ifconfig epair0b vnet 1",
    "/sbin/ifconfig epair1b vnet 1",
    "exec.start: echo start (in jail)",
    "command: echo command (in jail)",
    "exec.poststart: echo poststart",
]
UNDO = {
    "/sbin/ifconfig em0 inet 10.0.0.5/24 alias": "/sbin/ifconfig em0 inet 10.0.0.5/24 -alias",
    "/sbin/ifconfig em0 inet 10.0.0.6/24 alias": "/sbin/ifconfig em0 inet 10.0.0.6/24 -alias",
    "/sbin/ifconfig em0 inet6 2001:db8::5/64 alias":
        "/sbin/ifconfig em0 inet6 2001:db8::5/64 -alias",
    "/sbin/mount -t nullfs -o ro /a /j/a": "/sbin/umount -t nullfs /j/a",
    "/sbin/mount -t devfs -oruleset=4 . /j/dev": "/sbin/umount /j/dev",
    "/sbin/mount -t fdescfs . /j/dev/fd": "/sbin/umount /j/dev/fd",
    "/sbin/mount -t procfs . /j/proc": "/sbin/umount /j/proc",
    CREATE: "jail_remove(1)",
    "/sbin/ifconfig epair0b vnet 1": "/sbin/ifconfig epair0b -vnet 1",
    "/sbin/ifconfig epair1b vnet 1": "/sbin/ifconfig epair1b -vnet 1",
}


def _op_text(op: Op) -> str:
    return f"{op.step}: {op}" if op.step.startswith(("exec.", "command")) else str(op)


def test_full_create_trace() -> None:
    r = run(FULL, "c", ["foo"], DryRun())
    assert r.trace == FULL_TRACE
    assert r.status == 0


@pytest.mark.parametrize("k", range(len(FULL_TRACE)))
def test_rollback_with_a_failure_at_each_step(k: int) -> None:
    failing = FULL_TRACE[k]
    r = run(FULL, "c", ["foo"], DryRun(fail=lambda op: _op_text(op).startswith(
        failing.removesuffix(" (in jail)"))))
    undo = [UNDO[t] for t in reversed(FULL_TRACE[:k]) if t in UNDO]
    assert r.trace == FULL_TRACE[:k + 1] + undo
    assert r.status == 1
    assert "exec.release" not in " ".join(r.trace)
    created = k > FULL_TRACE.index(CREATE)
    assert r.out == ("foo: created\nfoo: removed\n" if created else "")


def test_case4_prestart_failure_undoes_addresses_and_mounts(root: Path) -> None:
    before = host_state()
    text = (f'foo {{ path = "{root}"; ip4.addr = "em0|192.0.2.10/24"; mount.devfs; '
            'exec.prestart = "false"; exec.release = "touch /nonexistent/x"; }')
    r = run(text, "c", ["foo"])
    assert r.status == 1
    assert r.err == "jail: foo: false: failed\n"
    assert r.trace == [
        "/sbin/ifconfig em0 inet 192.0.2.10/24 alias",
        f"/sbin/mount -t devfs -oruleset=4 . {root}/dev",
        "exec.prestart: false",
        f"/sbin/umount {root}/dev",
        "/sbin/ifconfig em0 inet 192.0.2.10/24 -alias",
    ]
    assert host_state() == before


def test_case5_start_failure_removes_the_jail(root: Path, tmp_path: Path) -> None:
    before = host_state()
    marker = tmp_path / "released"
    text = (f'foo {{ path = "/"; ip4.addr = "em0|192.0.2.10/24"; mount.procfs; '
            f'exec.start = "sleep 0", "false"; exec.release = "touch {marker}"; }}')
    r = run(text, "c", ["foo"])
    assert r.status == 1
    assert r.out == "foo: created\nfoo: removed\n"
    assert r.err == "jail: foo: false: failed\n"
    assert r.trace[-3:] == ["jail_remove(1)", "/sbin/umount //proc",
                            "/sbin/ifconfig em0 inet 192.0.2.10/24 -alias"]
    assert not marker.exists()
    assert host_state() == before


def _running(text: str) -> tuple[conf.Config, Run]:
    cfg = conf.loads(text)
    r = run(cfg, "c", ["foo"])
    assert r.status == 0, r
    return cfg, r


def test_case6_prestop_failure_keeps_the_jail(root: Path) -> None:
    text = (f'foo {{ path = "{root}"; persist; mount.devfs; exec.prestop = "false"; '
            'exec.poststop = "echo never"; }')
    _running(text)
    r = run(text, "r", ["foo"])
    assert (r.status, r.err, r.out) == (1, "jail: foo: false: failed\n", "")
    assert r.trace == ["exec.prestop: false"]
    assert Jail.get("foo").name == "foo"
    assert any(m.fspath == f"{root}/dev" for m in mount.mounts())


def test_case7_poststop_failure_goes_on(root: Path) -> None:
    before = host_state()
    text = (f'foo {{ path = "{root}"; persist; mount.devfs; ip4.addr = "em0|192.0.2.10"; '
            'exec.poststop = "false"; }')
    _running(text)
    r = run(text, "r", ["foo"])
    assert r.status == 1
    assert r.err == "jail: foo: false: failed\n"
    assert r.out == "foo: removed\n"
    assert r.trace[1:] == [
        "jail_remove(1)", "exec.poststop: false", f"/sbin/umount {root}/dev",
        "/sbin/ifconfig em0 inet 192.0.2.10 netmask 255.255.255.255 -alias"]
    assert host_state() == before


def test_case10_numeric_name_message() -> None:
    r = run("5309 { name = basejail; persist; }", "c", [], DryRun())
    assert r.out == "5309: created\n"
    assert r.trace == ["jail_set(JAIL_CREATE) jid=5309 name=basejail persist"]


def test_case10_on_the_model() -> None:
    r = run('5309 { name = basejail; path = "/"; persist; }', "c")
    assert r.status == 0
    assert Jail.get("basejail").jid == 5309


DEPS = """
db { path = "/"; persist; exec.poststart = "echo db"; }
web { path = "/"; persist; depend = db; exec.poststart = "echo web";
      exec.poststop = "echo web gone"; }
"""


def test_case23_dependencies_start_first_stop_last() -> None:
    dry = DryRun()
    r = run(DEPS, "c", ["web"], dry)
    assert r.trace == ["jail_set(JAIL_CREATE) name=db path=/ persist", "exec.poststart: echo db",
                       "jail_set(JAIL_CREATE) name=web path=/ persist",
                       "exec.poststart: echo web"]
    assert r.out == "db: created\nweb: created\n"
    r = run(DEPS, "r", ["db"], dry)
    assert [t for t in r.trace if not t.startswith("stop.timeout")] == [
        "jail_remove(2)", "exec.poststop: echo web gone", "jail_remove(1)"]
    assert r.out == "web: removed\ndb: removed\n"


def test_case23_running_dependency_counts_as_done() -> None:
    dry = DryRun()
    run(DEPS, "c", ["db"], dry)
    r = run(DEPS, "c", ["web"], dry)
    assert r.trace == ["jail_set(JAIL_CREATE) name=web path=/ persist", "exec.poststart: echo web"]
    assert (r.status, r.out, r.err) == (0, "web: created\n", "")


def test_case24_undefined_dependency() -> None:
    r = run("web { persist; depend = nosuch; }", "c", ["web"], DryRun())
    assert (r.status, r.err, r.trace) == (1, 'jail: web: depends on undefined jail "nosuch"\n', [])


def test_case25_dependency_loop() -> None:
    # state.c dep_setup: the first jail left waiting is reported, and the
    # other one of the loop is released by it; both then wait for each other
    # and never run (the spec said both would print "dependency loop").
    # jail(8) would exit 0 here, as nothing failed in its main loop; jailcore
    # exits 1, since a jail was refused.
    r = run("a { persist; depend = b; } b { persist; depend = a; } c { persist; }", "c", [],
            DryRun())
    assert r.status == 1
    assert r.err == "jail: a: dependency loop\n"
    assert r.trace == ["jail_set(JAIL_CREATE) name=c persist"]


def test_dependency_failure_skips_the_dependent() -> None:
    r = run('db { persist; exec.prestart = "false"; } web { persist; depend = db; }', "c",
            ["web"])
    assert r.status == 1
    assert r.err == "jail: db: false: failed\njail: web: skipped\n"


def test_case26_already_exists() -> None:
    dry = DryRun()
    run("foo { persist; } bar { persist; }", "c", ["foo"], dry)
    r = run("foo { persist; } bar { persist; }", "c", ["foo"], dry)
    assert (r.status, r.err, r.trace) == (1, 'jail: "foo" already exists\n', [])
    r = run("foo { persist; } bar { persist; }", "c", [], dry)
    assert (r.status, r.err, r.out) == (0, "", "bar: created\n")


def test_case27_not_found() -> None:
    r = run("foo { persist; }", "r", ["foo"], DryRun())
    assert (r.status, r.err) == (1, 'jail: "foo" not found\n')
    r = run("foo { persist; }", "r", ["foo"], DryRun(), verbose=-1)
    assert (r.status, r.err) == (1, "")
    r = run("foo { persist; }", "r", ["nosuch"], DryRun())
    assert (r.status, r.err) == (1, 'jail: "nosuch" not found\n')


def test_case28_restart_of_a_jail_not_running() -> None:
    r = run("foo { persist; }", "rc", ["foo"], DryRun())
    assert (r.status, r.err, r.trace) == (1, 'jail: "foo" not found\n', [])


def test_restart_removes_then_creates() -> None:
    dry = DryRun()
    run('foo { persist; exec.prestop = "echo bye"; }', "c", ["foo"], dry)
    r = run('foo { persist; exec.prestop = "echo bye"; }', "rc", ["foo"], dry)
    assert r.trace == ["exec.prestop: echo bye", "stop.timeout: SIGTERM to jail 1, wait 10 s",
                       "jail_remove(1)", "jail_set(JAIL_CREATE) name=foo persist"]
    # jail.c sets note_remove only for -r alone: a restart says "created".
    assert r.out == "foo: created\n"


def test_case29_and_30_modify(tmp_path: Path) -> None:
    first = 'foo { path = "/"; persist; host.hostname = old; exec.start = "echo x"; }'
    assert run(first, "c", ["foo"]).status == 0
    jid = Jail.get("foo").jid
    r = run('foo { path = "/"; persist; host.hostname = new; exec.start = "echo x"; }', "m",
            ["foo"])
    assert (r.status, r.out, r.err) == (0, "foo: updated\n", "")
    # name is writable (CTLFLAG_RW), path is not (CTLFLAG_RDTUN): left out.
    assert r.trace == ["jail_set(JAIL_UPDATE) jid=1 name=foo persist host.hostname=new"]
    assert Jail.get("foo")["host.hostname"] == "new"
    other = f'foo {{ path = "{tmp_path}"; persist; }}'
    r = run(other, "m", ["foo"])
    assert (r.status, r.err) == (1, "jail: foo: path cannot be changed after creation\n")
    r = run(other, "mr", ["foo"])
    assert r.status == 0
    assert r.out == "foo: created\n"
    assert Jail.get("foo").path == str(tmp_path) and Jail.get("foo").jid != jid


def test_case31_command_line_command_runs_directly(capfd: pytest.CaptureFixture[str]) -> None:
    cfg = command_line_config(["name=t", "path=/", "command=/bin/echo", "a  b"])
    out, err = io.StringIO(), io.StringIO()
    jc = JailConf(cfg, out=out, err=err)
    assert jc.run("c", [], docf=False) == 0
    assert out.getvalue() == ""  # unnamed: no "created"
    assert capfd.readouterr().out == "a  b\n"
    assert jc.trace[0] == "jail_set(JAIL_CREATE) persist name=t path=/"
    assert jc.trace[-1] == "jail_set(JAIL_UPDATE) jid=1 nopersist"
    assert [j.name for j in jails(("name",))] == []  # nothing keeps it alive


def test_case32_background_command_is_not_waited(tmp_path: Path) -> None:
    script = tmp_path / "bg.sh"
    pidfile = tmp_path / "pid"
    script.write_text(f"echo $$ > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; exec sleep 30\n")
    r = run(f'foo {{ persist; exec.poststart = "/bin/sh {script} &"; }}', "c", ["foo"])
    assert r.status == 0
    while not pidfile.exists():
        time.sleep(0.01)
    pid = int(pidfile.read_text())
    try:
        assert os.getsid(pid) == pid  # its own session: setsid()
        os.kill(pid, 0)  # still running after the run returned
    finally:
        os.kill(pid, 9)


def test_case33_exec_timeout() -> None:
    r = run('foo { path = "/"; exec.timeout = 1; exec.start = "sleep 5"; }', "c", ["foo"])
    assert r.status == 1
    assert r.err == "jail: foo: sleep 5: timed out\n"
    assert r.out == "foo: created\nfoo: removed\n"


def test_case35_host_commands_see_jid_jname_jpath(capfd: pytest.CaptureFixture[str]) -> None:
    r = run('foo { path = "/"; persist; exec.poststart = "env"; }', "c", ["foo"])
    assert r.status == 0
    lines = capfd.readouterr().out.splitlines()
    assert "JID=1" in lines and "JNAME=foo" in lines and "JPATH=/" in lines


def test_case36_vnet_interfaces_move_in() -> None:
    assert net.create_epair(0) == ("epair0a", "epair0b")
    r = run('foo { path = "/"; persist; vnet; vnet.interface = epair0a, epair0b; }', "c",
            ["foo"])
    assert r.status == 0, r
    assert r.trace[1:] == ["/sbin/ifconfig epair0a vnet 1", "/sbin/ifconfig epair0b vnet 1"]
    inside = {i.name for i in net.interfaces(Jail.get("foo"))}
    assert {"epair0a", "epair0b"} <= inside
    assert not {"epair0a", "epair0b"} & {i.name for i in net.interfaces()}


def test_case37_consolelog_through_a_symlink(root: Path, tmp_path: Path) -> None:
    (root / "var").symlink_to(tmp_path)
    r = run(f'foo {{ path = "{root}"; exec.consolelog = "{root}/var/log/console"; '
            'exec.start = "echo hi"; }', "c", ["foo"])
    assert r.status == 1
    assert r.err == f"jail: foo: exec.consolelog: {root}/var is a symbolic link\n"
    assert r.out == "foo: created\nfoo: removed\n"


def test_case38_mount_devfs_without_path() -> None:
    r = run("foo { persist; mount.devfs; }", "c", ["foo"])
    assert (r.status, r.err) == (1, "jail: foo: mount.devfs: no jail root path defined\n")


def test_mount_point_symlink_refused(tmp_path: Path) -> None:
    root = tmp_path / "j"
    root.mkdir()
    (root / "dev").symlink_to(tmp_path)
    r = run(f'foo {{ path = "{root}"; persist; mount.devfs; }}', "c", ["foo"])
    assert r.err == f"jail: foo: mount.devfs: {root}/dev is a symbolic link\n"


def test_unmount_of_something_not_mounted(root: Path) -> None:
    text = f'foo {{ path = "{root}"; persist; mount.devfs; }}'
    _running(text)
    mount.unmount(f"{root}/dev")
    r = run(text, "r", ["foo"])
    assert r.status == 1
    assert r.err == f"jail: foo: mount.devfs: {root}/dev: not a mount point\n"


def test_path_checks() -> None:
    r = run("foo { path = relative; persist; }", "c", ["foo"])
    assert r.err == "jail: foo: path relative: not an absolute pathname\n"
    r = run("foo { path = /nonexistent/x; persist; }", "c", ["foo"])
    assert r.err == "jail: foo: path /nonexistent/x: No such file or directory\n"
    r = run("foo { path = /etc/passwd; persist; }", "c", ["foo"])
    assert r.err == "jail: foo: path /etc/passwd: Not a directory\n"


def test_bad_values_refused_before_anything() -> None:
    r = run("foo { persist = maybe; stop.timeout = 3x; }", "c", ["foo"], DryRun())
    assert r.status == 1 and r.trace == []
    # config.c's checks come first, and stop the jail before libjail's.
    assert r.err == 'jail: foo: stop.timeout: non-integer value "3x"\n'
    r = run("foo { persist = maybe; }", "c", ["foo"], DryRun())
    assert r.err == 'jail: foo: persist: unknown boolean value "maybe"\n'
    assert r.status == 1 and r.trace == []
    r = run("foo { nosuch.param = 1; }", "c", ["foo"], DryRun())
    assert r.err == "jail: foo: unknown parameter: nosuch.param\n"


def test_config_errors_fail_the_jail_only() -> None:
    r = run("a { name = b; } c { persist; }", "c", [], DryRun())
    assert r.status == 1
    assert r.err == 'jail: a: cannot redefine parameter "name".\n'
    assert r.out == "c: created\n"


def test_parallel_limit(tmp_path: Path) -> None:
    log = tmp_path / "log"
    hook = f"echo start $JNAME >> {log}; sleep 0.3; echo end $JNAME >> {log}"
    text = (f"a {{ persist; exec.poststart = '{hook}'; }} "
            f"b {{ persist; exec.poststart = '{hook}'; }}")
    assert run(text, "c", [], parallel=1).status == 0
    serial = log.read_text().split()
    assert serial in (["start", "a", "end", "a", "start", "b", "end", "b"],
                      ["start", "b", "end", "b", "start", "a", "end", "a"])
    for name in ("a", "b"):
        Jail.get(name).remove()
    log.unlink()
    assert run(text, "c", []).status == 0
    together = log.read_text().split()
    assert together[:4] in (["start", "a", "start", "b"], ["start", "b", "start", "a"])


def test_verbose_notes(capfd: pytest.CaptureFixture[str]) -> None:
    r = run('foo { path = "/"; persist; exec.prestart = "sleep 0"; exec.start = "sleep 0"; }', "c",
            ["foo"], verbose=1)
    assert r.out == ("foo: run command: sleep 0\n"
                     "foo: jail_set(JAIL_CREATE) name=foo path=/ persist\n"
                     "foo: created\n"
                     "foo: run command in jail: sleep 0\n")


def test_jid_file(tmp_path: Path) -> None:
    jfile = tmp_path / "jids"
    run("a { persist; host.hostname = 'x y'; } b { persist; }", "c", [], DryRun(),
        jid_file=str(jfile))
    assert jfile.read_text() == ('jid=1\tname=a\tpersist\thost.hostname="x y"\n'
                                 "jid=2\tname=b\tpersist\n")


def test_print_jid() -> None:
    r = run("a { persist; }", "c", ["a"], DryRun(), print_jid=True, verbose=-1)
    assert r.out == "1\n"


def test_python_api_start_stop_restart(tmp_path: Path) -> None:
    jc = JailConf(conf.loads('web { path = "/"; persist; host.hostname = web; }'),
                  out=io.StringIO(), err=io.StringIO())
    web = jc.start("web")
    assert isinstance(web, Jail) and web.name == "web"
    again = jc.restart("web")
    assert again.name == "web" and again.jid != web.jid
    jc.stop("web")
    assert [j.name for j in jails(("name",))] == []


def test_python_api_error_names_the_step() -> None:
    jc = JailConf(conf.loads('web { persist; exec.prestart = "false"; }'),
                  out=io.StringIO(), err=io.StringIO())
    with pytest.raises(LifecycleError) as exc:
        jc.start("web")
    assert str(exc.value) == "web: exec.prestart: false: failed"
    assert exc.value.step == "exec.prestart"
    with pytest.raises(LifecycleError) as exc:
        jc.start("nosuch")
    assert str(exc.value) == '"nosuch" not found'



def test_address_extras_other_than_broadcast_refused(capfd: pytest.CaptureFixture[str]) -> None:
    before = host_state()
    r = run('foo { persist; ip4.addr = "em0|192.0.2.10/24 vhid 1 pass x", '
            '"em0|192.0.2.11/24 broadcast 192.0.2.255"; }', "c", ["foo"])
    assert r.status == 1
    assert r.err == ("jailcore: vhid 1 pass x: of ifconfig's address options only broadcast is "
                     "made by system call\n"
                     "jail: foo: /sbin/ifconfig em0 inet 192.0.2.10/24 vhid 1 pass x alias: "
                     "failed\n")
    assert host_state() == before
    r = run('foo { persist; ip4.addr = "em0|192.0.2.11/24 broadcast 192.0.2.255"; }', "c",
            ["foo"])
    assert r.status == 0
    assert [str(a) for a in net.interfaces()[1].addresses] == ["192.0.2.11/24"]


def test_what_ifconfig_and_mount_would_say(root: Path) -> None:
    r = run('foo { persist; ip4.addr = "em9|192.0.2.10/24"; }', "c", ["foo"])
    assert (r.status, r.err) == (1, "ifconfig: interface em9 does not exist\n"
                                    "jail: foo: /sbin/ifconfig em9 inet 192.0.2.10/24 alias: "
                                    "failed\n")
    r = run(f'foo {{ path = "{root}"; persist; mount = "/nonexistent {root}/a nullfs ro"; }}',
            "c", ["foo"])
    assert (r.status, r.err) == (1, f"mount: {root}/a: No such file or directory\n"
                                    f"jail: foo: /sbin/mount -t nullfs -o ro /nonexistent "
                                    f"{root}/a: failed\n")


def test_cleanup_of_a_jail_already_gone() -> None:
    text = ('foo { path = /j; ip4.addr = "em0|10.0.0.5"; mount.devfs; '
            'exec.poststop = "echo poststop"; exec.release = "echo release"; '
            'exec.prestop = "echo prestop"; }')
    r = run(text, "rC", ["foo"], DryRun())
    assert r.status == 0
    assert r.trace == ["exec.poststop: echo poststop", "/sbin/umount /j/dev",
                       "/sbin/ifconfig em0 inet 10.0.0.5 netmask 255.255.255.255 -alias",
                       "exec.release: echo release"]
    dry = DryRun()
    run(text.replace("mount.devfs;", "mount.devfs; persist;"), "c", ["foo"], dry)
    r = run(text, "rC", ["foo"], dry)  # running: the whole stop list
    assert r.trace[:3] == ["exec.prestop: echo prestop",
                           "stop.timeout: SIGTERM to jail 1, wait 10 s", "jail_remove(1)"]


def test_stop_timeout_with_a_process_that_ignores_sigterm() -> None:
    import subprocess
    import sys

    text = 'foo { path = "/"; persist; stop.timeout = 1; }'
    assert run(text, "c", ["foo"]).status == 0
    foo = Jail.get("foo")
    stubborn = foo.spawn([sys.executable, "-c", "import signal, time; "
                          "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                          "print('ready', flush=True); time.sleep(60)"],
                         stdout=subprocess.PIPE, text=True)
    polite = foo.spawn(["sleep", "60"])
    assert stubborn.stdout is not None and stubborn.stdout.readline() == "ready\n"
    r = run(text, "r", ["foo"], verbose=1)
    assert r.status == 0
    pids = sorted([stubborn.pid, polite.pid])
    assert r.out.splitlines() == [f"foo: sent SIGTERM to: {pids[0]} {pids[1]}",
                                  "foo: timed out", "foo: removed"]
    assert r.trace == ["stop.timeout: SIGTERM to jail 1, wait 1 s", "jail_remove(1)"]
    assert polite.wait() == -15
    assert stubborn.wait() == -9


def test_zfs_dataset_interface_and_fstab(tmp_path: Path) -> None:
    fstab = tmp_path / "fstab.foo"
    fstab.write_text("# the jail's mounts\n/a /j/a nullfs ro 0 0\n\n"
                     "/b\\040c /j/b nullfs rw # a comment\n")
    text = (f'foo {{ path = /j; persist; interface = em1; ip4.addr = 10.0.0.5, "lo0|10.0.0.6"; '
            f'mount.fstab = "{fstab}"; zfs.dataset = tank/foo; }}')
    dry = DryRun()
    r = run(text, "c", ["foo"], dry)
    assert r.trace == [
        "/sbin/ifconfig em1 inet 10.0.0.5 netmask 255.255.255.255 alias",
        "/sbin/ifconfig lo0 inet 10.0.0.6 netmask 255.255.255.255 alias",
        "/sbin/mount -t nullfs -o ro /a /j/a",
        "/sbin/mount -t nullfs -o rw /b c /j/b",
        "jail_set(JAIL_CREATE) name=foo path=/j persist ip4.addr=10.0.0.5,10.0.0.6",
        "zfs.dataset: /bin/sh -c if [ $(/sbin/zfs get -H -o value jailed tank/foo) = on ]; "
        "then /sbin/zfs jail 1 tank/foo || echo error, attaching tank/foo to jail 1 failed; "
        "else echo error, you need to set jailed=on for dataset tank/foo; fi",
    ]
    r = run(text, "r", ["foo"], dry)
    assert r.trace[2:4] == ["/sbin/umount -t nullfs /j/b", "/sbin/umount -t nullfs /j/a"]
    r = run(f'foo {{ persist; mount.fstab = "{tmp_path}/none"; }}', "c", ["foo"], DryRun())
    assert r.err == f"jail: foo: mount.fstab: {tmp_path}/none: No such file or directory\n"


def test_ip_hostname_adds_the_resolved_addresses() -> None:
    r = run("foo { persist; host.hostname = 192.0.2.77; ip_hostname; interface = em0; }", "c",
            ["foo"], DryRun())
    assert r.trace == [
        "/sbin/ifconfig em0 inet 192.0.2.77 netmask 255.255.255.255 alias",
        "jail_set(JAIL_CREATE) name=foo persist host.hostname=192.0.2.77 ip4.addr=192.0.2.77"]


def test_hooks_really_run_in_order(tmp_path: Path) -> None:
    log = tmp_path / "log"
    hooks = ("exec.prepare", "exec.prestart", "exec.created", "exec.start", "command",
             "exec.poststart", "exec.prestop", "exec.stop", "exec.poststop", "exec.release")
    # A backslash keeps jail.conf from substituting $JID (double quotes): sh gets it.
    body = " ".join(f"""{h} = "sh -c 'echo {h} \\$JID >> {log}'";""" for h in hooks)
    text = f'foo {{ path = "/"; persist; {body} }}'
    assert run(text, "c", ["foo"]).status == 0
    assert run(text, "r", ["foo"]).status == 0
    # JID is set for host commands once jail(8) knows the jid (not for
    # exec.prepare and exec.prestart, before the jail exists; not inside it).
    assert log.read_text().splitlines() == [
        "exec.prepare", "exec.prestart", "exec.created 1", "exec.start", "command",
        "exec.poststart 1", "exec.prestop 1", "exec.stop", "exec.poststop 1",
        "exec.release 1"]


def test_restart_names_the_new_jid() -> None:
    text = 'foo { path = "/"; persist; vnet; vnet.interface = epair0b; zfs.dataset = t/f; }'
    dry = DryRun()
    run(text, "c", ["foo"], dry)
    r = run(text, "rc", ["foo"], dry)
    assert r.trace[-2].startswith("zfs.dataset: /bin/sh -c if [ $(/sbin/zfs get -H -o value "
                                  "jailed t/f) = on ]; then /sbin/zfs jail 2 t/f")
    assert r.trace[-1] == "/sbin/ifconfig epair0b vnet 2"
