"""The main Jail.spawn / Jail.run scenarios, written for any backend.

tests/kernel/test_kernel_spawn.py runs them against a real FreeBSD kernel as root;
tests/test_spawn.py runs the very same functions on the model.

Each scenario takes an existing, empty directory and a jail name that no other
jail on the machine has, creates only jails of that name, and removes them again
whatever happens.  Most jails here have the path "/" (no chroot), so that the
host's programs (/bin/sh, /bin/echo, /bin/sleep, /bin/cat, /usr/bin/env,
/usr/bin/id and this Python) can run in them; the directory serves as a working
directory, for files, and as the root of a jail that holds nothing.
"""

from __future__ import annotations

import errno
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import jailcore
from jailcore import Jail, JailError, JailNotFoundError, _backend

from .jail_scenarios import cleanup

# The directory that holds the jailcore this process imported (installed or built in
# place), for a Python child that must import the same one.
JAILCORE_DIR = str(Path(jailcore.__file__).resolve().parents[1])


def python_env(**extra: str) -> dict[str, str]:
    """An environment for a Python child that imports this process's jailcore."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [JAILCORE_DIR, *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(extra)
    return env


@contextmanager
def shared_host(directory: str) -> Iterator[dict[str, str]]:
    """Environment that lets an exec'd child find this process's jails.

    On the kernel there is nothing to do.  The model keeps its host in memory shared
    with forked children only; a program that execs needs a state file, named by
    JAILCORE_MODEL_STATE, so the host is switched to one for the block.
    """
    if _backend.NAME != "model":
        yield {}
        return
    import jailcore.model

    previous = jailcore.model.state_path()
    if previous is not None:  # e.g. jailcore's pytest plugin gives each test one
        yield {"JAILCORE_MODEL_STATE": previous}
        return
    state = os.path.join(directory, "host.jmstate")
    jailcore.model.use_state_file(state)
    try:
        yield {"JAILCORE_MODEL_STATE": state}
    finally:
        jailcore.model.use_state_file(previous)


def ldd_paths(output: str) -> tuple[list[str], list[str]]:
    """The files an ldd listing names, and the libraries it could not find.

    Both systems' ldd are read (a pure function, so that both are tested anywhere):

    * glibc's: ``libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)``, the
      run-time linker as ``/lib64/ld-linux-x86-64.so.2 (0x...)``, the vDSO as
      ``linux-vdso.so.1 (0x...)`` (no file), ``libx.so.1 => not found``;
    * FreeBSD's: a first line ``/bin/sh:`` naming the program (not a library),
      then ``libedit.so.8 => /lib/libedit.so.8 (0x...)``, ``[vdso] (0x...)`` and
      ``libx.so.1 => not found``; the run-time linker (/libexec/ld-elf.so.1) is
      not listed.

    Paths come in the order listed, each once."""
    paths: list[str] = []
    missing: list[str] = []
    for raw in output.splitlines():
        line = raw.strip()
        if not line:
            continue
        if "=>" in line:
            name, _, target = line.partition("=>")
            target = target.strip()
            if target.startswith("not found"):
                missing.append(name.strip())
                continue
        elif line.endswith(":"):
            continue  # FreeBSD's header: the program the lines below are about
        else:
            target = line
        # Strip the load address, "(0x...)", which follows the path after a space.
        cut = target.rfind(" (0x")
        if cut >= 0:
            target = target[:cut].rstrip()
        if target.startswith("/") and target not in paths:
            paths.append(target)
    return paths, missing


# Run-time linkers that ldd does not list but a program needs in its root.
UNLISTED_LINKERS = ("/libexec/ld-elf.so.1",)  # FreeBSD's


def populate_root(root: str, programs: list[str]) -> str | None:
    """Copy ``programs`` (host paths) into the jail root ``root`` at the same paths,
    with the shared libraries they need (found with ldd, read by ldd_paths) and the
    run-time linker, so that a chrooted jail can run them.  None when done, else why
    it could not be."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return "no ldd on this host to find the programs' libraries"
    needed: set[str] = set()
    for prog in programs:
        if not os.path.exists(prog):
            return f"{prog} is not on this host"
        needed.add(prog)
        out = subprocess.run([ldd, prog], capture_output=True, text=True)
        paths, missing = ldd_paths(out.stdout)
        if missing:
            return f"ldd finds no {', '.join(missing)} for {prog}"
        needed.update(paths)
    needed.update(p for p in UNLISTED_LINKERS if os.path.exists(p))
    for src in sorted(needed):
        dst = os.path.join(root, src.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst):
            shutil.copy2(os.path.realpath(src), dst)
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
    os.chmod(root, 0o755)
    return None


