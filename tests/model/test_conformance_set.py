"""Conformance cases 1-60 of the spec (section 9), run against the kernel model.

Every case drives the model through its exported C ABI (``tests/modelabi.py``)
and asserts the return value, errno, the exact errmsg (or that it stayed empty
when the spec says no message is produced) and the state read back afterwards.
Spec: /work/shared/spec/freebsd-jail-kernel.md.
"""

from __future__ import annotations

import errno
import os
from typing import Any

import modelabi
import pytest
from forked import in_child
from modelabi import (
    IP4,
    JAIL_ATTACH,
    JAIL_CREATE,
    JAIL_DYING,
    JAIL_UPDATE,
    UL,
    Buf,
    I,
    jail_get,
    jail_set,
)
from modelabi_check import failed, jails, jid_of, no_jails, not_found, read, summary

import jailcore.model as model

# ---------------------------------------------------------------------------
# file-specific helpers (the shared ones: tests/modelabi_check.py)


def persist() -> tuple[str, None]:
    return ("persist", None)


# ---------------------------------------------------------------------------
# 1-10: the iovec protocol, flags, privilege


def test_case_01_odd_niov_set() -> None:
    """| 1 | jail_set with niov = 3 | `EINVAL` | K: `sys_jail_set` |"""
    r = jail_set([persist(), ("name", "web")], JAIL_CREATE, niov=3)
    failed(r, errno.EINVAL)
    no_jails()


def test_case_02_odd_niov_get() -> None:
    """| 2 | jail_get with niov = 5 | `EINVAL` | K: `sys_jail_get` |"""
    jid = modelabi.create(("name", "web"))
    r = jail_get([("jid", I(jid)), ("name", Buf(16, b"untouched")), ("host.hostname", Buf(16))],
                 0, niov=5)
    failed(r, errno.EINVAL)
    assert r.buffers[1] is not None and r.buffers[1].raw == b"untouched".ljust(16, b"\0")
    assert r.len("name") == 16


def test_case_03_niov_over_uio_maxiov() -> None:
    """| 3 | jail_set niov = 2048 (even) | `EINVAL` | U: `copyinuio` (UIO_MAXIOV) |"""
    # 1023 pairs + errmsg = 1024 pairs = 2048 iovecs
    r = jail_set([persist()] * 1023, JAIL_CREATE)
    assert len(r.iov) == 2048
    failed(r, errno.EINVAL)
    no_jails()
    # the limit itself (1024 iovecs) is accepted
    r = jail_set([persist()] * 511, JAIL_CREATE)
    assert len(r.iov) == 1024
    assert r.ret == 1 and r.errmsg == ""
    assert jails() == [1]


def test_case_04_no_valid_operation() -> None:
    """| 4 | jail_set flags = 0, params `persist` | `EINVAL`, msg "no valid operation (create or
    update)" (14.x: non-root would get `EPERM` first) | K: `kern_jail_set` |"""
    r = jail_set([persist()], 0)
    failed(r, errno.EINVAL, "no valid operation (create or update)")
    no_jails()


def test_case_05_unknown_flag_bit() -> None:
    """| 5 | jail_set flags = 0x100 | `EINVAL`, no msg | K: `kern_jail_set` (mask) |"""
    r = jail_set([persist()], 0x100)
    failed(r, errno.EINVAL)
    r = jail_set([persist()], JAIL_CREATE | 0x100)
    failed(r, errno.EINVAL)
    no_jails()


def test_case_06_name_without_nul() -> None:
    """| 6 | jail_set CREATE, name iovec whose iov_len omits the NUL (`"persist"`, len 7) |
    `EINVAL` | V: `vfs_buildopts` |"""
    r = jail_set([(b"persist", None)], JAIL_CREATE)
    assert r.iov[0].iov_len == 7
    failed(r, errno.EINVAL)
    no_jails()


def test_case_07_zero_length_name() -> None:
    """| 7 | jail_set CREATE, a pair with name iov_len 0 | `EINVAL` | V: `vfs_buildopts` |"""
    r = jail_set([persist(), (b"", None)], JAIL_CREATE)
    assert r.iov[2].iov_len == 0
    failed(r, errno.EINVAL)
    no_jails()


def test_case_08_value_over_64k() -> None:
    """| 8 | jail_set CREATE with a single value of 70000 bytes | `EINVAL` | V: `vfs_buildopts`
    (64 KiB cap) |"""
    r = jail_set([persist(), ("host.hostname", b"h" * 69999 + b"\0")], JAIL_CREATE)
    failed(r, errno.EINVAL)  # not ENAMETOOLONG: parsing fails first, without a message
    no_jails()


def test_case_09_non_root_create() -> None:
    """| 9 | non-root: jail_set CREATE `persist` | `EPERM`, no msg | K: `kern_jail_set`
    (priv_check) |"""
    got = in_child(lambda: summary(jail_set([persist()], JAIL_CREATE)), uid=65534)
    assert got == (-1, errno.EPERM, "")
    no_jails()


