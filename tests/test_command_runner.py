"""jailcore._command: how jail(8) runs one exec.* command (usr.sbin/jail/command.c
run_command, finish_command, check_path), with real processes: host commands on
this machine, in-jail ones in a model jail whose path is "/"."""

from __future__ import annotations

import json
import os
import pwd
import signal
import stat
import sys
import time
from pathlib import Path

import pytest
from forked import need_root

import jailcore
from jailcore._command import (
    SHELL_CHARS,
    CommandContext,
    CommandError,
    Parsed,
    check_path,
    describe_status,
    finish_command,
    parse_command,
    run_note,
    start,
)
from jailcore.process import LOGIN_PATH

# Where the jailcore being tested was imported from (a build in place, or the
# installed package: never the source checkout, which lacks the extension).
ROOT = str(Path(jailcore.__file__).resolve().parents[1])
PY = sys.executable
# A program that prints, as JSON, its environment, working directory, uid,
# session leadership and (on the model) its jail.
REPORT = (
    "import json, os, sys\n"
    "sys.path[:] = [p for p in sys.path if p]  # not the working directory: PYTHONPATH's\n"
    "try:\n"
    "    import jailcore.model as m; jid = m.current_jid()\n"
    "except Exception:\n"
    "    jid = None\n"
    "out = json.dumps({'env': dict(os.environ), 'cwd': os.getcwd(), 'uid': os.getuid(),\n"
    "                  'leader': os.getsid(0) == os.getpid(), 'jid': jid})\n"
    "if len(sys.argv) > 1:\n"
    "    open(sys.argv[1] + '.tmp', 'w').write(out); os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
    "else:\n"
    "    print(out)\n"
)


@pytest.fixture
def jail(monkeypatch: pytest.MonkeyPatch) -> jailcore.Jail:
    need_root()
    # The programs in the jail find jailcore (path "/": the host's files).
    monkeypatch.setenv("PYTHONPATH", ROOT)
    return jailcore.Jail.create(name="t", path="/", persist=True)


def host_ctx(**kw: object) -> CommandContext:
    return CommandContext(jail_name="t", in_jail=False, **kw)  # type: ignore[arg-type]


def jail_ctx(jail: jailcore.Jail, **kw: object) -> CommandContext:
    return CommandContext(jail_name="t", in_jail=True, jid=jail.jid, path="/",
                          **kw)  # type: ignore[arg-type]


def run(command: str | list[str], ctx: CommandContext, timeout: float | None = None) -> list[str]:
    parsed = parse_command(command) if isinstance(command, str) else command
    assert parsed is not None
    started = start(parsed, ctx)
    assert started is not None
    return finish_command(started, timeout)


def report(ctx: CommandContext, capfd: pytest.CaptureFixture[str]) -> dict[str, object]:
    capfd.readouterr()
    assert run([PY, "-c", REPORT], ctx) == []
    out: dict[str, object] = json.loads(capfd.readouterr().out)
    return out


def sh_report(ctx: CommandContext,
              capfd: pytest.CaptureFixture[str]) -> tuple[int, str, dict[str, str]]:
    """uid, working directory and environment, from programs any user may run."""
    capfd.readouterr()
    assert run(["/bin/sh", "-c", "id -u; pwd; exec /usr/bin/env"], ctx) == []
    uid, cwd, *env = capfd.readouterr().out.splitlines()
    return int(uid), cwd, dict(line.split("=", 1) for line in env)


# -- parsing (run_command's default_command)


@pytest.mark.parametrize("ch", list(SHELL_CHARS))
def test_each_shell_character_means_sh(ch: str) -> None:
    text = f"echo a{ch}b"
    assert parse_command(text) == Parsed(["/bin/sh", "-c", text], shell=True)


def test_shell_characters_are_jails() -> None:
    assert sorted(SHELL_CHARS) == sorted("!\"$&'()*;<>?[\\]`{|}~")


