"""jail_set rules of spec sections 2 and 4 beyond the conformance table of section 9.

Each test drives the kernel model through its exported C ABI (``tests/modelabi.py``)
and asserts return value, errno, the exact errmsg (or that none was written) and
the state read back with jail_get.  Spec: /work/shared/spec/freebsd-jail-kernel.md.
"""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path
from typing import Any

import modelabi
import pytest
from forked import in_child
from modelabi import (
    IP4,
    IP6,
    JAIL_AT_DESC,
    JAIL_CREATE,
    JAIL_DYING,
    JAIL_UPDATE,
    JAIL_USE_DESC,
    UL,
    Buf,
    I,
    Null,
    Result,
    jail_set,
)
from modelabi_check import (
    failed,
    jails,
    jid_of,
    no_jails,
    not_found,
    read,
    rint,
    rstr,
    succeeded,
    summary,
)

import jailcore.model as model

# ---------------------------------------------------------------------------
# file-specific helpers (the shared ones: tests/modelabi_check.py)

P = ("persist", None)


def mk(name: str, *pairs: tuple[str, Any]) -> int:
    return modelabi.create(("name", name), *pairs)


def kill(jid: int) -> None:
    """Drop persist (the jail dies, and is freed unless something holds it)."""
    succeeded(jail_set([("jid", I(jid)), ("nopersist", None)], JAIL_UPDATE), jid)


def errmsg_raw(r: Result) -> bytes:
    i = r.names.index(b"errmsg")
    buf = r.buffers[i]
    return b"" if buf is None else buf.raw


# ---------------------------------------------------------------------------
# section 4.1: order of checks where two errors compete


def test_order_missing_jid_beats_unknown_parameter() -> None:
    """4.1 step 33: unknown parameters are reported late; a nonexistent jid wins."""
    r = jail_set([("jid", I(99)), ("foo", "1"), P], JAIL_UPDATE)
    failed(r, errno.ENOENT, "jail 99 not found")
    r = jail_set([("name", "nosuch.x"), ("foo", "1"), P], JAIL_CREATE)
    failed(r, errno.ENOENT, 'jail "nosuch" not found')
    web = mk("web")
    r = jail_set([("name", "web"), ("foo", "1"), P], JAIL_CREATE)
    failed(r, errno.EEXIST, 'jail "web" already exists')
    assert jails() == [web]


def test_order_odd_niov_before_privilege() -> None:
    """4.1 step 1 precedes everything, privilege included."""
    got = in_child(lambda: summary(jail_set([P, ("name", "x")], JAIL_CREATE, niov=3)),
                   uid=65534)
    assert got == (-1, errno.EINVAL, "")
    no_jails()


def test_order_15x_validation_before_privilege() -> None:
    """4.1 steps 4-7 precede the privilege check (step 9); typed params (step 10) follow it."""

    def calls() -> list[tuple[int, int, str]]:
        return [
            summary(jail_set([P], 0)),
            summary(jail_set([P], JAIL_CREATE | 0x100)),
            summary(jail_set([P, (b"", None)], JAIL_CREATE)),
            summary(jail_set([P], JAIL_CREATE | JAIL_USE_DESC | JAIL_AT_DESC)),
            summary(jail_set([P, ("enforce_statfs", I(3))], JAIL_CREATE)),
            summary(jail_set([P, ("jid", I(-1))], JAIL_CREATE)),
            summary(jail_set([P], JAIL_CREATE)),
        ]

    got = in_child(calls, uid=65534)
    assert got == [
        (-1, errno.EINVAL, "no valid operation (create or update)"),
        (-1, errno.EINVAL, ""),
        (-1, errno.EINVAL, ""),
        (-1, errno.EINVAL, ""),
        (-1, errno.EPERM, ""),
        (-1, errno.EPERM, ""),
        (-1, errno.EPERM, ""),
    ]
    no_jails()


def test_order_non_root_update_is_eperm() -> None:
    """4.1 step 9: updates need privilege too, before the jail is looked up."""
    web = mk("web")

    def calls() -> list[tuple[int, int, str]]:
        return [summary(jail_set([("jid", I(web)), ("host.hostname", "x")], JAIL_UPDATE)),
                summary(jail_set([("jid", I(99)), ("host.hostname", "x")], JAIL_UPDATE))]

    assert in_child(calls, uid=65534) == [(-1, errno.EPERM, ""), (-1, errno.EPERM, "")]
    assert rstr(web, "host.hostname") == ""


def test_order_scalar_and_jailsys_errors_before_persist_check() -> None:
    """4.1 steps 10 and 12 precede step 13 ("new jail must persist or attach")."""
    failed(jail_set([("enforce_statfs", I(3))], JAIL_CREATE), errno.EINVAL)
    failed(jail_set([("jid", UL(1))], JAIL_CREATE), errno.EINVAL)
    # the negative-jid test belongs to the lookup (4.2, step 26): after the persist check
    failed(jail_set([("jid", I(-1))], JAIL_CREATE), errno.EINVAL,
           "new jail must persist or attach")
    failed(jail_set([("securelevel", I(1)), ("children.max", UL(1))], JAIL_CREATE),
           errno.EINVAL)
    failed(jail_set([("host", I(0))], JAIL_CREATE), errno.EINVAL)
    failed(jail_set([("ip4", I(3))], JAIL_CREATE), errno.EINVAL)
    no_jails()


def test_order_persist_check_before_create_only_and_lookup() -> None:
    """4.1 step 13 precedes step 14 (create-only with UPDATE) and step 26 (EEXIST)."""
    web = mk("web")
    r = jail_set([("name", "new"), ("vnet", I(2))], JAIL_CREATE | JAIL_UPDATE)
    failed(r, errno.EINVAL, "new jail must persist or attach")
    r = jail_set([("jid", I(web))], JAIL_CREATE)
    failed(r, errno.EINVAL, "new jail must persist or attach")
    assert jails() == [web]


def test_order_create_only_before_name_and_ip_checks() -> None:
    """4.1 step 14 precedes steps 16, 19 and 20."""
    web = mk("web")
    r = jail_set([("jid", I(web)), ("vnet", I(2)), ("name", "n" * 300)], JAIL_UPDATE)
    failed(r, errno.EINVAL, "vnet cannot be changed after creation")
    r = jail_set([("jid", I(web)), ("ip6", I(1)), ("ip4.addr", b"\x01\x02\x03")], JAIL_UPDATE)
    failed(r, errno.EINVAL, "ip6 cannot be changed after creation")
    r = jail_set([("jid", I(web)), ("vnet", I(2)), ("ip4.addr", IP4("192.0.2.1"))],
                 JAIL_UPDATE)
    failed(r, errno.EINVAL, "vnet cannot be changed after creation")
    assert rstr(web, "name") == "web"


def test_order_name_length_before_ip_checks() -> None:
    """4.1 step 16 precedes step 19."""
    many = IP4(*[f"10.0.{i // 256}.{i % 256}" for i in range(1, 257)])
    r = jail_set([P, ("name", "n" * 256), ("ip4.addr", many)], JAIL_CREATE)
    failed(r, errno.ENAMETOOLONG)
    no_jails()


def test_order_ip_checks_before_vnet_conflict() -> None:
    """4.1 step 19 precedes step 20."""
    r = jail_set([P, ("vnet", I(1)), ("ip4.addr", b"\xc0\x00\x02\x01\x01\x02")], JAIL_CREATE)
    failed(r, errno.EINVAL)
    many = IP4(*[f"10.0.{i // 256}.{i % 256}" for i in range(1, 257)])
    r = jail_set([P, ("vnet", I(1)), ("ip4.addr", many)], JAIL_CREATE)
    failed(r, errno.EINVAL, "too many IPv4 addresses")
    r = jail_set([P, ("vnet", I(2)), ("ip6", I(1))], JAIL_CREATE)
    failed(r, errno.EINVAL, "vnet jails cannot have IP address restrictions")
    no_jails()


def test_order_osrelease_before_osreldate_before_path() -> None:
    """4.1 steps 21, 22, 23 in this order."""
    r = jail_set([P, ("path", "/nonexistent"), ("osreldate", I(0)), ("osrelease", "r" * 40)],
                 JAIL_CREATE)
    failed(r, errno.ENAMETOOLONG, "osrelease string must be 1-31 bytes long")
    r = jail_set([P, ("path", "/nonexistent"), ("osreldate", I(0))], JAIL_CREATE)
    failed(r, errno.EINVAL, "osreldate cannot be 0")
    no_jails()


def test_order_path_lookup_before_jail_lookup() -> None:
    """4.1 step 23 (namei) precedes step 26 (EEXIST for the jid)."""
    web = mk("web")
    r = jail_set([("jid", I(web)), P, ("path", "/nonexistent")], JAIL_CREATE)
    failed(r, errno.ENOENT)
    assert jails() == [web]