def test_case_10_must_persist_or_attach() -> None:
    """| 10 | CREATE, no persist, no ATTACH | `EINVAL`, msg "new jail must persist or attach" |
    K: `kern_jail_set` |"""
    r = jail_set([("name", "web")], JAIL_CREATE)
    failed(r, errno.EINVAL, "new jail must persist or attach")
    no_jails()


# ---------------------------------------------------------------------------
# 11-24: creation, jids, names


def test_case_11_create_defaults() -> None:
    """| 11 | CREATE `persist` | returns 1; jail_get jid=1 `name` → "1", `path` → "/",
    `children.max` → 0, `enforce_statfs` → 2, `persist` → 1 | K: `kern_jail_set`,
    `get_next_prid`, `kern_jail_get` |"""
    r = jail_set([persist()], JAIL_CREATE)
    assert r.ret == 1 and r.errmsg == ""
    g = read(("jid", I(1)), "name", "path", "children.max", "enforce_statfs", "persist")
    assert g.ret == 1
    assert g.str("name") == "1"
    assert g.str("path") == "/"
    assert g.int("children.max") == 0
    assert g.int("enforce_statfs") == 2
    assert g.int("persist") == 1


def test_case_12_sequential_jids() -> None:
    """| 12 | then CREATE `persist` twice more | returns 2, then 3 | K: `get_next_prid` |"""
    assert jail_set([persist()], JAIL_CREATE).ret == 1
    assert jail_set([persist()], JAIL_CREATE).ret == 2
    assert jail_set([persist()], JAIL_CREATE).ret == 3
    assert jails() == [1, 2, 3]
    assert read(("jid", I(3)), "name").str("name") == "3"


def test_case_13_explicit_jid_keeps_counter() -> None:
    """| 13 | CREATE `jid=10 persist`, then CREATE `persist` | 10, then 4 (explicit ids don't
    move the counter) | K: `kern_jail_set`, `get_next_prid` |"""
    for want in (1, 2, 3):
        assert jail_set([persist()], JAIL_CREATE).ret == want
    r = jail_set([("jid", I(10)), persist()], JAIL_CREATE)
    assert r.ret == 10 and r.errmsg == ""
    assert jail_set([persist()], JAIL_CREATE).ret == 4
    assert jails() == [1, 2, 3, 4, 10]
    assert read(("jid", I(10)), "name").str("name") == "10"


def test_case_14_explicit_jid_exists() -> None:
    """| 14 | CREATE `jid=10 persist` again | `EEXIST`, msg "jail 10 already exists" |
    K: `kern_jail_set` |"""
    assert modelabi.create(("jid", I(10)), ("name", "ten")) == 10
    r = jail_set([("jid", I(10)), persist()], JAIL_CREATE)
    failed(r, errno.EEXIST, "jail 10 already exists")
    assert jails() == [10]
    assert read(("jid", I(10)), "name").str("name") == "ten"


def test_case_15_negative_jid() -> None:
    """| 15 | CREATE `jid=-1 persist` | `EINVAL`, msg "negative jid" | K: `kern_jail_set` |"""
    r = jail_set([("jid", I(-1)), persist()], JAIL_CREATE)
    failed(r, errno.EINVAL, "negative jid")
    no_jails()


def test_case_16_jid_wrong_size() -> None:
    """| 16 | CREATE `jid` with an 8-byte value | `EINVAL`, no msg | V: `vfs_copyopt`;
    K: `kern_jail_set` |"""
    r = jail_set([("jid", UL(10)), persist()], JAIL_CREATE)
    assert r.len("jid") == 8
    failed(r, errno.EINVAL)
    no_jails()


def test_case_17_duplicate_name() -> None:
    """| 17 | CREATE `name=web persist` twice | second: `EEXIST`, msg `jail "web" already
    exists` | K: `kern_jail_set` (name search) |"""
    assert jail_set([("name", "web"), persist()], JAIL_CREATE).ret == 1
    r = jail_set([("name", "web"), persist()], JAIL_CREATE)
    failed(r, errno.EEXIST, 'jail "web" already exists')
    assert jails() == [1]
    assert jid_of("web") == 1


def test_case_18_numeric_name_selects_jid() -> None:
    """| 18 | CREATE `name=42 persist` (no jid) | returns 42 | K: `kern_jail_set` (numeric
    name → jid) |"""
    r = jail_set([("name", "42"), persist()], JAIL_CREATE)
    assert r.ret == 42 and r.errmsg == ""
    assert jails() == [42]
    assert read(("jid", I(42)), "name").str("name") == "42"
    # the explicit id did not move the automatic counter
    assert jail_set([persist()], JAIL_CREATE).ret == 1


