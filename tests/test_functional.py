"""The functional layer: jailcore.jail_set / jail_get / jail_attach / jail_remove,
mirroring the system calls (spec sections 4, 5, 6).

Each test is named after what a user relies on or the mistake it guards against.
"""

from __future__ import annotations

import errno
import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jailcore
import jailcore.model
from jailcore import (
    JailError,
    JailExistsError,
    JailFlag,
    JailNotFoundError,
    JailPermissionError,
    JailSys,
)

REPO = Path(jailcore.__file__).resolve().parents[1]


def in_child(fn: Callable[[], Any], *, uid: int | None = None) -> Any:
    """Run ``fn`` in a forked child (after setuid(uid) if given); its result or
    exception comes back pickled over a pipe."""
    if uid is not None and os.geteuid() != 0:
        pytest.skip("needs root to drop to another uid")
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(rfd)
            try:
                if uid is not None:
                    os.setuid(uid)
                payload: tuple[str, Any] = ("ok", fn())
            except BaseException as exc:
                payload = ("raised", (exc, traceback.format_exc()))
            with os.fdopen(wfd, "wb") as f:
                f.write(pickle.dumps(payload))
        finally:
            os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    assert data, "the child reported nothing"
    kind, value = pickle.loads(data)
    if kind == "raised":
        raise value[0]
    return value


