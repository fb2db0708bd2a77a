"""Every path of jailcore that attaches, while the calling process holds open
directory descriptors (spec §6.1, §11; issue 11 item 2).

FreeBSD refuses to attach a process that holds an open directory descriptor
(pwd_chroot_chdir in sys/kern/kern_descrip.c), and the model now does too.  The
spawn helper (spawn, run, their asyncio forms, ephemeral jails), Jail.call and
``jailcore exec`` attach a process that has closed its own copies first; the
caller keeps its descriptors, still valid afterwards.  An attach of the calling
process itself closes nothing and says why it was refused.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from forked import in_child
from portable import TRUE, open_among, open_fds

import jailcore.model
from jailcore import Jail, JailDescriptor, JailFlag, JailPermissionError, features, jail_attach
from jailcore.jail import ATTACH_RULE

ROOT = str(Path(jailcore.__file__).resolve().parents[1])


@dataclass
class Held:
    """Directory descriptors the test process holds while a jailcore call attaches."""

    where: Path
    fd: int  # os.open of a directory: close-on-exec, as os.open makes it
    inheritable: int  # what a child with close_fds=False would inherit
    dir_fd: int  # used as the dir_fd of *at calls
    scan: Iterator[os.DirEntry[str]]  # a running os.scandir
    seen: list[str] = field(default_factory=list)
    ino: dict[int, int] = field(default_factory=dict)

    @property
    def fds(self) -> list[int]:
        return [self.fd, self.inheritable, self.dir_fd]

    def check_still_valid(self) -> None:
        for fd in self.fds:
            st = os.fstat(fd)
            assert stat.S_ISDIR(st.st_mode) and st.st_ino == self.ino[fd]
        assert os.stat("b", dir_fd=self.dir_fd).st_size == 1
        rest = sorted(e.name for e in self.scan)
        assert sorted(self.seen + rest) == ["a", "b", "c"]


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Held]:
    where = tmp_path / "held"
    where.mkdir()
    for name in "abc":
        (where / name).write_text(name)
    fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY)
    inh = os.open(where, os.O_RDONLY | os.O_DIRECTORY)
    os.set_inheritable(inh, True)
    dfd = os.open(where, os.O_RDONLY | os.O_DIRECTORY)
    os.stat("a", dir_fd=dfd)
    scan = os.scandir(where)
    h = Held(where, fd, inh, dfd, scan)
    h.seen.append(next(scan).name)
    h.ino = {f: os.fstat(f).st_ino for f in h.fds}
    try:
        yield h
    finally:
        scan.close()
        for f in h.fds:
            os.close(f)


@pytest.fixture
def jail() -> Iterator[Jail]:
    with Jail.temporary(name=f"dirs-{uuid.uuid4().hex[:8]}", path="/") as j:
        yield j


# A program that prints which of the descriptors named in its arguments it has open.
SHOW_OPEN = (
    "import os, sys\n"
    "def is_open(fd):\n"
    "    try:\n"
    "        os.fstat(fd)\n"
    "    except OSError:\n"
    "        return False\n"
    "    return True\n"
    "print(' '.join(a for a in sys.argv[1:] if is_open(int(a))))\n"
)


def show_open(*fds: int) -> list[str]:
    return [sys.executable, "-c", SHOW_OPEN, *map(str, fds)]


# ---- the spawn helper ------------------------------------------------------------------


def test_run_attaches_while_directories_are_open(held: Held, jail: Jail) -> None:
    done = jail.run(show_open(*held.fds), capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "\n", "")
    held.check_still_valid()


def test_spawn_with_close_fds_off_keeps_files_and_drops_directories(
        held: Held, jail: Jail, tmp_path: Path) -> None:
    r, w = os.pipe()
    os.set_inheritable(r, True)
    try:
        with jail.spawn(show_open(held.inheritable, r), close_fds=False,
                        stdout=subprocess.PIPE, text=True) as p:
            out, _ = p.communicate(timeout=30)
        # The inheritable pipe reaches the program; the directory could not.
        assert (p.returncode, out) == (0, f"{r}\n")
    finally:
        os.close(r)
        os.close(w)
    held.check_still_valid()


def test_a_directory_in_pass_fds_is_refused_before_forking(held: Held, jail: Jail) -> None:
    with pytest.raises(JailPermissionError) as info:
        jail.run(TRUE, pass_fds=[held.inheritable])
    e = info.value
    assert (e.errno, e.operation) == (errno.EPERM, "jail_attach")
    assert e.errmsg == (f"{ATTACH_RULE}, and descriptor {held.inheritable} (pass_fds) is a "
                        "directory: it cannot be passed into a jail")
    with pytest.raises(JailPermissionError) as info:
        jail.run(TRUE, stdin=held.fd)
    assert info.value.errmsg == (f"{ATTACH_RULE}, and descriptor {held.fd} (stdin) is a "
                                 "directory: it cannot be passed into a jail")
    held.check_still_valid()


def test_asyncio_forms(held: Held, jail: Jail) -> None:
    async def both() -> tuple[int, bytes]:
        proc = await jail.spawn_async(show_open(*held.fds), stdout=subprocess.PIPE)
        out, _ = await proc.communicate()
        done = await jail.run_async(show_open(*held.fds), capture_output=True)
        assert (done.returncode, done.stdout) == (0, b"\n")
        return proc.returncode or 0, out

    assert asyncio.run(both()) == (0, b"\n")
    held.check_still_valid()


def test_ephemeral_jails(held: Held) -> None:
    name = f"eph-{uuid.uuid4().hex[:8]}"
    done = Jail.run_ephemeral(show_open(*held.fds), {"name": name, "path": "/"},
                              capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "\n")
    with Jail.spawn_ephemeral(show_open(*held.fds), {"name": name, "path": "/"},
                              stdout=subprocess.PIPE, text=True) as p:
        out, _ = p.communicate(timeout=30)
    assert (p.returncode, out) == (0, "\n")
    held.check_still_valid()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: a jail with a root of its own")
def test_run_into_a_jail_with_its_own_root(held: Held, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with Jail.temporary(name=f"own-{uuid.uuid4().hex[:8]}", path=str(root)) as j:
        # The program is not in the jail, so the exec fails: the attach did not.
        with pytest.raises(FileNotFoundError):
            j.run(TRUE)
    held.check_still_valid()


# ---- Jail.call ---------------------------------------------------------------------


def test_call_attaches_while_directories_are_open(held: Held, jail: Jail) -> None:
    r, w = os.pipe()
    try:
        got = jail.call(lambda: (jailcore.model.current_jid(), open_among([*held.fds, r])))
    finally:
        os.close(r)
        os.close(w)
    # In the jail; its copies of the directories closed, other descriptors kept.
    assert got == (jail.jid, [r])
    held.check_still_valid()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: a jail with a root of its own")
def test_call_into_a_jail_with_its_own_root(held: Held, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "mark").write_text("m")
    with Jail.temporary(name=f"own-{uuid.uuid4().hex[:8]}", path=str(root)) as j:
        assert j.call(os.listdir, "/") == ["mark"]
    held.check_still_valid()


# ---- the calling process itself: closes nothing, says why ------------------------------


def dirs_open() -> list[int]:
    """This process's directory descriptors, by fstat on each open one (not by jailcore)."""
    out = []
    for fd in open_fds():
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                out.append(fd)
        except OSError:
            pass
    return out