# A Python child that lists its open descriptors (os.fstat on each, so that the
# listing opens none of its own).
OPEN_FDS = """
import json, os, sys
def is_open(fd):
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
print(json.dumps([fd for fd in range(int(sys.argv[1])) if is_open(fd)]))
"""

# A Python child that reports the signal state it started with.
SIGNAL_STATE = """
import json, signal
print(json.dumps({
    "usr1": signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL,
    "hup": signal.getsignal(signal.SIGHUP) == signal.SIG_DFL,
    "blocked": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
}))
"""

# A Python child that says whether it is jailed (the kernel's security.jail.jailed)
# and, on the model, the jid the model counts it in.
JAILED_PROBE = """
import json, struct
from jailcore import _backend
err, mib = _backend.sysctlnametomib("security.jail.jailed")
assert err == 0, err
err, data = _backend.sysctl(mib, 4)
assert err == 0, err
out = {"jailed": struct.unpack("i", data[:4])[0], "backend": _backend.NAME}
if _backend.NAME == "model":
    import jailcore.model
    out["jid"] = jailcore.model.current_jid()
print(json.dumps(out))
"""


def open_fds_in(jail: Jail, upto: int, **kwargs: Any) -> list[int]:
    out = jail.run([sys.executable, "-I", "-c", OPEN_FDS, str(upto)], capture_output=True,
                   check=True, **kwargs)
    result: list[int] = json.loads(out.stdout)
    return result


# ---- the scenarios ------------------------------------------------------------------


def scenario_run_echo(path: str, name: str) -> None:
    """The issue's example: run /bin/echo and capture its output."""
    with cleanup(name):
        jail = Jail.create(name=name, path="/")
        done = jail.run(["/bin/echo", "hi"], capture_output=True)
        assert isinstance(done, subprocess.CompletedProcess)
        assert done.args == ["/bin/echo", "hi"]
        assert done.returncode == 0
        assert done.stdout == b"hi\n"
        assert done.stderr == b""
        # Without capture, nothing is collected.
        plain = jail.run(["/bin/sh", "-c", "exit 0"])
        assert (plain.returncode, plain.stdout, plain.stderr) == (0, None, None)


def scenario_exit_status_and_check(path: str, name: str) -> None:
    """returncode is the exit status; check=True raises CalledProcessError with the output."""
    with cleanup(name):
        jail = Jail.create(name=name, path="/")
        assert jail.run(["/bin/sh", "-c", "exit 7"]).returncode == 7
        assert jail.run(["/bin/sh", "-c", "exit 0"], check=True).returncode == 0
        args = ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]
        with pytest.raises(subprocess.CalledProcessError) as info:
            jail.run(args, capture_output=True, check=True)
        exc = info.value
        assert exc.returncode == 3
        assert exc.cmd == args
        assert exc.output == exc.stdout == b"out\n"
        assert exc.stderr == b"err\n"
        # A child killed by a signal has the negative signal number as its status.
        assert jail.run(["/bin/sh", "-c", "kill -TERM $$"]).returncode == -signal.SIGTERM


