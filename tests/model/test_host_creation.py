"""A host file is born whole: a process killed at any moment while it creates a
state file leaves no host or a usable one, never a half-made file that every
later open refuses (issue 12, item 4)."""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest
from forked import in_child, need_root
from modelabi import create, get

import jailcore.model

KILLS = 200


def test_sigkill_during_creation_leaves_no_host_or_a_usable_one(tmp_path: Path) -> None:
    rng = random.Random(12)
    # How long one creation takes here, so the kills spread over it.
    probe = tmp_path / "probe"
    t = time.perf_counter()
    jailcore.model.use_state_file(probe)
    span = time.perf_counter() - t
    jailcore.model.use_state_file(None)
    paths = [tmp_path / f"host{i}" for i in range(KILLS)]
    for path in paths:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                jailcore.model.use_state_file(path)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, span * 1.2))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    present = [p for p in paths if p.exists()]
    assert 0 < len(present) < KILLS
    for path in present:
        jailcore.model.use_state_file(path)
        try:
            assert create(("name", "a")) == 1, path
        finally:
            jailcore.model.use_state_file(None)
    for path in paths:
        if path not in present:
            # An absent host is simply made when next opened.
            jailcore.model.use_state_file(path)
            try:
                assert create(("name", "b")) == 1
            finally:
                jailcore.model.use_state_file(None)
            break
    # Some kills landed in the middle of a creation: they left the temporary
    # file the host was being built in, never a half-made host in place.
    assert any(n.startswith(".jailcore-host-new.") for n in os.listdir(tmp_path))


def test_processes_creating_one_host_at_once_share_it(tmp_path: Path) -> None:
    """A host another process created meanwhile is used, never replaced: the
    jails every racer made are all in the one host."""
    path = tmp_path / "host"
    rfd, wfd = os.pipe()
    pids = []
    for i in range(8):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                os.close(wfd)
                os.read(rfd, 1)  # start together
                jailcore.model.use_state_file(path)
                create(("name", f"c{i}"))
            finally:
                os._exit(0)
        pids.append(pid)
    os.close(rfd)
    os.close(wfd)  # releases them all
    for pid in pids:
        assert os.waitpid(pid, 0)[1] == 0
    jailcore.model.use_state_file(path)
    try:
        jids = sorted(get(("name", f"c{i}"), "jid").int("jid") for i in range(8))
    finally:
        jailcore.model.use_state_file(None)
    assert jids == list(range(1, 9))
    assert sorted(os.listdir(tmp_path)) == ["host"]


def test_creation_in_a_missing_directory_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "host"
    with pytest.raises(jailcore.ModelHostError) as exc:
        jailcore.model.use_state_file(path)
    assert (exc.value.errno, exc.value.filename, exc.value.strerror) == (
        errno.ENOENT, str(path), os.strerror(errno.ENOENT))
    assert not (tmp_path / "missing").exists()


def test_sigkill_during_creation_of_the_default_host() -> None:
    """The user's default host (made relative to its checked directory) is born
    whole too: after each kill it is absent or usable."""
    need_root()
    uid = 49000 + os.getpid() % 1000
    d = Path(f"/tmp/jailcore-{uid}")
    shutil.rmtree(d, ignore_errors=True)
    rng = random.Random(4)

    def as_user() -> None:
        os.setgid(uid)
        os.setuid(uid)

    def open_and_create() -> int:
        as_user()
        jailcore.model.use_state_file(jailcore.model.default_state_path())
        try:
            return create(("name", "a"))
        finally:
            jailcore.model.use_state_file(None)

    def make() -> int:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                as_user()
                jailcore.model.use_state_file(jailcore.model.default_state_path())
            finally:
                os._exit(0)
        return pid

    try:
        # How long a child takes to make the host here, so the kills spread over it.
        t = time.perf_counter()
        os.waitpid(make(), 0)
        span = time.perf_counter() - t
        outcomes: set[bool | str] = set()
        for _ in range(40):
            shutil.rmtree(d, ignore_errors=True)
            pid = make()
            time.sleep(rng.uniform(0, span * 0.5))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            made = (d / "host").exists()
            outcomes.add(made)
            if d.exists() and any(n.startswith(".jailcore-host-new.") for n in os.listdir(d)):
                outcomes.add("killed while building")
            # Made or not, the host opens (or is made) and takes a jail.
            assert in_child(open_and_create) == 1
        assert outcomes == {False, True, "killed while building"}
    finally:
        shutil.rmtree(d, ignore_errors=True)