def test_case_19_noncanonical_numeric_name() -> None:
    """| 19 | CREATE `name=077 persist` (no jail 77 exists) | `EINVAL`, msg "name cannot be
    numeric (unless it is the jid)" (the name first selects jid 77, then fails the
    canonical-form test) | K: `kern_jail_set` |"""
    r = jail_set([("name", "077"), persist()], JAIL_CREATE)
    failed(r, errno.EINVAL, "name cannot be numeric (unless it is the jid)")
    no_jails()


def test_case_20_name_starting_with_digits() -> None:
    """| 20 | CREATE `name=12abc persist` | success, name "12abc" | K: `kern_jail_set` |"""
    r = jail_set([("name", "12abc"), persist()], JAIL_CREATE)
    assert r.ret == 1 and r.errmsg == ""
    assert read(("jid", I(1)), "name").str("name") == "12abc"
    assert jid_of("12abc") == 1


def test_case_21_missing_parent() -> None:
    """| 21 | CREATE `name=nosuch.child persist` | `ENOENT`, msg `jail "nosuch" not found` |
    K: `kern_jail_set`, `prison_find_name` |"""
    r = jail_set([("name", "nosuch.child"), persist()], JAIL_CREATE)
    failed(r, errno.ENOENT, 'jail "nosuch" not found')
    no_jails()


def test_case_22_child_limit_checked_on_callers_chain() -> None:
    """| 22 | CREATE `name=web persist`, then `name=web.db persist` | success even though web's
    children.max is 0 (limit is checked on the caller's chain); jail_get `name=web.db` →
    `parent` = jid of web, `name` = "web.db"; web's `children.cur` = 1 | K: `kern_jail_set`,
    `kern_jail_get`, `prison_name` |"""
    web = jail_set([("name", "web"), persist()], JAIL_CREATE)
    assert web.ret == 1
    db = jail_set([("name", "web.db"), persist()], JAIL_CREATE)
    assert db.ret == 2 and db.errmsg == ""
    g = read(("name", "web.db"), "jid", "parent", "name")
    assert g.int("jid") == 2
    assert g.int("parent") == 1
    assert g.str("name") == "web.db"
    w = read(("jid", I(1)), "children.cur", "children.max")
    assert w.int("children.cur") == 1
    assert w.int("children.max") == 0


def test_case_23_name_too_long() -> None:
    """| 23 | CREATE name value of 257 bytes incl. NUL | `ENAMETOOLONG`, no msg |
    K: `kern_jail_set` |"""
    r = jail_set([("name", "n" * 256), persist()], JAIL_CREATE)
    assert r.len("name") == 257
    failed(r, errno.ENAMETOOLONG)
    no_jails()


def test_case_24_name_value_without_nul() -> None:
    """| 24 | CREATE name value `"ab"` without trailing NUL (len 2) | `EINVAL` |
    K: `kern_jail_set` |"""
    r = jail_set([("name", b"ab"), persist()], JAIL_CREATE)
    assert r.len("name") == 2
    failed(r, errno.EINVAL)
    no_jails()


# ---------------------------------------------------------------------------
# 25-32: parameters


def test_case_25_unknown_parameter() -> None:
    """| 25 | CREATE `persist foo=1` | `EINVAL`, msg "unknown parameter: foo" |
    K: `kern_jail_set` |"""
    r = jail_set([persist(), ("foo", "1")], JAIL_CREATE)
    failed(r, errno.EINVAL, "unknown parameter: foo")
    no_jails()


@pytest.mark.parametrize(
    ("name", "value"),
    [("dying", None), ("parent", I(0)), ("children.cur", I(0)), ("cpuset.id", I(1)),
     ("lastjid", I(0))],
)
def test_case_26_read_only_parameters(name: str, value: Any) -> None:
    """| 26 | CREATE `persist dying` (or `parent`, `children.cur`, `cpuset.id`, `lastjid`) |
    `EINVAL`, msg "unknown parameter: dying" (etc.) | K: `kern_jail_set` |"""
    r = jail_set([persist(), (name, value)], JAIL_CREATE)
    failed(r, errno.EINVAL, f"unknown parameter: {name}")
    no_jails()


def test_case_27_boolean_value_ignored() -> None:
    """| 27 | CREATE `persist` where `persist` carries a 4-byte int 0 | succeeds, jail IS
    persistent (value ignored) | V: `vfs_flagopt`; K: `kern_jail_set` |"""
    r = jail_set([("persist", I(0))], JAIL_CREATE)
    assert r.ret == 1 and r.errmsg == ""
    g = read(("jid", I(1)), "persist", "dying")
    assert g.int("persist") == 1
    assert g.int("dying") == 0
    # (persist and nopersist are one option for de-duplication: read them separately)
    assert read(("jid", I(1)), "nopersist").int("nopersist") == 0