def refused_then_attached(attach: object, where: Path) -> tuple[object, ...]:
    """In a forked child: attach while holding one directory (refused), then after
    closing it (attached)."""
    assert callable(attach)
    for fd in dirs_open():
        os.close(fd)
    fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY)
    try:
        attach()
    except JailPermissionError as exc:
        refused: object = (exc.errno, exc.operation, exc.errmsg, fd,
                           jailcore.model.current_jid(), os.fstat(fd).st_ino)
    else:
        refused = "attached"
    os.close(fd)
    attach()
    return refused, jailcore.model.current_jid()


def message(fd: int) -> str:
    return (f"{ATTACH_RULE}, and this one holds {fd}: close it first, or attach a child "
            "with Jail.call or Jail.spawn, which close theirs")


@pytest.mark.parametrize("how", ["jail_attach", "Jail.attach"])
def test_attach_of_this_process_names_the_directories(
        held: Held, jail: Jail, how: str) -> None:
    attach = (lambda: jail_attach(jail.jid)) if how == "jail_attach" else jail.attach
    refused, jid = in_child(lambda: refused_then_attached(attach, held.where))
    assert isinstance(refused, tuple)
    err, op, errmsg, fd, jid_then, ino = refused
    assert (err, op, errmsg, jid_then, ino) == (
        errno.EPERM, "jail_attach", message(fd), 0, held.ino[held.fd])
    assert jid == jail.jid
    held.check_still_valid()


