"""Spec section 11: the model's decisions where the FreeBSD sources are UNCERTAIN.

One group of tests per row of the table in section 11 of
shared/spec/freebsd-jail-kernel.md, driven through the model's C ABI
(``tests/modelabi.py``) and its control calls (``jailcore.model``).
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
from typing import Any

import pytest
from forked import need_root
from modelabi import (
    IP4,
    IP6,
    JAIL_AT_DESC,
    JAIL_ATTACH,
    JAIL_CREATE,
    JAIL_DYING,
    JAIL_GET_DESC,
    JAIL_OWN_DESC,
    JAIL_UPDATE,
    JAIL_USE_DESC,
    Buf,
    I,
    Result,
    attach,
    create,
    errno_of,
    jail_get,
    jail_set,
    nametomib,
    remove,
    sysctl,
    sysctlbyname,
)
from modelabi_check import (
    ROOT_ONLY,
    close_quietly,
    expect_fail,
    fetch,
    jail_list,
    new_desc,
    oidfmt,
    values,
)
from modelabi_child import Child, as_nobody, run_child

import jailcore.model

pytestmark = ROOT_ONLY

# ---------------------------------------------------------------------------------------
# decision-specific helpers


def empty_child(node: str) -> tuple[str, int, str]:
    """(name, kind, format) of the empty-named child of sysctl node `node`.

    Names cannot reach it (a trailing dot resolves to the node itself); libjail finds it as the next
    oid after the node ({0,2}) and names it with {0,1}.
    """
    mib = nametomib(node)
    ret, err, data, ln = sysctl([0, 2, *mib])
    assert (ret, err) == (0, 0)
    child = [int.from_bytes(data[i:i + 4], "little", signed=True) for i in range(0, ln, 4)]
    assert child[: len(mib)] == mib and len(child) == len(mib) + 1
    ret, err, data, _ = sysctl([0, 1, *child])
    assert (ret, err) == (0, 0)
    name = data.split(b"\0", 1)[0].decode()
    ret, err, data, _ = sysctl([0, 4, *child])
    assert (ret, err) == (0, 0)
    return name, int.from_bytes(data[:4], "little"), data[4:].split(b"\0", 1)[0].decode()


def sysctl_absent(name: str) -> bool:
    ret, err, _ = sysctlbyname(name)
    if (ret, err) != (-1, errno.ENOENT):
        return False
    try:
        nametomib(name)
    except OSError as e:
        return e.errno == errno.ENOENT
    return False


def set_with_desc(pairs: list[tuple[str, Any]], flags: int) -> Result:
    return jail_set([*pairs, ("desc", I(-1))], flags)


def refused_as_no_jail_desc(bad: int) -> None:
    """Every descriptor call refuses `bad`: EBADF "not a jail descriptor" (4.10)."""
    r = jail_set([("desc", I(bad)), ("host.hostname", "h")], JAIL_UPDATE | JAIL_USE_DESC)
    expect_fail(r, errno.EBADF, "not a jail descriptor")
    r = jail_get([("desc", I(bad)), ("jid", Buf(4))], JAIL_USE_DESC)
    expect_fail(r, errno.EBADF, "not a jail descriptor")
    r = jail_set([("desc", I(bad)), ("name", "c"), ("persist", None)],
                 JAIL_CREATE | JAIL_AT_DESC)
    expect_fail(r, errno.EBADF, "not a jail descriptor")
    assert errno_of("jailmodel_jail_attach_jd", bad) == (-1, errno.EBADF)
    assert errno_of("jailmodel_jail_remove_jd", bad) == (-1, errno.EBADF)


# ---------------------------------------------------------------------------------------
# row: which semantics (15.x by default, a switch selects 14.x)


def test_semantics_default_is_15_and_switch_rules() -> None:
    """Which semantics | FreeBSD 15.x by default; a switch selects 14.x behaviour."""
    assert jailcore.model.version() == 15
    for bad in (13, 16, 0, -1):
        with pytest.raises(OSError) as ei:
            jailcore.model.set_version(bad)
        assert ei.value.errno == errno.EINVAL
    assert jailcore.model.version() == 15
    create()
    with pytest.raises(OSError) as ei:
        jailcore.model.set_version(14)
    assert ei.value.errno == errno.EBUSY
    assert jailcore.model.version() == 15
    jailcore.model.reset()
    jailcore.model.set_version(14)
    assert jailcore.model.version() == 14
    assert errno_of("jailmodel_version") == (14, 0)
    jailcore.model.set_version(15)
    assert jailcore.model.version() == 15
    jailcore.model.set_version(14)
    jailcore.model.reset()
    assert jailcore.model.version() == 15


def test_semantics_14_flag_masks() -> None:
    """14.x flag masks: SET 0x0f, GET 0x08 (no descriptor flags); 15.x: SET 0xff, GET 0xf8."""
    jailcore.model.set_version(14)
    jid = create()
    for flags in (JAIL_CREATE | JAIL_GET_DESC, JAIL_CREATE | JAIL_OWN_DESC,
                  JAIL_UPDATE | JAIL_USE_DESC, JAIL_CREATE | JAIL_AT_DESC, JAIL_CREATE | 0x100):
        r = set_with_desc([("persist", None)], flags)
        expect_fail(r, errno.EINVAL)
    for flags in (JAIL_GET_DESC, JAIL_OWN_DESC, JAIL_USE_DESC, JAIL_AT_DESC, JAIL_CREATE):
        r = jail_get([("jid", I(jid)), ("desc", I(-1)), ("name", Buf(256))], flags)
        expect_fail(r, errno.EINVAL)
    # JAIL_DYING is valid for both calls in 14.x
    assert values(jid, "name", flags=JAIL_DYING) == {"name": str(jid)}
    r = jail_set([("jid", I(jid)), ("host.hostname", "h")], JAIL_UPDATE | JAIL_DYING)
    assert (r.ret, r.errmsg) == (jid, "")
    assert jail_list() == [jid]


def test_semantics_check_order_privilege() -> None:
    """14.x: privilege (EPERM) is checked before the flag mask and "no valid operation"; 15.x: after
    them.
    """
    need_root()

    def body() -> Any:
        out = {}
        for name, flags in (("zero", 0), ("badbit", JAIL_CREATE | 0x100), ("create", JAIL_CREATE)):
            r = jail_set([("persist", None)], flags)
            out[name] = [r.ret, r.errno, r.errmsg]
        return out

    assert run_child(as_nobody(body)) == {
        "zero": [-1, errno.EINVAL, "no valid operation (create or update)"],
        "badbit": [-1, errno.EINVAL, ""],
        "create": [-1, errno.EPERM, ""],
    }
    jailcore.model.set_version(14)
    assert run_child(as_nobody(body)) == {
        "zero": [-1, errno.EPERM, ""],
        "badbit": [-1, errno.EPERM, ""],
        "create": [-1, errno.EPERM, ""],
    }
    # root on 14.x still gets the 15.x-style answers
    expect_fail(jail_set([("persist", None)], 0), errno.EINVAL,
                "no valid operation (create or update)")
    expect_fail(jail_set([("persist", None)], JAIL_CREATE | 0x100), errno.EINVAL)
    assert jail_list(JAIL_DYING) == []


def test_semantics_dying_jail_15() -> None:
    """15.x: updating/resurrecting a dying jail is impossible; JAIL_DYING is ignored by jail_set."""
    n = create(("name", "web"))
    jailcore.model.hold(n)
    r = jail_set([("jid", I(n)), ("nopersist", None)], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (n, "")
    assert values(n, "dying", "persist", flags=JAIL_DYING) == {"dying": 1, "persist": 0}
    for flags in (JAIL_UPDATE, JAIL_UPDATE | JAIL_DYING):
        r = jail_set([("jid", I(n)), ("persist", None)], flags)
        expect_fail(r, errno.ENOENT, f"jail {n} not found")
        r = jail_set([("name", "web"), ("persist", None)], flags)
        expect_fail(r, errno.ENOENT, 'jail "web" not found')
    assert values(n, "dying", "persist", flags=JAIL_DYING) == {"dying": 1, "persist": 0}
    # the dying jail's name can be reused
    m = create(("name", "web"))
    assert m == n + 1
    assert values("web", "jid") == {"jid": m}
    assert values("web", "jid", flags=JAIL_DYING) == {"jid": m}  # alive preferred
    jailcore.model.release(n)
    assert jail_list(JAIL_DYING) == [m]


def test_semantics_dying_jail_14() -> None:
    """14.x: a dying jid gives EEXIST on CREATE; UPDATE needs JAIL_DYING ("jail N is dying"
    without), and persist revives it.
    """
    jailcore.model.set_version(14)
    n = create(("name", "web"))
    jailcore.model.hold(n)
    assert remove(n) == (0, 0)
    expect_fail(jail_set([("jid", I(n)), ("persist", None)], JAIL_CREATE), errno.EEXIST,
                f"jail {n} already exists")
    expect_fail(jail_set([("jid", I(n)), ("persist", None)], JAIL_UPDATE), errno.ENOENT,
                f"jail {n} is dying")
    assert values(n, "dying", "persist", flags=JAIL_DYING) == {"dying": 1, "persist": 0}
    r = jail_set([("jid", I(n)), ("persist", None)], JAIL_UPDATE | JAIL_DYING)
    assert (r.ret, r.errmsg) == (n, "")
    assert values(n, "dying", "persist", "name") == {"dying": 0, "persist": 1, "name": "web"}
    jailcore.model.release(n)
    assert values(n, "dying") == {"dying": 0}  # alive: persist holds it
    assert jail_list() == [n]


def test_semantics_14_has_no_descriptors_meta_or_new_allows() -> None:
    """14.x: no descriptors, no meta/env, no allow.routing / allow.unprivileged_parent_tampering."""
    jailcore.model.set_version(14)
    for name, value in (("desc", I(-1)), ("meta", "a=1"), ("env", "a=1"), ("meta.k", "v"),
                        ("allow.routing", None), ("allow.unprivileged_parent_tampering", None)):
        r = jail_set([("persist", None), (name, value)], JAIL_CREATE)
        expect_fail(r, errno.EINVAL, f"unknown parameter: {name}")
    assert jail_list(JAIL_DYING) == []
    jid = create()
    for name in ("meta", "env", "meta.k", "allow.routing"):
        r = jail_get([("jid", I(jid)), (name, Buf(4096 if name.startswith(("meta", "env")) else
        4))])
        expect_fail(r, errno.EINVAL, f"unknown parameter: {name}")
    for name in ("security.jail.param.allow.routing",
                 "security.jail.param.allow.unprivileged_parent_tampering",
                 "security.jail.param.meta", "security.jail.param.env"):
        assert sysctl_absent(name), name


def test_semantics_15_has_descriptors_meta_and_new_allows() -> None:
    """15.x: meta/env, allow.routing, allow.unprivileged_parent_tampering and desc exist."""
    r = jail_set([("persist", None), ("meta", "a=1"), ("env", "b=2"), ("allow.routing", None),
                  ("allow.unprivileged_parent_tampering", None)], JAIL_CREATE)
    assert (r.ret, r.errmsg) == (1, "")
    assert values(1, "meta.a", "env.b", "allow.routing",
                  "allow.unprivileged_parent_tampering") == {
        "meta.a": "1", "env.b": "2", "allow.routing": 1,
        "allow.unprivileged_parent_tampering": 1}
    assert oidfmt("security.jail.param.allow.routing")[1] == "B"
    assert oidfmt("security.jail.param.meta")[1] == "A,keyvalue"
    ret, err, data = sysctlbyname("security.jail.param.meta")
    assert (ret, err, data.rstrip(b"\0")) == (0, 0, b"4096")


# ---------------------------------------------------------------------------------------
# row: "parent" used for checks when the target is found by jid -> the real parent


def test_real_parent_for_checks_by_jid() -> None:
    """Parent for checks when the target is found by jid (4.9) | the target's real parent."""
    a = create(("name", "a"), ("securelevel", I(3)), ("children.max", I(5)),
               ("enforce_statfs", I(2)), ("ip4.addr", IP4("192.0.2.1")))
    b = create(("name", "a.b"), ("ip4.addr", IP4("192.0.2.1")))
    x = create(("name", "x"))
    assert values(b, "securelevel", "enforce_statfs", "allow.mount", "children.max") == {
        "securelevel": 3, "enforce_statfs": 2, "allow.mount": 0, "children.max": 0}

    def upd(*pairs: tuple[str, Any]) -> Result:
        return jail_set([("jid", I(b)), *pairs], JAIL_UPDATE)

    expect_fail(upd(("securelevel", I(1))), errno.EPERM)
    expect_fail(upd(("enforce_statfs", I(1))), errno.EPERM)
    expect_fail(upd(("children.max", I(5))), errno.EPERM)
    expect_fail(upd(("allow.mount", None)), errno.EPERM)
    expect_fail(upd(("ip4.addr", IP4("192.0.2.9"))), errno.EPERM)
    assert values(b, "securelevel", "enforce_statfs", "children.max", "allow.mount",
                  "ip4.addr") == {
        "securelevel": 3, "enforce_statfs": 2, "children.max": 0, "allow.mount": 0,
        "ip4.addr": ["192.0.2.1"]}
    r = upd(("children.max", I(4)), ("securelevel", I(4)))
    assert (r.ret, r.errmsg) == (b, "")
    assert values(b, "children.max", "securelevel") == {"children.max": 4, "securelevel": 4}
    # a plain new name keeps the real parent's prefix
    r = upd(("name", "c"))
    assert (r.ret, r.errmsg) == (b, "")
    assert values(b, "name", "parent") == {"name": "a.c", "parent": a}
    assert values("a.c", "jid") == {"jid": b}
    expect_fail(fetch("c", "jid"), errno.ENOENT, 'jail "c" not found')
    # a dotted name naming the real parent is accepted, any other parent is not
    r = upd(("name", "a.d"))
    assert (r.ret, r.errmsg) == (b, "")
    assert values(b, "name") == {"name": "a.d"}
    expect_fail(upd(("name", "x.d")), errno.EINVAL, "cannot change jail's parent")
    assert values(b, "name", "parent") == {"name": "a.d", "parent": a}
    assert values(x, "children.cur") == {"children.cur": 0}
    assert values(a, "children.cur") == {"children.cur": 1}