def test_case_28_last_duplicate_wins() -> None:
    """| 28 | CREATE `persist nopersist` (in that order) | `EINVAL` "new jail must persist or
    attach" (last one wins) | V: `vfs_sanitizeopts`/`vfs_equalopts`; K |"""
    r = jail_set([persist(), ("nopersist", None)], JAIL_CREATE)
    failed(r, errno.EINVAL, "new jail must persist or attach")
    no_jails()


def test_case_29_enforce_statfs_range() -> None:
    """| 29 | CREATE `persist enforce_statfs=3` | `EINVAL`, no msg | K: `kern_jail_set` |"""
    r = jail_set([persist(), ("enforce_statfs", I(3))], JAIL_CREATE)
    failed(r, errno.EINVAL)
    no_jails()


def test_case_30_children_max_below_host() -> None:
    """| 30 | CREATE `persist children.max=999999` | `EPERM`, no msg; with 999998 → success |
    K: `kern_jail_set` (parent = prison0, JAIL_MAX) |"""
    r = jail_set([persist(), ("children.max", I(999999))], JAIL_CREATE)
    failed(r, errno.EPERM)
    no_jails()
    r = jail_set([persist(), ("children.max", I(999998))], JAIL_CREATE)
    assert r.ret >= 1 and r.errmsg == ""
    assert read(("jid", I(r.ret)), "children.max").int("children.max") == 999998


def test_case_31_devfs_ruleset_range() -> None:
    """| 31 | CREATE `persist devfs_ruleset=70000` | `EINVAL`, no msg | K: `kern_jail_set` |"""
    r = jail_set([persist(), ("devfs_ruleset", I(70000))], JAIL_CREATE)
    failed(r, errno.EINVAL)
    no_jails()


def test_case_32_securelevel_below_host() -> None:
    """| 32 | host with kern.securelevel -1: CREATE `persist securelevel=-2` | `EPERM`, no msg |
    K: `kern_jail_set` |"""
    r = jail_set([persist(), ("securelevel", I(-2))], JAIL_CREATE)
    failed(r, errno.EPERM)
    no_jails()
    r = jail_set([persist(), ("securelevel", I(-1))], JAIL_CREATE)
    assert r.ret > 0 and r.errmsg == ""
    assert read(("jid", I(r.ret)), "securelevel").int("securelevel") == -1


# ---------------------------------------------------------------------------
# 33-35: constraints against the parent and propagation


def test_case_33_jailed_child_securelevel_below_parent() -> None:
    """| 33 | jail A (securelevel 3) with children.max 5; process attached to A creates child
    with securelevel 1 | `EPERM` | K: `kern_jail_set` |"""
    a = modelabi.create(("name", "A"), ("securelevel", I(3)), ("children.max", I(5)))

    def inside() -> tuple[Any, ...]:
        low = jail_set([("name", "c"), persist(), ("securelevel", I(1))], JAIL_CREATE)
        return summary(low)

    assert in_child(inside, attach=a) == (-1, errno.EPERM, "")
    assert read(("jid", I(a)), "children.cur").int("children.cur") == 0
    not_found("A.c")
    assert jails() == [a]


def test_case_34_securelevel_raises_descendants() -> None:
    """| 34 | update A securelevel=5 where A has child B at 3 | success; B now reads 5 |
    K: `kern_jail_set` (descendant propagation) |"""
    a = modelabi.create(("name", "A"))
    b = modelabi.create(("name", "A.B"), ("securelevel", I(3)))
    r = jail_set([("jid", I(a)), ("securelevel", I(5))], JAIL_UPDATE)
    assert r.ret == a and r.errmsg == ""
    assert read(("jid", I(a)), "securelevel").int("securelevel") == 5
    assert read(("jid", I(b)), "securelevel").int("securelevel") == 5


def test_case_35_children_max_clamps_descendants() -> None:
    """| 35 | A (children.max 10) ⊃ B (5) ⊃ C (3); UPDATE A children.max=2 | B reads 1,
    C reads 0 | K: `kern_jail_set` |"""
    a = modelabi.create(("name", "A"), ("children.max", I(10)))
    b = modelabi.create(("name", "A.B"), ("children.max", I(5)))
    c = modelabi.create(("name", "A.B.C"), ("children.max", I(3)))
    r = jail_set([("jid", I(a)), ("children.max", I(2))], JAIL_UPDATE)
    assert r.ret == a and r.errmsg == ""
    assert read(("jid", I(a)), "children.max").int("children.max") == 2
    assert read(("jid", I(b)), "children.max").int("children.max") == 1
    assert read(("jid", I(c)), "children.max").int("children.max") == 0


# ---------------------------------------------------------------------------
# 36-47: create-only parameters, path, osrelease, vnet, host, IPv4


