"""Which host the kernel model uses, and what happens when it cannot.

Off FreeBSD a user's jails outlive the process that made them, as on FreeBSD
they outlive the command: by default they live in the user's own host,
``/tmp/jailcore-UID/host``.  The tests that touch a default host do so as a
uid of their own (forked, as root), so that they never touch the default host
of the user running the suite.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from forked import in_child

import jailcore
import jailcore.model
from jailcore import ModelHostError

ROOT = str(Path(jailcore.__file__).resolve().parents[1])
# A uid no account uses, of this test run alone.
TEST_UID = 47000 + os.getpid() % 2000


def python(code: str, state: str | None, *args: str,
           cwd: str = "/") -> subprocess.CompletedProcess[str]:
    """Run Python in a new process whose JAILCORE_MODEL_STATE is ``state``
    (``None``: unset, so that the model chooses by itself)."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("JAILCORE_MODEL_STATE", None)
    if state is not None:
        env["JAILCORE_MODEL_STATE"] = state
    cmd = [sys.executable, *args] if not code else [sys.executable, "-c", code]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=60,
                          check=False)


def jailcore_cmd(state: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return python("", state, "-m", "jailcore", *argv)


# ---- which host ------------------------------------------------------------------------


def test_default_state_path_is_per_user() -> None:
    assert jailcore.model.default_state_path() == f"/tmp/jailcore-{os.geteuid()}/host"


@pytest.mark.parametrize(("state", "expect"), [
    (None, f"/tmp/jailcore-{os.geteuid()}/host"),
    ("", f"/tmp/jailcore-{os.geteuid()}/host"),
    (":private:", "None"),
    ("/some/where/host", "/some/where/host"),
])
def test_the_host_a_new_process_will_use(state: str | None, expect: str) -> None:
    """state_path() before any call names the host the process will use, and
    opens nothing (the default host is not created by asking)."""
    done = python("import jailcore.model as m; print(m.state_path())", state)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", expect + "\n")


def test_jails_outlive_the_command_in_a_state_file(tmp_path: Path) -> None:
    """`jailcore create name=web ...` then, in a new process, `jailcore ls -v`
    lists web; `jailcore model reset` empties the host."""
    state = str(tmp_path / "host")
    done = jailcore_cmd(state, "create", "name=web", "path=/", "host.hostname=web.example")
    assert (done.returncode, done.stdout, done.stderr) == (0, "web: created\n", "")
    done = jailcore_cmd(state, "ls", "-v")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[4:] == [
        "     1  web.example                   /",
        "        web                           ACTIVE",
        "        2",
    ]
    done = python("import jailcore; print([j.name for j in jailcore.jails()])", state)
    assert done.stdout == "['web']\n"
    done = jailcore_cmd(state, "model", "path")
    assert done.stdout == state + "\n"
    done = jailcore_cmd(state, "model", "reset")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    done = jailcore_cmd(state, "ls", "-v")
    assert (done.returncode, len(done.stdout.splitlines())) == (0, 4)  # the header alone


def test_a_private_host_ends_with_its_process(tmp_path: Path) -> None:
    made = python("import jailcore; print(jailcore.Jail.create(name='web').jid)", ":private:")
    assert (made.returncode, made.stdout) == (0, "1\n")
    again = python("import jailcore; print(jailcore.Jail.create(name='web').jid)", ":private:")
    assert (again.returncode, again.stdout) == (0, "1\n")
    assert jailcore_cmd(":private:", "model", "path").stdout == "(a private host, in memory)\n"


def test_the_tour_leaves_the_users_jails_alone(tmp_path: Path) -> None:
    state = str(tmp_path / "host")
    assert jailcore_cmd(state, "create", "tour-web", "host.hostname=mine").returncode == 0
    done = jailcore_cmd(state, "tour")
    assert done.returncode == 0, done.stderr
    assert f"your jails in {state} are left alone" in done.stdout
    listed = jailcore_cmd(state, "ls", "name", "host.hostname")
    assert listed.stdout == "tour-web mine\n"


def test_model_version_command(tmp_path: Path) -> None:
    state = str(tmp_path / "host")
    assert jailcore_cmd(state, "model", "version").stdout == "15\n"
    assert jailcore_cmd(state, "model", "version", "14").returncode == 0
    assert jailcore_cmd(state, "model", "version").stdout == "14\n"
    jailcore_cmd(state, "create", "web")
    done = jailcore_cmd(state, "model", "version", "15")
    assert (done.returncode, done.stderr) == (1, "jailcore model: set_version: Device or "
                                                 "resource busy\n")


# ---- a host that cannot be used --------------------------------------------------------


@pytest.mark.parametrize(("where", "why", "code"), [
    ("missing-dir/host", "No such file or directory", errno.ENOENT),
    ("", "Is a directory", errno.EISDIR),
    ("foreign", "not a state file of this jailcore model (foreign, of another version, or "
                "corrupted); it is left as it is: remove it for a new host", errno.EINVAL),
])
def test_an_unusable_host_is_named_with_the_reason(tmp_path: Path, where: str, why: str,
                                                    code: int) -> None:
    """Not `unknown parameter: jid`: the file and why it cannot be used."""
    (tmp_path / "foreign").write_bytes(b"not a host\n" * 100)
    state = str(tmp_path / where) if where else str(tmp_path)
    done = python("import jailcore\n"
                  "try:\n"
                  "    jailcore.Jail.create(name='web')\n"
                  "except jailcore.ModelHostError as e:\n"
                  "    print(e.errno, e.filename, e.strerror, sep='|')\n"
                  "    print(e)\n", state)
    assert done.stdout == (f"{code}|{state}|{why}\n"
                           f"jailcore's model host {state}: {why}\n"), done.stderr
    done = jailcore_cmd(state, "ls")
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", f"jailcore ls: jailcore's model host {state}: {why} (JAILCORE_MODEL_STATE "
               "selects another host: see jailcore --help)\n")
    done = jailcore_cmd(state, "model", "reset")
    assert done.returncode == 1 and done.stderr.startswith(
        f"jailcore model: jailcore's model host {state}: {why}")


