"""Multi-process behaviour of the kernel model: forked children, real signals, state files.

The model keeps its host in shared memory: a forked child and its parent see the
same jails, a process that attached through the model counts as a process of that
jail (its exit is noticed at the model's next call; an unreaped zombie still
counts), and jail_remove kills such processes with a real SIGKILL.  A state file
(JAILCORE_MODEL_STATE, jailcore.model.use_state_file) lets unrelated processes
share one host.  Spec: shared/spec/freebsd-jail-kernel.md sections 4.7, 6, 11.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from forked import need_root
from modelabi import (
    JAIL_ATTACH,
    JAIL_CREATE,
    JAIL_DYING,
    JAIL_UPDATE,
    I,
    attach,
    create,
    jail_set,
    remove,
    sysctlbyname,
)
from modelabi_check import ROOT_ONLY, expect_fail, fetch, jail_list, values
from modelabi_child import Child, run_child

import jailcore.model

TESTS_DIR = str(Path(__file__).resolve().parent.parent)
JAILCORE_DIR = str(Path(jailcore.model.__file__).resolve().parents[1])

pytestmark = ROOT_ONLY

# ---------------------------------------------------------------------------------------
# process-specific helpers


def killed(status: int) -> bool:
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def wait_exited_unreaped(pid: int, timeout: float = 5.0) -> None:
    """Wait until child `pid` has exited, leaving it a zombie (not reaped)."""
    deadline = time.monotonic() + timeout
    while True:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is not None and info.si_pid == pid:
            return
        assert time.monotonic() < deadline, "child did not exit in time"
        time.sleep(0.005)


def reap(pid: int, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        got, status = os.waitpid(pid, os.WNOHANG)
        if got == pid:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"process {pid} did not exit in time")
        time.sleep(0.005)


def jailed_value() -> int:
    ret, err, data = sysctlbyname("security.jail.jailed")
    assert (ret, err, len(data)) == (0, 0, 4)
    return int.from_bytes(data, "little", signed=True)


def set_subreaper(on: bool) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0


def py_subprocess(code: str, state: Path, **kw: Any) -> subprocess.Popen[str]:
    """An unrelated Python process on the host kept in `state`."""
    env = dict(os.environ)
    env["JAILCORE_MODEL_STATE"] = str(state)
    # The same jailcore as this process imported (installed or built in place).
    env["PYTHONPATH"] = os.pathsep.join(
        [TESTS_DIR, JAILCORE_DIR, *filter(None, [os.environ.get("PYTHONPATH")])])
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=TESTS_DIR, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def py_run(code: str, state: Path) -> Any:
    p = py_subprocess(code, state)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    return json.loads(out)


# ---------------------------------------------------------------------------------------
# a forked child's jails are the parent's jails


def test_child_creating_persistent_jail_is_seen_by_parent() -> None:
    """A jail created by a forked child lives in the shared host: the parent sees it."""

    def body() -> Any:
        r = jail_set([("name", "fromchild"), ("persist", None), ("host.hostname", "kid")],
                     JAIL_CREATE)
        return [r.ret, r.errno, r.errmsg, jailcore.model.current_jid()]

    assert run_child(body) == [1, 0, "", 0]
    assert values("fromchild", "jid", "persist", "host.hostname", "dying") == {
        "jid": 1, "persist": 1, "host.hostname": "kid", "dying": 0}
    # and a change by the parent is seen by the next child
    r = jail_set([("jid", I(1)), ("host.hostname", "parent")], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (1, "")
    assert run_child(lambda: values(1, "host.hostname")) == {"host.hostname": "parent"}
    assert jailcore.model.current_jid() == 0


def test_attached_child_keeps_nonpersistent_jail_alive() -> None:
    """A non-persistent jail created with JAIL_ATTACH by a child lives while the child lives, and
    vanishes once it exits and is reaped.
    """

    def body() -> Any:
        r = jail_set([("name", "eph")], JAIL_CREATE | JAIL_ATTACH)
        return [r.ret, r.errno, r.errmsg, jailcore.model.current_jid()]

    c = Child(body, after="wait")
    try:
        jid, err, msg, cur = c.result()
        assert (jid, err, msg, cur) == (1, 0, "", 1)
        # seen from the parent, alive, held only by the child process
        assert values(jid, "name", "persist", "dying") == {"name": "eph", "persist": 0, "dying": 0}
        assert values("eph", "jid") == {"jid": jid}
        assert jail_list() == [jid]
        assert jailcore.model.current_jid() == 0
        c.go()
        wait_exited_unreaped(c.pid)
        # an exited child that is not yet reaped still counts
        assert values(jid, "dying", "name") == {"dying": 0, "name": "eph"}
        assert c.wait() == 0
        expect_fail(fetch(jid, "name"), errno.ENOENT, f"jail {jid} not found")
        expect_fail(fetch(jid, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {jid} not found")
        expect_fail(fetch("eph", "jid", flags=JAIL_DYING), errno.ENOENT, 'jail "eph" not found')
        assert jail_list(JAIL_DYING) == []
    finally:
        c.cleanup()


def test_attached_child_counts_as_user_reference() -> None:
    """A child that attached to a persistent jail counts: nopersist leaves the jail alive until the
    child is gone.
    """
    need_root()
    jid = create(("name", "web"))
    c = Child(lambda: {"attach": attach(jid), "cur": jailcore.model.current_jid()}, after="wait")
    try:
        assert c.result() == {"attach": [0, 0], "cur": jid}
        r = jail_set([("jid", I(jid)), ("nopersist", None)], JAIL_UPDATE)
        assert (r.ret, r.errmsg) == (jid, "")
        assert values(jid, "persist", "dying") == {"persist": 0, "dying": 0}
        c.go()
        assert c.wait() == 0
        expect_fail(fetch(jid, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {jid} not found")
    finally:
        c.cleanup()


def test_nonpersistent_jail_vanishes_with_last_process() -> None:
    """A non-persistent jail stays alive while any attached process lives; it vanishes when the last
    one exits.
    """
    need_root()

    def creator() -> Any:
        r = jail_set([("name", "shared")], JAIL_CREATE | JAIL_ATTACH)
        return [r.ret, r.errmsg]

    a = Child(creator, after="wait")
    b: Child | None = None
    try:
        jid, msg = a.result()
        assert (jid, msg) == (1, "")
        b = Child(lambda: {"attach": attach(jid), "cur": jailcore.model.current_jid()},
                  after="wait")
        assert b.result() == {"attach": [0, 0], "cur": jid}
        a.go()
        assert a.wait() == 0
        assert values(jid, "dying", "persist") == {"dying": 0, "persist": 0}
        b.go()
        assert b.wait() == 0
        expect_fail(fetch(jid, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {jid} not found")
        assert jail_list(JAIL_DYING) == []
    finally:
        a.cleanup()
        if b is not None:
            b.cleanup()


def test_nonpersistent_jail_with_lingering_reference_goes_dying() -> None:
    """When the last process of a non-persistent jail exits the jail becomes dying (kept visible by
    a lingering reference).
    """
    c = Child(lambda: jail_set([("name", "eph")], JAIL_CREATE | JAIL_ATTACH).ret, after="wait")
    try:
        jid = c.result()
        assert jid == 1
        jailcore.model.hold(jid)
        c.go()
        assert c.wait() == 0
        expect_fail(fetch(jid, "name"), errno.ENOENT, f"jail {jid} is dying")
        assert values(jid, "dying", "persist", flags=JAIL_DYING) == {"dying": 1, "persist": 0}
        # a dying jail cannot be attached to
        assert run_child(lambda: attach(jid)) == [-1, errno.EINVAL]
        jailcore.model.release(jid)
        assert jail_list(JAIL_DYING) == []
    finally:
        c.cleanup()


# ---------------------------------------------------------------------------------------
# jail_remove kills for real


def test_remove_kills_attached_child_in_pause() -> None:
    """jail_remove sends SIGKILL to a child attached to the jail that blocks in signal.pause()."""
    need_root()
    jid = create(("name", "web"))
    c = Child(lambda: {"attach": attach(jid), "cur": jailcore.model.current_jid()},
              after="pause")
    try:
        assert c.result() == {"attach": [0, 0], "cur": jid}
        assert os.waitpid(c.pid, os.WNOHANG) == (0, 0)
        t0 = time.monotonic()
        assert remove(jid) == (0, 0)
        status = c.wait()
        assert killed(status)
        assert time.monotonic() - t0 < 5
        expect_fail(fetch(jid, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {jid} not found")
    finally:
        c.cleanup()


def test_remove_kills_child_sleeping_in_time_sleep() -> None:
    """jail_remove kills a child blocked in time.sleep(); os.waitpid shows SIGKILL."""
    need_root()
    jid = create(("name", "web"))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            ret = attach(jid)
            os.write(w, (json.dumps(ret) + "\n").encode())
            time.sleep(60)
        finally:
            os._exit(3)
    os.close(w)
    try:
        ready, _, _ = select.select([r], [], [], 5)
        assert ready
        assert json.loads(os.read(r, 100)) == [0, 0]
        assert remove(jid) == (0, 0)
        # before it is reaped the killed child still holds the jail dying
        expect_fail(fetch(jid, "name"), errno.ENOENT, f"jail {jid} is dying")
        status = reap(pid)
        assert killed(status)
        expect_fail(fetch(jid, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {jid} not found")
    finally:
        os.close(r)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def test_remove_kills_forked_grandchild_in_jail() -> None:
    """A process forked inside the jail is a process of the jail too: it keeps a non-persistent jail
    alive and jail_remove kills it.
    """
    need_root()
    set_subreaper(True)
    try:
        def body() -> Any:
            r = jail_set([("name", "fam")], JAIL_CREATE | JAIL_ATTACH)
            gr, gw = os.pipe()
            gpid = os.fork()
            if gpid == 0:  # grandchild
                try:
                    os.write(gw, (json.dumps([jailcore.model.current_jid(), jailed_value()])
                                  + "\n").encode())
                    while True:
                        signal.pause()
                finally:
                    os._exit(0)
            ready, _, _ = select.select([gr], [], [], 5)
            assert ready
            return {"jid": r.ret, "gpid": gpid, "grandchild": json.loads(os.read(gr, 100))}

        c = Child(body)  # the child exits right after reporting
        try:
            out = c.result()
            jid, gpid = out["jid"], out["gpid"]
            assert out == {"jid": 1, "gpid": gpid, "grandchild": [1, 1]}
            assert c.wait() == 0
            # the grandchild (now ours, as subreaper) keeps the jail alive
            assert os.waitpid(gpid, os.WNOHANG) == (0, 0)
            assert values(jid, "dying", "persist") == {"dying": 0, "persist": 0}
            assert remove(jid) == (0, 0)
            assert killed(reap(gpid))
            expect_fail(fetch(jid, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {jid} not found")
        finally:
            c.cleanup()
    finally:
        set_subreaper(False)


# ---------------------------------------------------------------------------------------
# the view from inside


def test_attached_child_sees_itself_jailed() -> None:
    """A child attached to a jail sees itself jailed (current_jid, security.jail.jailed = 1) and
    cannot see its own jail by jid (case 71).
    """
    need_root()
    j = create(("name", "j"), ("children.max", I(1)))
    sub = create(("name", "j.sub"))
    other = create(("name", "other"))

    def body() -> Any:
        before = [jailcore.model.current_jid(), jailed_value()]
        ret = attach(j)
        own = fetch(j, "name")
        own_by_name = fetch("j", "jid")
        oth = fetch(other, "name")
        child = fetch(sub, "name", "parent")
        return {
            "before": before,
            "attach": ret,
            "after": [jailcore.model.current_jid(), jailed_value()],
            "own": [own.ret, own.errno, own.errmsg],
            "own_by_name": [own_by_name.ret, own_by_name.errno, own_by_name.errmsg],
            "other": [oth.ret, oth.errno, oth.errmsg],
            "sub": [child.ret, child.str("name"), child.int("parent")],
            "list": jail_list(),
        }

    assert run_child(body) == {
        "before": [0, 0],
        "attach": [0, 0],
        "after": [j, 1],
        "own": [-1, errno.ENOENT, f"jail {j} not found"],
        "own_by_name": [-1, errno.ENOENT, 'jail "j" not found'],
        "other": [-1, errno.ENOENT, f"jail {other} not found"],
        "sub": [sub, "sub", 0],
        "list": [sub],
    }
    assert [jailcore.model.current_jid(), jailed_value()] == [0, 0]
    assert jail_list() == [j, sub, other]


def test_attach_with_real_path_chroots(tmp_path: Path) -> None:
    """Attach with a real path: the attached child's cwd is "/" and it sees the jail directory's
    files at "/" (chroot).
    """
    need_root()
    root = tmp_path / "jroot"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hello").write_text("inside\n")
    (root / "marker").write_text("m")
    jid = create(("name", "rooted"), ("path", str(root)))
    assert values(jid, "path") == {"path": os.path.realpath(root)}

    def body() -> Any:
        os.chdir(str(tmp_path))
        ret = attach(jid)
        with open("/etc/hello") as f:
            hello = f.read()
        return {"attach": ret, "cwd": os.getcwd(), "ls": sorted(os.listdir("/")),
                "hello": hello, "realpath": os.path.realpath("marker"),
                "cur": jailcore.model.current_jid()}

    assert run_child(body) == {"attach": [0, 0], "cwd": "/", "ls": ["etc", "marker"],
                               "hello": "inside\n", "realpath": "/marker", "cur": jid}
    # the parent's own root is unchanged
    assert os.path.exists(root / "marker")
    assert jailcore.model.current_jid() == 0


# ---------------------------------------------------------------------------------------
# a state file shared by unrelated processes


CREATE_SCRIPT = """
import json, modelabi, jailcore.model
r = modelabi.jail_set([("name", "shared"), ("persist", None), ("host.hostname", "fromsub")],
                      modelabi.JAIL_CREATE)