def test_case_36_path_with_update() -> None:
    """| 36 | UPDATE on existing jail with `path=/tmp` | `EINVAL`, msg "path cannot be changed
    after creation"; same with CREATE\\|UPDATE on a *new* name | K: `kern_jail_set` |"""
    jid = modelabi.create(("name", "web"))
    r = jail_set([("jid", I(jid)), ("path", "/tmp")], JAIL_UPDATE)
    failed(r, errno.EINVAL, "path cannot be changed after creation")
    assert read(("jid", I(jid)), "path").str("path") == "/"
    r = jail_set([("name", "fresh"), persist(), ("path", "/tmp")], JAIL_CREATE | JAIL_UPDATE)
    failed(r, errno.EINVAL, "path cannot be changed after creation")
    not_found("fresh")
    assert jails() == [jid]


def test_case_37_path_lookup_errors() -> None:
    """| 37 | CREATE `persist path=/etc/passwd` | `ENOTDIR`; `path=/nonexistent` → `ENOENT` |
    K: `kern_jail_set` (namei) |"""
    assert os.path.isfile("/etc/passwd")
    assert not os.path.exists("/nonexistent")
    r = jail_set([persist(), ("path", "/etc/passwd")], JAIL_CREATE)
    failed(r, errno.ENOTDIR)
    r = jail_set([persist(), ("path", "/nonexistent")], JAIL_CREATE)
    failed(r, errno.ENOENT)
    no_jails()


def test_case_38_osrelease_length_and_update() -> None:
    """| 38 | CREATE `persist osrelease=<32-byte value incl NUL>` | `ENAMETOOLONG`, msg
    "osrelease string must be 1-31 bytes long"; UPDATE with osrelease → `EINVAL` "osrelease
    cannot be changed after creation" | K: `kern_jail_set` |"""
    r = jail_set([persist(), ("osrelease", "r" * 31)], JAIL_CREATE)
    assert r.len("osrelease") == 32
    failed(r, errno.ENAMETOOLONG, "osrelease string must be 1-31 bytes long")
    no_jails()
    jid = modelabi.create(("osrelease", "13.2-RELEASE"))
    r = jail_set([("jid", I(jid)), ("osrelease", "14.1-RELEASE")], JAIL_UPDATE)
    failed(r, errno.EINVAL, "osrelease cannot be changed after creation")
    assert read(("jid", I(jid)), "osrelease").str("osrelease") == "13.2-RELEASE"


def test_case_39_osreldate_zero() -> None:
    """| 39 | CREATE `persist osreldate=0` | `EINVAL`, msg "osreldate cannot be 0" |
    K: `kern_jail_set` |"""
    r = jail_set([persist(), ("osreldate", I(0))], JAIL_CREATE)
    failed(r, errno.EINVAL, "osreldate cannot be 0")
    no_jails()


def test_case_40_jailsys_disable_and_range() -> None:
    """| 40 | CREATE `persist vnet=0` (disable) | `EINVAL`, no msg; `host=0` likewise; `host=3`
    → `EINVAL` | K: `kern_jail_set` (jailsys) |"""
    failed(jail_set([persist(), ("vnet", I(0))], JAIL_CREATE), errno.EINVAL)
    failed(jail_set([persist(), ("host", I(0))], JAIL_CREATE), errno.EINVAL)
    failed(jail_set([persist(), ("host", I(3))], JAIL_CREATE), errno.EINVAL)
    no_jails()


def test_case_41_vnet_with_ip_restriction() -> None:
    """| 41 | CREATE `persist vnet=1 ip4.addr=192.0.2.1` | `EINVAL`, msg "vnet jails cannot have
    IP address restrictions" | K: `kern_jail_set` |"""
    r = jail_set([persist(), ("vnet", I(1)), ("ip4.addr", IP4("192.0.2.1"))], JAIL_CREATE)
    failed(r, errno.EINVAL, "vnet jails cannot have IP address restrictions")
    no_jails()


def test_case_42_vnet_with_update() -> None:
    """| 42 | UPDATE existing jail with `vnet=2` | `EINVAL`, msg "vnet cannot be changed after
    creation" | K: `kern_jail_set` |"""
    jid = modelabi.create(("name", "web"))
    r = jail_set([("jid", I(jid)), ("vnet", I(2))], JAIL_UPDATE)
    failed(r, errno.EINVAL, "vnet cannot be changed after creation")
    assert read(("jid", I(jid)), "vnet").int("vnet") == 2


def test_case_43_ip4_addr_validation() -> None:
    """| 43 | CREATE `persist ip4.addr` with 6 bytes | `EINVAL`; with 0.0.0.0 → `EINVAL`; with
    two equal addresses → `EINVAL`; with 256 addresses → `EINVAL` "too many IPv4 addresses" |
    K: `kern_jail_set`, `prison_ip_copyin`; in_jail.c `prison_valid_v4` |"""
    r = jail_set([persist(), ("ip4.addr", b"\xc0\x00\x02\x01\xc0\x00")], JAIL_CREATE)
    assert r.len("ip4.addr") == 6
    failed(r, errno.EINVAL)
    failed(jail_set([persist(), ("ip4.addr", IP4("0.0.0.0"))], JAIL_CREATE), errno.EINVAL)
    failed(jail_set([persist(), ("ip4.addr", IP4("192.0.2.1", "192.0.2.1"))], JAIL_CREATE),
           errno.EINVAL)
    many = IP4(*[f"10.0.{i // 256}.{i % 256}" for i in range(1, 257)])
    assert len(many) == 256 * 4
    r = jail_set([persist(), ("ip4.addr", many)], JAIL_CREATE)
    failed(r, errno.EINVAL, "too many IPv4 addresses")
    no_jails()