def test_order_lookup_before_parent_constraints() -> None:
    """4.1 step 26 precedes step 29."""
    r = jail_set([("jid", I(99)), ("securelevel", I(-5))], JAIL_UPDATE)
    failed(r, errno.ENOENT, "jail 99 not found")
    r = jail_set([("name", "ghost"), ("children.max", I(999999))], JAIL_UPDATE)
    failed(r, errno.ENOENT, 'jail "ghost" not found')
    no_jails()


def test_order_constraints_before_unknown_parameter() -> None:
    """4.1 steps 29-31 precede step 33."""
    failed(jail_set([P, ("securelevel", I(-2)), ("foo", None)], JAIL_CREATE), errno.EPERM)
    failed(jail_set([P, ("name", "077"), ("foo", None)], JAIL_CREATE), errno.EINVAL,
           "name cannot be numeric (unless it is the jid)")
    p = mk("P")
    failed(jail_set([P, ("name", "P.c"), ("allow.mount", None), ("foo", None)], JAIL_CREATE),
           errno.EPERM)
    assert jails() == [p]


def test_order_first_unknown_parameter_in_list_order() -> None:
    """4.1 step 33: the first unconsumed option in list order is named."""
    failed(jail_set([("foo", None), P, ("bar", "x")], JAIL_CREATE), errno.EINVAL,
           "unknown parameter: foo")
    failed(jail_set([("bar", "x"), P, ("foo", None)], JAIL_CREATE), errno.EINVAL,
           "unknown parameter: bar")
    no_jails()


def test_order_limit_before_parent_constraints_for_jailed_caller() -> None:
    """4.1 step 27 ("prison limit exceeded") precedes step 29 (EPERM, no message)."""
    j = mk("J", ("children.max", I(1)), ("securelevel", I(2)))
    mk("J.a")

    def inside() -> tuple[int, int, str]:
        return summary(jail_set([("name", "b"), P, ("securelevel", I(0))], JAIL_CREATE))

    assert in_child(inside, attach=j) == (-1, errno.EPERM, "prison limit exceeded")
    assert rint(j, "children.cur") == 1


def test_niov_zero_is_legal() -> None:
    """2.1: niov = 0 is an empty option list; later checks decide."""
    r = jail_set([], JAIL_UPDATE, errmsg=None)
    failed_plain = (r.ret, r.errno)
    assert failed_plain == (-1, errno.ENOENT)
    r = jail_set([], JAIL_CREATE, errmsg=None)
    assert (r.ret, r.errno) == (-1, errno.EINVAL)
    no_jails()


# ---------------------------------------------------------------------------
# section 3.4 / 4.1 step 14, 21-23: create-only parameters with UPDATE

CREATE_ONLY = [
    ("path", "/tmp", "path cannot be changed after creation"),
    ("path", "/nonexistent", "path cannot be changed after creation"),
    ("osrelease", "99.0-TEST", "osrelease cannot be changed after creation"),
    ("osrelease", "r" * 40, "osrelease cannot be changed after creation"),
    ("osreldate", I(1500000), "osreldate cannot be changed after creation"),
    ("osreldate", I(0), "osreldate cannot be changed after creation"),
    ("vnet", I(1), "vnet cannot be changed after creation"),
    ("vnet", I(2), "vnet cannot be changed after creation"),
    ("ip4", I(0), "ip4 cannot be changed after creation"),
    ("ip4", I(1), "ip4 cannot be changed after creation"),
    ("ip4", I(2), "ip4 cannot be changed after creation"),
    ("ip6", I(0), "ip6 cannot be changed after creation"),
    ("ip6", I(1), "ip6 cannot be changed after creation"),
    ("ip6", I(2), "ip6 cannot be changed after creation"),
]


@pytest.mark.parametrize(("param", "value", "msg"), CREATE_ONLY,
                         ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(CREATE_ONLY)])
def test_create_only_parameter_with_update(param: str, value: Any, msg: str) -> None:
    """3.4: path, osrelease, osreldate, vnet, ip4, ip6 are rejected whenever UPDATE is in
    flags, also for CREATE|UPDATE that would create."""
    web = mk("web")
    before = read(("jid", I(web)), param).raw(param)
    r = jail_set([("jid", I(web)), (param, value)], JAIL_UPDATE)
    failed(r, errno.EINVAL, msg)
    r = jail_set([("name", "web"), (param, value)], JAIL_UPDATE)
    failed(r, errno.EINVAL, msg)
    r = jail_set([("name", "web"), P, (param, value)], JAIL_CREATE | JAIL_UPDATE)
    failed(r, errno.EINVAL, msg)
    assert read(("jid", I(web)), param).raw(param) == before
    r = jail_set([("name", "fresh"), P, (param, value)], JAIL_CREATE | JAIL_UPDATE)
    failed(r, errno.EINVAL, msg)
    r = jail_set([("jid", I(50)), P, (param, value)], JAIL_CREATE | JAIL_UPDATE)
    failed(r, errno.EINVAL, msg)
    assert jails() == [web]


def test_jid_as_key_on_update_returns_jid() -> None:
    """3.4: jid may be passed on update as the key; 2.8: the return value is the jid."""
    a = mk("a")
    b = mk("b")
    succeeded(jail_set([("jid", I(b)), ("host.hostname", "x")], JAIL_UPDATE), b)
    succeeded(jail_set([("name", "a"), ("host.hostname", "y")], JAIL_UPDATE), a)
    succeeded(jail_set([("jid", I(a)), ("host.hostname", "z"), P], JAIL_CREATE | JAIL_UPDATE), a)
    assert rstr(b, "host.hostname") == "x"
    assert rstr(a, "host.hostname") == "z"
    assert jails() == [a, b]


# ---------------------------------------------------------------------------
# section 2.2.6 / 2.4: de-duplication, no-forms


def test_dedup_persist_forms_last_wins() -> None:
    """2.2.6: persist/nopersist are the same option; the last one is kept."""
    j = succeeded(jail_set([("nopersist", None), P], JAIL_CREATE))
    assert rint(j, "persist") == 1
    # on update: persist then nopersist kills it, nopersist then persist keeps it
    succeeded(jail_set([("jid", I(j)), ("nopersist", None), P], JAIL_UPDATE), j)
    assert rint(j, "persist") == 1
    succeeded(jail_set([("jid", I(j)), P, ("nopersist", None)], JAIL_UPDATE), j)
    not_found(j, JAIL_DYING)


@pytest.mark.parametrize(("on", "off"), [("allow.mount", "allow.nomount"),
                                         ("allow.mount.devfs", "allow.mount.nodevfs"),
                                         ("allow.raw_sockets", "allow.noraw_sockets"),
                                         ("ip4.saddrsel", "ip4.nosaddrsel"),
                                         ("ip6.saddrsel", "ip6.nosaddrsel")])
def test_dedup_no_form_on_last_component(on: str, off: str) -> None:
    """2.2.6: X and the no-form on the last dotted component are the same option."""
    a = succeeded(jail_set([P, (on, None), (off, None)], JAIL_CREATE))
    b = succeeded(jail_set([P, (off, None), (on, None)], JAIL_CREATE))
    assert rint(a, on) == 0 and rint(a, off) == 1
    assert rint(b, on) == 1 and rint(b, off) == 0
    # and on update
    succeeded(jail_set([("jid", I(b)), (on, None), (off, None)], JAIL_UPDATE), b)
    assert rint(b, on) == 0
    succeeded(jail_set([("jid", I(a)), (off, None), (on, None)], JAIL_UPDATE), a)
    assert rint(a, on) == 1


def test_dedup_distinct_names_both_apply() -> None:
    """2.2.6: ip4.saddrsel and ip6.nosaddrsel are different options."""
    j = succeeded(jail_set([P, ("ip4.saddrsel", None), ("ip6.nosaddrsel", None)], JAIL_CREATE))
    assert rint(j, "ip4.saddrsel") == 1
    assert rint(j, "ip6.saddrsel") == 0


def test_dedup_earlier_duplicate_discarded_unchecked() -> None:
    """2.2.6: only the last occurrence is kept; earlier (even invalid) ones are discarded."""
    j = succeeded(jail_set([P, ("host.hostname", "a" * 400), ("host.hostname", "ok"),
                            ("enforce_statfs", I(9)), ("enforce_statfs", I(1)),
                            ("jid", UL(3)), ("jid", I(7))], JAIL_CREATE), 7)
    assert rstr(j, "host.hostname") == "ok"
    assert rint(j, "enforce_statfs") == 1
    # and the other way round the last (invalid) one counts
    r = jail_set([P, ("enforce_statfs", I(1)), ("enforce_statfs", I(9))], JAIL_CREATE)
    failed(r, errno.EINVAL)
    assert jails() == [7]


def test_no_prefix_on_first_component_is_unknown() -> None:
    """2.4: for dotted names the no goes on the last component; noallow.mount is unknown."""
    r = jail_set([P, ("noallow.mount", None)], JAIL_CREATE)
    failed(r, errno.EINVAL, "unknown parameter: noallow.mount")
    no_jails()