# ---------------------------------------------------------------------------------------
# row: UPDATE-only with an empty name and no jid -> ENOENT "update specified no jail"


def test_update_only_empty_name_is_no_jail() -> None:
    """UPDATE-only with an empty name and no jid (2.7) | fails with ENOENT "update specified no
    jail".
    """
    existing = create(("name", "web"))
    for pairs in ([("name", "")], [("name", ""), ("host.hostname", "h")],
                  [("name", ""), ("persist", None)]):
        expect_fail(jail_set(pairs, JAIL_UPDATE), errno.ENOENT, "update specified no jail")
    expect_fail(jail_set([("host.hostname", "h")], JAIL_UPDATE), errno.ENOENT,
                "update specified no jail")
    assert jail_list(JAIL_DYING) == [existing]
    assert values(existing, "host.hostname") == {"host.hostname": ""}
    # CREATE with an empty name still means "default name"
    r = jail_set([("name", ""), ("persist", None)], JAIL_CREATE)
    assert (r.ret, r.errmsg) == (existing + 1, "")
    assert values(r.ret, "name") == {"name": str(existing + 1)}


def test_update_only_name_ending_in_dot_is_no_jail() -> None:
    """UPDATE-only with a name ending in "." (empty last component, same anomaly as 2.7) | ENOENT
    "update specified no jail", nothing created.
    """
    web = create(("name", "web"))
    expect_fail(jail_set([("name", "web."), ("host.hostname", "h")], JAIL_UPDATE), errno.ENOENT,
                "update specified no jail")
    assert jail_list(JAIL_DYING) == [web]
    assert values(web, "children.cur", "host.hostname") == {"children.cur": 0, "host.hostname": ""}