def test_case_44_ip4_clash() -> None:
    """| 44 | jail X ip4.addr={192.0.2.1,192.0.2.2}; CREATE Y ip4.addr={192.0.2.2} |
    `EADDRINUSE`, msg "IPv4 addresses clash"; but X={.1} and Y={.1} (single each) → success |
    K: `prison_ip_conflict_check` |"""
    x = modelabi.create(("name", "X"), ("ip4.addr", IP4("192.0.2.1", "192.0.2.2")))
    r = jail_set([("name", "Y"), persist(), ("ip4.addr", IP4("192.0.2.2"))], JAIL_CREATE)
    failed(r, errno.EADDRINUSE, "IPv4 addresses clash")
    not_found("Y")
    assert jails() == [x]
    x1 = modelabi.create(("name", "X1"), ("ip4.addr", IP4("192.0.2.10")))
    r = jail_set([("name", "Y1"), persist(), ("ip4.addr", IP4("192.0.2.10"))], JAIL_CREATE)
    assert r.ok and r.errmsg == ""
    assert read(("jid", I(x1)), "ip4.addr").ip4() == ["192.0.2.10"]
    assert read(("jid", I(r.ret)), "ip4.addr").ip4() == ["192.0.2.10"]


def test_case_45_ip4_stored_order() -> None:
    """| 45 | ip4.addr given as {10.0.0.9, 10.0.0.3, 10.0.0.1} | jail_get returns 10.0.0.9,
    10.0.0.1, 10.0.0.3 | K: `prison_ip_copyin` |"""
    jid = modelabi.create(("ip4.addr", IP4("10.0.0.9", "10.0.0.3", "10.0.0.1")))
    g = read(("jid", I(jid)), "ip4.addr")
    assert g.ip4() == ["10.0.0.9", "10.0.0.1", "10.0.0.3"]
    assert g.len("ip4.addr") == 12


def test_case_46_ip4_addr_update_needs_restriction() -> None:
    """| 46 | jail created with `ip4=2` (inherit); UPDATE `ip4.addr=192.0.2.5` | `EINVAL`, msg
    "ip4 cannot be changed after creation"; on a jail created with ip4.addr → success |
    K: `kern_jail_set` |"""
    inh = modelabi.create(("name", "inh"), ("ip4", I(2)))
    r = jail_set([("jid", I(inh)), ("ip4.addr", IP4("192.0.2.5"))], JAIL_UPDATE)
    failed(r, errno.EINVAL, "ip4 cannot be changed after creation")
    g = read(("jid", I(inh)), "ip4", "ip4.addr")
    assert g.int("ip4") == 2
    assert g.len("ip4.addr") == 0
    res = modelabi.create(("name", "res"), ("ip4.addr", IP4("192.0.2.4")))
    r = jail_set([("jid", I(res)), ("ip4.addr", IP4("192.0.2.5"))], JAIL_UPDATE)
    assert r.ret == res and r.errmsg == ""
    assert read(("jid", I(res)), "ip4.addr").ip4() == ["192.0.2.5"]


def test_case_47_ip4_jailsys_with_update() -> None:
    """| 47 | UPDATE `jid=N ip4=1` | `EINVAL`, msg "ip4 cannot be changed after creation" |
    K: `kern_jail_set` (early check) |"""
    jid = modelabi.create(("name", "web"))
    r = jail_set([("jid", I(jid)), ("ip4", I(1))], JAIL_UPDATE)
    failed(r, errno.EINVAL, "ip4 cannot be changed after creation")
    g = read(("jid", I(jid)), "ip4", "ip4.addr")
    assert g.int("ip4") == 0  # still restricted (the default), read back as 0 (section 11)
    assert g.len("ip4.addr") == 0


def test_case_48_ip4_not_subset_of_parent() -> None:
    """| 48 | child of a jail whose ip4.addr={.1}: child ip4.addr={.2} | `EPERM`, no msg |
    K: `prison_ip_parent_match` |"""
    p = modelabi.create(("name", "P"), ("ip4.addr", IP4("192.0.2.1")))
    r = jail_set([("name", "P.c"), persist(), ("ip4.addr", IP4("192.0.2.2"))], JAIL_CREATE)
    failed(r, errno.EPERM)
    not_found("P.c")
    assert read(("jid", I(p)), "children.cur").int("children.cur") == 0