def scenario_pipes_text_input(path: str, name: str) -> None:
    """input= goes to stdin; text=True decodes; stderr=STDOUT merges; DEVNULL; a file."""
    with cleanup(name):
        jail = Jail.create(name=name, path="/")
        done = jail.run(["/bin/cat"], input=b"bytes\x00in\n", capture_output=True)
        assert done.stdout == b"bytes\x00in\n"
        done = jail.run(["/bin/cat"], input="h\u00e9llo\n", capture_output=True, text=True)
        assert done.stdout == "h\u00e9llo\n"
        assert done.stderr == ""
        both = ["/bin/sh", "-c", "echo one; echo two >&2; echo three"]
        done = jail.run(both, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert (done.stdout, done.stderr) == (b"one\nthree\n", b"two\n")
        done = jail.run(both, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert (done.stdout, done.stderr) == (b"one\ntwo\nthree\n", None)
        done = jail.run(["/bin/cat"], stdin=subprocess.DEVNULL, capture_output=True)
        assert done.stdout == b""
        done = jail.run(both, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert (done.stdout, done.stderr) == (None, b"two\n")
        out_file = os.path.join(path, "out.txt")
        with open(out_file, "wb") as f:
            assert jail.run(both, stdout=f, stderr=subprocess.DEVNULL).returncode == 0
        with open(out_file, "rb") as f:
            assert f.read() == b"one\nthree\n"


def scenario_popen_api(path: str, name: str) -> None:
    """spawn() returns a Popen: pid, poll, communicate, kill, terminate, send_signal, with."""
    with cleanup(name):
        jail = Jail.create(name=name, path="/")
        with jail.spawn(["/bin/cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
            assert isinstance(proc, subprocess.Popen)
            assert proc.jail == jail
            assert isinstance(proc.pid, int) and proc.pid > 0
            assert proc.poll() is None
            assert proc.returncode is None
            assert proc.communicate(b"through cat") == (b"through cat", None)
            assert proc.returncode == 0
            assert proc.poll() == 0
        for stop, expected in ((lambda p: p.kill(), -signal.SIGKILL),
                               (lambda p: p.terminate(), -signal.SIGTERM),
                               (lambda p: p.send_signal(signal.SIGUSR1), -signal.SIGUSR1)):
            proc = jail.spawn(["/bin/sleep", "30"])
            try:
                assert proc.poll() is None
                with pytest.raises(subprocess.TimeoutExpired):
                    proc.wait(timeout=0.05)
                stop(proc)
                assert proc.wait(timeout=10) == expected
                assert proc.returncode == expected
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        # The context manager closes the pipes and waits for the child.
        with jail.spawn(["/bin/sh", "-c", "exit 5"], stdout=subprocess.PIPE) as proc:
            pass
        assert proc.returncode == 5
        assert proc.stdout is not None and proc.stdout.closed


def scenario_timeout_kills_child(path: str, name: str) -> None:
    """run(timeout=) raises TimeoutExpired, and the child is killed and reaped by then."""
    with cleanup(name):
        jail = Jail.create(name=name, path="/")
        args = ["/bin/sh", "-c", "echo $$; exec /bin/sleep 30"]
        with pytest.raises(subprocess.TimeoutExpired) as info:
            jail.run(args, capture_output=True, timeout=0.5)
        exc = info.value
        assert exc.cmd == args
        assert exc.timeout == 0.5
        assert exc.stdout is not None
        pid = int(exc.stdout.decode().strip())
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def scenario_environment(path: str, name: str) -> None:
    """env= is exactly the child's environment; by default it inherits ours; a bare
    program name is looked up in the child's PATH."""
    with cleanup(name):
        jail = Jail.create(name=name, path="/")
        mine = {"JC_ONE": "1", "JC_TWO": "two words = x", "PATH": "/usr/bin:/bin"}
        out = jail.run(["env"], env=mine, capture_output=True, check=True).stdout
        assert sorted(out.decode().splitlines()) == sorted(f"{k}={v}" for k, v in mine.items())
        assert jail.run(["/usr/bin/env"], env={}, capture_output=True).stdout == b""
        # No env=: this process's environment, exactly.
        os.environ["JC_SPAWN_MARK"] = "inherited"
        try:
            out = jail.run([sys.executable, "-I", "-c",
                            "import json, os; print(json.dumps(dict(os.environ)))"],
                           capture_output=True, check=True).stdout
            got = json.loads(out)
            if os.environ.get("JAILCORE_SANITIZER_RUN"):
                # tools/sanitize.py: Python starts through a wrapper that preloads
                # ASan; the tests' own environment drops it (tests/conftest.py).
                got.pop("LD_PRELOAD", None)
            assert got == dict(os.environ)
        finally:
            del os.environ["JC_SPAWN_MARK"]
        # A bare name is found through the child's PATH, not ours.
        bindir = os.path.join(path, "bin")
        os.mkdir(bindir)
        prog = os.path.join(bindir, "jc-hello")
        with open(prog, "w") as f:
            f.write("#!/bin/sh\necho hello from \"$0\"\n")
        os.chmod(prog, 0o755)
        done = jail.run(["jc-hello"], env={"PATH": f"/nonexistent:{bindir}"},
                        capture_output=True, check=True)
        assert done.stdout == f"hello from {prog}\n".encode()
        assert bindir not in os.environ.get("PATH", "").split(":")
        with pytest.raises(FileNotFoundError):
            jail.run(["jc-hello"])


def scenario_exec_failures(path: str, name: str) -> None:
    """A missing program, a file that is not executable, a directory: errors as execvp's."""
    with cleanup(name):
        jail = Jail.create(name=name, path="/")
        with pytest.raises(FileNotFoundError) as info:
            jail.spawn(["jc-no-such-program", "arg"])
        assert info.value.errno == errno.ENOENT
        assert info.value.filename == "jc-no-such-program"
        missing = os.path.join(path, "missing")
        with pytest.raises(FileNotFoundError) as info:
            jail.run([missing])
        assert (info.value.errno, info.value.filename) == (errno.ENOENT, missing)
        plain = os.path.join(path, "plain.txt")
        with open(plain, "w") as f:
            f.write("echo never\n")
        os.chmod(plain, 0o644)
        with pytest.raises(PermissionError) as info:
            jail.run([plain])
        assert (info.value.errno, info.value.filename) == (errno.EACCES, plain)
        with pytest.raises(PermissionError) as info:
            jail.run([path])
        assert (info.value.errno, info.value.filename) == (errno.EACCES, path)
        # execvp goes on past a candidate it may not execute, and reports EACCES
        # only when no later one runs.
        with pytest.raises(PermissionError) as info:
            jail.run(["plain.txt"], env={"PATH": path})
        assert (info.value.errno, info.value.filename) == (errno.EACCES, "plain.txt")
        os.mkdir(os.path.join(path, "later"))
        os.symlink("/bin/echo", os.path.join(path, "later", "plain.txt"))
        done = jail.run(["plain.txt", "ran"], env={"PATH": f"{path}:{path}/later"},
                        capture_output=True)
        assert done.stdout == b"ran\n"


def scenario_working_directory(path: str, name: str) -> None:
    """cwd= is where the child starts (the jail's root by default); a bad one fails
    with the chdir step and the path."""
    with cleanup(name):
        jail = Jail.create(name=name, path="/")
        assert jail.run(["/bin/sh", "-c", "pwd"], capture_output=True).stdout == b"/\n"
        done = jail.run(["/bin/sh", "-c", "pwd"], cwd=path, capture_output=True)
        assert done.stdout == f"{path}\n".encode()
        done = jail.run(["/bin/sh", "-c", "pwd"], cwd=Path(path), capture_output=True)
        assert done.stdout == f"{path}\n".encode()
        missing = os.path.join(path, "missing")
        with pytest.raises(FileNotFoundError) as info:
            jail.run(["/bin/echo"], cwd=missing)
        assert info.value.errno == errno.ENOENT
        assert info.value.filename == missing
        assert "chdir" in str(info.value)
        afile = os.path.join(path, "afile")
        open(afile, "w").close()
        with pytest.raises(NotADirectoryError) as info:
            jail.run(["/bin/echo"], cwd=afile)
        assert info.value.errno == errno.ENOTDIR
        assert info.value.filename == afile
        assert "chdir" in str(info.value)


def scenario_chrooted(path: str, name: str) -> None:
    """A jail with its own root sees only that: the host's programs and directories are
    not there."""
    os.mkdir(os.path.join(path, "sub"))
    with cleanup(name):
        jail = Jail.create(name=name, path=path)
        with pytest.raises(FileNotFoundError) as info:
            jail.run(["/bin/echo", "hi"])
        assert (info.value.errno, info.value.filename) == (errno.ENOENT, "/bin/echo")
        # The host path of the jail's directory does not exist inside it.
        with pytest.raises(FileNotFoundError) as info:
            jail.run(["/bin/echo"], cwd=os.path.join(path, "sub"))
        assert info.value.filename == os.path.join(path, "sub")
        assert "chdir" in str(info.value)
        # "/sub" does, so the failure is the program again.
        with pytest.raises(FileNotFoundError) as info:
            jail.run(["/bin/echo"], cwd="/sub")
        assert info.value.filename == "/bin/echo"


def scenario_child_is_jailed(path: str, name: str) -> None:
    """The child runs as a process of the jail: jailed, and counted in that jail."""
    with shared_host(path) as extra, cleanup(name):
        jail = Jail.create(name=name, path="/")
        out = jail.run([sys.executable, "-c", JAILED_PROBE], env=python_env(**extra),
                       capture_output=True)
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        assert report["jailed"] == 1
        if report["backend"] == "model":
            assert report["jid"] == jail.jid


def scenario_jail_lives_with_its_process(path: str, name: str) -> None:
    """A jail whose persist is cleared while a process runs in it lives until that
    process exits and is reaped."""
    with cleanup(name):
        jail = Jail.create(name=name, path="/")
        proc = jail.spawn(["/bin/cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        try:
            jail.update(persist=False)
            assert Jail.get(name).jid == jail.jid
            assert jail.dying is False
            assert Jail.get(jail.jid).get("persist") == {"persist": False}
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            assert proc.wait(timeout=10) == 0
        with pytest.raises(JailNotFoundError) as info:
            Jail.get(jail.jid)
        assert info.value.errno == errno.ENOENT


def scenario_remove_kills_child(path: str, name: str) -> None:
    """remove() kills the jail's running processes with SIGKILL."""
    with cleanup(name):
        jail = Jail.create(name=name, path="/")
        proc = jail.spawn(["/bin/sleep", "60"])
        try:
            assert proc.poll() is None
            jail.remove()
            assert proc.wait(timeout=10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def scenario_spawn_into_removed_jail(path: str, name: str) -> None:
    """A jail that was removed cannot be entered: jail_attach's EINVAL."""
    with cleanup(name):
        jail = Jail.create(name=name, path="/")
        jail.remove()
        with pytest.raises(JailError) as info:
            jail.run(["/bin/echo", "never"])
        assert info.value.errno == errno.EINVAL
        assert info.value.operation == "jail_attach"


def scenario_no_descriptor_leaks(path: str, name: str) -> None:
    """Only 0, 1 and 2 reach the child unless pass_fds or close_fds=False say otherwise."""
    r, w = os.pipe()
    try:
        os.set_inheritable(w, True)
        upto = max(r, w) + 64
        with cleanup(name):
            jail = Jail.create(name=name, path="/")
            assert open_fds_in(jail, upto) == [0, 1, 2]
            assert open_fds_in(jail, upto, pass_fds=(w,)) == [0, 1, 2, w]
            assert open_fds_in(jail, upto, pass_fds=(r,)) == [0, 1, 2, r]
            assert os.get_inheritable(r) is False  # pass_fds does not change ours
            kept = open_fds_in(jail, upto, close_fds=False)
            assert w in kept and r not in kept
            assert kept[:3] == [0, 1, 2]
    finally:
        os.close(r)
        os.close(w)


def scenario_signals_reset(path: str, name: str) -> None:
    """The child starts with default dispositions and an empty signal mask, whatever
    this process ignores or blocks."""
    old_usr1 = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    old_hup = signal.signal(signal.SIGHUP, lambda *a: None)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2, signal.SIGTERM})
    try:
        with cleanup(name):
            jail = Jail.create(name=name, path="/")
            out = jail.run([sys.executable, "-I", "-c", SIGNAL_STATE], capture_output=True)
            assert out.returncode == 0, out.stderr
            assert json.loads(out.stdout) == {"usr1": True, "hup": True, "blocked": []}
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        signal.signal(signal.SIGHUP, old_hup)
        signal.signal(signal.SIGUSR1, old_usr1)


def scenario_user_from_the_jail(path: str, name: str) -> None:
    """user="nobody" of a jail whose root is "/" (its etc/passwd is the host's): uid,
    gid, groups and USER/HOME/SHELL as jexec -U sets them."""
    nobody = pwd.getpwnam("nobody")
    with cleanup(name):
        jail = Jail.create(name=name, path="/")
        out = jail.run(["/bin/sh", "-c", 'id -u; id -g; echo "$USER:$HOME:$SHELL"'],
                       user="nobody", capture_output=True, check=True).stdout.decode()
        assert out.splitlines() == [
            str(nobody.pw_uid), str(nobody.pw_gid),
            f"nobody:{nobody.pw_dir}:{nobody.pw_shell or '/bin/sh'}"]
        groups = jail.run(["id", "-G"], user="nobody", capture_output=True, check=True)
        assert sorted(int(g) for g in groups.stdout.split()) == sorted(
            set(os.getgrouplist("nobody", nobody.pw_gid)))


SCENARIOS: list[Callable[[str, str], None]] = [
    scenario_run_echo,
    scenario_exit_status_and_check,
    scenario_pipes_text_input,
    scenario_popen_api,
    scenario_timeout_kills_child,
    scenario_environment,
    scenario_exec_failures,
    scenario_working_directory,
    scenario_chrooted,
    scenario_child_is_jailed,
    scenario_jail_lives_with_its_process,
    scenario_remove_kills_child,
    scenario_spawn_into_removed_jail,
    scenario_no_descriptor_leaks,
    scenario_signals_reset,
    scenario_user_from_the_jail,
]