# ---------------------------------------------------------------------------
# section 2.6: errmsg write-back


def test_errmsg_truncated_to_small_buffer() -> None:
    """2.6: the message is truncated to iov_len-1 chars + NUL; the whole buffer comes back."""
    r = jail_set([("jid", I(99)), P], JAIL_UPDATE, errmsg=Buf(8, b"ABCDEFGH"))
    failed(r, errno.ENOENT, "jail 99")
    assert errmsg_raw(r) == b"jail 99\0"
    assert r.len("errmsg") == 8


def test_errmsg_bytes_after_nul_keep_callers_content() -> None:
    """2.2.1/2.6: the kernel formats into its copy of the caller's buffer and copies it all back."""
    r = jail_set([("jid", I(99)), P], JAIL_UPDATE, errmsg=Buf(30, b"Z" * 30))
    failed(r, errno.ENOENT, "jail 99 not found")
    assert errmsg_raw(r) == b"jail 99 not found\0" + b"Z" * 12
    assert r.len("errmsg") == 30


def test_errmsg_one_byte_and_zero_length() -> None:
    """2.6: a 1-byte buffer gets just the NUL; a zero-length errmsg is accepted, never written."""
    r = jail_set([("jid", I(99)), P], JAIL_UPDATE, errmsg=Buf(1, b"Q"))
    assert (r.ret, r.errno) == (-1, errno.ENOENT)
    assert errmsg_raw(r) == b"\0"
    r = jail_set([("jid", I(99)), P], JAIL_UPDATE, errmsg=None)
    assert (r.ret, r.errno) == (-1, errno.ENOENT)
    r = jail_set([("jid", I(99)), P, ("errmsg", None)], JAIL_UPDATE, errmsg=None)
    assert (r.ret, r.errno) == (-1, errno.ENOENT)
    assert r.len("errmsg") == 0
    no_jails()


def test_errmsg_untouched_on_success_and_silent_failure() -> None:
    """2.6: never written on success; left as it was by errors without a message."""
    r = jail_set([P], JAIL_CREATE, errmsg=Buf(16, b"XYZ"))
    assert r.ret == 1
    assert errmsg_raw(r) == b"XYZ".ljust(16, b"\0")
    r = jail_set([P, ("enforce_statfs", I(9))], JAIL_CREATE, errmsg=Buf(16, b"XYZ"))
    assert (r.ret, r.errno) == (-1, errno.EINVAL)
    assert errmsg_raw(r) == b"XYZ".ljust(16, b"\0")
    r = jail_set([("jid", I(1)), ("securelevel", I(-9))], JAIL_UPDATE, errmsg=Buf(16, b"XYZ"))
    assert (r.ret, r.errno) == (-1, errno.EPERM)
    assert errmsg_raw(r) == b"XYZ".ljust(16, b"\0")
    assert jails() == [1]


# ---------------------------------------------------------------------------
# section 2.2.3: the 64 KiB option budget (sizeof(struct vfsopt) = 48)

OVERHEAD = 48
ERRMSG_COST = OVERHEAD + len(b"errmsg\0") + 1024  # the default errmsg pair


def test_budget_single_option_boundary() -> None:
    """2.2.3: sum of (48 + name len + value len) over all options may be 65536, not more."""
    n = 65536 - ERRMSG_COST - OVERHEAD - len(b"persist\0")
    r = jail_set([("persist", b"v" * n)], JAIL_CREATE)
    assert r.ret == 1 and r.errmsg == ""
    assert rint(1, "persist") == 1
    r = jail_set([("persist", b"v" * (n + 1))], JAIL_CREATE)
    failed(r, errno.EINVAL)
    assert jails() == [1]


def test_budget_is_cumulative() -> None:
    """2.2.3: many small options add up against the same 65536-byte budget."""
    each = OVERHEAD + len(b"persist\0") + 1443
    assert 43 * each + ERRMSG_COST == 65536
    pairs: list[tuple[str, Any]] = [("persist", b"p" * 1443)] * 43
    r = jail_set(pairs, JAIL_CREATE)
    assert r.ret == 1 and r.errmsg == ""
    pairs = [("persist", b"p" * 1443)] * 42 + [("persist", b"p" * 1444)]
    r = jail_set(pairs, JAIL_CREATE)
    failed(r, errno.EINVAL)
    # the errmsg buffer counts too
    pairs = [("persist", b"p" * 1443)] * 43
    r = jail_set(pairs, JAIL_CREATE, errmsg=Buf(1025))
    failed(r, errno.EINVAL)
    assert jails() == [1]


def test_budget_name_over_64k() -> None:
    """2.2.3: a name over 65536 bytes fails parsing (no "unknown parameter" message)."""
    r = jail_set([P, ("x" * 70000, None)], JAIL_CREATE)
    failed(r, errno.EINVAL)
    no_jails()


# ---------------------------------------------------------------------------
# section 2.2.4: NULL values


def test_null_value_with_length_is_efault() -> None:
    """2.2.4: iov_len > 0 with a bad pointer → EFAULT (booleans' values are copied too)."""
    failed(jail_set([P, ("host.hostname", Null(10))], JAIL_CREATE), errno.EFAULT)
    failed(jail_set([("persist", Null(4))], JAIL_CREATE), errno.EFAULT)
    failed(jail_set([P, ("foo", Null(1))], JAIL_CREATE), errno.EFAULT)
    no_jails()


def test_null_value_with_zero_length_is_no_value() -> None:
    """2.2.4: iov_len == 0 is stored as no value regardless of iov_base."""
    j = succeeded(jail_set([("persist", Null(0))], JAIL_CREATE), 1)
    assert rint(j, "persist") == 1


# ---------------------------------------------------------------------------
# section 4.8: jid allocation


def test_jid_explicit_ids_do_not_move_counter() -> None:
    """4.8: explicit jids (jid or numeric name) leave lastprid alone; automatic ids skip
    occupied ones and lastprid becomes the result."""
    assert modelabi.create(("jid", I(5))) == 5
    assert modelabi.create() == 1
    assert modelabi.create() == 2
    assert modelabi.create(("jid", I(3))) == 3
    assert modelabi.create() == 4
    assert modelabi.create() == 6  # 5 is taken
    assert modelabi.create(("name", "7")) == 7
    assert modelabi.create() == 8
    assert jails() == [1, 2, 3, 4, 5, 6, 7, 8]


def test_jid_explicit_ids_not_bounded() -> None:
    """4.8 / 3.1: explicit ids above JAIL_MAX are accepted and do not move the counter."""
    assert modelabi.create(("jid", I(1000000))) == 1000000
    assert modelabi.create(("jid", I(2**31 - 1))) == 2**31 - 1
    assert modelabi.create() == 1
    assert jails() == [1, 1000000, 2**31 - 1]


def test_jid_freed_ids_not_reused() -> None:
    """4.8: freed ids are not reused until the counter wraps."""
    assert modelabi.create() == 1
    assert modelabi.create() == 2
    kill(2)
    assert modelabi.create() == 3
    kill(1)
    assert modelabi.create() == 4
    assert jails() == [3, 4]


def test_jid_dying_jails_occupy_ids() -> None:
    """4.8: dying jails occupy ids."""
    assert modelabi.create(("jid", I(2))) == 2
    model.hold(2)
    kill(2)
    assert read(("jid", I(2)), "dying", flags=JAIL_DYING).int("dying") == 1
    assert modelabi.create() == 1
    assert modelabi.create() == 3
    model.release(2)
    assert jails() == [1, 3]


def test_jid_dying_jid_requested_renumbers_dying_jail() -> None:
    """4.2 / 4.8 (15.x): a dying jail whose id is requested is renumbered counting down
    from 999999; the new jail gets the id."""
    assert modelabi.create(("jid", I(5)), ("name", "old")) == 5
    model.hold(5)
    kill(5)
    assert modelabi.create(("jid", I(5)), ("name", "new")) == 5
    assert rstr(5, "name") == "new"
    g = read(("lastjid", I(999998)), "jid", "dying", flags=JAIL_DYING)
    assert g.int("jid") == 999999 and g.int("dying") == 1
    assert jails() == [5, 999999]
    model.hold(5)
    kill(5)
    assert modelabi.create(("jid", I(5))) == 5
    assert jails() == [5, 999998, 999999]
    assert rint(999998, "dying", JAIL_DYING) == 1