# ---------------------------------------------------------------------------
# 49-55: locating the target


def test_case_49_update_no_jail() -> None:
    """| 49 | UPDATE with no jid/name | `ENOENT`, msg "update specified no jail" |
    K: `kern_jail_set` |"""
    jid = modelabi.create(("name", "web"))
    r = jail_set([("host.hostname", "changed")], JAIL_UPDATE)
    failed(r, errno.ENOENT, "update specified no jail")
    assert read(("jid", I(jid)), "host.hostname").str("host.hostname") == ""


def test_case_50_update_absent_jid() -> None:
    """| 50 | UPDATE `jid=99` (absent) | `ENOENT`, msg "jail 99 not found" | K: `kern_jail_set` |"""
    r = jail_set([("jid", I(99)), persist()], JAIL_UPDATE)
    failed(r, errno.ENOENT, "jail 99 not found")
    no_jails()


def test_case_51_update_absent_name() -> None:
    """| 51 | UPDATE `name=ghost` (absent) | `ENOENT`, msg `jail "ghost" not found` |
    K: `kern_jail_set` |"""
    r = jail_set([("name", "ghost"), persist()], JAIL_UPDATE)
    failed(r, errno.ENOENT, 'jail "ghost" not found')
    no_jails()


def test_case_52_rename_onto_sibling() -> None:
    """| 52 | UPDATE `jid=<web> name=db` where sibling "db" exists | `EEXIST`, msg `jail "db"
    already exists` | K: `kern_jail_set` |"""
    web = modelabi.create(("name", "web"))
    db = modelabi.create(("name", "db"))
    r = jail_set([("jid", I(web)), ("name", "db")], JAIL_UPDATE)
    failed(r, errno.EEXIST, 'jail "db" already exists')
    assert read(("jid", I(web)), "name").str("name") == "web"
    assert read(("jid", I(db)), "name").str("name") == "db"


def test_case_53_rename_renames_descendants() -> None:
    """| 53 | rename web→www with child web.db | success; child now named "www.db" |
    K: `kern_jail_set` (descendant renaming) |"""
    web = modelabi.create(("name", "web"))
    db = modelabi.create(("name", "web.db"))
    r = jail_set([("jid", I(web)), ("name", "www")], JAIL_UPDATE)
    assert r.ret == web and r.errmsg == ""
    assert read(("jid", I(web)), "name").str("name") == "www"
    assert read(("jid", I(db)), "name").str("name") == "www.db"
    assert jid_of("www.db") == db
    not_found("web.db")
    not_found("web")


def test_case_54_create_update_existing_needs_persist() -> None:
    """| 54 | CREATE\\|UPDATE on existing jail, no persist, no attach | `EINVAL` "new jail must
    persist or attach" (flag-based check) | K: `kern_jail_set` |"""
    jid = modelabi.create(("name", "web"))
    r = jail_set([("name", "web"), ("host.hostname", "h")], JAIL_CREATE | JAIL_UPDATE)
    failed(r, errno.EINVAL, "new jail must persist or attach")
    r = jail_set([("jid", I(jid)), ("host.hostname", "h")], JAIL_CREATE | JAIL_UPDATE)
    failed(r, errno.EINVAL, "new jail must persist or attach")
    assert read(("jid", I(jid)), "host.hostname").str("host.hostname") == ""
    assert jails() == [jid]


def test_case_55_nopersist_frees_idle_jail() -> None:
    """| 55 | UPDATE `jid=N nopersist` on an idle persistent jail (no processes, children or
    other references) | returns N; afterwards jail_get jid=N → `ENOENT` "jail N not found" even
    with JAIL_DYING (freed at once). If something still references it: "jail N is dying", and
    with JAIL_DYING → success, `dying`=1 | K: `kern_jail_set`, `prison_deref`,
    `kern_jail_get` |"""
    n = modelabi.create(("name", "idle"))
    r = jail_set([("jid", I(n)), ("nopersist", None)], JAIL_UPDATE)
    assert r.ret == n and r.errmsg == ""
    not_found(n)
    not_found(n, JAIL_DYING)
    no_jails()

    m = modelabi.create(("name", "held"))
    model.hold(m)
    r = jail_set([("jid", I(m)), ("nopersist", None)], JAIL_UPDATE)
    assert r.ret == m and r.errmsg == ""
    g = jail_get([("jid", I(m)), ("dying", Buf(4))])
    failed(g, errno.ENOENT, f"jail {m} is dying")
    g = read(("jid", I(m)), "dying", "persist", flags=JAIL_DYING)
    assert g.int("dying") == 1
    assert g.int("persist") == 0
    model.release(m)
    not_found(m, JAIL_DYING)
    no_jails()


# ---------------------------------------------------------------------------
# 56-60: allow bits and jailed callers


