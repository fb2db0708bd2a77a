"""Jail descriptors (FreeBSD 15), features, and temporary jails."""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import modelabi
import pytest
from kernel.forking import Forked, in_child, result_in_child

import jailcore
import jailcore.model
from jailcore import Jail, JailDescriptor, JailError, JailExistsError, JailNotFoundError, _backend


def assert_gone(jid: int) -> None:
    with pytest.raises(JailNotFoundError) as info:
        Jail.get(jid)
    assert info.value.errmsg == f"jail {jid} not found"


@pytest.fixture
def release14() -> Iterator[None]:
    jailcore.model.set_version(14)
    yield


# ---- features ------------------------------------------------------------------------


def test_features_on_15() -> None:
    f = jailcore.features
    assert f is jailcore.jail.features
    assert isinstance(f, jailcore.Features)
    assert f.backend == "model"
    assert f.jail_descriptors is True
    assert f.osreldate == 1500000
    assert repr(f) == (
        "<jailcore features backend='model' jail_descriptors=True osreldate=1500000>"
    )


def test_features_after_switching_to_14(release14: None) -> None:
    assert jailcore.features.jail_descriptors is False
    assert jailcore.features.osreldate // 100000 == 14


def test_features_are_read_live() -> None:
    assert jailcore.features.jail_descriptors is True
    jailcore.model.set_version(14)
    assert jailcore.features.jail_descriptors is False
    jailcore.model.set_version(15)
    assert jailcore.features.jail_descriptors is True


# ---- on 14.x every descriptor operation is a clear ENOSYS ------------------------------


def _assert_enosys(call: Callable[[], Any], operation: str) -> None:
    with pytest.raises(JailError) as info:
        call()
    err = info.value
    assert type(err) is JailError
    assert err.errno == errno.ENOSYS
    assert err.errmsg == "jail descriptors need FreeBSD 15 or newer"
    assert err.operation == operation
    assert str(err) == f"{operation}: jail descriptors need FreeBSD 15 or newer [ENOSYS]"


def test_descriptor_class_operations_on_14(release14: None) -> None:
    jail = Jail.create(name="web")
    _assert_enosys(lambda: JailDescriptor.open(jail), "jail_get")
    _assert_enosys(lambda: JailDescriptor.open("web", owning=True), "jail_get")
    _assert_enosys(lambda: JailDescriptor.create(name="other"), "jail_set")
    assert [j.name for j in jailcore.jails()] == ["web"]


def test_descriptor_instance_operations_on_14(release14: None) -> None:
    # A descriptor number that came from elsewhere (say, over a unix socket).
    fd = os.open(os.devnull, os.O_RDONLY)
    desc = JailDescriptor(fd)
    try:
        _assert_enosys(desc.jail, "jail_get")
        _assert_enosys(lambda: desc.jid, "jail_get")
        _assert_enosys(lambda: desc.get("name"), "jail_get")
        _assert_enosys(lambda: desc.update(host__hostname="x"), "jail_set")
        _assert_enosys(lambda: desc.create_child(name="x"), "jail_set")
        _assert_enosys(desc.attach, "jail_attach_jd")
        _assert_enosys(desc.remove, "jail_remove_jd")
    finally:
        desc.close()
    assert desc.closed


def test_temporary_jail_still_works_on_14(release14: None) -> None:
    with Jail.temporary(name="tmp") as tmp:
        assert Jail.get("tmp") == tmp
    assert list(jailcore.jails()) == []


# ---- open ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["jail", "jid", "name"])
def test_open_an_existing_jail(key: str) -> None:
    web = Jail.create(name="web", host__hostname="h")
    arg: Any = {"jail": web, "jid": web.jid, "name": "web"}[key]
    with JailDescriptor.open(arg) as desc:
        assert desc.owning is False
        assert desc.closed is False
        assert isinstance(desc.fileno(), int) and desc.fileno() >= 0
        assert desc.jid == web.jid
        assert desc.jail() == web
        assert desc.get("name", "host.hostname") == {"name": "web", "host.hostname": "h"}
    assert desc.closed
    # Not owning: the jail outlives the descriptor.
    assert Jail.get("web") == web


def test_open_an_absent_jail_is_not_found() -> None:
    with pytest.raises(JailNotFoundError) as info:
        JailDescriptor.open("nope")
    assert info.value.errmsg == 'jail "nope" not found'