def _cycle_auto_jails(count: int) -> int:
    """Create and immediately free `count` automatically numbered jails, fast; return the
    last jid.  Same ABI calls as modelabi, with the iovecs built once."""
    lib = modelabi.LIB
    iov_t = modelabi.Iovec
    persist = ctypes.create_string_buffer(b"persist")
    nopersist = ctypes.create_string_buffer(b"nopersist")
    jidname = ctypes.create_string_buffer(b"jid")
    jidval = ctypes.c_int(0)
    create = (iov_t * 2)()
    create[0].iov_base = ctypes.addressof(persist)
    create[0].iov_len = 8
    create[1].iov_base = None
    create[1].iov_len = 0
    update = (iov_t * 4)()
    update[0].iov_base = ctypes.addressof(jidname)
    update[0].iov_len = 4
    update[1].iov_base = ctypes.addressof(jidval)
    update[1].iov_len = 4
    update[2].iov_base = ctypes.addressof(nopersist)
    update[2].iov_len = 10
    update[3].iov_base = None
    update[3].iov_len = 0
    setf = lib.jailmodel_jail_set
    j = 0
    for _ in range(count):
        j = setf(create, 2, JAIL_CREATE)
        assert j > 0, ctypes.get_errno()
        jidval.value = j
        assert setf(update, 4, JAIL_UPDATE) == j
    return j


def test_jid_wraps_around() -> None:
    """4.8: candidate = (lastprid mod 999999) + 1; the search goes up to 999999, then wraps
    and searches 1..lastprid; freed ids are reused only after the wrap."""
    assert modelabi.create() == 1  # kept
    assert modelabi.create(("jid", I(3))) == 3  # kept, explicit
    # automatic ids 2, 4, 5, ..., 999997 are allocated and freed
    assert _cycle_auto_jails(999995) == 999997
    assert modelabi.create() == 999998  # kept
    assert modelabi.create() == 999999  # kept; lastprid = 999999
    # wrap: candidate 1 is taken, 2 is free again
    assert modelabi.create() == 2
    # lastprid 2: candidate 3 taken (explicit jail) → 4
    assert modelabi.create() == 4
    assert jails() == [1, 2, 3, 4, 999998, 999999]


def test_jid_search_wraps_when_top_is_taken() -> None:
    """4.8: when no id is free from the candidate up to 999999 the search wraps to 1."""
    assert modelabi.create() == 1
    assert _cycle_auto_jails(999996) == 999997  # 2..999997, all freed
    assert modelabi.create() == 999998  # lastprid 999998
    assert modelabi.create(("jid", I(999999))) == 999999
    # candidate 999999 is taken, nothing above: wrap and search 1..999998 → 2
    assert modelabi.create() == 2
    assert jails() == [1, 2, 999998, 999999]


# ---------------------------------------------------------------------------
# section 4.3 / 4.4: names


def test_names_dotted_hierarchy() -> None:
    """4.3/4.4: a dotted name selects the parent; jail_get returns full names from the host."""
    a = mk("a")
    b = mk("a.b")
    c = mk("a.b.c")
    x = mk("b")  # same component name under another parent is fine
    y = mk("b.c")
    assert [rstr(j, "name") for j in (a, b, c, x, y)] == ["a", "a.b", "a.b.c", "b", "b.c"]
    g = read(("name", "a.b.c"), "jid", "parent")
    assert (g.int("jid"), g.int("parent")) == (c, b)
    assert rint(b, "parent") == a
    assert rint(a, "parent") == 0
    assert rint(a, "children.cur") == 2  # all descendants
    assert rint(b, "children.cur") == 1


def test_names_default_and_reset() -> None:
    """2.7/4.4: name "" on create = the jid; "parent." = parent.<jid>; name "" on update by
    jid resets the name to the jid."""
    j = succeeded(jail_set([("name", ""), P], JAIL_CREATE), 1)
    assert rstr(j, "name") == "1"
    a = mk("a")
    k = succeeded(jail_set([("name", "a."), P], JAIL_CREATE), 3)
    assert rstr(k, "name") == "a.3"
    assert rint(k, "parent") == a
    succeeded(jail_set([("jid", I(a)), ("name", "")], JAIL_UPDATE), a)
    assert rstr(a, "name") == "2"
    assert rstr(k, "name") == "2.3"


def test_names_update_by_name_and_create_update() -> None:
    """4.3: UPDATE by name selects the jail; CREATE|UPDATE updates an existing name and
    creates a missing one."""
    web = mk("web")
    succeeded(jail_set([("name", "web"), ("host.hostname", "h1")], JAIL_UPDATE), web)
    succeeded(jail_set([("name", "web"), P, ("host.hostname", "h2")],
                       JAIL_CREATE | JAIL_UPDATE), web)
    assert rstr(web, "host.hostname") == "h2"
    new = succeeded(jail_set([("name", "db"), P], JAIL_CREATE | JAIL_UPDATE))
    assert new != web and rstr(new, "name") == "db"
    assert jails() == sorted([web, new])


def test_names_rename_parent_renames_all_descendants() -> None:
    """4.4/4.5.6: renaming rewrites the prefix of every descendant."""
    a = mk("a")
    b = mk("a.b")
    c = mk("a.b.c")
    succeeded(jail_set([("jid", I(a)), ("name", "z")], JAIL_UPDATE), a)
    assert [rstr(j, "name") for j in (a, b, c)] == ["z", "z.b", "z.b.c"]
    succeeded(jail_set([("jid", I(b)), ("name", "z.y")], JAIL_UPDATE), b)
    assert [rstr(j, "name") for j in (a, b, c)] == ["z", "z.y", "z.y.c"]
    # a plain name with a jid key is a component under the real parent (section 11)
    succeeded(jail_set([("jid", I(b)), ("name", "w")], JAIL_UPDATE), b)
    assert [rstr(j, "name") for j in (a, b, c)] == ["z", "z.w", "z.w.c"]
    not_found("a.b.c")
    assert jid_of("z.w.c") == c


def test_names_cannot_change_parent() -> None:
    """4.3: with the jail selected by jid, the parent part must name its parent."""
    a = mk("a")
    mk("b")
    c = mk("a.c")
    r = jail_set([("jid", I(c)), ("name", "b.c")], JAIL_UPDATE)
    failed(r, errno.EINVAL, "cannot change jail's parent")
    r = jail_set([("jid", I(a)), ("name", "b.a")], JAIL_UPDATE)
    failed(r, errno.EINVAL, "cannot change jail's parent")
    assert rstr(c, "name") == "a.c"
    assert rstr(a, "name") == "a"


def test_names_numeric() -> None:
    """4.4: numeric names only as the canonical jid."""
    a = mk("a")
    assert modelabi.create(("name", "a.9")) == 9
    assert rstr(9, "name") == "a.9" and rint(9, "parent") == a
    assert modelabi.create(("jid", I(5)), ("name", "5")) == 5
    failed(jail_set([("jid", I(6)), ("name", "7"), P], JAIL_CREATE), errno.EINVAL,
           "name cannot be numeric (unless it is the jid)")
    failed(jail_set([("name", "0"), P], JAIL_CREATE), errno.EINVAL,
           "name cannot be numeric (unless it is the jid)")
    failed(jail_set([("name", "-5"), P], JAIL_CREATE), errno.EINVAL, "negative jid")
    failed(jail_set([("name", "a.08"), P], JAIL_CREATE), errno.EINVAL,
           "name cannot be numeric (unless it is the jid)")
    failed(jail_set([("jid", I(a)), ("name", "12")], JAIL_UPDATE), errno.EINVAL,
           "name cannot be numeric (unless it is the jid)")
    succeeded(jail_set([("jid", I(a)), ("name", str(a))], JAIL_UPDATE), a)
    assert rstr(9, "name") == f"{a}.9"
    assert jails() == sorted([a, 5, 9])


def test_names_max_length_top_level() -> None:
    """4.4: a full name may have 255 characters (256 bytes with the NUL)."""
    j = succeeded(jail_set([("name", "n" * 255), P], JAIL_CREATE), 1)
    assert rstr(j, "name") == "n" * 255


def test_names_full_name_too_long() -> None:
    """4.1 step 30: parent's full name + "." + component must fit in 256 bytes, also for
    renames, and renaming must not push a descendant's full name over the limit."""
    p = mk("p" * 200)
    c = mk("p" * 200 + "." + "c" * 54)  # 255 chars
    assert rstr(c, "name") == "p" * 200 + "." + "c" * 54
    r = jail_set([("jid", I(c)), ("name", "d" * 55)], JAIL_UPDATE)
    failed(r, errno.ENAMETOOLONG)
    assert rstr(c, "name") == "p" * 200 + "." + "c" * 54
    r = jail_set([("jid", I(p)), ("name", "q" * 201)], JAIL_UPDATE)
    failed(r, errno.ENAMETOOLONG)
    assert rstr(p, "name") == "p" * 200
    assert rstr(c, "name") == "p" * 200 + "." + "c" * 54
    succeeded(jail_set([("jid", I(p)), ("name", "q" * 200)], JAIL_UPDATE), p)
    assert rstr(c, "name") == "q" * 200 + "." + "c" * 54