def test_use_state_file_refusal_keeps_the_host(tmp_path: Path) -> None:
    jailcore.Jail.create(name="mine")
    before = jailcore.model.state_path()
    with pytest.raises(ModelHostError) as info:
        jailcore.model.use_state_file(tmp_path / "missing" / "host")
    assert (info.value.errno, info.value.filename, info.value.strerror) == (
        errno.ENOENT, str(tmp_path / "missing" / "host"), "No such file or directory")
    assert jailcore.model.state_path() == before
    assert [j.name for j in jailcore.jails()] == ["mine"]


# ---- the default host: one per user, never adopted when unsafe --------------------------


@pytest.fixture
def test_user_dir() -> Iterator[Path]:
    """The default host directory of TEST_UID, absent before and after the test."""
    d = Path(f"/tmp/jailcore-{TEST_UID}")

    def clear() -> None:
        if d.is_symlink() or d.is_file():
            d.unlink()
        elif d.exists():
            shutil.rmtree(d)

    clear()
    yield d
    clear()


def _as_test_user(fn):  # type: ignore[no-untyped-def]
    def run():  # type: ignore[no-untyped-def]
        os.setgid(TEST_UID)
        os.setuid(TEST_UID)
        return fn()
    return run


def _open_default() -> tuple[int, str, str]:
    """In a child: open the default host; (0, path, "") or the refusal."""
    try:
        jailcore.model.use_state_file(jailcore.model.default_state_path())
    except ModelHostError as exc:
        return exc.errno or 0, str(exc.filename), str(exc.strerror)
    return 0, str(jailcore.model.state_path()), ""


def test_the_default_host_persists_for_its_user(test_user_dir: Path) -> None:
    host = test_user_dir / "host"

    def make() -> int:
        assert _open_default() == (0, str(host), "")
        return jailcore.Jail.create(name="web", path="/", host__hostname="web.example").jid

    def look() -> list[tuple[str, str]]:
        assert _open_default() == (0, str(host), "")
        return [(j.name, j["host.hostname"]) for j in jailcore.jails(("name", "host.hostname"))]

    def reset() -> list[str]:
        assert _open_default()[0] == 0
        jailcore.model.reset()
        return [j.name for j in jailcore.jails()]

    assert in_child(_as_test_user(make)) == 1
    st = test_user_dir.lstat()
    assert (stat.S_ISDIR(st.st_mode), st.st_uid, stat.S_IMODE(st.st_mode)) == (True, TEST_UID,
                                                                                0o700)
    st = host.lstat()
    assert (stat.S_ISREG(st.st_mode), st.st_uid, stat.S_IMODE(st.st_mode)) == (True, TEST_UID,
                                                                                0o600)
    assert in_child(_as_test_user(look)) == [("web", "web.example")]
    assert in_child(_as_test_user(reset)) == []
    assert in_child(_as_test_user(look)) == []


def _refusal(test_user_dir: Path, how: str, tmp_path: Path) -> tuple[int, str, str]:
    d = test_user_dir
    if how == "symlink":
        target = tmp_path / "elsewhere"
        target.mkdir()
        os.chown(target, TEST_UID, TEST_UID)
        os.chmod(target, 0o700)
        d.symlink_to(target)
    elif how == "owner":
        d.mkdir(mode=0o700)  # root's
    elif how == "mode":
        d.mkdir()
        os.chown(d, TEST_UID, TEST_UID)
        os.chmod(d, 0o755)
    elif how == "file-symlink":
        d.mkdir(mode=0o700)
        os.chown(d, TEST_UID, TEST_UID)
        (d / "host").symlink_to(tmp_path / "planted")
    return in_child(_as_test_user(_open_default))  # type: ignore[no-any-return]


@pytest.mark.parametrize(("how", "why"), [
    ("symlink", "/tmp/jailcore-{uid}: not a directory (a symbolic link or a file stands in "
                "its place): refused"),
    ("owner", "the directory /tmp/jailcore-{uid} belongs to uid 0, not to this user "
              "(uid {uid}): refused"),
    ("mode", "the directory /tmp/jailcore-{uid} is open to other users (mode 0755, not "
             "0700): refused"),
    ("file-symlink", "a symbolic link: refused"),
])
def test_an_unsafe_default_host_is_refused(test_user_dir: Path, tmp_path: Path, how: str,
                                           why: str) -> None:
    """Another user may have made /tmp/jailcore-UID first: never adopt it."""
    got = _refusal(test_user_dir, how, tmp_path)
    assert got == (errno.EPERM, str(test_user_dir / "host"), why.format(uid=TEST_UID))
    assert not (tmp_path / "planted").exists()
    if how == "symlink":
        assert list((tmp_path / "elsewhere").iterdir()) == []
