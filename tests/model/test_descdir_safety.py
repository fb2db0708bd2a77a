"""Root is never tricked into writing elsewhere (issue 12, item 2).

The model's descriptor directory is STATEFILE.jd beside a state file (derived by
each process, never read from the state file) or a private mkdtemp directory for
an anonymous host.  It is adopted only when it is a real directory owned by the
caller or root with mode 0700 or tighter; its files are opened relative to it
with O_NOFOLLOW, and a private host's directory is removed when its process ends.
"""

from __future__ import annotations

import errno
import mmap
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from forked import need_root
from modelabi import JAIL_CREATE, JAIL_GET_DESC, JAIL_OWN_DESC, Buf, Result, jail_set

import jailcore.model

# New Python processes import the jailcore under test, from a neutral directory
# (a checkout's root would put its unbuilt jailcore/ first on sys.path).
TESTED = str(Path(jailcore.model.__file__).resolve().parents[1])


@pytest.fixture(autouse=True)
def _root() -> None:
    need_root()


def _state() -> Path:
    state = jailcore.model.state_path()
    assert state is not None
    return Path(state)


def _make_desc(flags: int = JAIL_GET_DESC) -> Result:
    return jail_set([("name", "web"), ("persist", None), ("desc", Buf(4))], JAIL_CREATE | flags)


def _close(r: Result) -> None:
    os.close(r.int("desc"))


@pytest.mark.parametrize("flags", [JAIL_GET_DESC, JAIL_OWN_DESC], ids=["get", "own"])
def test_planted_symlink_to_a_directory_is_refused(tmp_path: Path, flags: int) -> None:
    victim = tmp_path / "victim"
    victim.mkdir(mode=0o700)
    os.symlink(victim, f"{_state()}.jd")
    r = _make_desc(flags)
    assert (r.ret, r.errno) == (-1, errno.ELOOP)
    assert os.listdir(victim) == []


def test_planted_symlink_to_a_file_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "precious"
    victim.write_bytes(b"keep me")
    os.symlink(victim, f"{_state()}.jd")
    r = _make_desc()
    assert (r.ret, r.errno) == (-1, errno.ELOOP)
    assert victim.read_bytes() == b"keep me"


def test_another_users_directory_is_refused() -> None:
    jd = Path(f"{_state()}.jd")
    jd.mkdir(mode=0o700)
    os.chown(jd, 1000, 1000)
    r = _make_desc()
    assert (r.ret, r.errno) == (-1, errno.EPERM)
    assert os.listdir(jd) == []


@pytest.mark.parametrize("mode", [0o777, 0o750, 0o701])
def test_a_directory_open_to_others_is_refused(mode: int) -> None:
    jd = Path(f"{_state()}.jd")
    jd.mkdir()
    os.chmod(jd, mode)
    r = _make_desc()
    assert (r.ret, r.errno) == (-1, errno.EPERM)
    assert os.listdir(jd) == []


def test_a_file_in_place_of_the_directory_is_refused() -> None:
    jd = Path(f"{_state()}.jd")
    jd.write_bytes(b"x")
    r = _make_desc()
    assert (r.ret, r.errno) == (-1, errno.ENOTDIR)
    assert jd.read_bytes() == b"x"


def test_the_directory_it_makes_is_private_and_the_files_are_its_own() -> None:
    r = _make_desc(JAIL_OWN_DESC)
    assert (r.ret, r.errno) == (1, 0)
    try:
        jd = Path(f"{_state()}.jd")
        st = jd.lstat()
        assert (st.st_mode & 0o7777, st.st_uid) == (0o700, os.geteuid())
        names = sorted(os.listdir(jd))
        assert names == ["jail-1", "jail-1.o1"]
        fst = os.fstat(r.int("desc"))
        assert (fst.st_ino, fst.st_mode & 0o777) == ((jd / "jail-1.o1").stat().st_ino, 0o600)
    finally:
        _close(r)


def test_a_planted_link_inside_the_directory_is_not_written_through(tmp_path: Path) -> None:
    """Links planted where the shared file jail-1 will go are replaced, not followed."""
    jd = Path(f"{_state()}.jd")
    jd.mkdir(mode=0o700)
    victim = tmp_path / "precious"
    victim.write_bytes(b"keep me")
    twin = Path(f"{_state()}.precious")  # a hard link needs the same file system
    twin.write_bytes(b"keep me too")
    os.symlink(victim, jd / "jail-1")
    r = _make_desc()
    assert (r.ret, r.errno) == (1, 0)
    _close(r)
    assert victim.read_bytes() == b"keep me"
    jailcore.model.reset()
    os.link(twin, jd / "jail-1")
    r = _make_desc()
    assert (r.ret, r.errno) == (1, 0)
    _close(r)
    assert twin.read_bytes() == b"keep me too"
    twin.unlink()
    assert not (jd / "jail-1").is_symlink()
    assert (jd / "jail-1").stat().st_size > 0


def test_a_hostile_descdir_in_the_state_file_is_not_followed() -> None:
    state = _state()
    r = _make_desc()
    assert (r.ret, r.errno) == (1, 0)
    _close(r)
    victim = Path(f"{state}.v")  # a 0700 root directory the file now names
    victim.mkdir(mode=0o700)
    recorded = f"{state}.jd".encode() + b"\0"
    hostile = str(victim).encode() + b"\0"
    assert len(hostile) <= len(recorded)
    with open(state, "r+b") as f, mmap.mmap(f.fileno(), 0) as mm:
        i = mm.find(recorded)
        assert i > 0
        mm[i:i + len(hostile)] = hostile
    jailcore.model.reset()
    # a fresh process, and this one, still use STATEFILE.jd
    code = textwrap.dedent("""
        import os, jailcore
        with jailcore.Jail.temporary(name="other") as j:
            print(j.jid)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "JAILCORE_MODEL_STATE": str(state),
                              "PYTHONPATH": TESTED}, cwd="/", check=True)
    assert out.stdout.strip() == "1"
    r = _make_desc(JAIL_OWN_DESC)
    assert (r.ret, r.errno) == (2, 0)
    try:
        assert os.listdir(victim) == []
        assert "jail-2.o1" in os.listdir(f"{state}.jd")
    finally:
        _close(r)
        victim.rmdir()


def test_a_private_host_leaves_no_directory_behind(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    code = textwrap.dedent("""
        import os, sys, jailcore
        with jailcore.Jail.temporary(name="a") as j:
            print(sorted(os.listdir(os.environ["TMPDIR"])), j.jid)
            pid = os.fork()
            if pid == 0:  # a forked child shares the host and its directory
                with jailcore.Jail.temporary(name="b") as k:
                    print(k.jid, flush=True)
                os._exit(0)
            os.waitpid(pid, 0)
            print(len(os.listdir(os.environ["TMPDIR"])))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "JAILCORE_MODEL_STATE": ":private:",
                              "TMPDIR": str(tmpdir), "PYTHONPATH": TESTED}, cwd="/",
                         check=True)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("['jailmodel-jd-") and lines[0].endswith("'] 1"), out.stdout
    assert lines[1:] == ["2", "1"]
    assert os.listdir(tmpdir) == []