def test_names_full_name_too_long_for_jailed_creator() -> None:
    """4.1 step 30: a jailed caller's short relative name can still be too long in full."""
    p = mk("p" * 200, ("children.max", I(2)))

    def inside() -> list[tuple[int, int, str]]:
        return [summary(jail_set([("name", "c" * 55), P], JAIL_CREATE)),
                summary(jail_set([("name", "c" * 54), P], JAIL_CREATE))]

    bad, good = in_child(inside, attach=p)
    assert bad == (-1, errno.ENAMETOOLONG, "")
    assert good[0] > 0 and good[1:] == (0, "")
    assert rstr(good[0], "name") == "p" * 200 + "." + "c" * 54
    assert rint(p, "children.cur") == 1


def test_names_of_dying_jails() -> None:
    """4.3: dying jails are ignored for name matching; a dying parent is reported."""
    web = mk("web")
    model.hold(web)
    kill(web)
    r = jail_set([("name", "web.c"), P], JAIL_CREATE)
    failed(r, errno.ENOENT, 'jail "web" is dying')
    r = jail_set([("name", "web"), ("host.hostname", "x")], JAIL_UPDATE)
    failed(r, errno.ENOENT, 'jail "web" not found')
    new = succeeded(jail_set([("name", "web"), P], JAIL_CREATE))
    assert new != web
    assert jid_of("web") == new
    assert rint(web, "dying", JAIL_DYING) == 1
    model.release(web)
    assert jails() == [new]


# ---------------------------------------------------------------------------
# 15.x dying jails are not updatable; jailed callers' visibility (4.2)


def test_update_dying_jail_15x() -> None:
    """3.7 / 4.2 (15.x): UPDATE of a dying jail → ENOENT not found; JAIL_DYING is ignored."""
    j = mk("web")
    model.hold(j)
    kill(j)
    failed(jail_set([("jid", I(j)), P], JAIL_UPDATE), errno.ENOENT, f"jail {j} not found")
    failed(jail_set([("jid", I(j)), P], JAIL_UPDATE | JAIL_DYING), errno.ENOENT,
           f"jail {j} not found")
    failed(jail_set([("name", "web"), P], JAIL_UPDATE | JAIL_DYING), errno.ENOENT,
           'jail "web" not found')
    g = read(("jid", I(j)), "dying", "persist", flags=JAIL_DYING)
    assert (g.int("dying"), g.int("persist")) == (1, 0)
    model.release(j)
    assert jails() == []


def test_jailed_caller_lookup_by_jid() -> None:
    """4.2: a jailed caller cannot see its own jail or jails outside it; CREATE of such a
    jid is EEXIST (even invisible), UPDATE and CREATE|UPDATE are ENOENT."""
    other = mk("other")
    j = mk("J", ("children.max", I(3)))

    def inside() -> list[tuple[int, int, str]]:
        return [
            summary(jail_set([("jid", I(j)), ("host.hostname", "x")], JAIL_UPDATE)),
            summary(jail_set([("jid", I(other)), ("host.hostname", "x")], JAIL_UPDATE)),
            summary(jail_set([("jid", I(other)), P], JAIL_CREATE | JAIL_UPDATE)),
            summary(jail_set([("jid", I(other)), P], JAIL_CREATE)),
            summary(jail_set([("name", "other"), ("host.hostname", "x")], JAIL_UPDATE)),
            summary(jail_set([("name", "other"), P], JAIL_CREATE)),
        ]

    got = in_child(inside, attach=j)
    assert got[0] == (-1, errno.ENOENT, f"jail {j} not found")
    assert got[1] == (-1, errno.ENOENT, f"jail {other} not found")
    assert got[2] == (-1, errno.ENOENT, f"jail {other} not found")
    assert got[3] == (-1, errno.EEXIST, f"jail {other} already exists")
    assert got[4] == (-1, errno.ENOENT, 'jail "other" not found')
    assert got[5][0] > 0 and got[5][1:] == (0, "")  # J.other, a new child
    assert rstr(got[5][0], "name") == "J.other"
    assert rstr(other, "host.hostname") == "" and rstr(j, "host.hostname") == ""


# ---------------------------------------------------------------------------
# section 4.5: propagation to descendants


def test_propagation_securelevel_and_enforce_statfs_raise_only() -> None:
    """4.5.2/4.5.4: descendants below the new value are raised; higher ones are kept."""
    a = mk("a", ("enforce_statfs", I(0)))
    b = mk("a.b", ("securelevel", I(1)), ("enforce_statfs", I(0)))
    c = mk("a.b.c", ("securelevel", I(4)), ("enforce_statfs", I(2)))
    succeeded(jail_set([("jid", I(a)), ("securelevel", I(2)), ("enforce_statfs", I(1))],
                       JAIL_UPDATE), a)
    assert [rint(j, "securelevel") for j in (a, b, c)] == [2, 2, 4]
    assert [rint(j, "enforce_statfs") for j in (a, b, c)] == [1, 1, 2]
    # lowering a child below its parent is refused
    failed(jail_set([("jid", I(b)), ("securelevel", I(1))], JAIL_UPDATE), errno.EPERM)
    failed(jail_set([("jid", I(b)), ("enforce_statfs", I(0))], JAIL_UPDATE), errno.EPERM)
    assert rint(b, "securelevel") == 2 and rint(b, "enforce_statfs") == 1


def test_propagation_children_max_clamps_by_depth() -> None:
    """4.5.3: depth d descendants are lowered to max(value - d, 0) when above it."""
    a = mk("a", ("children.max", I(20)))
    b = mk("a.b", ("children.max", I(10)))
    c = mk("a.b.c", ("children.max", I(2)))
    succeeded(jail_set([("jid", I(a)), ("children.max", I(5))], JAIL_UPDATE), a)
    assert [rint(j, "children.max") for j in (a, b, c)] == [5, 4, 2]
    succeeded(jail_set([("jid", I(a)), ("children.max", I(1))], JAIL_UPDATE), a)
    assert [rint(j, "children.max") for j in (a, b, c)] == [1, 0, 0]
    # a child's children.max must stay strictly below its parent's
    failed(jail_set([("jid", I(b)), ("children.max", I(1))], JAIL_UPDATE), errno.EPERM)


def test_propagation_devfs_ruleset_overwrites_all_descendants() -> None:
    """4.5.5: devfs_ruleset is set on the jail and every descendant."""
    a = mk("a", ("devfs_ruleset", I(2)))
    b = mk("a.b", ("devfs_ruleset", I(5)))
    c = mk("a.b.c", ("devfs_ruleset", I(9)))
    assert [rint(j, "devfs_ruleset") for j in (a, b, c)] == [2, 5, 9]
    succeeded(jail_set([("jid", I(a)), ("devfs_ruleset", I(3))], JAIL_UPDATE), a)
    assert [rint(j, "devfs_ruleset") for j in (a, b, c)] == [3, 3, 3]


def test_propagation_devfs_ruleset_default_is_parents() -> None:
    """3.1: devfs_ruleset defaults to the parent's (0 for top-level)."""
    a = mk("a", ("devfs_ruleset", I(6)))
    b = mk("a.b")
    assert rint(b, "devfs_ruleset") == 6
    assert rint(mk("top"), "devfs_ruleset") == 0
    assert rint(a, "devfs_ruleset") == 6


def test_propagation_allow_off_reaches_all_descendants() -> None:
    """4.5.9: bits turned off are cleared in all descendants; turning on does not spread."""
    a = mk("a", ("allow.chflags", None), ("allow.mlock", None))
    b = mk("a.b", ("allow.chflags", None), ("allow.mlock", None))
    c = mk("a.b.c", ("allow.chflags", None))
    succeeded(jail_set([("jid", I(a)), ("allow.nochflags", None)], JAIL_UPDATE), a)
    assert [rint(j, "allow.chflags") for j in (a, b, c)] == [0, 0, 0]
    assert [rint(j, "allow.mlock") for j in (a, b, c)] == [1, 1, 0]
    succeeded(jail_set([("jid", I(a)), ("allow.chflags", None)], JAIL_UPDATE), a)
    assert [rint(j, "allow.chflags") for j in (a, b, c)] == [1, 0, 0]


def test_propagation_ip4_list_to_descendants() -> None:
    """4.5.1: children without their own list get the new list; children with their own
    list keep only addresses still in the parent's."""
    a = mk("a", ("ip4.addr", IP4("192.0.2.1")))
    own = mk("a.own", ("ip4.addr", IP4("192.0.2.1")))
    inh = mk("a.inh", ("ip4", I(2)))
    none = mk("a.none", ("ip4.addr", b""))
    assert read(("jid", I(inh)), "ip4.addr").ip4() == ["192.0.2.1"]
    succeeded(jail_set([("jid", I(a)), ("ip4.addr", IP4("192.0.2.5", "192.0.2.1"))],
                       JAIL_UPDATE), a)
    assert read(("jid", I(a)), "ip4.addr").ip4() == ["192.0.2.5", "192.0.2.1"]
    assert read(("jid", I(own)), "ip4.addr").ip4() == ["192.0.2.1"]
    assert read(("jid", I(inh)), "ip4.addr").ip4() == ["192.0.2.5", "192.0.2.1"]
    assert read(("jid", I(none)), "ip4.addr").len("ip4.addr") == 0
    succeeded(jail_set([("jid", I(a)), ("ip4.addr", IP4("192.0.2.5"))], JAIL_UPDATE), a)
    assert read(("jid", I(own)), "ip4.addr").len("ip4.addr") == 0
    assert read(("jid", I(inh)), "ip4.addr").ip4() == ["192.0.2.5"]