# ---------------------------------------------------------------------------------------
# row: read-back of ip4/ip6 -> 0 restricted, 2 unrestricted


@pytest.mark.parametrize(
    ("params", "ip4", "ip6"),
    [
        ([], 0, 0),
        ([("ip4.addr", IP4("192.0.2.1", "192.0.2.3"))], 0, 0),
        ([("ip6.addr", IP6("2001:db8::1"))], 0, 0),
        ([("ip4", I(1)), ("ip6", I(1))], 0, 0),
        ([("ip4", I(0)), ("ip6", I(0))], 0, 0),
        ([("ip4", I(2)), ("ip6", I(2))], 2, 2),
        ([("ip4", I(2))], 2, 0),
        ([("ip6", I(2)), ("ip4.addr", IP4("192.0.2.1"))], 0, 2),
        ([("vnet", I(1))], 2, 2),
    ],
    ids=["default", "ip4.addr", "ip6.addr", "new", "disable", "inherit", "ip4-inherit",
         "ip6-inherit", "vnet-new"],
)
def test_ip_jailsys_readback(params: list[tuple[str, Any]], ip4: int, ip6: int) -> None:
    """Read-back of ip4/ip6 (5.4) | 0 (disable) for every IP-restricted jail, 2 (inherit) for
    unrestricted ones; never 1.
    """
    jid = create(*params)
    assert values(jid, "ip4", "ip6") == {"ip4": ip4, "ip6": ip6}


