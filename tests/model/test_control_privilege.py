"""The model's control calls obey privilege (issue 12, item 3).

reset, set_version, hold, release, kldload and kldunload change the host: like
the kernel's equivalents they need the host's superuser (root or the host's
creator) outside any jail.  An unprivileged uid, or root attached to a jail,
gets EPERM and the host is left as it was; the superuser still succeeds.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile

import pytest
from forked import in_child, need_root
from modelabi import JAIL_DYING, JAIL_UPDATE, I, create, errno_of, jail_set, remove
from modelabi_check import jail_list, values

import jailcore.model

NOBODY = 65534

pytestmark = pytest.mark.usefixtures("_root")


@pytest.fixture
def _root() -> None:
    need_root()


def _dying_after_nopersist(jid: int) -> bool:
    """Drop the jail's persist: True if a held reference keeps it dying."""
    r = jail_set([("jid", I(jid)), ("nopersist", None)], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (jid, "")
    return jid in jail_list(JAIL_DYING) and values(jid, "dying", flags=JAIL_DYING)["dying"] == 1


@pytest.mark.parametrize("who", ["uid", "jailed"])
def test_reset_refused(who: str) -> None:
    n = create(("name", "kept"))
    kw = {"uid": NOBODY} if who == "uid" else {"attach": n}
    assert in_child(lambda: errno_of("jailmodel_reset"), **kw) == (-1, errno.EPERM)

    def via_api() -> tuple[type, int]:
        try:
            jailcore.model.reset()
        except OSError as e:
            return type(e), e.errno
        return type(None), 0

    assert in_child(via_api, **kw) == (PermissionError, errno.EPERM)
    assert jail_list() == [n]
    assert values(n, "name") == {"name": "kept"}
    assert errno_of("jailmodel_reset") == (0, 0)
    assert jail_list() == []


@pytest.mark.parametrize("who", ["uid", "jailed"])
def test_set_version_refused(who: str) -> None:
    # (a jailed caller needs a jail, and set_version a host without one: EPERM comes first)
    n = create(("name", "j")) if who == "jailed" else 0
    kw = {"uid": NOBODY} if who == "uid" else {"attach": n}
    assert in_child(lambda: errno_of("jailmodel_set_version", 14), **kw) == (-1, errno.EPERM)
    assert jailcore.model.version() == 15

    def via_api() -> tuple[type, int]:
        try:
            jailcore.model.set_version(14)
        except OSError as e:
            return type(e), e.errno
        return type(None), 0

    assert in_child(via_api, **kw) == (PermissionError, errno.EPERM)
    assert jailcore.model.version() == 15
    if n:
        assert remove(n) == (0, 0)
    assert errno_of("jailmodel_set_version", 14) == (0, 0)
    assert jailcore.model.version() == 14


@pytest.mark.parametrize("who", ["uid", "jailed"])
def test_hold_refused(who: str) -> None:
    n = create(("name", "h"))
    kw = {"uid": NOBODY} if who == "uid" else {"attach": n}
    assert in_child(lambda: errno_of("jailmodel_hold", n), **kw) == (-1, errno.EPERM)
    # no reference was taken: without persist the jail is freed at once
    assert not _dying_after_nopersist(n)
    assert jail_list(JAIL_DYING) == []
    m = create(("name", "h2"))
    assert errno_of("jailmodel_hold", m) == (0, 0)
    assert _dying_after_nopersist(m)


@pytest.mark.parametrize("who", ["uid", "jailed"])
def test_release_refused(who: str) -> None:
    n = create(("name", "r"))
    assert errno_of("jailmodel_hold", n) == (0, 0)
    kw = {"uid": NOBODY} if who == "uid" else {"attach": n}
    assert in_child(lambda: errno_of("jailmodel_release", n), **kw) == (-1, errno.EPERM)
    # the reference is still held: the jail stays dying
    assert _dying_after_nopersist(n)
    assert errno_of("jailmodel_release", n) == (0, 0)
    assert jail_list(JAIL_DYING) == []


@pytest.mark.parametrize("who", ["uid", "jailed"])
def test_kldload_kldunload_refused(who: str) -> None:
    kw = {"uid": NOBODY} if who == "uid" else {"attach": create(("name", "k"))}
    assert in_child(lambda: errno_of("jailmodel_kldload", b"tmpfs"), **kw) == (-1, errno.EPERM)
    assert errno_of("jailmodel_kldfind", b"tmpfs") == (-1, errno.ENOENT)
    fileid = jailcore.model.kldload("tmpfs")
    assert fileid > 1
    assert in_child(lambda: errno_of("jailmodel_kldunload", fileid), **kw) == (-1, errno.EPERM)
    assert jailcore.model.kldfind("tmpfs") == fileid
    jailcore.model.kldunload(fileid)
    assert errno_of("jailmodel_kldfind", b"tmpfs") == (-1, errno.ENOENT)


def test_hosts_creator_is_its_superuser() -> None:
    """A host made by an unprivileged user: that user is its superuser and may reset it."""
    d = tempfile.mkdtemp(prefix="jc-ctl-")
    try:
        os.chown(d, 1000, 1000)
        state = os.path.join(d, "host")

        def make_and_reset() -> tuple[int, list[int], int, int, list[int]]:
            jailcore.model.use_state_file(state)
            n = create(("name", "mine"))
            before = jail_list()
            ret, err = errno_of("jailmodel_reset")
            return n, before, ret, err, jail_list()

        n, before, ret, err, after = in_child(make_and_reset, uid=1000)
        assert before == [n] and (ret, err) == (0, 0) and after == []
    finally:
        shutil.rmtree(d)