def test_propagation_host_info() -> None:
    """4.5.8 / 3.1: host=inherit follows the parent; a jail with its own host info stops it."""
    p = mk("P", ("host.hostname", "a"), ("host.domainname", "d.example"),
           ("host.hostuuid", "11111111-2222-3333-4444-555555555555"), ("host.hostid", UL(7)))
    c = mk("P.c", ("host", I(2)))
    g = mk("P.c.g", ("host", I(2)))
    own = mk("P.own", ("host.hostname", "own"))
    og = mk("P.own.g", ("host", I(2)))
    r = read(("jid", I(c)), "host", "host.hostname", "host.domainname", "host.hostuuid",
             "host.hostid")
    assert r.int("host") == 2
    assert r.str("host.hostname") == "a"
    assert r.str("host.domainname") == "d.example"
    assert r.str("host.hostuuid") == "11111111-2222-3333-4444-555555555555"
    assert r.ulong("host.hostid") == 7
    assert rint(own, "host") == 1
    succeeded(jail_set([("jid", I(p)), ("host.hostname", "b")], JAIL_UPDATE), p)
    assert [rstr(j, "host.hostname") for j in (p, c, g, own, og)] == ["b", "b", "b", "own", "own"]
    # host=inherit on a jail with its own info copies the parent's now
    succeeded(jail_set([("jid", I(own)), ("host", I(2))], JAIL_UPDATE), own)
    r = read(("jid", I(own)), "host", "host.hostname", "host.hostid")
    assert (r.int("host"), r.str("host.hostname"), r.ulong("host.hostid")) == (2, "b", 7)
    # host.hostid implies host=new
    succeeded(jail_set([("jid", I(c)), ("host.hostid", UL(9))], JAIL_UPDATE), c)
    r = read(("jid", I(c)), "host", "host.hostid")
    assert (r.int("host"), r.ulong("host.hostid")) == (1, 9)
    succeeded(jail_set([("jid", I(p)), ("host.hostname", "z")], JAIL_UPDATE), p)
    assert rstr(c, "host.hostname") == "b"
    assert rstr(g, "host.hostname") == "b"
    assert rstr(own, "host.hostname") == "z"
    assert rstr(og, "host.hostname") == "z"


def test_host_defaults_and_limits() -> None:
    """3.1: host defaults; string limits (256, 64) and hostid size."""
    j = mk("j")
    r = read(("jid", I(j)), "host", "host.hostname", "host.domainname", "host.hostuuid",
             "host.hostid")
    assert r.int("host") == 1
    assert r.str("host.hostname") == ""
    assert r.str("host.domainname") == ""
    assert r.str("host.hostuuid") == "00000000-0000-0000-0000-000000000000"
    assert r.ulong("host.hostid") == 0
    succeeded(jail_set([("jid", I(j)), ("host.hostname", "h" * 255),
                        ("host.domainname", "d" * 255), ("host.hostuuid", "u" * 63)],
                       JAIL_UPDATE), j)
    assert rstr(j, "host.hostname") == "h" * 255
    assert rstr(j, "host.hostuuid") == "u" * 63
    failed(jail_set([("jid", I(j)), ("host.hostname", "h" * 256)], JAIL_UPDATE),
           errno.ENAMETOOLONG)
    failed(jail_set([("jid", I(j)), ("host.domainname", "d" * 256)], JAIL_UPDATE),
           errno.ENAMETOOLONG)
    failed(jail_set([("jid", I(j)), ("host.hostuuid", "u" * 64)], JAIL_UPDATE),
           errno.ENAMETOOLONG)
    failed(jail_set([("jid", I(j)), ("host.hostid", I(1))], JAIL_UPDATE), errno.EINVAL)
    failed(jail_set([("jid", I(j)), ("host.hostname", b"abc")], JAIL_UPDATE), errno.EINVAL)
    failed(jail_set([("jid", I(j)), ("host", I(0))], JAIL_UPDATE), errno.EINVAL)
    assert rstr(j, "host.hostname") == "h" * 255


# ---------------------------------------------------------------------------
# section 4.6: IPv4 and IPv6


def test_ip_defaults_and_readback() -> None:
    """4.6 / section 11: no IP params → restricted, no addresses (reads 0); ip=inherit reads 2;
    an empty ip4.addr or ip4=new restricts; vnet=new is unrestricted."""
    d = mk("d")
    r = read(("jid", I(d)), "ip4", "ip6", "ip4.addr", "ip6.addr")
    assert (r.int("ip4"), r.int("ip6"), r.len("ip4.addr"), r.len("ip6.addr")) == (0, 0, 0, 0)
    i = mk("i", ("ip4", I(2)), ("ip6", I(2)))
    assert (rint(i, "ip4"), rint(i, "ip6")) == (2, 2)
    e = mk("e", ("ip4.addr", b""), ("ip6", I(1)))
    assert (rint(e, "ip4"), rint(e, "ip6")) == (0, 0)
    a = mk("a", ("ip4.addr", IP4("192.0.2.1")), ("ip6.addr", IP6("2001:db8::1")))
    assert (rint(a, "ip4"), rint(a, "ip6")) == (0, 0)
    v = mk("v", ("vnet", I(1)))
    r = read(("jid", I(v)), "vnet", "ip4", "ip6")
    assert (r.int("vnet"), r.int("ip4"), r.int("ip6")) == (1, 2, 2)


def test_ip_saddrsel_default_not_inherited() -> None:
    """3.1: ip4.saddrsel defaults on and is not inherited from the parent."""
    p = mk("p", ("ip4.nosaddrsel", None), ("ip6.nosaddrsel", None))
    c = mk("p.c")
    assert (rint(p, "ip4.saddrsel"), rint(p, "ip6.saddrsel")) == (0, 0)
    assert (rint(c, "ip4.saddrsel"), rint(c, "ip6.saddrsel")) == (1, 1)


def test_ip6_stored_order() -> None:
    """4.6: primary first, the rest sorted bytewise."""
    j = mk("j", ("ip6.addr", IP6("2001:db8::9", "2001:db8::3", "2001:db8::1", "::1")))
    r = read(("jid", I(j)), "ip6.addr")
    assert r.ip6() == ["2001:db8::9", "::1", "2001:db8::1", "2001:db8::3"]
    assert r.len("ip6.addr") == 64


def test_ip4_sorted_numerically() -> None:
    """4.6: IPv4 addresses after the primary sorted by numeric host-order value."""
    j = mk("j", ("ip4.addr", IP4("192.0.2.200", "192.0.2.30", "10.1.0.1", "192.0.2.4")))
    assert read(("jid", I(j)), "ip4.addr").ip4() == [
        "192.0.2.200", "10.1.0.1", "192.0.2.4", "192.0.2.30"]


def test_ip_invalid_addresses() -> None:
    """4.1 step 19: bad lengths, 0.0.0.0, 255.255.255.255, ::, duplicates → EINVAL."""
    for pair in [("ip4.addr", IP4("255.255.255.255")),
                 ("ip4.addr", IP4("192.0.2.1", "0.0.0.0")),
                 ("ip4.addr", IP4("192.0.2.1", "192.0.2.2", "192.0.2.1")),
                 ("ip6.addr", IP6("::")),
                 ("ip6.addr", IP6("2001:db8::1", "::")),
                 ("ip6.addr", IP6("2001:db8::1", "2001:db8::1")),
                 ("ip6.addr", bytes(IP6("2001:db8::1"))[:15]),
                 ("ip6.addr", bytes(IP6("2001:db8::1")) + b"\0" * 4)]:
        failed(jail_set([P, pair], JAIL_CREATE), errno.EINVAL)
    no_jails()


def test_ip_address_count_limit() -> None:
    """1.3 / 4.1 step 19: at most 255 addresses per family."""
    v4 = [f"10.0.{i // 256}.{i % 256}" for i in range(1, 257)]
    v6 = [f"2001:db8::{i:x}" for i in range(1, 257)]
    failed(jail_set([P, ("ip6.addr", IP6(*v6))], JAIL_CREATE), errno.EINVAL,
           "too many IPv6 addresses")
    a = mk("a", ("ip4.addr", IP4(*v4[:255])))
    b = mk("b", ("ip6.addr", IP6(*v6[:255])))
    assert read(("jid", I(a)), "ip4.addr").len("ip4.addr") == 255 * 4
    assert read(("jid", I(b)), "ip6.addr").len("ip6.addr") == 255 * 16
    failed(jail_set([("jid", I(a)), ("ip4.addr", IP4(*v4))], JAIL_UPDATE), errno.EINVAL,
           "too many IPv4 addresses")
    assert read(("jid", I(a)), "ip4.addr").len("ip4.addr") == 255 * 4