def test_open_owning_removes_the_jail_on_close() -> None:
    web = Jail.create(name="web")
    desc = JailDescriptor.open(web, owning=True)
    assert desc.owning is True
    assert Jail.get("web") == web
    desc.close()
    assert_gone(web.jid)


def test_fileno_is_a_real_descriptor_of_this_process() -> None:
    web = Jail.create(name="web")
    with JailDescriptor.open(web) as desc:
        fd = desc.fileno()
        os.fstat(fd)  # open in this process
    with pytest.raises(OSError):
        os.fstat(fd)


def test_close_is_idempotent_and_fileno_fails_after_it() -> None:
    web = Jail.create(name="web")
    desc = JailDescriptor.open(web)
    desc.close()
    desc.close()
    assert desc.closed is True
    with pytest.raises(ValueError, match="closed"):
        desc.fileno()
    with pytest.raises(ValueError, match="closed"):
        desc.get("name")


def test_repr() -> None:
    web = Jail.create(name="web")
    desc = JailDescriptor.open(web)
    fd = desc.fileno()
    assert repr(desc) == f"<JailDescriptor fd={fd} jid={web.jid} owning=False>"
    desc.close()
    assert repr(desc) == f"<JailDescriptor closed jid={web.jid} owning=False>"


# ---- create ------------------------------------------------------------------------------


def test_create_owns_by_default_closing_removes_the_jail() -> None:
    desc = JailDescriptor.create(name="web", host__hostname="h")
    assert desc.owning is True
    jail = desc.jail()
    assert jail == Jail.get("web")
    assert jail.get("persist", "host.hostname") == {"persist": True, "host.hostname": "h"}
    desc.close()
    assert_gone(jail.jid)
    assert list(jailcore.jails()) == []


def test_create_as_a_context_manager() -> None:
    with JailDescriptor.create({"name": "web"}) as desc:
        jid = desc.jid
        assert Jail.get("web").jid == jid
    assert desc.closed
    assert_gone(jid)


def test_create_not_owning_leaves_the_jail() -> None:
    with JailDescriptor.create(name="web", owning=False) as desc:
        assert desc.owning is False
        jid = desc.jid
    assert Jail.get("web").jid == jid


def test_create_with_explicit_nopersist_is_the_kernels_einval() -> None:
    with pytest.raises(JailError) as info:
        JailDescriptor.create(name="web", persist=False)
    assert info.value.errno == errno.EINVAL
    assert info.value.errmsg == "new jail must persist or attach"


def test_create_duplicate_is_jail_exists_error() -> None:
    Jail.create(name="web")
    with pytest.raises(JailExistsError) as info:
        JailDescriptor.create(name="web")
    assert info.value.errmsg == 'jail "web" already exists'


def test_owning_descriptor_shared_with_a_child_process() -> None:
    """The jail goes only when the last copy of the owning descriptor is closed."""
    desc = JailDescriptor.create(name="web")
    jid = desc.jid

    def body() -> int:
        return 1

    with Forked(body, linger=True) as child:  # holds a copy of the descriptor
        assert child.result() == 1
        desc.close()
        assert Jail.get("web").jid == jid
        child.kill()
    assert_gone(jid)


# ---- operations through a descriptor ----------------------------------------------------------


def test_update_through_a_descriptor() -> None:
    web = Jail.create(name="web")
    with JailDescriptor.open(web) as desc:
        assert desc.update(host__hostname="via-desc") is None
        desc.update({"children.max": 2})
    assert web.get("host.hostname", "children.max") == {
        "host.hostname": "via-desc",
        "children.max": 2,
    }


def test_update_create_only_through_a_descriptor_is_einval() -> None:
    web = Jail.create(name="web")
    with JailDescriptor.open(web) as desc, pytest.raises(JailError) as info:
        desc.update(path="/")
    assert info.value.errno == errno.EINVAL
    assert info.value.errmsg == "path cannot be changed after creation"


def test_attach_through_a_descriptor_in_a_forked_child() -> None:
    web = Jail.create(name="web")
    desc = JailDescriptor.open(web)

    def body() -> int:
        desc.attach()
        return jailcore.model.current_jid()

    try:
        assert result_in_child(body) == web.jid
    finally:
        desc.close()
    assert jailcore.model.current_jid() == 0