@pytest.mark.skipif(not features.jail_descriptors, reason="no jail descriptors")
def test_descriptor_attach_names_the_directories(held: Held, jail: Jail) -> None:
    with JailDescriptor.open(jail) as d:
        refused, jid = in_child(lambda: refused_then_attached(d.attach, held.where))
    assert isinstance(refused, tuple)
    assert refused[:3] == (errno.EPERM, "jail_attach_jd", message(refused[3]))
    assert jid == jail.jid


def test_jail_set_attach_names_the_directories(held: Held, tmp_path: Path) -> None:
    name = f"new-{uuid.uuid4().hex[:8]}"

    def attach() -> None:
        jailcore.jail_set({"name": name, "path": str(tmp_path)}, JailFlag.CREATE | JailFlag.ATTACH)

    refused, jid = in_child(lambda: refused_then_attached(attach, held.where))
    assert isinstance(refused, tuple)
    err, op, errmsg, fd, jid_then, _ = refused
    assert (err, op, errmsg, jid_then) == (
        errno.EPERM, "jail_set", f"attach failed: {message(fd)}", 0)
    # The refused call removed the jail it made; the second one made another.
    assert jid > 0
    assert [j.jid for j in jailcore.jails() if j.name == name] == []


# ---- another thread holding directories -------------------------------------------------


def test_spawn_and_call_while_another_thread_walks(jail: Jail, tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / f"d{i}").mkdir()
    stop = threading.Event()

    def walk() -> None:
        while not stop.is_set():
            for _ in os.walk(tmp_path):
                pass

    t = threading.Thread(target=walk)
    t.start()
    try:
        for _ in range(10):
            assert jail.run(TRUE).returncode == 0
            assert jail.call(jailcore.model.current_jid) == jail.jid
    finally:
        stop.set()
        t.join()


# ---- jailcore exec -------------------------------------------------------------------


def run_python(code: str, pass_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, cwd="/", check=False, pass_fds=pass_fds)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: exec shares a state-file host")
def test_exec_closes_its_close_on_exec_directories(held: Held, jail: Jail) -> None:
    code = (
        "import os, sys\n"
        "from jailcore.cli import main\n"
        f"fd = os.open({str(held.where)!r}, os.O_RDONLY | os.O_DIRECTORY)\n"
        "it = os.scandir('/'); next(it)\n"
        f"sys.exit(main(['exec', {jail.name!r}, sys.executable, '-c', 'print(\"in\")']))\n"
    )
    done = run_python(code)
    assert (done.returncode, done.stdout, done.stderr) == (0, "in\n", "")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: exec shares a state-file host")
def test_exec_refuses_a_directory_the_command_would_inherit(held: Held, jail: Jail) -> None:
    code = (
        "import sys\n"
        "from jailcore.cli import main\n"
        f"sys.exit(main(['exec', {jail.name!r}, *{TRUE!r}]))\n"
    )
    done = run_python(code, pass_fds=(held.inheritable,))
    fd = held.inheritable
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "",
        f"jailcore exec: jail_attach: {ATTACH_RULE} [EPERM], and descriptor {fd}, which the "
        f"command would inherit, is one: close it first (in a shell, {fd}<&-)\n")
    held.check_still_valid()