def test_ip_subset_of_restricted_parent() -> None:
    """4.6: with a restricted parent every child address must be in the parent's list; a
    restricted parent without addresses allows none; an unrestricted parent allows any."""
    p6 = mk("p6", ("ip6.addr", IP6("2001:db8::1")))
    failed(jail_set([("name", "p6.c"), P, ("ip6.addr", IP6("2001:db8::2"))], JAIL_CREATE),
           errno.EPERM)
    c6 = mk("p6.c", ("ip6.addr", IP6("2001:db8::1")))
    assert read(("jid", I(c6)), "ip6.addr").ip6() == ["2001:db8::1"]
    assert rint(p6, "children.cur") == 1
    empty = mk("empty")  # restricted, no addresses
    failed(jail_set([("name", "empty.c"), P, ("ip4.addr", IP4("192.0.2.1"))], JAIL_CREATE),
           errno.EPERM)
    failed(jail_set([("name", "empty.c"), P, ("ip6.addr", IP6("2001:db8::7"))], JAIL_CREATE),
           errno.EPERM)
    assert rint(empty, "children.cur") == 0
    free = mk("free", ("ip4", I(2)))
    c = mk("free.c", ("ip4.addr", IP4("198.51.100.1", "198.51.100.2")))
    assert read(("jid", I(c)), "ip4.addr").ip4() == ["198.51.100.1", "198.51.100.2"]
    assert rint(free, "children.cur") == 1
    # updates are checked too
    failed(jail_set([("jid", I(c6)), ("ip6.addr", IP6("2001:db8::3"))], JAIL_UPDATE),
           errno.EPERM)
    assert read(("jid", I(c6)), "ip6.addr").ip6() == ["2001:db8::1"]


def test_ip_clash_rules() -> None:
    """4.6: overlap with another jail is EADDRINUSE unless both have exactly one address."""
    x = mk("x", ("ip6.addr", IP6("2001:db8::1", "2001:db8::2")))
    failed(jail_set([("name", "y"), P, ("ip6.addr", IP6("2001:db8::2"))], JAIL_CREATE),
           errno.EADDRINUSE, "IPv6 addresses clash")
    s = mk("s", ("ip4.addr", IP4("192.0.2.1")))
    failed(jail_set([("name", "t"), P, ("ip4.addr", IP4("192.0.2.9", "192.0.2.1"))],
                    JAIL_CREATE), errno.EADDRINUSE, "IPv4 addresses clash")
    t = mk("t", ("ip4.addr", IP4("192.0.2.1")))
    u = mk("u", ("ip4.addr", IP4("192.0.2.3")))
    failed(jail_set([("jid", I(u)), ("ip4.addr", IP4("192.0.2.3", "192.0.2.1"))], JAIL_UPDATE),
           errno.EADDRINUSE, "IPv4 addresses clash")
    assert read(("jid", I(u)), "ip4.addr").ip4() == ["192.0.2.3"]
    # re-setting a jail's own addresses does not clash with itself
    succeeded(jail_set([("jid", I(x)), ("ip6.addr", IP6("2001:db8::2", "2001:db8::1"))],
                       JAIL_UPDATE), x)
    assert read(("jid", I(x)), "ip6.addr").ip6() == ["2001:db8::2", "2001:db8::1"]
    assert jails() == sorted([x, s, t, u])


def test_ip_update_to_empty_list() -> None:
    """4.5.1: an empty list on a restricted jail leaves it restricted with no addresses."""
    j = mk("j", ("ip4.addr", IP4("192.0.2.1", "192.0.2.2")))
    succeeded(jail_set([("jid", I(j)), ("ip4.addr", b"")], JAIL_UPDATE), j)
    r = read(("jid", I(j)), "ip4", "ip4.addr")
    assert (r.int("ip4"), r.len("ip4.addr")) == (0, 0)


# ---------------------------------------------------------------------------
# section 3.2 / 3.3: allow.* defaults, modules

ALLOW_DEFAULTS = {
    "allow.set_hostname": 1,
    "allow.sysvipc": 0,
    "allow.raw_sockets": 0,
    "allow.chflags": 0,
    "allow.mount": 0,
    "allow.quotas": 0,
    "allow.socket_af": 0,
    "allow.mlock": 0,
    "allow.read_msgbuf": 0,
    "allow.unprivileged_proc_debug": 1,
    "allow.suser": 1,
    "allow.reserved_ports": 1,
    "allow.nfsd": 0,
    "allow.extattr": 0,
    "allow.adjtime": 0,
    "allow.settime": 0,
    "allow.routing": 0,
    "allow.unprivileged_parent_tampering": 0,
    "allow.mount.devfs": 0,
}


def _no(name: str) -> str:
    head, _, last = name.rpartition(".")
    return f"{head}.no{last}"


def test_allow_defaults_after_create() -> None:
    """3.2: defaults of a new jail created by the host; no-forms read the inverse."""
    j = mk("j")
    r = read(("jid", I(j)), *ALLOW_DEFAULTS)
    assert {n: r.int(n) for n in ALLOW_DEFAULTS} == ALLOW_DEFAULTS
    r = read(("jid", I(j)), *[_no(n) for n in ALLOW_DEFAULTS])
    assert {n: r.int(_no(n)) for n in ALLOW_DEFAULTS} == {
        n: 1 - v for n, v in ALLOW_DEFAULTS.items()}


def test_allow_all_settable_from_host() -> None:
    """3.2: the host has every static bit (and allow.unprivileged_parent_tampering may
    exceed the parent), so a top-level jail can get all of them."""
    j = succeeded(jail_set([P, *[(n, None) for n in ALLOW_DEFAULTS]], JAIL_CREATE))
    r = read(("jid", I(j)), *ALLOW_DEFAULTS)
    assert {n: r.int(n) for n in ALLOW_DEFAULTS} == dict.fromkeys(ALLOW_DEFAULTS, 1)
    j2 = succeeded(jail_set([P, *[(_no(n), None) for n in ALLOW_DEFAULTS]], JAIL_CREATE))
    r = read(("jid", I(j2)), *ALLOW_DEFAULTS)
    assert {n: r.int(n) for n in ALLOW_DEFAULTS} == dict.fromkeys(ALLOW_DEFAULTS, 0)


def test_allow_child_defaults_masked_by_parent() -> None:
    """3.2: new pr_allow = JAIL_DEFAULT_ALLOW & parent's, then requested bits."""
    p = mk("p", ("allow.noset_hostname", None), ("allow.nosuser", None),
           ("allow.noreserved_ports", None), ("allow.nounprivileged_proc_debug", None))
    c = mk("p.c")
    r = read(("jid", I(c)), *ALLOW_DEFAULTS)
    assert {n: r.int(n) for n in ALLOW_DEFAULTS} == dict.fromkeys(ALLOW_DEFAULTS, 0)
    for bit in ("allow.set_hostname", "allow.suser", "allow.reserved_ports", "allow.chflags"):
        failed(jail_set([("name", "p.d"), P, (bit, None)], JAIL_CREATE), errno.EPERM)
        failed(jail_set([("jid", I(c)), (bit, None)], JAIL_UPDATE), errno.EPERM)
    for bit in ("allow.unprivileged_proc_debug", "allow.unprivileged_parent_tampering"):
        succeeded(jail_set([("jid", I(c)), (bit, None)], JAIL_UPDATE), c)
        assert rint(c, bit) == 1
    assert rint(p, "allow.unprivileged_parent_tampering") == 0
    assert rint(p, "children.cur") == 1


def test_modules_absent_on_fresh_host() -> None:
    """Section 11: optional modules are not loaded; their params are unknown until kldload."""
    for name, value in [("allow.mount.nullfs", None), ("allow.mount.tmpfs", None),
                        ("allow.mount.procfs", None), ("allow.mount.fdescfs", None),
                        ("allow.mount.zfs", None), ("allow.mount.nonullfs", None),
                        ("sysvmsg", I(1)), ("sysvsem", I(1)), ("sysvshm", I(1))]:
        failed(jail_set([P, (name, value)], JAIL_CREATE), errno.EINVAL,
               f"unknown parameter: {name}")
    no_jails()
    j = succeeded(jail_set([P, ("allow.mount.devfs", None)], JAIL_CREATE))  # built in
    assert rint(j, "allow.mount.devfs") == 1