def catching(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Wrap ``fn`` to return the exception it raises (so it pickles back as a value)."""

    def run() -> Any:
        try:
            return fn()
        except JailError as exc:
            return exc

    return run


# ---- jail_set ------------------------------------------------------------------------


def test_jail_set_returns_the_jid_on_create_and_on_update() -> None:
    first = jailcore.jail_set({"name": "web", "persist": True}, JailFlag.CREATE)
    second = jailcore.jail_set({"name": "db", "persist": True}, JailFlag.CREATE)
    assert (first, second) == (1, 2)
    assert type(first) is int
    assert jailcore.jail_set({"jid": first, "host.hostname": "w"}, JailFlag.UPDATE) == first
    assert jailcore.jail_set({"name": "db", "securelevel": 1}, JailFlag.UPDATE) == second
    # CREATE|UPDATE: updates an existing jail, creates a missing one.
    both = JailFlag.CREATE | JailFlag.UPDATE
    assert jailcore.jail_set({"name": "web", "persist": True, "host.hostname": "x"}, both) == 1
    assert jailcore.jail_set({"name": "new", "persist": True}, both) == 3
    assert jailcore.jail_get(1, ["host.hostname"]) == {"host.hostname": "x"}
    assert jailcore.jail_get(2, ["securelevel"]) == {"securelevel": 1}


def test_jail_set_takes_int_flags_and_an_explicit_jid() -> None:
    assert jailcore.jail_set({"jid": 17, "persist": True}, 1) == 17
    assert jailcore.jail_get(17, ["name"]) == {"name": "17"}


def test_jail_set_without_create_or_update_is_refused() -> None:
    with pytest.raises(JailError) as info:
        jailcore.jail_set({"name": "web", "persist": True}, 0)
    assert (info.value.errno, info.value.errmsg) == (
        errno.EINVAL, "no valid operation (create or update)")


def test_a_new_jail_that_neither_persists_nor_attaches_is_refused() -> None:
    with pytest.raises(JailError) as info:
        jailcore.jail_set({"name": "web"}, JailFlag.CREATE)
    assert (info.value.errno, info.value.errmsg) == (errno.EINVAL,
                                                     "new jail must persist or attach")


def test_update_of_a_create_only_parameter_names_it() -> None:
    jid = jailcore.jail_set({"name": "web", "persist": True}, JailFlag.CREATE)
    with pytest.raises(JailError) as info:
        jailcore.jail_set({"jid": jid, "path": "/"}, JailFlag.UPDATE)
    assert (info.value.errno, info.value.errmsg) == (
        errno.EINVAL, "path cannot be changed after creation")


# ---- jail_get ------------------------------------------------------------------------


def test_jail_get_by_jid_name_and_lastjid_returns_a_dict() -> None:
    web = jailcore.jail_set({"name": "web", "persist": True, "host.hostname": "w.example"},
                            JailFlag.CREATE)
    db = jailcore.jail_set({"name": "db", "persist": True}, JailFlag.CREATE)
    by_jid = jailcore.jail_get(web, ["name", "host.hostname"])
    assert type(by_jid) is dict
    assert by_jid == {"name": "web", "host.hostname": "w.example"}
    assert jailcore.jail_get("web", ["jid", "host.hostname"]) == {
        "jid": web, "host.hostname": "w.example"}
    assert jailcore.jail_get({"jid": db}, ["name"]) == {"name": "db"}
    assert jailcore.jail_get({"name": "db"}, ["jid"]) == {"jid": db}
    assert jailcore.jail_get({"lastjid": 0}, ["jid", "name"]) == {"jid": web, "name": "web"}
    assert jailcore.jail_get({"lastjid": web}, ["jid", "name"]) == {"jid": db, "name": "db"}
    with pytest.raises(JailNotFoundError) as info:
        jailcore.jail_get({"lastjid": db}, ["jid"])
    assert info.value.errmsg == f"no jail after {db}"


def test_jail_get_accepts_one_name_as_a_string() -> None:
    jid = jailcore.jail_set({"name": "web", "persist": True}, JailFlag.CREATE)
    assert jailcore.jail_get(jid, "name") == {"name": "web"}


def test_jail_get_of_nothing_but_the_key_still_finds_the_jail() -> None:
    jailcore.jail_set({"name": "web", "persist": True}, JailFlag.CREATE)
    assert jailcore.jail_get("web", []) == {}
    with pytest.raises(JailNotFoundError):
        jailcore.jail_get("nope", [])


def test_a_numeric_string_key_is_a_name_not_a_jid() -> None:
    """Types do not come from the value's look: "1" is a name, as the kernel sees it."""
    jid = jailcore.jail_set({"name": "web", "persist": True}, JailFlag.CREATE)
    assert jid == 1
    with pytest.raises(JailNotFoundError) as info:
        jailcore.jail_get("1", ["jid"])
    assert info.value.errmsg == 'jail "1" not found'


@pytest.mark.parametrize("key", [True, 1.5, None, b"web", {"a": 1, "b": 2}, {"path": "/"}])
def test_a_bad_key_is_a_typeerror(key: Any) -> None:
    with pytest.raises(TypeError):
        jailcore.jail_get(key, ["jid"])


def test_unknown_names_in_jail_get_are_valueerrors_before_the_call() -> None:
    jid = jailcore.jail_set({"name": "web", "persist": True}, JailFlag.CREATE)
    with pytest.raises(ValueError, match=r"^unknown parameter: bogus$"):
        jailcore.jail_get(jid, ["name", "bogus"])


def test_dying_flag_finds_a_removed_jail_held_by_a_reference() -> None:
    jid = jailcore.jail_set({"name": "web", "persist": True}, JailFlag.CREATE)
    jailcore.model.hold(jid)
    jailcore.jail_remove(jid)
    with pytest.raises(JailNotFoundError) as info:
        jailcore.jail_get(jid, ["jid"])
    assert info.value.errmsg == f"jail {jid} is dying"
    got = jailcore.jail_get(jid, ["jid", "name", "dying", "nodying", "persist"], JailFlag.DYING)
    assert got == {"jid": jid, "name": "web", "dying": True, "nodying": False, "persist": False}
    assert jailcore.jail_get("web", ["dying"], JailFlag.DYING) == {"dying": True}
    assert jailcore.jail_get({"lastjid": 0}, ["jid"], JailFlag.DYING) == {"jid": jid}
    with pytest.raises(JailNotFoundError):
        jailcore.jail_get({"lastjid": 0}, ["jid"])
    jailcore.model.release(jid)
    with pytest.raises(JailNotFoundError) as gone:
        jailcore.jail_get(jid, ["jid"], JailFlag.DYING)
    assert gone.value.errmsg == f"jail {jid} not found"


# ---- jail_remove / jail_attach ---------------------------------------------------------


def test_jail_remove_removes_and_an_absent_jid_is_einval() -> None:
    jid = jailcore.jail_set({"name": "web", "persist": True}, JailFlag.CREATE)
    child = jailcore.jail_set({"name": "web.child", "persist": True}, JailFlag.CREATE)
    assert jailcore.jail_remove(jid) is None
    for gone in (jid, child):
        with pytest.raises(JailNotFoundError):
            jailcore.jail_get(gone, ["jid"])
    with pytest.raises(JailError) as info:
        jailcore.jail_remove(jid)
    e = info.value
    assert type(e) is JailError
    assert (e.errno, e.errmsg, e.operation) == (errno.EINVAL, None, "jail_remove")


def test_jail_attach_to_an_absent_jid_is_einval() -> None:
    with pytest.raises(JailError) as info:
        jailcore.jail_attach(5)
    assert type(info.value) is JailError
    assert (info.value.errno, info.value.operation) == (errno.EINVAL, "jail_attach")


def test_jail_attach_moves_the_calling_process() -> None:
    jid = jailcore.jail_set({"name": "web", "persist": True}, JailFlag.CREATE)

    def attach() -> tuple[int, int, Any]:
        before = jailcore.model.current_jid()
        jailcore.jail_attach(jid)
        # From inside, its own jail is not a descendant: not visible.
        inside = catching(lambda: jailcore.jail_get(jid, ["jid"]))()
        return before, jailcore.model.current_jid(), inside

    before, after, inside = in_child(attach)
    assert (before, after) == (0, jid)
    assert isinstance(inside, JailNotFoundError)
    assert jailcore.model.current_jid() == 0  # the parent stays on the host


def test_attach_flag_on_create_moves_the_caller_and_the_jail_lives_with_it() -> None:
    def create_and_attach() -> tuple[int, int]:
        jid = jailcore.jail_set({"name": "att"}, JailFlag.CREATE | JailFlag.ATTACH)
        return jid, jailcore.model.current_jid()

    jid, current = in_child(create_and_attach)
    assert current == jid


def test_non_root_gets_jailpermissionerror_from_remove_attach_and_set() -> None:
    jid = jailcore.jail_set({"name": "web", "persist": True}, JailFlag.CREATE)

    def try_all() -> list[Any]:
        return [
            catching(lambda: jailcore.jail_remove(jid))(),
            catching(lambda: jailcore.jail_attach(jid))(),
            catching(lambda: jailcore.jail_set({"name": "x", "persist": True},
                                               JailFlag.CREATE))(),
            jailcore.jail_get(jid, ["name"]),  # jail_get needs no privilege
        ]

    removing, attaching, setting, reading = in_child(try_all, uid=65534)
    for err, op in ((removing, "jail_remove"), (attaching, "jail_attach"),
                    (setting, "jail_set")):
        assert type(err) is JailPermissionError, err
        assert isinstance(err, PermissionError)
        assert (err.errno, err.operation) == (errno.EPERM, op)
    assert reading == {"name": "web"}
    assert jailcore.jail_get(jid, ["dying"]) == {"dying": False}  # still there


def test_jailsys_values_come_back_as_jailsys() -> None:
    jid = jailcore.jail_set({"persist": True, "vnet": "new", "host": "inherit"},
                            JailFlag.CREATE)
    got = jailcore.jail_get(jid, ["vnet", "host"])
    assert got == {"vnet": JailSys.NEW, "host": JailSys.INHERIT}
    assert str(got["vnet"]) == "new"


def test_flags_are_the_header_values() -> None:
    assert [int(f) for f in JailFlag] == [1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80]
    assert [int(v) for v in JailSys] == [0, 1, 2]
    assert JailSys.parse("Inherit") is JailSys.INHERIT
    assert JailFlag.CREATE | JailFlag.UPDATE == 3


def test_create_of_an_existing_jid_is_jailexistserror() -> None:
    jailcore.jail_set({"jid": 3, "persist": True}, JailFlag.CREATE)
    with pytest.raises(JailExistsError) as info:
        jailcore.jail_set({"jid": 3, "persist": True}, JailFlag.CREATE)
    assert info.value.errmsg == "jail 3 already exists"


# ---- import ------------------------------------------------------------------------------


def _python(code: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    env = {"PATH": str(empty), "PYTHONPATH": str(REPO), "HOME": str(tmp_path),
           "JAILCORE_MODEL_STATE": os.environ["JAILCORE_MODEL_STATE"]}  # the test's host
    # A sanitizer run preloads its runtime: keep that, it spawns nothing.
    for name in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if name in os.environ:
            env[name] = os.environ[name]
    return subprocess.run([sys.executable, *args, "-c", code], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_nothing_is_spawned_at_import(tmp_path: Path) -> None:
    """libioc/iocage used ctypes.util.find_library, which runs a compiler at import."""
    code = """
import os, subprocess, sys
def boom(*args, **kwargs):
    raise AssertionError(f"spawned at import: {args!r}")
subprocess.Popen.__init__ = boom  # the class stays: jailcore subclasses it
for name in ("system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp",
             "execv", "execve", "execvp", "execvpe"):
    setattr(os, name, boom)
import jailcore, jailcore.model
assert "ctypes.util" not in sys.modules, "ctypes.util imported"
print(jailcore.jail_set({"persist": True}, jailcore.JailFlag.CREATE))
"""
    out = _python(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"
    # No subprocess machinery is even imported.
    timing = _python("import jailcore, jailcore.model", tmp_path, "-X", "importtime")
    assert timing.returncode == 0, timing.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in timing.stderr.splitlines()]
    assert "jailcore._native" in imported
    assert not {"subprocess", "ctypes.util", "ctypes"} & set(imported)