def test_ip_jailsys_readback_inherit_under_restricted_parent() -> None:
    """Read-back of ip4 for a child that inherits from a restricted parent | 2, with the parent's
    addresses.
    """
    p = create(("name", "p"), ("ip4.addr", IP4("192.0.2.5", "192.0.2.1")))
    c = create(("name", "p.c"), ("ip4", I(2)))
    assert values(p, "ip4", "ip4.addr") == {"ip4": 0, "ip4.addr": ["192.0.2.5", "192.0.2.1"]}
    assert values(c, "ip4", "ip4.addr") == {"ip4": 2, "ip4.addr": ["192.0.2.5", "192.0.2.1"]}


# ---------------------------------------------------------------------------------------
# row: jail_remove on an already-dying jail -> 0, leaks nothing


def test_remove_dying_jail_returns_0_and_leaks_nothing() -> None:
    """jail_remove on an already-dying jail | returns 0 and leaks nothing."""
    need_root()
    p = create(("name", "p"), ("children.max", I(3)))
    c = create(("name", "p.c"))
    jailcore.model.hold(c)
    assert remove(c) == (0, 0)
    for _ in range(3):
        assert remove(c) == (0, 0)
    expect_fail(fetch(c, "name"), errno.ENOENT, f"jail {c} is dying")
    assert values(c, "dying", "persist", "name", flags=JAIL_DYING) == {
        "dying": 1, "persist": 0, "name": "p.c"}
    assert values(p, "children.cur", "dying") == {"children.cur": 1, "dying": 0}
    jailcore.model.release(c)
    expect_fail(fetch(c, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {c} not found")
    assert values(p, "children.cur") == {"children.cur": 0}
    with pytest.raises(OSError) as ei:
        jailcore.model.release(c)
    assert ei.value.errno == errno.ENOENT
    # removing the parent now frees it at once: nothing of c is left to hold it
    assert remove(p) == (0, 0)
    expect_fail(fetch(p, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {p} not found")
    assert jail_list(JAIL_DYING) == []


# ---------------------------------------------------------------------------------------
# row: lingering references (hold / release)


def test_lingering_reference_keeps_dying_jail() -> None:
    """Lingering references | a control call holds or releases an extra reference on a jail (case 55
    both ways).
    """
    with pytest.raises(OSError) as ei:
        jailcore.model.hold(5)
    assert ei.value.errno == errno.ENOENT
    n = create(("name", "web"))
    with pytest.raises(OSError) as ei:
        jailcore.model.release(n)
    assert ei.value.errno == errno.EINVAL
    assert errno_of("jailmodel_release", n) == (-1, errno.EINVAL)
    assert errno_of("jailmodel_hold", 999) == (-1, errno.ENOENT)

    # without a reference, nopersist frees the idle jail within the call
    r = jail_set([("jid", I(n)), ("nopersist", None)], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (n, "")
    expect_fail(fetch(n, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {n} not found")

    m = create(("name", "web"))
    assert errno_of("jailmodel_hold", m) == (0, 0)
    jailcore.model.hold(m)  # two references
    r = jail_set([("jid", I(m)), ("nopersist", None)], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (m, "")
    expect_fail(fetch(m, "name"), errno.ENOENT, f"jail {m} is dying")
    expect_fail(fetch("web", "jid"), errno.ENOENT, 'jail "web" is dying')
    assert values(m, "dying", "persist", flags=JAIL_DYING) == {"dying": 1, "persist": 0}
    assert values(m, "nodying", flags=JAIL_DYING) == {"nodying": 0}
    assert values("web", "jid", flags=JAIL_DYING) == {"jid": m}
    assert jail_list() == []
    assert jail_list(JAIL_DYING) == [m]
    jailcore.model.release(m)
    assert jail_list(JAIL_DYING) == [m]
    assert errno_of("jailmodel_release", m) == (0, 0)
    assert jail_list(JAIL_DYING) == []
    # a held alive jail is not affected by the reference
    k = create(("name", "k"))
    jailcore.model.hold(k)
    assert values(k, "dying", "persist") == {"dying": 0, "persist": 1}
    jailcore.model.release(k)
    assert values(k, "dying", "persist") == {"dying": 0, "persist": 1}


# ---------------------------------------------------------------------------------------
# row: module parameters appear and vanish with kldload/kldunload


JAILSYS_MODULES = ["sysvmsg", "sysvsem", "sysvshm"]
FS_MODULES = ["fdescfs", "nullfs", "procfs", "tmpfs", "zfs"]


def test_modules_fresh_host_has_none() -> None:
    """Module parameters | a fresh host has no optional module loaded; allow.mount.devfs is built
    in.
    """
    assert jailcore.model.loaded_modules() == []
    for m in jailcore.model.MODULES:
        assert errno_of("jailmodel_kldfind", m.encode()) == (-1, errno.ENOENT), m
    for name in ("security.jail.param.sysvmsg", "security.jail.param.sysvmsg.",
                 "security.jail.param.allow.mount.nullfs"):
        assert sysctl_absent(name), name
    kind, fmt = oidfmt("security.jail.param.allow.mount.devfs")
    assert (kind & 0xF, fmt) == (2, "B")
    jid = create(("allow.mount", None), ("allow.mount.devfs", None))
    assert values(jid, "allow.mount.devfs") == {"allow.mount.devfs": 1}
    assert values(jid, "allow.mount.nodevfs") == {"allow.mount.nodevfs": 0}
    assert errno_of("jailmodel_kldload", b"bogus") == (-1, errno.ENOENT)
    assert jailcore.model.loaded_modules() == []


@pytest.mark.parametrize("module", JAILSYS_MODULES)
def test_modules_sysv_params_appear_and_vanish(module: str) -> None:
    """Module parameters | sysvmsg/sysvsem/sysvshm exist only while their module is loaded."""
    r = jail_set([("persist", None), (module, I(1))], JAIL_CREATE)
    expect_fail(r, errno.EINVAL, f"unknown parameter: {module}")
    old = create(("name", "old"))
    expect_fail(jail_get([("jid", I(old)), (module, Buf(4))]), errno.EINVAL,
                f"unknown parameter: {module}")

    fid = jailcore.model.kldload(module)
    assert fid > 1
    assert jailcore.model.kldfind(module) == fid
    assert errno_of("jailmodel_kldfind", module.encode()) == (fid, 0)
    assert jailcore.model.loaded_modules() == [module]
    assert errno_of("jailmodel_kldload", module.encode()) == (-1, errno.EEXIST)
    assert oidfmt(f"security.jail.param.{module}")[0] & 0xF == 1  # a node
    name, kind, fmt = empty_child(f"security.jail.param.{module}")
    assert (name, kind & 0xF, fmt) == (f"security.jail.param.{module}.", 2, "E,jailsys")
    assert kind & 0x80000000 and kind & 0x40000000  # RW
    assert values(old, module) == {module: 0}  # default disable
    r = jail_set([("persist", None), (module, I(1))], JAIL_CREATE)
    assert (r.ret, r.errmsg) == (old + 1, "")
    assert values(r.ret, module) == {module: 1}
    r = jail_set([("persist", None), (module, I(3))], JAIL_CREATE)
    expect_fail(r, errno.EINVAL)

    assert errno_of("jailmodel_kldunload", fid) == (0, 0)
    assert jailcore.model.loaded_modules() == []
    assert errno_of("jailmodel_kldunload", fid) == (-1, errno.ENOENT)
    assert sysctl_absent(f"security.jail.param.{module}.")
    expect_fail(jail_get([("jid", I(old)), (module, Buf(4))]), errno.EINVAL,
                f"unknown parameter: {module}")
    expect_fail(jail_set([("persist", None), (module, I(1))], JAIL_CREATE), errno.EINVAL,
                f"unknown parameter: {module}")
    assert jail_list() == [old, old + 1]


@pytest.mark.parametrize("fs", FS_MODULES)
def test_modules_allow_mount_fs_appear_and_vanish(fs: str) -> None:
    """Module parameters | allow.mount.<fs> exists only while the fs module is loaded."""
    param = f"allow.mount.{fs}"
    expect_fail(jail_set([("persist", None), (param, None)], JAIL_CREATE), errno.EINVAL,
                f"unknown parameter: {param}")
    assert sysctl_absent(f"security.jail.param.{param}")
    jailcore.model.kldload(fs)
    assert fs in jailcore.model.loaded_modules()
    kind, fmt = oidfmt(f"security.jail.param.{param}")
    assert (kind & 0xF, fmt) == (2, "B")
    a = create((param, None))
    b = create()
    assert values(a, param) == {param: 1}
    assert values(b, param) == {param: 0}
    assert values(b, f"allow.mount.no{fs}") == {f"allow.mount.no{fs}": 1}
    r = jail_set([("jid", I(a)), (f"allow.mount.no{fs}", None)], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (a, "")
    assert values(a, param) == {param: 0}
    jailcore.model.kldunload(fs)
    assert fs not in jailcore.model.loaded_modules()
    assert sysctl_absent(f"security.jail.param.{param}")
    expect_fail(jail_get([("jid", I(a)), (param, Buf(4))]), errno.EINVAL,
                f"unknown parameter: {param}")
    # devfs stays
    assert values(a, "allow.mount.devfs") == {"allow.mount.devfs": 0}


# ---------------------------------------------------------------------------------------
# row: caller credentials -> the real euid; the caller's prison is the one it attached to


def test_credentials_from_real_euid() -> None:
    """Caller credentials | the real effective uid of the calling process decides privilege."""
    need_root()
    web = create(("name", "web"))

    def body() -> Any:
        out: dict[str, Any] = {"euid": os.geteuid()}
        for key, pairs, flags in (
            ("create", [("persist", None)], JAIL_CREATE),
            ("update", [("jid", I(web)), ("host.hostname", "x")], JAIL_UPDATE),
            ("create_attach", [("name", "t")], JAIL_CREATE | JAIL_ATTACH),
        ):
            r = jail_set(pairs, flags)
            out[key] = [r.ret, r.errno, r.errmsg]
        g = fetch(web, "name", "host.hostname")
        out["get"] = [g.ret, g.str("name"), g.str("host.hostname")]
        out["attach"] = attach(web)
        out["remove"] = remove(web)
        return out

    assert run_child(as_nobody(body)) == {
        "euid": 65534,
        "create": [-1, errno.EPERM, ""],
        "update": [-1, errno.EPERM, ""],
        "create_attach": [-1, errno.EPERM, ""],
        "get": [web, "web", ""],
        "attach": [-1, errno.EPERM],
        "remove": [-1, errno.EPERM],
    }
    assert jail_list(JAIL_DYING) == [web]
    assert values(web, "host.hostname", "persist") == {"host.hostname": "", "persist": 1}


def test_credentials_caller_prison_is_attached_jail() -> None:
    """Caller credentials | the prison of the caller is the one it attached to through the model."""
    need_root()
    j = create(("name", "j"))

    def body() -> Any:
        out: dict[str, Any] = {"attach": attach(j), "cur": jailcore.model.current_jid()}
        r = jail_set([("name", "sub"), ("persist", None)], JAIL_CREATE)
        out["no_children"] = [r.ret, r.errno, r.errmsg]
        return out

    assert run_child(body) == {"attach": [0, 0], "cur": j, "no_children": [-1, errno.EPERM, ""]}
    r = jail_set([("jid", I(j)), ("children.max", I(1))], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (j, "")

    def body2() -> Any:
        assert attach(j) == (0, 0)
        r = jail_set([("name", "sub"), ("persist", None)], JAIL_CREATE)
        g = fetch(r.ret, "name", "parent")
        out: dict[str, Any] = {"create": [r.ret, r.errmsg], "get": [g.str("name"), g.int("parent")]}
        # root inside the jail that drops to an unprivileged uid loses jail_set
        os.setuid(65534)
        s = jail_set([("jid", I(r.ret)), ("host.hostname", "x")], JAIL_UPDATE)
        out["nobody"] = [s.ret, s.errno, s.errmsg]
        return out

    out = run_child(body2)
    sub = out["create"][0]
    assert out == {"create": [sub, ""], "get": ["sub", 0], "nobody": [-1, errno.EPERM, ""]}
    assert values(sub, "name", "parent", "host.hostname") == {
        "name": "j.sub", "parent": j, "host.hostname": ""}
    assert values(j, "children.cur") == {"children.cur": 1}


# ---------------------------------------------------------------------------------------
# row: descriptors (15.x) are real file descriptors


def test_desc_get_desc_is_a_real_fd_without_cloexec() -> None:
    """Descriptors | JAIL_GET_DESC writes a real fd number into the 4-byte `desc`, not
    close-on-exec, as FreeBSD's jaildesc_alloc makes it (jailcore's seam sets the flag)."""
    r = set_with_desc([("name", "web"), ("persist", None)], JAIL_CREATE | JAIL_GET_DESC)
    assert (r.ret, r.errno, r.errmsg) == (1, 0, "")
    fd = r.int("desc")
    try:
        assert fd >= 0 and r.len("desc") == 4
        os.fstat(fd)
        assert not fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        g = jail_get([("desc", I(fd)), ("jid", Buf(4)), ("name", Buf(256))], JAIL_USE_DESC)
        assert (g.ret, g.errmsg, g.int("jid"), g.str("name")) == (1, "", 1, "web")
        # jail_get can hand out descriptors too
        fd2 = new_desc(1)
        assert fd2 != fd
        os.fstat(fd2)
        assert not fcntl.fcntl(fd2, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        os.close(fd2)
        # a GET_DESC with UPDATE returns a descriptor as well
        u = set_with_desc([("jid", I(1)), ("host.hostname", "h")], JAIL_UPDATE | JAIL_GET_DESC)
        assert (u.ret, u.errmsg) == (1, "")
        fd3 = u.int("desc")
        assert fd3 >= 0 and fd3 not in (fd,)
        os.close(fd3)
    finally:
        close_quietly(fd)
    # closing non-owning descriptors does not remove the jail
    assert values(1, "dying", "persist", "host.hostname") == {
        "dying": 0, "persist": 1, "host.hostname": "h"}


def test_desc_closing_any_owning_descriptor_removes_jail() -> None:
    """Descriptors | closing any owning descriptor file removes the jail (each JAIL_OWN_DESC call
    makes its own file; dup'd copies share it: the last copy counts), seen at the next model call.
    """
    r = set_with_desc([("name", "web"), ("persist", None)], JAIL_CREATE | JAIL_OWN_DESC)
    assert (r.ret, r.errmsg) == (1, "")
    own1 = r.int("desc")
    own2 = new_desc(1, JAIL_OWN_DESC)
    copy2 = os.dup(own2)
    plain = new_desc(1, JAIL_GET_DESC)
    try:
        for fd in (own1, own2, copy2):
            os.fstat(fd)
        for fd in (own1, own2):
            assert not fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        # one copy of a dup'd pair closed: the file is still open
        os.close(copy2)
        assert values(1, "dying", "persist") == {"dying": 0, "persist": 1}
        # the other owning file is open, yet closing this one removes the jail
        os.close(own1)
        expect_fail(fetch(1, "name", flags=JAIL_DYING), errno.ENOENT, "jail 1 not found")
        assert jail_list(JAIL_DYING) == []
        for fd in (plain, own2):
            g = jail_get([("desc", I(fd)), ("jid", Buf(4))], JAIL_USE_DESC)
            expect_fail(g, errno.ENOENT, "descriptor to dead jail")
    finally:
        close_quietly(own1, own2, copy2, plain)
    # the jid of the removed jail is free for a new one, which the old descriptors do not reach
    assert create(("jid", I(1)), ("name", "again")) == 1
    own3 = new_desc(1, JAIL_OWN_DESC)
    os.close(os.dup(own3))
    assert values(1, "name", "dying") == {"name": "again", "dying": 0}
    os.close(own3)
    assert jail_list(JAIL_DYING) == []


def test_desc_owning_descriptor_of_held_jail_leaves_it_dying() -> None:
    """Descriptors | closing the owning descriptor of a jail with a lingering reference leaves
    it dying.
    """
    r = set_with_desc([("name", "held"), ("persist", None)], JAIL_CREATE | JAIL_OWN_DESC)
    assert (r.ret, r.errmsg) == (1, "")
    jailcore.model.hold(1)
    os.close(r.int("desc"))
    expect_fail(fetch(1, "name"), errno.ENOENT, "jail 1 is dying")
    assert values(1, "dying", "persist", flags=JAIL_DYING) == {"dying": 1, "persist": 0}
    jailcore.model.release(1)
    assert jail_list(JAIL_DYING) == []


def test_desc_use_desc_update_and_lookups() -> None:
    """Descriptors | JAIL_USE_DESC selects the descriptor's jail (EEXIST on CREATE, "cannot change
    jid").
    """
    web = create(("name", "web"))
    other = create(("name", "other"))
    fd = new_desc(web)
    try:
        r = jail_set([("desc", I(fd)), ("host.hostname", "viafd")], JAIL_UPDATE | JAIL_USE_DESC)
        assert (r.ret, r.errmsg) == (web, "")
        assert values(web, "host.hostname") == {"host.hostname": "viafd"}
        assert values(other, "host.hostname") == {"host.hostname": ""}
        r = jail_set([("desc", I(fd)), ("persist", None)], JAIL_CREATE | JAIL_USE_DESC)
        expect_fail(r, errno.EEXIST, f"jail {web} already exists")
        r = jail_set([("desc", I(fd)), ("jid", I(other)), ("host.hostname", "z")],
                     JAIL_UPDATE | JAIL_USE_DESC)
        expect_fail(r, errno.EINVAL, "cannot change jid")
        r = jail_set([("desc", I(fd)), ("jid", I(web)), ("host.hostname", "same")],
                     JAIL_UPDATE | JAIL_USE_DESC)
        assert (r.ret, r.errmsg) == (web, "")
        assert values(web, "host.hostname") == {"host.hostname": "same"}
        assert values(other, "host.hostname") == {"host.hostname": ""}
        # the descriptor key wins over jid and name in jail_get
        g = jail_get([("desc", I(fd)), ("jid", I(other)), ("name", Buf(256))], JAIL_USE_DESC)
        assert (g.ret, g.str("name")) == (web, "web")
        # a desc value of the wrong size
        r = jail_set([("desc", b"\0" * 8), ("host.hostname", "z")], JAIL_UPDATE | JAIL_USE_DESC)
        expect_fail(r, errno.EINVAL)
    finally:
        os.close(fd)


def test_desc_error_messages() -> None:
    """Descriptors | "missing desc", "unexpected desc", EBADF "not a jail descriptor", ENOENT
    "descriptor to dead jail".
    """
    web = create(("name", "web"))
    fd = new_desc(web)
    rp, wp = os.pipe()
    try:
        # missing desc
        for flags in (JAIL_CREATE | JAIL_GET_DESC, JAIL_CREATE | JAIL_OWN_DESC,
                      JAIL_UPDATE | JAIL_USE_DESC, JAIL_CREATE | JAIL_AT_DESC):
            r = jail_set([("name", "x"), ("persist", None)], flags)
            expect_fail(r, errno.ENOENT, "missing desc")
        for flags in (JAIL_GET_DESC, JAIL_OWN_DESC, JAIL_AT_DESC):
            r = jail_get([("jid", I(web)), ("name", Buf(256))], flags)
            expect_fail(r, errno.ENOENT, "missing desc")
        # unexpected desc
        r = jail_set([("name", "x"), ("persist", None), ("desc", I(fd))], JAIL_CREATE)
        expect_fail(r, errno.EINVAL, "unexpected desc")
        r = jail_set([("jid", I(web)), ("host.hostname", "h"), ("desc", I(fd))], JAIL_UPDATE)
        expect_fail(r, errno.EINVAL, "unexpected desc")
        r = jail_get([("jid", I(web)), ("desc", I(fd)), ("name", Buf(256))], 0)
        expect_fail(r, errno.EINVAL, "unexpected desc")
        # not a jail descriptor: a pipe
        refused_as_no_jail_desc(rp)
        assert values(web, "host.hostname", "dying") == {"host.hostname": "", "dying": 0}
        assert jail_list(JAIL_DYING) == [web]
        # descriptor to dead jail
        assert remove(web) == (0, 0)
        r = jail_get([("desc", I(fd)), ("jid", Buf(4))], JAIL_USE_DESC)
        expect_fail(r, errno.ENOENT, "descriptor to dead jail")
        r = jail_set([("desc", I(fd)), ("host.hostname", "h")], JAIL_UPDATE | JAIL_USE_DESC)
        expect_fail(r, errno.ENOENT, "descriptor to dead jail")
        r = jail_set([("desc", I(fd)), ("name", "c"), ("persist", None)],
                     JAIL_CREATE | JAIL_AT_DESC)
        expect_fail(r, errno.ENOENT, "descriptor to dead jail")
        assert jail_list(JAIL_DYING) == []
    finally:
        close_quietly(rp, wp, fd)


def test_desc_unopened_number_is_not_a_jail_descriptor() -> None:
    """Descriptors | a number that is no open descriptor (a closed fd, -1) is "not a jail fd": EBADF
    "not a jail descriptor" (4.10).
    """
    web = create(("name", "web"))
    closed = 1000
    with pytest.raises(OSError):
        os.fstat(closed)
    for bad in (closed, -1):
        refused_as_no_jail_desc(bad)
    assert jail_list(JAIL_DYING) == [web]
    assert values(web, "host.hostname") == {"host.hostname": ""}


def test_desc_at_desc_relative_create_and_get() -> None:
    """Descriptors | JAIL_AT_DESC: the descriptor's jail plays the caller's prison (children.max
    must be > 0).
    """
    p = create(("name", "p"))
    fd = new_desc(p)
    try:
        r = jail_set([("desc", I(fd)), ("name", "c"), ("persist", None)],
                     JAIL_CREATE | JAIL_AT_DESC)
        expect_fail(r, errno.EPERM)
        assert values(p, "children.cur") == {"children.cur": 0}
        r = jail_set([("jid", I(p)), ("children.max", I(1))], JAIL_UPDATE)
        assert (r.ret, r.errmsg) == (p, "")
        r = jail_set([("desc", I(fd)), ("name", "c"), ("persist", None)],
                     JAIL_CREATE | JAIL_AT_DESC)
        assert (r.ret, r.errmsg) == (p + 1, "")
        c = r.ret
        assert values(c, "name", "parent") == {"name": "p.c", "parent": p}
        g = jail_get([("desc", I(fd)), ("name", Buf(256, b"c")), ("jid", Buf(4)),
                      ("parent", Buf(4))], JAIL_AT_DESC)
        assert (g.ret, g.errmsg, g.int("jid"), g.str("name"), g.int("parent")) == (c, "", c, "c", 0)
        r = jail_set([("desc", I(fd)), ("name", "d"), ("persist", None)],
                     JAIL_CREATE | JAIL_AT_DESC)
        expect_fail(r, errno.EPERM, "prison limit exceeded")
        assert jail_list() == [p, c]
    finally:
        os.close(fd)


def test_desc_attach_jd_and_remove_jd_kill_for_real() -> None:
    """Descriptors | jailmodel_jail_attach_jd / jailmodel_jail_remove_jd mirror the jid calls;
    processes are killed for real.
    """
    need_root()
    web = create(("name", "web"))
    fd = new_desc(web)
    c = Child(lambda: {"attach": errno_of("jailmodel_jail_attach_jd", fd),
                       "cur": jailcore.model.current_jid(), "cwd": os.getcwd(),
                       "jailed": sysctlbyname("security.jail.jailed")[2].hex()},
              after="pause")
    try:
        assert c.result() == {"attach": [0, 0], "cur": web, "cwd": "/",
                              "jailed": (1).to_bytes(4, "little").hex()}
        assert values(web, "dying") == {"dying": 0}
        assert errno_of("jailmodel_jail_remove_jd", fd) == (0, 0)
        status = c.wait()
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        expect_fail(fetch(web, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {web} not found")
        r = jail_get([("desc", I(fd)), ("jid", Buf(4))], JAIL_USE_DESC)
        expect_fail(r, errno.ENOENT, "descriptor to dead jail")
    finally:
        c.cleanup()
        os.close(fd)


# ---------------------------------------------------------------------------------------
# row: processes are killed for real by jail_remove


def test_remove_kills_processes_of_jail_and_descendants_only() -> None:
    """Processes | jail_remove sends SIGKILL for real to the jail's and its descendants' processes.
    """
    need_root()
    p = create(("name", "p"))
    pc = create(("name", "p.c"))
    q = create(("name", "q"))
    kids = [Child(lambda j=j: {"attach": attach(j)}, after="pause") for j in (p, pc, q)]
    try:
        for k in kids:
            assert k.result() == {"attach": [0, 0]}
        assert remove(p) == (0, 0)
        for k in kids[:2]:
            status = k.wait()
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        for jid in (p, pc):
            expect_fail(fetch(jid, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {jid} not found")
        # q's process is untouched
        assert os.waitpid(kids[2].pid, os.WNOHANG) == (0, 0)
        assert values(q, "dying") == {"dying": 0}
        assert jail_list(JAIL_DYING) == [q]
        assert remove(q) == (0, 0)
        status = kids[2].wait()
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        assert jail_list(JAIL_DYING) == []
    finally:
        for k in kids:
            k.cleanup()