def test_module_params_after_kldload() -> None:
    """3.3: allow.mount.<fs> and sysv* exist once loaded; sysv* default disable; new under a
    disabled parent is EPERM."""
    model.kldload("nullfs")
    model.kldload("sysvmsg")
    j = mk("j", ("allow.mount.nullfs", None), ("sysvmsg", I(1)))
    assert rint(j, "allow.mount.nullfs") == 1
    assert rint(j, "sysvmsg") == 1
    k = mk("k")
    assert rint(k, "allow.mount.nullfs") == 0
    assert rint(k, "sysvmsg") == 0
    failed(jail_set([P, ("sysvmsg", I(3))], JAIL_CREATE), errno.EINVAL)
    failed(jail_set([("name", "k.c"), P, ("sysvmsg", I(1))], JAIL_CREATE), errno.EPERM)
    failed(jail_set([("name", "k.c"), P, ("sysvmsg", I(2))], JAIL_CREATE), errno.EPERM)
    failed(jail_set([("name", "k.c"), P, ("allow.mount.nullfs", None)], JAIL_CREATE),
           errno.EPERM)
    # still unknown: modules not loaded
    failed(jail_set([P, ("sysvsem", I(1))], JAIL_CREATE), errno.EINVAL,
           "unknown parameter: sysvsem")
    assert jails() == sorted([j, k])


# ---------------------------------------------------------------------------
# section 3.1 / 4.1 step 23: path resolution


def test_path_stored_canonical(tmp_path: Path) -> None:
    """4.1 step 23: the path must be a directory; symlinks followed; stored canonical."""
    real = tmp_path / "root"
    real.mkdir()
    (real / "sub").mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    canon = os.path.realpath(real)
    a = mk("a", ("path", str(real)))
    b = mk("b", ("path", str(link)))
    c = mk("c", ("path", f"{tmp_path}/./root/sub/../"))
    d = mk("d", ("path", str(link / "sub")))
    assert rstr(a, "path") == canon
    assert rstr(b, "path") == canon
    assert rstr(c, "path") == canon
    assert rstr(d, "path") == os.path.join(canon, "sub")


def test_path_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """3.1: the path is resolved with the caller's cwd."""
    (tmp_path / "r").mkdir()
    monkeypatch.chdir(tmp_path)
    j = mk("j", ("path", "r"))
    assert rstr(j, "path") == os.path.realpath(tmp_path / "r")


def test_path_lookup_errors(tmp_path: Path) -> None:
    """4.1 step 23: namei errors (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG) and bad values."""
    f = tmp_path / "file"
    f.write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    (tmp_path / "flink").symlink_to(f)
    cases = [
        (str(f), errno.ENOTDIR),
        (str(f) + "/x", errno.ENOTDIR),
        (str(tmp_path / "flink"), errno.ENOTDIR),
        (str(tmp_path / "missing"), errno.ENOENT),
        (str(tmp_path / "missing" / "x"), errno.ENOENT),
        (str(tmp_path / "dangling"), errno.ENOENT),
        (str(tmp_path / "loop1"), errno.ELOOP),
        ("/" + "x" * 1100, errno.ENAMETOOLONG),
    ]
    for path, err in cases:
        r = jail_set([P, ("path", path)], JAIL_CREATE)
        assert (path, r.ret, r.errno, r.errmsg) == (path, -1, err, "")
    failed(jail_set([P, ("path", str(tmp_path).encode())], JAIL_CREATE), errno.EINVAL)
    failed(jail_set([P, ("path", None)], JAIL_CREATE), errno.EINVAL)
    no_jails()


# ---------------------------------------------------------------------------
# section 3.7: the 14.x switch


def test_v14_flag_mask() -> None:
    """3.7: 14.x JAIL_SET_MASK is 0x0f (descriptor flags are unknown bits)."""
    model.set_version(14)
    assert model.version() == 14
    for flag in (0x10, 0x20, 0x40, 0x80):
        failed(jail_set([P], JAIL_CREATE | flag), errno.EINVAL)
    j = succeeded(jail_set([P], JAIL_CREATE | JAIL_DYING), 1)
    assert rint(j, "persist") == 1
    assert jails() == [1]


def test_v14_desc_is_unknown_parameter() -> None:
    """3.7: 14.x has no desc: "unknown parameter: desc"; 15.x says "unexpected desc"."""
    failed(jail_set([P, ("desc", I(0))], JAIL_CREATE), errno.EINVAL, "unexpected desc")
    model.set_version(14)
    failed(jail_set([P, ("desc", I(0))], JAIL_CREATE), errno.EINVAL, "unknown parameter: desc")
    no_jails()


def test_v14_no_15x_parameters() -> None:
    """3.7 / section 11: 14.x has no meta/env, allow.routing or
    allow.unprivileged_parent_tampering."""
    model.set_version(14)
    for name, value in [("allow.routing", None), ("allow.unprivileged_parent_tampering", None),
                        ("meta", "k=v"), ("env", "k=v")]:
        failed(jail_set([P, (name, value)], JAIL_CREATE), errno.EINVAL,
               f"unknown parameter: {name}")
    no_jails()


def test_v14_dying_jid_is_eexist() -> None:
    """3.7: 14.x: CREATE with the jid of a dying jail → EEXIST "jail N already exists"."""
    model.set_version(14)
    assert modelabi.create(("jid", I(5))) == 5
    model.hold(5)
    kill(5)
    assert rint(5, "dying", JAIL_DYING) == 1
    failed(jail_set([("jid", I(5)), P], JAIL_CREATE), errno.EEXIST, "jail 5 already exists")
    assert jails() == [5]
    model.release(5)
    assert jails() == []


def test_v14_privilege_checked_first() -> None:
    """3.7: 14.x checks privilege before the flag mask and the operation."""
    model.set_version(14)

    def calls() -> list[tuple[int, int, str]]:
        return [summary(jail_set([P], 0)),
                summary(jail_set([P], JAIL_CREATE | 0x100)),
                summary(jail_set([P], JAIL_CREATE))]

    assert in_child(calls, uid=65534) == [(-1, errno.EPERM, "")] * 3
    no_jails()


# ---------------------------------------------------------------------------
# section 11 decisions; section 4.7 attach-only jails


def test_real_parent_used_for_checks_of_grandchild_by_jid() -> None:
    """Section 11 / 4.9: the constraint checks of an update by jid use the target's real
    parent, not the caller's prison."""
    a = mk("a", ("securelevel", I(3)), ("children.max", I(5)),
           ("ip4.addr", IP4("192.0.2.1")), ("enforce_statfs", I(1)))
    b = mk("a.b", ("ip4.addr", b""))
    failed(jail_set([("jid", I(b)), ("securelevel", I(1))], JAIL_UPDATE), errno.EPERM)
    failed(jail_set([("jid", I(b)), ("children.max", I(5))], JAIL_UPDATE), errno.EPERM)
    failed(jail_set([("jid", I(b)), ("enforce_statfs", I(0))], JAIL_UPDATE), errno.EPERM)
    failed(jail_set([("jid", I(b)), ("allow.mount", None)], JAIL_UPDATE), errno.EPERM)
    failed(jail_set([("jid", I(b)), ("ip4.addr", IP4("192.0.2.2"))], JAIL_UPDATE), errno.EPERM)
    r = read(("jid", I(b)), "securelevel", "children.max", "enforce_statfs", "allow.mount",
             "ip4.addr")
    assert (r.int("securelevel"), r.int("children.max"), r.int("enforce_statfs"),
            r.int("allow.mount"), r.len("ip4.addr")) == (3, 0, 2, 0, 0)  # 2: global default
    succeeded(jail_set([("jid", I(b)), ("securelevel", I(4)), ("children.max", I(4))],
                       JAIL_UPDATE), b)
    assert (rint(b, "securelevel"), rint(b, "children.max")) == (4, 4)
    assert rstr(b, "name") == "a.b"
    assert rint(a, "securelevel") == 3


def test_update_only_empty_name_is_update_specified_no_jail() -> None:
    """Section 11 / 2.7: UPDATE alone with name "" and no jid → ENOENT "update specified no
    jail" (the model does not fall through to creating)."""
    web = mk("web")
    r = jail_set([("name", ""), P], JAIL_UPDATE)
    failed(r, errno.ENOENT, "update specified no jail")
    r = jail_set([("name", ""), ("host.hostname", "x")], JAIL_UPDATE)
    failed(r, errno.ENOENT, "update specified no jail")
    assert jails() == [web]
    assert rstr(web, "host.hostname") == ""


def test_attach_only_jail_lives_with_its_process() -> None:
    """4.7: a non-persistent jail created with ATTACH lives as long as its process."""
    from modelabi import JAIL_ATTACH

    def inside() -> tuple[int, int, str, int]:
        r = jail_set([("name", "tmp")], JAIL_CREATE | JAIL_ATTACH)
        return (*summary(r), model.current_jid())

    ret, err, msg, current = in_child(inside)
    assert ret > 0 and (err, msg) == (0, "")
    assert current == ret
    # the process has exited: the jail is gone (nothing else references it)
    not_found("tmp")
    not_found(ret, JAIL_DYING)
    assert jails() == []