print(json.dumps([r.ret, r.errno, r.errmsg, jailcore.model.state_path()]))
"""

LIST_SCRIPT = """
import json, modelabi
out = []
last = 0
while True:
    r = modelabi.jail_get([("lastjid", modelabi.I(last)), ("jid", modelabi.Buf(4)),
                           ("name", modelabi.Buf(256))])
    if r.ret == -1:
        out.append([r.errno, r.errmsg])
        break
    out.append([r.ret, r.str("name")])
    last = r.ret
print(json.dumps(out))
"""

ATTACH_SCRIPT = """
import json, sys, modelabi, jailcore.model
r = modelabi.jail_set([("name", "lives")], modelabi.JAIL_CREATE | modelabi.JAIL_ATTACH)
print(json.dumps([r.ret, r.errmsg, jailcore.model.current_jid()]), flush=True)
sys.stdin.read()
"""


def test_state_file_shared_by_unrelated_processes(tmp_path: Path) -> None:
    """A state file shared by unrelated processes: a jail made by one is seen by the other."""
    state = tmp_path / "host.jmstate"
    mine = jailcore.model.state_path()  # the test's own host (jailcore's pytest plugin)
    assert mine is not None and os.path.realpath(mine) != os.path.realpath(state)
    ret, err, msg, path = py_run(CREATE_SCRIPT, state)
    assert (ret, err, msg) == (1, 0, "")
    assert os.path.realpath(path) == os.path.realpath(state)
    assert state.exists()
    assert py_run(LIST_SCRIPT, state) == [[1, "shared"], [errno.ENOENT, "no jail after 1"]]
    # this process still lives on its own host
    assert jailcore.model.state_path() == mine
    assert jail_list() == []
    jailcore.model.use_state_file(state)
    try:
        assert os.path.realpath(str(jailcore.model.state_path())) == os.path.realpath(state)
        assert values("shared", "jid", "persist", "host.hostname") == {
            "jid": 1, "persist": 1, "host.hostname": "fromsub"}
        assert create(("name", "mine")) == 2
        assert py_run(LIST_SCRIPT, state) == [[1, "shared"], [2, "mine"],
                                              [errno.ENOENT, "no jail after 2"]]
        # a process attached in another process counts there and here
        p = py_subprocess(ATTACH_SCRIPT, state)
        try:
            assert p.stdout is not None and p.stdin is not None
            line = p.stdout.readline()
            assert json.loads(line) == [3, "", 3], p.stderr.read() if p.stderr else ""
            assert values("lives", "jid", "persist", "dying") == {
                "jid": 3, "persist": 0, "dying": 0}
            p.stdin.close()
            assert p.wait(timeout=30) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        expect_fail(fetch("lives", "jid", flags=JAIL_DYING), errno.ENOENT, 'jail "lives" not found')
        assert jail_list() == [1, 2]
    finally:
        jailcore.model.use_state_file(None)
    assert jailcore.model.state_path() is None
    assert jail_list() == []  # a fresh private host
    assert py_run(LIST_SCRIPT, state) == [[1, "shared"], [2, "mine"],
                                          [errno.ENOENT, "no jail after 2"]]


def test_state_file_via_use_state_file_in_forked_children(tmp_path: Path) -> None:
    """use_state_file in this process: forked children share that host, and a fresh process sees
    what they made.
    """
    state = tmp_path / "forked.jmstate"
    jailcore.model.use_state_file(state)
    try:
        assert run_child(lambda: create(("name", "kid"))) == 1
        assert values("kid", "jid") == {"jid": 1}
    finally:
        jailcore.model.use_state_file(None)
    assert py_run(LIST_SCRIPT, state) == [[1, "kid"], [errno.ENOENT, "no jail after 1"]]


def test_state_file_rejects_foreign_file(tmp_path: Path) -> None:
    """use_state_file on a file that is not a model state file fails with EINVAL and keeps the
    current host.
    """
    bogus = tmp_path / "bogus"
    bogus.write_bytes(b"not a jail model state file\n" * 200)
    jid = create(("name", "here"))
    before = jailcore.model.state_path()
    with pytest.raises(OSError) as ei:
        jailcore.model.use_state_file(bogus)
    assert ei.value.errno == errno.EINVAL
    assert jailcore.model.state_path() == before
    assert values("here", "jid") == {"jid": jid}
    assert bogus.read_bytes() == b"not a jail model state file\n" * 200
