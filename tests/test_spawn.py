"""Jail.spawn and Jail.run on the model: subprocess's API, failures, the jail, descriptors,
signals and threads.

The scenarios shared with the kernel tests (tests/kernel/spawn_scenarios.py) run
here first; the tests after them need the model's own knobs or a jail root with
programs in it (one reads Linux's /proc and is skipped where there is none).
Spec: shared/spec/freebsd-jail-kernel.md sections 4.7, 6.1 and 8.1; issue 4.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kernel.forking import Forked
from kernel.jail_scenarios import unique_name
from kernel.spawn_scenarios import SCENARIOS, open_fds_in, populate_root
from portable import TRUE, open_fds

import jailcore.model
from jailcore import Jail, JailError, JailNotFoundError

# The model grants jail privileges to the user who made the host, but entering a jail
# with a root of its own takes a real chroot(2), and switching users takes root.
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: chroot(2) into a jail's root, or switching users")
ROOT_SCENARIOS = {"scenario_chrooted", "scenario_user_from_the_jail"}


@pytest.mark.parametrize(
    "scenario",
    [pytest.param(s, marks=[needs_root] if s.__name__ in ROOT_SCENARIOS else [])
     for s in SCENARIOS],
    ids=lambda s: s.__name__)
def test_kernel_scenario_on_the_model(scenario: Callable[[str, str], None],
                                      tmp_path: Path) -> None:
    path = tmp_path / "jail"
    path.mkdir()
    scenario(str(path.resolve()), unique_name())


# ---- a jail root with programs in it (the model chroots for real) ------------------------

ROOT_PROGRAMS = ["/bin/sh", "/bin/ls", "/bin/cat", "/usr/bin/env", "/usr/bin/id"]


@pytest.fixture
def jail_root(tmp_path: Path) -> str:
    if os.geteuid() != 0:
        pytest.skip("needs root: the model chroot(2)s into a jail's root for real")
    """A jail root holding sh, ls, cat, env and id (with their libraries), a directory
    /sub and a script /bin/only-here that the host does not have."""
    root = tmp_path / "root"
    root.mkdir()
    why = populate_root(str(root), ROOT_PROGRAMS)
    if why is not None:
        pytest.skip(f"cannot build a jail root with programs: {why}")
    (root / "sub").mkdir()
    (root / "sub" / "inside.txt").write_text("inside\n")
    script = root / "bin" / "only-here"
    script.write_text('#!/bin/sh\necho "only here, in $(pwd)"\n')
    script.chmod(0o755)
    return str(root.resolve())


def test_chrooted_child_sees_only_the_jail(jail_root: str) -> None:
    jail = Jail.create(path=jail_root)
    assert not os.path.exists("/sub/inside.txt")
    done = jail.run(["/bin/sh", "-c", "pwd; ls -a /"], capture_output=True, check=True)
    lines = done.stdout.decode().splitlines()
    assert lines[0] == "/"
    assert sorted(lines[1:]) == sorted([".", "..", *os.listdir(jail_root)])
    done = jail.run(["/bin/sh", "-c", "pwd; cat inside.txt"], cwd="/sub",
                    capture_output=True, check=True)
    assert done.stdout == b"/sub\ninside\n"
    # A program that only the jail has, by its name through the child's PATH.
    done = jail.run(["only-here"], env={"PATH": "/bin"}, cwd="/sub", capture_output=True)
    assert (done.returncode, done.stdout) == (0, b"only here, in /sub\n")
    assert shutil.which("only-here") is None
    # What the jail lacks is missing, even where the host has it.
    assert os.path.exists("/bin/echo")
    with pytest.raises(FileNotFoundError) as info:
        jail.run(["/bin/echo", "hi"])
    assert (info.value.errno, info.value.filename) == (errno.ENOENT, "/bin/echo")
    with pytest.raises(FileNotFoundError) as info:
        jail.run(["/bin/sh"], cwd="/nonexistent")
    assert (info.value.errno, info.value.filename) == (errno.ENOENT, "/nonexistent")
    assert str(info.value) == "[Errno 2] chdir: No such file or directory: '/nonexistent'"
    with pytest.raises(NotADirectoryError) as info:
        jail.run(["/bin/sh"], cwd="/sub/inside.txt")
    assert (info.value.errno, info.value.filename) == (errno.ENOTDIR, "/sub/inside.txt")
    assert str(info.value).startswith("[Errno 20] chdir: ")


def test_chrooted_relative_cwd_is_from_the_jail_root(jail_root: str) -> None:
    jail = Jail.create(path=jail_root)
    done = jail.run(["/bin/sh", "-c", "pwd"], cwd="sub", capture_output=True, check=True)
    assert done.stdout == b"/sub\n"


# ---- the jail and its processes ------------------------------------------------------------


def test_spawn_into_a_dying_jail_fails_at_attach() -> None:
    """A removed jail kept dying (model.hold) cannot be entered: EINVAL from jail_attach."""
    jail = Jail.create(name="dying", path="/")
    jailcore.model.hold(jail.jid)
    try:
        jail.remove()
        assert jail.dying is True
        with pytest.raises(JailError) as info:
            jail.spawn(["/bin/echo", "never"])
        assert type(info.value) is JailError
        assert info.value.errno == errno.EINVAL
        assert info.value.operation == "jail_attach"
        assert str(info.value) == "jail_attach: Invalid argument [EINVAL]"
    finally:
        jailcore.model.release(jail.jid)


def test_spawn_into_an_absent_jail_fails_at_attach() -> None:
    with pytest.raises(JailError) as info:
        Jail(4242).run(["/bin/echo", "never"])
    assert (info.value.errno, info.value.operation) == (errno.EINVAL, "jail_attach")


def test_the_child_counts_in_the_jail_until_reaped() -> None:
    """While its only process runs, a non-persistent jail is alive; remove() of a jail
    whose process was already killed by another remove is harmless."""
    jail = Jail.create(name="counted", path="/")
    first = jail.spawn(["/bin/sleep", "60"])
    second = jail.spawn(["/bin/sleep", "60"])
    try:
        jail.update(persist=False)
        first.kill()
        assert first.wait(timeout=10) == -signal.SIGKILL
        assert Jail.get("counted").jid == jail.jid  # the second still runs
        assert jail.dying is False
        second.terminate()
        assert second.wait(timeout=10) == -signal.SIGTERM
        with pytest.raises(JailNotFoundError) as info:
            Jail.get("counted")
        assert info.value.errno == errno.ENOENT
    finally:
        for p in (first, second):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_timeout_is_honoured_when_a_grandchild_keeps_the_pipes() -> None:
    """As subprocess.run: after the timeout the child is killed and run() raises at
    once, even though a background grandchild still holds the output pipes (POSIX
    communicate() has already attached the output read so far)."""
    jail = Jail.create(path="/")
    args = ["/bin/sh", "-c", "echo started; /bin/sleep 20 & exec /bin/sleep 30"]
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as info:
        jail.run(args, capture_output=True, timeout=0.5)
    elapsed = time.monotonic() - start
    assert info.value.stdout == b"started\n"
    # Returning only when the grandchild let go of the pipes would take 20 s.
    assert elapsed < 10, f"run() returned {elapsed:.1f} s after a 0.5 s timeout"


def test_failures_leave_no_descriptor_and_no_child() -> None:
    """A spawn that fails at any step closes the pipes it made and reaps its child."""
    jail = Jail.create(path="/")
    gone = Jail.create(path="/")
    gone.remove()
    jail.run(TRUE, capture_output=True)  # warm up imports
    before = open_fd_count()
    for _ in range(20):
        with pytest.raises(FileNotFoundError):
            jail.run(["jc-no-such-program"], capture_output=True, input=b"x")
        with pytest.raises(FileNotFoundError):
            jail.run(TRUE, cwd="/jc-no-such-dir", stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT)
        with pytest.raises(JailError):
            gone.run(TRUE, capture_output=True, stdin=subprocess.DEVNULL)
    assert open_fd_count() == before
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


# ---- descriptors ---------------------------------------------------------------------------


def fd_listing(jail: Jail, upto: int, **kwargs: Any) -> set[int]:
    """The descriptors below ``upto`` open in a program started in the jail (a Python
    that tries os.fstat on each: portable, unlike listing Linux's /proc/self/fd)."""
    return set(open_fds_in(jail, upto, **kwargs))


def test_descriptors_the_child_has() -> None:
    jail = Jail.create(path="/")
    r, w = os.pipe()
    spare = os.open("/dev/null", os.O_RDONLY)  # keeps a low number taken
    upto = max(r, w, spare) + 64
    try:
        os.set_inheritable(w, True)
        assert fd_listing(jail, upto) == {0, 1, 2}
        assert fd_listing(jail, upto, pass_fds=(w,)) == {0, 1, 2, w}
        assert fd_listing(jail, upto, pass_fds=(r, w)) == {0, 1, 2, r, w}
        assert w in fd_listing(jail, upto, close_fds=False)
        assert r not in fd_listing(jail, upto, close_fds=False)
        # What was passed is the very same pipe.
        os.set_inheritable(w, False)
        write = "import os, sys; os.write(int(sys.argv[1]), b'through\\n')"
        jail.run([sys.executable, "-I", "-c", write, str(w)], pass_fds=(w,), check=True)
        assert os.read(r, 100) == b"through\n"
        assert os.get_inheritable(w) is False
    finally:
        for fd in (r, w, spare):
            os.close(fd)


def test_standard_descriptors_rotated() -> None:
    """stdin=2, stdout=0, stderr=1: the child gets each from the right place even though
    every source sits on another standard descriptor (run in a forked helper, whose
    0, 1 and 2 are pipes of the test)."""
    jail = Jail.create(path="/")
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r, in_w = os.pipe()

    def body() -> Any:
        os.dup2(out_w, 0)
        os.dup2(err_w, 1)
        os.dup2(in_r, 2)
        for fd in (out_r, out_w, err_r, err_w, in_r):
            os.close(fd)
        done = jail.run(["/bin/sh", "-c", "cat; echo err >&2"], stdin=2, stdout=0, stderr=1)
        # Ours are untouched.
        return [done.returncode, [os.get_inheritable(fd) for fd in (0, 1, 2)]]

    os.write(in_w, b"from the third\n")
    os.close(in_w)
    try:
        with Forked(body) as child:
            for fd in (out_w, err_w, in_r):
                os.close(fd)
            assert child.result() == [0, [True, True, True]]
            assert child.wait() == 0
        assert os.read(out_r, 100) == b"from the third\n"
        assert os.read(err_r, 100) == b"err\n"
    finally:
        os.close(out_r)
        os.close(err_r)


def test_stdout_and_stderr_both_on_descriptor_two() -> None:
    jail = Jail.create(path="/")
    r, w = os.pipe()

    def body() -> Any:
        os.dup2(w, 2)
        os.close(w)
        os.close(r)
        return jail.run(["/bin/sh", "-c", "echo a; echo b >&2"], stdout=2, stderr=2).returncode

    try:
        with Forked(body) as child:
            os.close(w)
            assert child.result() == 0
            assert child.wait() == 0
        assert os.read(r, 100) == b"a\nb\n"
    finally:
        os.close(r)


def test_stdio_pipes_of_spawn_are_not_inherited_twice() -> None:
    """The parent's ends of the pipes Popen makes do not reach the child: cat sees EOF
    as soon as we close stdin."""
    jail = Jail.create(path="/")
    with jail.spawn(["/bin/cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
        assert proc.communicate(b"x", timeout=10) == (b"x", None)
    assert proc.returncode == 0


# ---- signals --------------------------------------------------------------------------------


# The signal masks of a program that is not Python, as Linux's /proc/PID/status shows
# them; elsewhere scenario_signals_reset (a Python child) checks the same.
needs_proc_status = pytest.mark.skipif(
    not os.path.exists(f"/proc/self/task/{threading.get_native_id()}/status"),
    reason="reads signal masks in Linux's /proc/PID/status, which this host has not "
           "(scenario_signals_reset checks them portably)")


def proc_status_masks(jail: Jail) -> dict[str, int]:
    done = jail.run(["/bin/cat", "/proc/self/status"], capture_output=True, check=True)
    out = {}
    for line in done.stdout.decode().splitlines():
        key, _, value = line.partition(":")
        if key in ("SigBlk", "SigIgn"):
            out[key] = int(value.strip(), 16)
    return out


@needs_proc_status
def test_child_has_default_dispositions_and_empty_mask() -> None:
    jail = Jail.create(path="/")
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN  # Python's own default
    old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGCHLD})
    try:
        mine = proc_status_masks_of_self()
        assert mine["SigBlk"] != 0 and mine["SigIgn"] != 0
        assert proc_status_masks(jail) == {"SigBlk": 0, "SigIgn": 0}
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        signal.signal(signal.SIGINT, old_int)


@pytest.mark.skipif(not hasattr(signal, "SIGRTMAX"), reason="no real-time signals here")
def test_ignored_real_time_signals_are_reset_in_the_child() -> None:
    """Up to SIGRTMAX (126 on FreeBSD, where NSIG is only 32): an inherited SIG_IGN
    of a real-time signal would otherwise survive exec.  Python in the child
    reports the dispositions it found at start-up."""
    jail = Jail.create(path="/")
    sigs = [signal.SIGRTMIN, signal.SIGRTMAX - 1, signal.SIGRTMAX]
    probe = f"import signal; print([int(signal.getsignal(s)) for s in {[int(s) for s in sigs]}])"
    old = [signal.signal(s, signal.SIG_IGN) for s in sigs]
    try:
        done = jail.run([sys.executable, "-c", probe], capture_output=True, check=True)
        # The same probe, run by a plain fork and exec, sees them ignored.
        plain = subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True,
                               restore_signals=False)
    finally:
        for s, h in zip(sigs, old, strict=True):
            signal.signal(s, h)
    assert done.stdout == f"{[int(signal.SIG_DFL)] * 3}\n".encode()
    assert plain.stdout == f"{[int(signal.SIG_IGN)] * 3}\n".encode()