def test_plain_words_split_on_whitespace() -> None:
    assert parse_command(" /bin/echo\ta  b\n") == Parsed(["/bin/echo", "a", "b"])
    assert parse_command("true").cmdline == "true"  # type: ignore[union-attr]


def test_final_ampersand_is_background() -> None:
    assert parse_command("sleep 5 &") == Parsed(["sleep", "5"], background=True)
    assert parse_command("sleep 5&") == Parsed(["sleep", "5"], background=True)


def test_ampersand_not_final_or_after_another_shell_char_means_sh() -> None:
    for text in ("sleep 5; echo &", "sleep 5 & ", "a & b", "echo $x &"):
        assert parse_command(text) == Parsed(["/bin/sh", "-c", text], shell=True)


def test_nothing_to_run() -> None:
    for text in ("", "   ", "\t\n", "&", "  &"):
        assert parse_command(text) is None


def test_describe_status() -> None:
    assert describe_status("true", 0) is None
    assert describe_status("false", 1) == "false: failed"
    assert describe_status("sleep 9", -9) == "sleep 9: exited on signal 9"


def test_run_note() -> None:
    assert run_note(host_ctx(), "true") == "run command: true"
    ctx = CommandContext("t", True, user="www")
    assert run_note(ctx, "x y") == "run command in jail as www: x y"


# -- host commands