def test_remove_through_a_descriptor() -> None:
    web = Jail.create(name="web", children__max=1)
    db = Jail.create(name="web.db")
    with JailDescriptor.open(web) as desc:
        assert desc.remove() is None
        assert_gone(web.jid)
        assert_gone(db.jid)
        with pytest.raises(JailNotFoundError) as info:
            desc.get("name")
        assert info.value.errmsg == "descriptor to dead jail"
        with pytest.raises(JailNotFoundError) as rinfo:
            desc.remove()
        assert rinfo.value.errno == errno.ENOENT
        assert rinfo.value.operation == "jail_remove_jd"


def test_attach_through_a_descriptor_to_a_dead_jail_fails() -> None:
    web = Jail.create(name="web")
    desc = JailDescriptor.open(web)
    web.remove()

    def body() -> None:
        desc.attach()

    try:
        out = in_child(body)
    finally:
        desc.close()
    # spec 4.10: a descriptor of a removed jail is ENOENT
    assert out["exception"]["raised"] == "JailNotFoundError"
    assert out["exception"]["errno"] == errno.ENOENT
    assert out["exception"]["str"].startswith("jail_attach_jd: ")


def test_create_child_at_a_descriptor_is_named_relative_to_its_jail() -> None:
    web = Jail.create(name="web", children__max=2)
    with JailDescriptor.open(web) as desc:
        db = desc.create_child(name="db", host__hostname="db")
        assert isinstance(db, Jail)
        cache = desc.create_child({"name": "cache"})
    assert db.name == "web.db"
    assert db.parent == web.jid
    assert db.get("persist", "host.hostname") == {"persist": True, "host.hostname": "db"}
    assert Jail.get("web.db") == db
    assert Jail.get("web.cache") == cache
    assert web.children() == [db, cache]


def test_create_child_duplicate_name_is_relative_too() -> None:
    web = Jail.create(name="web", children__max=2)
    Jail.create(name="db")  # a top-level "db" does not clash with web.db
    with JailDescriptor.open(web) as desc:
        desc.create_child(name="db")
        with pytest.raises(JailExistsError) as info:
            desc.create_child(name="db")
    assert info.value.errmsg == 'jail "db" already exists'


def test_create_child_needs_the_descriptor_jails_children_max() -> None:
    web = Jail.create(name="web")  # children.max 0
    with JailDescriptor.open(web) as desc, pytest.raises(JailError) as info:
        desc.create_child(name="db")
    assert info.value.errno == errno.EPERM


# ---- temporary jails -------------------------------------------------------------------------


def test_temporary_removed_on_exit() -> None:
    with Jail.temporary(name="tmp", host__hostname="t") as tmp:
        assert isinstance(tmp, Jail)
        assert Jail.get("tmp") == tmp
        assert tmp.get("persist", "host.hostname") == {"persist": True, "host.hostname": "t"}
        jid = tmp.jid
    assert_gone(jid)
    assert list(jailcore.jails()) == []


def test_temporary_removed_when_the_body_raises() -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom, match="inside"), Jail.temporary({"name": "tmp"}) as tmp:
        jid = tmp.jid
        raise Boom("inside")
    assert_gone(jid)


def test_temporary_removes_its_children() -> None:
    with Jail.temporary(name="tmp", children__max=1) as tmp:
        child = Jail.create(name="tmp.c")
        assert tmp.children() == [child]
    assert_gone(child.jid)


def test_temporary_removed_inside_the_body_is_fine() -> None:
    with Jail.temporary(name="tmp") as tmp:
        tmp.remove()
    assert list(jailcore.jails()) == []


def test_temporary_holds_an_owning_descriptor_on_15(monkeypatch: pytest.MonkeyPatch) -> None:
    flags: list[int] = []
    real = _backend.jail_set

    def spy(iov: Any, niov: int, f: int) -> Any:
        flags.append(f)
        return real(iov, niov, f)

    monkeypatch.setattr(_backend, "jail_set", spy)
    with Jail.temporary(name="tmp"):
        pass
    assert flags == [int(jailcore.JailFlag.CREATE | jailcore.JailFlag.OWN_DESC)]