def proc_status_masks_of_self() -> dict[str, int]:
    out = {}
    with open(f"/proc/self/task/{threading.get_native_id()}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("SigBlk", "SigIgn"):
                out[key] = int(value.strip(), 16)
    return out


def test_handler_in_parent_does_not_run_in_child() -> None:
    """A Python handler for a signal the child gets before exec would be a bug; the
    child has SIG_DFL, so SIGTERM kills it."""
    jail = Jail.create(path="/")
    hits: list[int] = []
    old = signal.signal(signal.SIGTERM, lambda s, f: hits.append(s))
    try:
        proc = jail.spawn(["/bin/sleep", "60"])
        proc.terminate()
        assert proc.wait(timeout=10) == -signal.SIGTERM
        assert hits == []
    finally:
        signal.signal(signal.SIGTERM, old)


# ---- threads -------------------------------------------------------------------------------


def open_fd_count() -> int:
    return len(open_fds())


def test_spawning_from_a_busy_threaded_process() -> None:
    """200 spawns while 8 threads keep busy (Python work, GIL-free hashing, opening and
    closing inheritable descriptors): no deadlock and no leaked descriptor.  How fast
    they go is the benchmarks' business, not this test's (CI machines are slow and
    shared); a deadlock shows as a spawning thread still alive after a generous wait."""
    jail = Jail.create(path="/")
    stop = threading.Event()
    errors: list[BaseException] = []

    def python_work() -> None:
        while not stop.is_set():
            sum(i * i for i in range(500))

    def hashing() -> None:
        data = b"x" * (1 << 20)
        while not stop.is_set():
            hashlib.sha256(data).digest()

    def descriptors() -> None:
        while not stop.is_set():
            r, w = os.pipe()
            os.set_inheritable(w, True)
            os.close(r)
            os.close(w)

    def guarded(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
        return run

    workers = [python_work] * 4 + [hashing] * 2 + [descriptors] * 2
    jail.run(TRUE, check=True)  # warm up imports
    before = open_fd_count()
    threads = [threading.Thread(target=guarded(w), daemon=True) for w in workers]
    codes: list[int] = []

    def spawner() -> None:
        for _ in range(200):
            codes.append(jail.run(TRUE).returncode)

    # The spawns run in a thread of their own too, so that a deadlock fails the test
    # instead of hanging it.  A shorter switch interval lets the GIL change hands
    # more often: more interleavings, and less time lost waiting for it.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        for t in threads:
            t.start()
        spawning = threading.Thread(target=guarded(spawner), daemon=True)
        spawning.start()
        spawning.join(timeout=240)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        sys.setswitchinterval(interval)
    assert not spawning.is_alive(), f"spawning deadlocked after {len(codes)} spawns"
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert codes == [0] * 200
    assert open_fd_count() == before
    # No child left behind.
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_spawn_from_threads_concurrently() -> None:
    """Several threads spawning at once each get their own child's output.

    A child forked by one thread holds copies of the pipes another thread made for
    its own child until it execs; neither child may wait for the other's exec."""
    jail = Jail.create(path="/")
    results: dict[int, bytes] = {}

    def worker(n: int) -> None:
        for k in range(25):
            out = jail.run(["/bin/echo", f"{n}-{k}"], capture_output=True, timeout=30).stdout
            results[n * 100 + k] = out

    before = open_fd_count()
    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "spawning threads deadlocked"
    assert results == {n * 100 + k: f"{n}-{k}\n".encode() for n in range(8) for k in range(25)}
    assert open_fd_count() == before


# ---- the arguments -------------------------------------------------------------------------


def test_arguments_as_given() -> None:
    jail = Jail.create(path="/")
    args = ["/bin/sh", "-c", 'for a; do printf "[%s]" "$a"; done', "zero", "a b", "", "*"]
    assert jail.run(args, capture_output=True).stdout == b"[a b][][*]"
    done = jail.run([b"/bin/echo", Path("/etc")], capture_output=True)
    assert done.stdout == b"/etc\n"
    done = jail.run("/bin/pwd", capture_output=True)  # a string is the program alone
    assert done.stdout == b"/\n"
    with pytest.raises(ValueError):
        jail.run(["/bin/echo", "nul\0byte"])
    with pytest.raises(ValueError):
        jail.run([])


def test_executable_overrides_argv0() -> None:
    jail = Jail.create(path="/")
    done = jail.run(["named-zero", "-c", 'echo "$0"'], executable="/bin/sh",
                    capture_output=True)
    assert done.stdout == b"named-zero\n"


def test_unsupported_popen_arguments() -> None:
    jail = Jail.create(path="/")
    for kwargs in ({"preexec_fn": lambda: None}, {"shell": True}):
        with pytest.raises(TypeError):
            jail.spawn(TRUE, **kwargs)