def test_host_command_env_has_jid_jname_jpath(capfd: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JC_MARK", "kept")
    monkeypatch.setenv("PYTHONPATH", ROOT)
    env = {"JID": "7", "JNAME": "t", "JPATH": "/j/t"}
    got = report(host_ctx(env=env, path="/j/t", jid=7), capfd)
    assert got["jid"] == 0
    assert got["cwd"] == os.getcwd()
    genv = got["env"]
    assert isinstance(genv, dict)
    assert {k: genv.get(k) for k in ("JID", "JNAME", "JPATH", "JC_MARK")} == {
        "JID": "7", "JNAME": "t", "JPATH": "/j/t", "JC_MARK": "kept"}


def test_host_command_clean_env_exactly(capfd: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "vt220")
    monkeypatch.setenv("JC_MARK", "gone")
    me = pwd.getpwuid(os.getuid())
    capfd.readouterr()
    assert run(["/usr/bin/env"], host_ctx(clean=True, env={"JID": "7"})) == []
    lines = capfd.readouterr().out.splitlines()
    assert sorted(lines) == sorted([
        f"PATH={LOGIN_PATH.format(home=me.pw_dir)}", "TERM=vt220", f"USER={me.pw_name}",
        f"HOME={me.pw_dir}", f"SHELL={me.pw_shell or '/bin/sh'}"])
    # sh, not Python: under tools/sanitize.py a Python in an emptied
    # environment loses the sanitizer's options.
    assert run(["/bin/sh", "-c", "pwd"], host_ctx(clean=True)) == []
    assert capfd.readouterr().out == f"{me.pw_dir}\n"


def test_host_command_system_user(capfd: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    need_root()
    monkeypatch.setenv("JC_MARK", "kept")
    daemon = pwd.getpwnam("daemon")
    uid, cwd, genv = sh_report(host_ctx(user="daemon", env={"JID": "3"}), capfd)
    assert (uid, cwd) == (daemon.pw_uid, os.getcwd())
    assert {k: genv.get(k) for k in ("USER", "HOME", "SHELL", "JID", "JC_MARK")} == {
        "USER": "daemon", "HOME": daemon.pw_dir, "SHELL": daemon.pw_shell, "JID": "3",
        "JC_MARK": "kept"}


def test_host_command_no_such_user() -> None:
    assert run("sleep 0", host_ctx(user="nosuchuser-jc")) == [
        "nosuchuser-jc: no such user", "sleep 0: failed"]


def test_host_failures() -> None:
    assert run("sleep 0", host_ctx()) == []
    assert run("false", host_ctx()) == ["false: failed"]
    assert run("sh -c 'exit 3'", host_ctx()) == ["/bin/sh -c sh -c 'exit 3': failed"]
    assert run("kill -TERM $$", host_ctx()) == ["/bin/sh -c kill -TERM $$: exited on signal 15"]


def test_host_exec_failure() -> None:
    assert run("/nonexistent/prog a", host_ctx()) == [
        "exec /nonexistent/prog: No such file or directory", "/nonexistent/prog a: failed"]
    assert run("nosuchprog-jc", host_ctx()) == [
        "exec nosuchprog-jc: No such file or directory", "nosuchprog-jc: failed"]


def test_host_command_ignores_jail_only_settings(tmp_path: Path) -> None:
    log = tmp_path / "console"
    assert run("sleep 0", host_ctx(fib=1, consolelog=str(log))) == []
    assert not log.exists()


def test_timeout_leaves_the_process_running() -> None:
    started = start(parse_command("sleep 30"), host_ctx())  # type: ignore[arg-type]
    assert started is not None and started.pid is not None
    try:
        assert finish_command(started, timeout=0.2) == ["sleep 30: timed out"]
        assert started.poll() is None
        os.kill(started.pid, 0)  # still there
    finally:
        os.kill(started.pid, signal.SIGKILL)
        assert started.wait() == -signal.SIGKILL


def test_timeout_not_reached() -> None:
    started = start(["sleep", "0"], host_ctx())
    assert started is not None
    assert finish_command(started, timeout=30) == []
    started = start(["false"], host_ctx())
    assert started is not None
    assert finish_command(started, timeout=30) == ["false: failed"]


def wait_for(path: Path) -> dict[str, object]:
    for _ in range(1000):
        if path.exists():
            got: dict[str, object] = json.loads(path.read_text())
            return got
        time.sleep(0.01)
    raise AssertionError(f"{path} never appeared")


def test_background_host_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", ROOT)
    script = tmp_path / "report.py"
    script.write_text(REPORT)
    out = tmp_path / "out.json"
    assert start(parse_command(f"{PY} {script} {out} &"), host_ctx()) is None  # type: ignore[arg-type]
    got = wait_for(out)
    assert got["leader"] is True
    assert got["jid"] == 0


def test_argv_runs_directly(capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    assert run(["/bin/echo", "a b", "$HOME"], host_ctx()) == []
    assert capfd.readouterr().out == "a b $HOME\n"
    started = start(["/bin/echo", "x"], host_ctx())
    assert started is not None and started.cmdline == "/bin/echo x"
    started.wait()


# -- in-jail commands


def test_in_jail_command_runs_in_the_jail(jail: jailcore.Jail, capfd: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JC_MARK", "kept")
    got = report(jail_ctx(jail, env={"JID": str(jail.jid)}), capfd)
    assert got["jid"] == jail.jid
    assert got["cwd"] == "/"
    assert got["uid"] == os.getuid()
    assert got["leader"] is False
    genv = got["env"]
    assert isinstance(genv, dict)
    assert genv.get("JC_MARK") == "kept"
    assert "JID" not in genv and "JNAME" not in genv


def test_in_jail_clean_with_jail_user(jail: jailcore.Jail, capfd: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 34: exec.clean; exec.jail_user=daemon."""
    monkeypatch.setenv("TERM", "vt220")
    monkeypatch.setenv("JC_MARK", "gone")
    daemon = pwd.getpwnam("daemon")
    ctx = jail_ctx(jail, user="daemon", clean=True, env={"JID": "1"})
    capfd.readouterr()
    assert run(["/usr/bin/env"], ctx) == []
    assert sorted(capfd.readouterr().out.splitlines()) == sorted([
        f"PATH={LOGIN_PATH.format(home=daemon.pw_dir)}", "TERM=vt220", "USER=daemon",
        f"HOME={daemon.pw_dir}", f"SHELL={daemon.pw_shell}"])
    uid, cwd, _ = sh_report(ctx, capfd)
    assert (uid, cwd) == (daemon.pw_uid, daemon.pw_dir)


def test_in_jail_clean_without_user(jail: jailcore.Jail, capfd: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERM", raising=False)
    me = pwd.getpwuid(os.getuid())
    expected = sorted([f"PATH={LOGIN_PATH.format(home=me.pw_dir)}", f"USER={me.pw_name}",
                       f"HOME={me.pw_dir}", f"SHELL={me.pw_shell or '/bin/sh'}"])
    for system in (False, True):
        capfd.readouterr()
        assert run(["/usr/bin/env"], jail_ctx(jail, clean=True, system_jail_user=system)) == []
        assert sorted(capfd.readouterr().out.splitlines()) == expected


def test_in_jail_user_without_clean(jail: jailcore.Jail, capfd: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JC_MARK", "kept")
    daemon = pwd.getpwnam("daemon")
    for system in (False, True):
        uid, cwd, genv = sh_report(jail_ctx(jail, user="daemon", system_jail_user=system),
                                   capfd)
        assert (uid, cwd) == (daemon.pw_uid, "/")
        assert {k: genv.get(k) for k in ("USER", "HOME", "SHELL", "JC_MARK")} == {
            "USER": "daemon", "HOME": daemon.pw_dir, "SHELL": daemon.pw_shell,
            "JC_MARK": "kept"}


def test_in_jail_no_such_user(jail: jailcore.Jail) -> None:
    for system in (False, True):
        assert run("sleep 0", jail_ctx(jail, user="nosuchuser-jc", system_jail_user=system)) == [
            "nosuchuser-jc: no such user", "sleep 0: failed"]


def test_in_jail_failures(jail: jailcore.Jail) -> None:
    assert run("sleep 0", jail_ctx(jail)) == []
    assert run("false", jail_ctx(jail)) == ["false: failed"]
    assert run("kill -KILL $$", jail_ctx(jail)) == ["/bin/sh -c kill -KILL $$: exited on signal 9"]


def test_in_jail_exec_failure(jail: jailcore.Jail, monkeypatch: pytest.MonkeyPatch) -> None:
    # Directories daemon may not search would make it EACCES, as execvp(3) says.
    monkeypatch.setenv("PATH", "/bin:/usr/bin")
    assert run("/nonexistent/prog", jail_ctx(jail)) == [
        "exec /nonexistent/prog: No such file or directory", "/nonexistent/prog: failed"]
    assert run("nosuchprog-jc x", jail_ctx(jail, user="daemon")) == [
        "exec nosuchprog-jc: No such file or directory", "nosuchprog-jc x: failed"]


def test_in_jail_attach_failure(jail: jailcore.Jail) -> None:
    ctx = jail_ctx(jail)
    jail.remove()
    assert run("sleep 0", ctx) == ["jail_attach: Invalid argument", "sleep 0: failed"]


def test_fib(jail: jailcore.Jail) -> None:
    assert run("sleep 0", jail_ctx(jail, fib=0)) == []
    assert run("sleep 0", jail_ctx(jail, fib=1)) == ["setfib: Invalid argument", "sleep 0: failed"]
    assert run("sleep 0", jail_ctx(jail, fib=-1)) == ["setfib: Invalid argument", "sleep 0: failed"]


def test_spawn_fib(jail: jailcore.Jail) -> None:
    assert jail.spawn(["sleep", "0"], fib=0).wait() == 0
    with pytest.raises(OSError) as info:
        jail.spawn(["sleep", "0"], fib=1)
    assert (info.value.errno, info.value.strerror) == (22, "setfib: Invalid argument")
    with pytest.raises(TypeError):
        jail.spawn(["sleep", "0"], fib="0")


def test_background_in_jail(jail: jailcore.Jail, tmp_path: Path) -> None:
    script = tmp_path / "report.py"
    script.write_text(REPORT)
    out = tmp_path / "out.json"
    assert start(parse_command(f"{PY} {script} {out} &"), jail_ctx(jail)) is None  # type: ignore[arg-type]
    got = wait_for(out)
    assert (got["leader"], got["jid"], got["cwd"]) == (True, jail.jid, "/")


def test_consolelog_receives_and_appends(jail: jailcore.Jail, tmp_path: Path) -> None:
    log = tmp_path / "console"
    old = os.umask(0o027)
    try:
        ctx = jail_ctx(jail, consolelog=str(log))
        assert run("echo one; echo two >&2", ctx) == []
        assert run("echo three", ctx) == []
    finally:
        os.umask(old)
    assert log.read_text() == "one\ntwo\nthree\n"
    assert stat.S_IMODE(log.stat().st_mode) == 0o640


def test_consolelog_open_failure(jail: jailcore.Jail, tmp_path: Path) -> None:
    with pytest.raises(CommandError) as info:
        start(["sleep", "0"], jail_ctx(jail, consolelog=str(tmp_path)))
    assert str(info.value) == f"open {tmp_path}: Is a directory"


def test_consolelog_symlink_case_37(jail: jailcore.Jail, tmp_path: Path) -> None:
    """exec.consolelog=/j/var/log/console with /j/var a symbolic link."""
    (tmp_path / "elsewhere" / "log").mkdir(parents=True)
    (tmp_path / "var").symlink_to(tmp_path / "elsewhere")
    ctx = CommandContext("t", True, jid=jail.jid, path=str(tmp_path),
                         consolelog=f"{tmp_path}/var/log/console")
    with pytest.raises(CommandError) as info:
        start(["sleep", "0"], ctx)
    assert str(info.value) == f"exec.consolelog: {tmp_path}/var is a symbolic link"
    assert not (tmp_path / "elsewhere" / "log" / "console").exists()


# -- check_path


def test_check_path_messages(tmp_path: Path) -> None:
    j = str(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "a")
    cases = {
        "rel/path": "mount: rel/path: not an absolute pathname",
        f"{j}/link": f"mount: {j}/link is a symbolic link",
        f"{j}/link/f": f"mount: {j}/link is a symbolic link",
        f"{j}/nope/x": f"mount: {j}/nope: No such file or directory",
        f"{j}/a/missing": f"mount: {j}/a/missing: No such file or directory",
        f"{j}/a/f/x": f"mount: {j}/a/f/x: Not a directory",
    }
    for path, message in cases.items():
        with pytest.raises(CommandError) as info:
            check_path("mount", j, path)
        assert str(info.value) == message
    check_path("mount", j, f"{j}/a/f")
    check_path("exec.consolelog", j, f"{j}/a/missing", may_be_missing=True)
    with pytest.raises(CommandError) as info:
        check_path("exec.consolelog", j, f"{j}/nope/x", may_be_missing=True)
    assert str(info.value) == f"exec.consolelog: {j}/nope: No such file or directory"


def test_check_path_only_below_the_jail_path(tmp_path: Path) -> None:
    (tmp_path / "real" / "j" / "dev").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    # The link is above the jail's path: not looked at.
    check_path("mount.devfs", f"{tmp_path}/link/j", f"{tmp_path}/link/j/dev")
    # Outside the jail's path altogether: nothing but absoluteness.
    check_path("mount", f"{tmp_path}/real/j", f"{tmp_path}/link/elsewhere")
    # No jail path: every component.
    with pytest.raises(CommandError) as info:
        check_path("mount", "", f"{tmp_path}/link/j/dev")
    assert str(info.value) == f"mount: {tmp_path}/link is a symbolic link"


def test_background_exec_failure_is_the_childs_message(capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    assert start(parse_command("/nonexistent/prog x &"), host_ctx()) is None  # type: ignore[arg-type]
    assert capfd.readouterr().err == "jail: t: exec /nonexistent/prog: No such file or directory\n"