def killed_in_a_temporary(body: Callable[[], list[int]] = list) -> list[int]:
    """A forked child makes ``Jail.temporary(name="tmp")``, runs ``body`` in it and
    reports the jid and what body returned, then is SIGKILLed inside the with
    body; returns what it reported."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(r)
            with Jail.temporary(name="tmp") as tmp:
                report = [tmp.jid, *body()]
                os.write(w, (" ".join(map(str, report)) + "\n").encode())
                while True:
                    signal.pause()
        finally:
            os._exit(1)
    os.close(w)
    try:
        line = b""
        while not line.endswith(b"\n"):
            chunk = os.read(r, 64)
            assert chunk, "the child exited before reporting"
            line += chunk
        assert Jail.get("tmp").jid == int(line.split()[0])
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(r)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return [int(x) for x in line.split()]


def test_temporary_in_a_process_killed_in_the_with_body_leaves_no_jail() -> None:
    """A forked child creates a temporary jail and is SIGKILLed inside the with body:
    its owning descriptor closes with it, and the jail goes with the descriptor."""
    [jid] = killed_in_a_temporary()
    # The parent's next call sees it gone.
    assert_gone(jid)
    assert list(jailcore.jails()) == []


# ---- close-on-exec ---------------------------------------------------------------------
# FreeBSD hands jail descriptors out without close-on-exec (kern_jaildesc.c,
# jaildesc_alloc), and so does the model; jailcore sets the flag on every one it
# receives, so that no program it did not mean to give the jail to inherits it.

JAIL_GET_DESC = int(jailcore.JailFlag.GET_DESC)
JAIL_OWN_DESC = int(jailcore.JailFlag.OWN_DESC)


def cloexec(fd: int) -> bool:
    return bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)


@pytest.mark.parametrize("flag", [JAIL_GET_DESC, JAIL_OWN_DESC])
def test_the_model_hands_out_descriptors_inheritable_as_freebsd_does(flag: int) -> None:
    jid = modelabi.create(("name", "web"))
    r = modelabi.get(("jid", modelabi.I(jid)), "desc", flags=flag)
    assert r.ok, (r.errno, r.errmsg)
    fd = r.int("desc")
    try:
        assert not cloexec(fd)
    finally:
        os.close(fd)


@pytest.mark.parametrize("how", ["open", "open owning", "create", "create not owning"])
def test_every_descriptor_jailcore_receives_is_close_on_exec(how: str) -> None:
    if how.startswith("open"):
        d = JailDescriptor.open(Jail.create(name="web", path="/"), owning="owning" in how)
    else:
        d = JailDescriptor.create(name="web", path="/", owning="not" not in how)
    with d:
        assert cloexec(d.fileno())
        assert not os.get_inheritable(d.fileno())


def test_a_descriptor_from_the_low_level_calls_is_close_on_exec_too() -> None:
    """jail_get(2) through the seam, as any caller of jailcore._backend makes it."""
    Jail.create(name="web", path="/")
    _, values = jailcore._iov.jail_get({"name": "web"}, ["desc"], JAIL_GET_DESC)
    fd = values["desc"]
    try:
        assert cloexec(fd)
    finally:
        os.close(fd)


def test_a_program_run_by_os_system_does_not_inherit_a_descriptor() -> None:
    with JailDescriptor.create(name="web", path="/") as d:
        probe = f"import os; os.fstat({d.fileno()})"
        status = os.system(f"{sys.executable} -c '{probe}' 2>/dev/null")
        assert os.waitstatus_to_exitcode(status) == 1  # OSError: EBADF
        # The same probe sees a descriptor that is inherited.
        os.set_inheritable(d.fileno(), True)
        assert os.waitstatus_to_exitcode(os.system(f"{sys.executable} -c '{probe}'")) == 0


def test_temporary_leaves_no_jail_when_its_body_started_a_program_keeping_descriptors(
) -> None:
    """The body starts a long-lived program with close_fds=False and the process is
    killed inside the body: the program does not hold the owning descriptor, so the
    jail goes with the process."""
    sleepers: list[int] = []

    def start_sleeper() -> list[int]:
        return [subprocess.Popen(["sleep", "60"], close_fds=False).pid]

    try:
        jid, sleeper = killed_in_a_temporary(start_sleeper)
        sleepers.append(sleeper)
        assert_gone(jid)
        assert list(jailcore.jails()) == []
    finally:
        for pid in sleepers:
            os.kill(pid, signal.SIGKILL)
