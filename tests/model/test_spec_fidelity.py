"""The places of the kernel spec that were corrected after an audit against FreeBSD's sources.

Each test drives the model through its exported C ABI (``tests/modelabi.py``) and checks the
return value, errno, the errmsg text (or that none was written) and the state afterwards.
Spec: shared/spec/freebsd-jail-kernel.md, sections 3.1, 3.3, 4.1 (steps 2, 8, 23, 26), 4.10.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from pathlib import Path

from forked import in_child
from modelabi import (
    JAIL_AT_DESC,
    JAIL_ATTACH,
    JAIL_CREATE,
    JAIL_DYING,
    JAIL_GET_DESC,
    JAIL_UPDATE,
    JAIL_USE_DESC,
    LIB,
    Buf,
    I,
    Iovec,
    create,
    errno_of,
    jail_get,
    jail_set,
    remove,
    sysctlbyname,
)
from modelabi_check import (
    ROOT_ONLY,
    close_quietly,
    expect_fail,
    fetch,
    jail_list,
    new_desc,
    summary,
    values,
)

import jailcore.model

pytestmark = ROOT_ONLY

P = ("persist", None)


def set_default_enforce_statfs(value: int) -> None:
    ret, err, _ = sysctlbyname("security.jail.enforce_statfs", 4, struct.pack("i", value))
    assert (ret, err) == (0, 0)


# ---------------------------------------------------------------------------------------
# 3.1: the default enforce_statfs is the global default only


def test_default_enforce_statfs_is_the_global_default_not_the_parents() -> None:
    """3.1 | a new jail's enforce_statfs is sysctl security.jail.enforce_statfs, even when that
    is below the parent's: kern_jail_set sets the global default, and its EPERM "< parent's"
    check looks only at an explicit enforce_statfs.
    """
    strict = create(("name", "strict"), ("enforce_statfs", I(2)), ("children.max", I(5)))
    open_ = create(("name", "open"), ("enforce_statfs", I(0)), ("children.max", I(5)))
    set_default_enforce_statfs(1)
    below = create(("name", "strict.below"))
    above = create(("name", "open.above"))
    assert values(below, "enforce_statfs") == {"enforce_statfs": 1}
    assert values(above, "enforce_statfs") == {"enforce_statfs": 1}
    # an explicit value below the parent's is refused, without a message
    r = jail_set([("name", "strict.explicit"), P, ("enforce_statfs", I(1))], JAIL_CREATE)
    expect_fail(r, errno.EPERM)
    r = jail_set([("name", "strict.explicit"), P, ("enforce_statfs", I(2))], JAIL_CREATE)
    assert (r.ret, r.errmsg) == (r.ret, "") and r.ret > 0
    assert values(r.ret, "enforce_statfs") == {"enforce_statfs": 2}
    # the default is taken at creation: changing the sysctl later changes no jail
    set_default_enforce_statfs(2)
    assert values(below, "enforce_statfs") == {"enforce_statfs": 1}
    assert values(strict, "enforce_statfs") == {"enforce_statfs": 2}
    assert values(open_, "enforce_statfs") == {"enforce_statfs": 0}
    fresh = create(("name", "open.fresh"))
    assert values(fresh, "enforce_statfs") == {"enforce_statfs": 2}
    # raising the parent still raises the descendants below it
    r = jail_set([("jid", I(strict)), ("enforce_statfs", I(2))], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (strict, "")
    assert values(below, "enforce_statfs") == {"enforce_statfs": 2}


# ---------------------------------------------------------------------------------------
# 3.3: the inherit that allow.sysvipc implies is not checked


def test_allow_sysvipc_under_a_disabled_parent_quietly_disables() -> None:
    """3.3 | allow.sysvipc implies sysvmsg/sem/shm=inherit, unchecked: under a disabled parent it
    becomes disable (msg_prison_set); an explicit sysvmsg=inherit there is EPERM (module CHECK).
    """
    for mod in ("sysvmsg", "sysvsem", "sysvshm"):
        jailcore.model.kldload(mod)
    sysv = ("sysvmsg", "sysvsem", "sysvshm")
    off = create(("name", "off"), ("allow.sysvipc", None), ("children.max", I(5)),
                 *[(m, I(0)) for m in sysv])
    on = create(("name", "on"), ("allow.sysvipc", None), ("children.max", I(5)))
    assert values(off, *sysv, "allow.sysvipc") == {
        "sysvmsg": 0, "sysvsem": 0, "sysvshm": 0, "allow.sysvipc": 1}
    assert values(on, *sysv) == {"sysvmsg": 2, "sysvsem": 2, "sysvshm": 2}
    r = jail_set([("name", "off.kid"), P, ("allow.sysvipc", None)], JAIL_CREATE)
    assert (r.ret, r.errmsg) == (r.ret, "") and r.ret > 0
    kid = r.ret
    assert values(kid, *sysv, "allow.sysvipc") == {
        "sysvmsg": 0, "sysvsem": 0, "sysvshm": 0, "allow.sysvipc": 1}
    # on update too
    r = jail_set([("jid", I(kid)), ("allow.sysvipc", None)], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (kid, "")
    assert values(kid, *sysv) == {"sysvmsg": 0, "sysvsem": 0, "sysvshm": 0}
    # an explicit parameter is checked: EPERM, no message, nothing created
    for mod in sysv:
        for v in (1, 2):
            r = jail_set([("name", "off.bad"), P, (mod, I(v))], JAIL_CREATE)
            expect_fail(r, errno.EPERM)
        r = jail_set([("name", "off.bad"), P, ("allow.sysvipc", None), (mod, I(2))], JAIL_CREATE)
        expect_fail(r, errno.EPERM)
    expect_fail(fetch("off.bad", "jid"), errno.ENOENT, 'jail "off.bad" not found')
    # under an enabled parent the implied inherit is kept
    r = jail_set([("name", "on.kid"), P, ("allow.sysvipc", None)], JAIL_CREATE)
    assert r.ret > 0 and r.errmsg == ""
    assert values(r.ret, *sysv) == {"sysvmsg": 2, "sysvsem": 2, "sysvshm": 2}


# ---------------------------------------------------------------------------------------
# 4.1 step 2: iovec copy-in faults come before the flag checks


def _raw(fn: str, iov: object, niov: int, flags: int) -> tuple[int, int]:
    ctypes.set_errno(0)
    ret = getattr(LIB, fn)(iov, niov, flags)
    return ret, (ctypes.get_errno() if ret == -1 else 0)


def _huge_iov() -> tuple[ctypes.Array[Iovec], list[object]]:
    """Two pairs whose lengths add up beyond what copyinuio accepts."""
    keep: list[object] = []
    iov = (Iovec * 4)()
    for k in range(4):
        b = ctypes.create_string_buffer(b"persist\0" if k % 2 == 0 else b"", 8)
        keep.append(b)
        iov[k].iov_base = ctypes.addressof(b)
        iov[k].iov_len = 8 if k % 2 == 0 else 0x40000000 * (k // 2 + 1)
    return iov, keep


def test_iovec_fault_before_flag_checks() -> None:
    """4.1 step 2 | a bad iovec array (EFAULT) or lengths (EINVAL) is found by copyinuio, before
    kern_jail_set/kern_jail_get look at the flags; an odd niov (step 1) still comes first.
    """
    bad_flags = (0x100, JAIL_USE_DESC | JAIL_AT_DESC, 0)
    for flags in bad_flags:
        assert _raw("jailmodel_jail_set", None, 2, flags) == (-1, errno.EFAULT)
        assert _raw("jailmodel_jail_set", None, 3, flags) == (-1, errno.EINVAL)
    for flags in (0x100, JAIL_USE_DESC | JAIL_AT_DESC, JAIL_CREATE):
        assert _raw("jailmodel_jail_get", None, 2, flags) == (-1, errno.EFAULT)
        assert _raw("jailmodel_jail_get", None, 3, flags) == (-1, errno.EINVAL)
    # too many iovecs: copyinuio's EINVAL, also before the flags
    assert _raw("jailmodel_jail_set", None, 1026, 0x100) == (-1, errno.EINVAL)
    assert jail_list(JAIL_DYING) == []


def test_iovec_fault_before_children_max_eperm() -> None:
    """4.1 steps 2-3 | a jailed caller whose jail has children.max 0 gets EPERM for CREATE, but a
    faulting iovec array is EFAULT, and lengths that overflow are EINVAL, first.
    """
    j = create(("name", "j"))

    def inside() -> list[tuple[int, int]]:
        iov, keep = _huge_iov()
        out = [_raw("jailmodel_jail_set", None, 2, JAIL_CREATE),
               _raw("jailmodel_jail_set", iov, 4, JAIL_CREATE),
               summary(jail_set([P], JAIL_CREATE))[:2]]
        del keep
        return out

    assert in_child(inside, attach=j) == [(-1, errno.EFAULT), (-1, errno.EINVAL),
                                          (-1, errno.EPERM)]
    assert jail_list(JAIL_DYING) == [j]


# ---------------------------------------------------------------------------------------
# 4.1 steps 8 and 26: a JAIL_USE_DESC descriptor is resolved late


def test_use_desc_bad_value_reported_before_bad_descriptor() -> None:
    """4.1 step 26 | JAIL_USE_DESC: the descriptor is looked up under the lock, after every
    parameter check, so a bad value wins over a bad or dead descriptor.
    """
    web = create(("name", "web"))
    dead = create(("name", "dead"))
    rp, wp = os.pipe()
    gone = new_desc(dead)
    try:
        assert remove(dead) == (0, 0)
        for fd, err, msg in ((rp, errno.EBADF, "not a jail descriptor"),
                             (1000, errno.EBADF, "not a jail descriptor"),
                             (gone, errno.ENOENT, "descriptor to dead jail")):
            base = [("desc", I(fd))]
            r = jail_set([*base, ("enforce_statfs", I(7))], JAIL_UPDATE | JAIL_USE_DESC)
            expect_fail(r, errno.EINVAL)
            r = jail_set([*base, ("securelevel", b"\x01\x00")], JAIL_UPDATE | JAIL_USE_DESC)
            expect_fail(r, errno.EINVAL)
            r = jail_set([*base, ("name", "x" * 300)], JAIL_UPDATE | JAIL_USE_DESC)
            expect_fail(r, errno.ENAMETOOLONG)
            r = jail_set([*base, ("osrelease", "1.0")], JAIL_UPDATE | JAIL_USE_DESC)
            expect_fail(r, errno.EINVAL, "osrelease cannot be changed after creation")
            r = jail_set([*base, ("path", "/nonexistent-jailcore-dir")],
                         JAIL_CREATE | JAIL_USE_DESC | JAIL_ATTACH)
            expect_fail(r, errno.ENOENT)
            r = jail_set([*base, ("host.hostname", "h")], JAIL_CREATE | JAIL_USE_DESC)
            expect_fail(r, errno.EINVAL, "new jail must persist or attach")
            # only a good request meets the descriptor
            r = jail_set([*base, ("host.hostname", "h")], JAIL_UPDATE | JAIL_USE_DESC)
            expect_fail(r, err, msg)
        assert values(web, "host.hostname", "enforce_statfs") == {
            "host.hostname": "", "enforce_statfs": 2}
        assert jail_list(JAIL_DYING) == [web]
    finally:
        close_quietly(rp, wp, gone)


def test_at_desc_is_resolved_early_as_the_source_does() -> None:
    """4.1 step 8 | JAIL_AT_DESC: kern_jail_set calls jaildesc_find as soon as it has copied
    "desc", before the privilege check and the parameters (the spec's step 26 is JAIL_USE_DESC
    only), so there a bad descriptor wins over a bad value.
    """
    p = create(("name", "p"), ("children.max", I(3)))
    rp, wp = os.pipe()
    good = new_desc(p)
    try:
        r = jail_set([("desc", I(rp)), P, ("enforce_statfs", I(7))], JAIL_CREATE | JAIL_AT_DESC)
        expect_fail(r, errno.EBADF, "not a jail descriptor")
        r = jail_set([("desc", I(good)), P, ("enforce_statfs", I(7))],
                     JAIL_CREATE | JAIL_AT_DESC)
        expect_fail(r, errno.EINVAL)
        assert values(p, "children.cur") == {"children.cur": 0}
    finally:
        close_quietly(rp, wp, good)


# ---------------------------------------------------------------------------------------
# 4.1 step 23: path


def test_empty_path_is_a_namei_enoent() -> None:
    """4.1 step 23 | path "" (the 1-byte "\\0") goes to namei, which refuses an empty path:
    ENOENT, no message; a 0-length value is EINVAL (not NUL-terminated); nothing is created.
    """
    for flags in (JAIL_CREATE, JAIL_CREATE | JAIL_ATTACH):
        r = jail_set([("name", "web"), P, ("path", b"\0")], flags)
        expect_fail(r, errno.ENOENT)
        r = jail_set([("name", "web"), P, ("path", None)], flags)
        expect_fail(r, errno.EINVAL)
    assert jail_list(JAIL_DYING) == []
    # "/" from the host is the host's root
    web = create(("name", "web"), ("path", "/"))
    assert values(web, "path") == {"path": "/"}


def test_root_path_from_inside_a_jail_is_that_jails_root(tmp_path: Path) -> None:
    """4.1 step 23 | path "/" given by a caller inside a jail is that jail's root, stored as a
    global path: jail_get from the host reports the jail's own path for the child.
    """
    root = os.path.realpath(tmp_path)
    os.mkdir(os.path.join(root, "sub"))
    j = create(("name", "j"), ("path", root), ("children.max", I(3)))

    def inside() -> list[object]:
        made = jail_set([("name", "slash"), P, ("path", "/")], JAIL_CREATE)
        sub = jail_set([("name", "sub"), P, ("path", "/sub")], JAIL_CREATE)
        seen = fetch("slash", "path")
        return [summary(made), summary(sub), seen.ret, seen.str("path")]

    made, sub, seen_ret, seen_path = in_child(inside, attach=j)
    assert made[1:] == (0, "") and sub[1:] == (0, "")
    assert (seen_ret, seen_path) == (made[0], "/")
    assert values("j.slash", "path", "parent") == {"path": root, "parent": j}
    assert values("j.sub", "path") == {"path": os.path.join(root, "sub")}


# ---------------------------------------------------------------------------------------
# 4.10: descriptors detach when a jail starts dying


def test_descriptors_detach_when_the_jail_starts_dying() -> None:
    """4.10 | a removed jail that stays dying (a lingering reference) is unreachable through its
    descriptors: ENOENT "descriptor to dead jail", with JAIL_DYING too; jail_attach_jd and
    jail_remove_jd give ENOENT; "jail N is dying" never comes through a descriptor.
    """
    web = create(("name", "web"), ("children.max", I(2)))
    fd = new_desc(web)
    try:
        jailcore.model.hold(web)
        assert remove(web) == (0, 0)
        assert values(web, "dying", flags=JAIL_DYING) == {"dying": 1}
        for flags in (JAIL_USE_DESC, JAIL_USE_DESC | JAIL_DYING):
            r = jail_get([("desc", I(fd)), ("jid", Buf(4))], flags)
            expect_fail(r, errno.ENOENT, "descriptor to dead jail")
        for flags in (JAIL_UPDATE | JAIL_USE_DESC, JAIL_UPDATE | JAIL_USE_DESC | JAIL_DYING):
            r = jail_set([("desc", I(fd)), ("host.hostname", "h")], flags)
            expect_fail(r, errno.ENOENT, "descriptor to dead jail")
        r = jail_set([("desc", I(fd)), ("name", "c"), P], JAIL_CREATE | JAIL_AT_DESC)
        expect_fail(r, errno.ENOENT, "descriptor to dead jail")
        r = jail_get([("desc", I(fd)), ("lastjid", I(0)), ("jid", Buf(4))],
                     JAIL_AT_DESC | JAIL_DYING)
        expect_fail(r, errno.ENOENT, "descriptor to dead jail")
        assert errno_of("jailmodel_jail_attach_jd", fd) == (-1, errno.ENOENT)
        assert errno_of("jailmodel_jail_remove_jd", fd) == (-1, errno.ENOENT)
        assert values(web, "dying", "host.hostname", flags=JAIL_DYING) == {
            "dying": 1, "host.hostname": ""}
        jailcore.model.release(web)
        assert jail_list(JAIL_DYING) == []
    finally:
        close_quietly(fd)


def test_descriptors_detach_when_the_last_reference_goes() -> None:
    """4.10 | a jail that dies by losing its last reference (nopersist) while held is as
    unreachable through a descriptor as a removed one.
    """
    web = create(("name", "web"))
    fd = new_desc(web)
    try:
        jailcore.model.hold(web)
        r = jail_set([("desc", I(fd)), ("nopersist", None)], JAIL_UPDATE | JAIL_USE_DESC)
        assert (r.ret, r.errmsg) == (web, "")
        assert values(web, "dying", "persist", flags=JAIL_DYING) == {"dying": 1, "persist": 0}
        r = jail_get([("desc", I(fd)), ("jid", Buf(4))], JAIL_USE_DESC | JAIL_DYING)
        expect_fail(r, errno.ENOENT, "descriptor to dead jail")
        r = jail_set([("desc", I(fd)), ("persist", None)], JAIL_UPDATE | JAIL_USE_DESC)
        expect_fail(r, errno.ENOENT, "descriptor to dead jail")
        assert values(web, "dying", flags=JAIL_DYING) == {"dying": 1}
        jailcore.model.release(web)
    finally:
        close_quietly(fd)
    assert jail_list(JAIL_DYING) == []


# ---------------------------------------------------------------------------------------
# JAIL_AT_DESC: privilege and the devfs_ruleset restriction are the real caller's


def test_at_desc_host_caller_may_set_any_devfs_ruleset() -> None:
    """4.10 | under JAIL_AT_DESC the devfs_ruleset restriction asks whether the real caller is
    jailed (jailed(td->td_ucred)): a host caller sets any ruleset on a child it creates.
    """
    p = create(("name", "p"), ("children.max", I(3)), ("devfs_ruleset", I(4)))
    fd = new_desc(p)
    try:
        r = jail_set([("desc", I(fd)), ("name", "c"), P, ("devfs_ruleset", I(7))],
                     JAIL_CREATE | JAIL_AT_DESC)
        assert (r.ret, r.errmsg) == (r.ret, "") and r.ret > 0
        assert values("p.c", "devfs_ruleset", "parent") == {"devfs_ruleset": 7, "parent": p}
        r = jail_set([("desc", I(fd)), ("name", "z"), P, ("devfs_ruleset", I(0))],
                     JAIL_CREATE | JAIL_AT_DESC)
        assert r.ret > 0 and r.errmsg == ""
        assert values("p.z", "devfs_ruleset") == {"devfs_ruleset": 0}
    finally:
        close_quietly(fd)

    # a caller inside p is jailed: another ruleset is EPERM, 0 takes the parent's
    def inside() -> list[tuple[int, int, str]]:
        return [summary(jail_set([("name", "d"), P, ("devfs_ruleset", I(7))], JAIL_CREATE)),
                summary(jail_set([("name", "e"), P, ("devfs_ruleset", I(0))], JAIL_CREATE))]

    bad, good = in_child(inside, attach=p)
    assert bad == (-1, errno.EPERM, "")
    assert good[1:] == (0, "")
    assert values("p.e", "devfs_ruleset") == {"devfs_ruleset": 4}


def test_at_desc_privilege_is_the_real_callers() -> None:
    """4.10 | under JAIL_AT_DESC the privilege check is priv_check(td), the real caller's: host
    root creates under a jail without allow.suser; an unprivileged caller gets EPERM, no message.
    """
    p = create(("name", "p"), ("children.max", I(3)), ("allow.nosuser", None))
    assert values(p, "allow.suser") == {"allow.suser": 0}
    fd = new_desc(p)
    try:
        r = jail_set([("desc", I(fd)), ("name", "c"), P], JAIL_CREATE | JAIL_AT_DESC)
        assert (r.ret, r.errmsg) == (r.ret, "") and r.ret > 0
        assert values("p.c", "parent") == {"parent": p}

        def unprivileged() -> tuple[int, int, str]:
            return summary(jail_set([("desc", I(fd)), ("name", "u"), P],
                                    JAIL_CREATE | JAIL_AT_DESC))

        assert in_child(unprivileged, uid=65534) == (-1, errno.EPERM, "")
        expect_fail(fetch("p.u", "jid"), errno.ENOENT, 'jail "p.u" not found')
        assert values(p, "children.cur") == {"children.cur": 1}
    finally:
        close_quietly(fd)


# ---------------------------------------------------------------------------------------
# 4.1 step 9: JAIL_USE_DESC takes its privilege from the descriptor's credential


def test_use_desc_privilege_is_the_descriptors_credential() -> None:
    """4.1 step 9 | with JAIL_USE_DESC the caller's own privilege is not checked: after the
    lookup (step 26) the descriptor's credential is, so an unprivileged process holding a
    descriptor that root opened updates the jail; without the descriptor it gets EPERM, and a
    bad value still comes first.  (JAIL_AT_DESC keeps the real caller's privilege: EPERM.)
    """
    web = create(("name", "web"), ("children.max", I(2)))
    fd = new_desc(web)
    try:
        def unprivileged() -> list[tuple[int, int, str]]:
            return [
                summary(jail_set([("desc", I(fd)), ("enforce_statfs", I(7))],
                                 JAIL_UPDATE | JAIL_USE_DESC)),
                summary(jail_set([("jid", I(web)), ("host.hostname", "nodesc")], JAIL_UPDATE)),
                summary(jail_set([("desc", I(fd)), ("host.hostname", "viadesc")],
                                 JAIL_UPDATE | JAIL_USE_DESC)),
                summary(jail_set([("desc", I(fd)), ("name", "c"), P],
                                 JAIL_CREATE | JAIL_AT_DESC)),
            ]

        assert in_child(unprivileged, uid=65534) == [
            (-1, errno.EINVAL, ""), (-1, errno.EPERM, ""), (web, 0, ""),
            (-1, errno.EPERM, "")]
        assert values(web, "host.hostname", "children.cur") == {
            "host.hostname": "viadesc", "children.cur": 0}
    finally:
        close_quietly(fd)


def test_wrong_sized_desc_fails_in_the_option_copy() -> None:
    """4.1 step 8 | a wrong-sized `desc` fails in its option copy: EINVAL with errmsg untouched,
    whatever the flags (also with no descriptor flag, where a right-sized one is "unexpected
    desc").
    """
    web = create(("name", "web"))
    for flags in (JAIL_UPDATE, JAIL_UPDATE | JAIL_USE_DESC):
        r = jail_set([("jid", I(web)), ("desc", b"\x01\x00"), ("host.hostname", "h")], flags)
        expect_fail(r, errno.EINVAL)
    r = jail_set([("jid", I(web)), ("desc", I(0)), ("host.hostname", "h")], JAIL_UPDATE)
    expect_fail(r, errno.EINVAL, "unexpected desc")
    assert values(web, "host.hostname") == {"host.hostname": ""}


def test_descriptor_made_for_a_dying_jail_still_reaches_it() -> None:
    """4.10 | the exception to the detach: a descriptor that jail_get (with JAIL_DYING) makes for
    an already dying jail is attached to it after the cleanup (kern_jail_get calls
    jaildesc_set_prison), so through it the jail "is dying" rather than dead, until it is freed.
    """
    web = create(("name", "web"))
    early = new_desc(web)
    jailcore.model.hold(web)
    assert remove(web) == (0, 0)
    late = new_desc(web, JAIL_GET_DESC | JAIL_DYING)
    try:
        r = jail_get([("desc", I(late)), ("jid", Buf(4))], JAIL_USE_DESC)
        expect_fail(r, errno.ENOENT, f"jail {web} is dying")
        r = jail_get([("desc", I(late)), ("dying", Buf(4))], JAIL_USE_DESC | JAIL_DYING)
        assert (r.ret, r.int("dying"), r.errmsg) == (web, 1, "")
        r = jail_set([("desc", I(late)), ("host.hostname", "h")], JAIL_UPDATE | JAIL_USE_DESC)
        expect_fail(r, errno.ENOENT, f"jail {web} is dying")
        r = jail_get([("desc", I(early)), ("jid", Buf(4))], JAIL_USE_DESC | JAIL_DYING)
        expect_fail(r, errno.ENOENT, "descriptor to dead jail")
        jailcore.model.release(web)
        assert jail_list(JAIL_DYING) == []
        r = jail_get([("desc", I(late)), ("jid", Buf(4))], JAIL_USE_DESC | JAIL_DYING)
        expect_fail(r, errno.ENOENT, "descriptor to dead jail")
    finally:
        close_quietly(early, late)