def test_case_56_allow_bits_against_parent() -> None:
    """| 56 | host creates P (defaults), then `P.c persist allow.mount` | `EPERM`; P created with
    `allow.nounprivileged_proc_debug`, then `P.c persist allow.unprivileged_proc_debug` →
    success | K: `kern_jail_set` (PR_ALLOW_DIFFERENCES) |"""
    p = modelabi.create(("name", "P"))
    r = jail_set([("name", "P.c"), persist(), ("allow.mount", None)], JAIL_CREATE)
    failed(r, errno.EPERM)
    not_found("P.c")
    assert read(("jid", I(p)), "children.cur").int("children.cur") == 0

    q = modelabi.create(("name", "Q"), ("allow.nounprivileged_proc_debug", None))
    r = jail_set([("name", "Q.c"), persist(), ("allow.unprivileged_proc_debug", None)],
                 JAIL_CREATE)
    assert r.ok and r.errmsg == ""
    assert read(("jid", I(q)), "allow.unprivileged_proc_debug").int(
        "allow.unprivileged_proc_debug") == 0
    assert read(("jid", I(r.ret)), "allow.unprivileged_proc_debug").int(
        "allow.unprivileged_proc_debug") == 1


def test_case_57_allow_off_propagates() -> None:
    """| 57 | P and P.c both created with `allow.raw_sockets`; UPDATE P `allow.noraw_sockets` |
    P.c's allow.raw_sockets reads 0 | K: `prison_set_allow_locked` |"""
    p = modelabi.create(("name", "P"), ("allow.raw_sockets", None))
    c = modelabi.create(("name", "P.c"), ("allow.raw_sockets", None))
    assert read(("jid", I(c)), "allow.raw_sockets").int("allow.raw_sockets") == 1
    r = jail_set([("jid", I(p)), ("allow.noraw_sockets", None)], JAIL_UPDATE)
    assert r.ret == p and r.errmsg == ""
    assert read(("jid", I(p)), "allow.raw_sockets").int("allow.raw_sockets") == 0
    assert read(("jid", I(c)), "allow.raw_sockets").int("allow.raw_sockets") == 0


def test_case_58_prison_limit_exceeded() -> None:
    """| 58 | jail J with children.max=1 (process inside J): create 2 children | second →
    `EPERM`, msg "prison limit exceeded" | K: `kern_jail_set` |"""
    j = modelabi.create(("name", "J"), ("children.max", I(1)))

    def inside() -> list[tuple[int, int, str]]:
        first = jail_set([("name", "a"), persist()], JAIL_CREATE)
        second = jail_set([("name", "b"), persist()], JAIL_CREATE)
        return [summary(first), summary(second)]

    first, second = in_child(inside, attach=j)
    assert first[0] > 0 and first[1:] == (0, "")
    assert second == (-1, errno.EPERM, "prison limit exceeded")
    assert read(("jid", I(j)), "children.cur").int("children.cur") == 1
    assert jid_of("J.a") == first[0]
    not_found("J.b")


def test_case_59_children_max_zero_before_flag_mask() -> None:
    """| 59 | process inside a jail with children.max=0: jail_set CREATE\\|0x100 | `EPERM` (limit
    check precedes the flag-mask check) | K: `kern_jail_set` |"""
    j = modelabi.create(("name", "J"))

    def inside() -> tuple[int, int, str]:
        return summary(jail_set([persist()], JAIL_CREATE | 0x100))

    assert in_child(inside, attach=j) == (-1, errno.EPERM, "")
    assert jails() == [j]
    # from the host (children.max 999999) the same call is a flag-mask error
    failed(jail_set([persist()], JAIL_CREATE | 0x100), errno.EINVAL)


def test_case_60_jailed_devfs_ruleset() -> None:
    """| 60 | jailed caller creating child with devfs_ruleset=7 while parent has 4 | `EPERM`;
    with 0 → success and child reads 4 | K: `kern_jail_set` |"""
    j = modelabi.create(("name", "J"), ("children.max", I(2)), ("devfs_ruleset", I(4)))

    def inside() -> list[tuple[int, int, str]]:
        bad = jail_set([("name", "c"), persist(), ("devfs_ruleset", I(7))], JAIL_CREATE)
        good = jail_set([("name", "c"), persist(), ("devfs_ruleset", I(0))], JAIL_CREATE)
        return [summary(bad), summary(good)]

    bad, good = in_child(inside, attach=j)
    assert bad == (-1, errno.EPERM, "")
    assert good[0] > 0 and good[1:] == (0, "")
    assert jid_of("J.c") == good[0]
    assert read(("jid", I(good[0])), "devfs_ruleset").int("devfs_ruleset") == 4
    assert read(("jid", I(j)), "children.cur").int("children.cur") == 1


# keep JAIL_ATTACH imported for readers cross-checking flag values against section 1.1
assert JAIL_ATTACH == 0x04
