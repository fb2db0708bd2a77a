"""A state file is used only when it belongs to the caller or to root and no one
else may write it: whoever can write the file commands the host's jails and
feeds the model what it reads (issue 12, item 1)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from forked import in_child, need_root
from modelabi import create

import jailcore
import jailcore.model

ROOT = str(Path(jailcore.__file__).resolve().parents[1])


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A valid host file made by root (this process), mode 0600."""
    need_root()
    path = tmp_path / "host"
    jailcore.model.use_state_file(path)
    jailcore.model.use_state_file(None)
    assert os.stat(path).st_mode & 0o7777 == 0o600
    return path


def refused(path: Path) -> jailcore.ModelHostError:
    before = jailcore.model.state_path()
    with pytest.raises(jailcore.ModelHostError) as exc:
        jailcore.model.use_state_file(path)
    # The process kept its host.
    assert jailcore.model.state_path() == before
    return exc.value


def test_root_refuses_a_file_owned_by_another_user(host: Path) -> None:
    os.chown(host, 1000, 1000)
    err = refused(host)
    assert (err.errno, err.filename, err.strerror) == (
        errno.EPERM, str(host), "owned by uid 1000, not by this user or root: refused")


@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602])
def test_a_file_writable_by_others_is_refused(host: Path, mode: int) -> None:
    os.chmod(host, mode)
    err = refused(host)
    assert (err.errno, err.filename, err.strerror) == (
        errno.EPERM, str(host), f"writable by others (mode {mode:04o}): refused")


def test_root_accepts_its_own_file(host: Path) -> None:
    jailcore.model.use_state_file(host)
    try:
        assert jailcore.model.state_path() == str(host)
        assert create(("name", "a")) == 1
    finally:
        jailcore.model.use_state_file(None)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory every user can enter (tmp_path's parents are root's only)."""
    need_root()
    d = Path(tempfile.mkdtemp(prefix="jailcore-owner-"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d)


def test_a_user_refuses_a_file_of_another_user(shared_dir: Path) -> None:
    path = shared_dir / "host"
    jailcore.model.use_state_file(path)
    jailcore.model.use_state_file(None)
    # Owned by uid 1001 and writable by group 0, which the child (uid 1000,
    # gid 0) is in: it could open the file, but must not use it.
    os.chown(path, 1001, 0)
    os.chmod(path, 0o660)

    def child() -> tuple[int | None, str | None, str | None]:
        fd = os.open(path, os.O_RDWR)  # the child may write the file ...
        os.close(fd)
        try:
            jailcore.model.use_state_file(path)
        except jailcore.ModelHostError as e:
            return e.errno, e.filename, e.strerror
        return None, None, None

    assert os.stat(path).st_mode & 0o7777 == 0o660
    assert in_child(child, uid=1000) == (
        errno.EPERM, str(path), "owned by uid 1001, not by this user or root: refused")


def test_a_user_makes_and_uses_its_own_file(shared_dir: Path) -> None:
    mine = shared_dir / "mine"
    os.chmod(shared_dir, 0o777)

    def child() -> tuple[int, int, int]:
        jailcore.model.use_state_file(mine)
        try:
            jid = create(("name", "a"))
        finally:
            jailcore.model.use_state_file(None)
        return jid, os.stat(mine).st_uid, os.stat(mine).st_mode & 0o7777

    assert in_child(child, uid=1000) == (1, 1000, 0o600)


def test_jailcore_model_state_names_the_refused_file(host: Path) -> None:
    """Through JAILCORE_MODEL_STATE, the refusal names the file and the reason,
    not `unknown parameter: jid`."""
    os.chown(host, 1000, 1000)
    env = {**os.environ, "PYTHONPATH": ROOT, "JAILCORE_MODEL_STATE": str(host)}
    done = subprocess.run(
        [sys.executable, "-c",
         "import jailcore\n"
         "try:\n"
         "    jailcore.Jail.create(name='web')\n"
         "except jailcore.ModelHostError as e:\n"
         "    print(e.errno, e.filename, e.strerror, sep='|')\n"],
        env=env, cwd="/", capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr, done.stdout) == (
        0, "", f"{errno.EPERM}|{host}|owned by uid 1000, not by this user or root: refused\n")
