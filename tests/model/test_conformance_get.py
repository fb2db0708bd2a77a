"""Conformance cases 61-94 of the kernel spec (section 9), driven through the model's C ABI.

Every test drives ``jailmodel_*`` exactly as a C program would (``tests/modelabi.py``)
and checks the return value, errno, the errmsg text (or that it stayed empty) and the
state read back with jail_get.  Spec: shared/spec/freebsd-jail-kernel.md.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
from typing import Any

import pytest
from forked import need_root
from modelabi import (
    IP4,
    JAIL_AT_DESC,
    JAIL_ATTACH,
    JAIL_CREATE,
    JAIL_DYING,
    JAIL_GET_DESC,
    JAIL_UPDATE,
    JAIL_USE_DESC,
    UL,
    Buf,
    I,
    attach,
    create,
    jail_get,
    jail_set,
    nametomib,
    remove,
    sysctl,
    sysctlbyname,
)
from modelabi_check import (
    ROOT_ONLY,
    ZERO_UUID,
    expect_fail,
    fetch,
    jail_list,
    oidfmt,
    raw_jail_get,
    values,
)
from modelabi_child import Child, as_nobody, run_child

import jailcore.model

pytestmark = ROOT_ONLY

# ---------------------------------------------------------------------------------------
# cases 61-94


def test_case_61_get_without_key() -> None:
    """61 | jail_get with no key | ENOENT, msg "no jail specified"; jid=0 and no name → same."""
    jid = create(("name", "web"))
    r = jail_get([("persist", Buf(4, b"\xaa\xaa\xaa\xaa"))])
    expect_fail(r, errno.ENOENT, "no jail specified")
    assert r.raw("persist") == b"\xaa" * 4  # nothing copied out
    r = jail_get([("jid", I(0)), ("persist", Buf(4, b"\xaa\xaa\xaa\xaa"))])
    expect_fail(r, errno.ENOENT, "no jail specified")
    assert r.raw("persist") == b"\xaa" * 4
    # the jail is still there, untouched
    assert jail_list() == [jid]
    assert values(jid, "name", "persist") == {"name": "web", "persist": 1}


def test_case_62_get_with_set_flags() -> None:
    """62 | jail_get flags = JAIL_CREATE | EINVAL."""
    jid = create()
    for flags in (JAIL_CREATE, JAIL_UPDATE, JAIL_ATTACH, JAIL_CREATE | JAIL_DYING, 0x100):
        r = jail_get([("jid", I(jid)), ("name", Buf(256, b"#" * 8))], flags)
        expect_fail(r, errno.EINVAL)
        assert r.raw("name") == b"#" * 8 + b"\0" * 248
    # the same request with valid flags succeeds
    assert values(jid, "name") == {"name": str(jid)}
    assert values(jid, "name", flags=JAIL_DYING) == {"name": str(jid)}


def test_case_63_lastjid_iteration() -> None:
    """63 | jails 1,2,5: jail_get lastjid=0 → 1; lastjid=2 → 5; lastjid=5 → ENOENT msg "no jail
    after 5".
    """
    assert create() == 1
    assert create() == 2
    assert create(("jid", I(5))) == 5
    expected = {0: 1, 1: 2, 2: 5, 3: 5, 4: 5}
    for last, jid in expected.items():
        r = jail_get([("lastjid", I(last)), ("jid", Buf(4)), ("name", Buf(256))])
        assert (r.ret, r.errmsg) == (jid, "")
        assert r.int("jid") == jid
        assert r.str("name") == str(jid)
        # lastjid is a pure key: never modified
        assert r.int("lastjid") == last
        assert r.len("lastjid") == 4
    r = jail_get([("lastjid", I(5)), ("jid", Buf(4))])
    expect_fail(r, errno.ENOENT, "no jail after 5")
    r = jail_get([("lastjid", I(1000)), ("jid", Buf(4))])
    expect_fail(r, errno.ENOENT, "no jail after 1000")
    assert jail_list() == [1, 2, 5]


def test_case_64_string_size_query() -> None:
    """64 | jail_get jid=1 with `name` value iov_len 0 | success; returned iov_len = strlen(name)+1,
    buffer untouched.
    """
    assert create(("name", "webserver")) == 1
    # NULL base, length 0: a pure size query
    r = jail_get([("jid", I(1)), ("name", None)])
    assert (r.ret, r.errmsg) == (1, "")
    assert r.len("name") == len("webserver") + 1
    # a real buffer with iov_len 0: nothing may be written into it
    jidbuf = ctypes.create_string_buffer((1).to_bytes(4, "little"), 4)
    namebuf = ctypes.create_string_buffer(b"Q" * 32, 32)
    ret, err, iov = raw_jail_get([(b"jid", jidbuf, 4), (b"name", namebuf, 0)])
    assert (ret, err) == (1, 0)
    assert iov[3].iov_len == len("webserver") + 1
    assert namebuf.raw == b"Q" * 32
    # and with room the name comes back, iov_len unchanged (string rule)
    r = jail_get([("jid", I(1)), ("name", Buf(64))])
    assert (r.ret, r.str("name"), r.len("name")) == (1, "webserver", 64)


def test_case_65_string_buffer_too_small() -> None:
    """65 | jail_get jid=1, `host.hostname` buffer of 2 bytes while hostname is "abc" | EINVAL, no
    msg, no outputs copied.
    """
    assert create(("host.hostname", "abc")) == 1
    r = jail_get(
        [
            ("jid", I(1)),
            ("persist", Buf(4, b"\xee" * 4)),
            ("ip4.addr", Buf(64, b"\x11" * 64)),
            ("host.hostname", Buf(2, b"zz")),
        ]
    )
    expect_fail(r, errno.EINVAL)
    assert r.raw("persist") == b"\xee" * 4
    assert r.len("ip4.addr") == 64  # the iovec array was not copied back
    assert r.raw("ip4.addr") == b"\x11" * 64
    assert r.raw("host.hostname") == b"zz"
    assert r.len("host.hostname") == 2
    # exactly strlen+1 is enough
    r = jail_get([("jid", I(1)), ("host.hostname", Buf(4, b"zzzz"))])
    assert (r.ret, r.errmsg, r.raw("host.hostname")) == (1, "", b"abc\0")
    assert values(1, "host.hostname", "persist") == {"host.hostname": "abc", "persist": 1}


def test_case_66_int_buffer_size() -> None:
    """66 | jail_get jid=1 `securelevel` with 8-byte buffer | EINVAL; with 0-length → iov_len 4."""
    assert create(("securelevel", I(2))) == 1
    r = jail_get([("jid", I(1)), ("name", Buf(256, b"#")), ("securelevel", Buf(8, b"\x55" * 8))])
    expect_fail(r, errno.EINVAL)
    assert r.raw("securelevel") == b"\x55" * 8
    assert r.raw("name")[:1] == b"#"
    for bad in (1, 2, 3, 5):
        expect_fail(jail_get([("jid", I(1)), ("securelevel", Buf(bad))]), errno.EINVAL)
    r = jail_get([("jid", I(1)), ("securelevel", None), ("name", Buf(256))])
    assert (r.ret, r.errmsg) == (1, "")
    assert r.len("securelevel") == 4
    assert r.str("name") == "1"
    r = jail_get([("jid", I(1)), ("securelevel", Buf(4))])
    assert (r.ret, r.int("securelevel"), r.len("securelevel")) == (1, 2, 4)


def test_case_67_address_array_sizes() -> None:
    """67 | jail_get `ip4.addr` buffer 64 bytes for a jail with 2 addresses | success, iov_len = 8;
    with 4 bytes → EINVAL; with 0 → iov_len 8.
    """
    assert create(("ip4.addr", IP4("192.0.2.1", "192.0.2.2"))) == 1
    r = jail_get([("jid", I(1)), ("ip4.addr", Buf(64))])
    assert (r.ret, r.errmsg) == (1, "")
    assert r.len("ip4.addr") == 8
    assert r.ip4() == ["192.0.2.1", "192.0.2.2"]
    r = jail_get([("jid", I(1)), ("ip4.addr", Buf(4, b"\x77" * 4))])
    expect_fail(r, errno.EINVAL)
    assert r.len("ip4.addr") == 4
    assert r.raw("ip4.addr") == b"\x77" * 4
    r = jail_get([("jid", I(1)), ("ip4.addr", None)])
    assert (r.ret, r.errmsg, r.len("ip4.addr")) == (1, "", 8)
    r = jail_get([("jid", I(1)), ("ip4.addr", Buf(8))])
    assert (r.ret, r.len("ip4.addr"), r.ip4()) == (1, 8, ["192.0.2.1", "192.0.2.2"])


def test_case_68_nopersist_readback() -> None:
    """68 | jail_get `nopersist` on persistent jail | 0."""
    assert create() == 1
    # (X and noX name the same option, so each is asked for in its own call)
    assert values(1, "nopersist") == {"nopersist": 0}
    assert values(1, "persist") == {"persist": 1}
    assert values(1, "nodying") == {"nodying": 1}
    assert values(1, "dying") == {"dying": 0}
    r = jail_set([("jid", I(1)), ("allow.noset_hostname", None)], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (1, "")
    assert values(1, "allow.noset_hostname") == {"allow.noset_hostname": 1}
    assert values(1, "allow.set_hostname") == {"allow.set_hostname": 0}


def test_case_69_persist_and_nopersist_together() -> None:
    """69 | jail_get `persist` and `nopersist` both | only the second slot is written; first slot's
    iov_len unchanged.
    """
    assert create() == 1
    # a 0-length first slot would have been answered with iov_len 4 had it been kept
    r = jail_get([("jid", I(1)), ("persist", None), ("nopersist", Buf(4, b"\xff" * 4))])
    assert (r.ret, r.errmsg) == (1, "")
    assert r.len("persist") == 0
    assert r.int("nopersist") == 0
    r = jail_get([("jid", I(1)), ("nopersist", None), ("persist", Buf(4, b"\xff" * 4))])
    assert (r.ret, r.errmsg) == (1, "")
    assert r.len("nopersist") == 0
    assert r.int("persist") == 1
    # with buffers: the earlier one keeps its old contents
    r = jail_get([("jid", I(1)), ("persist", Buf(4, b"\xab" * 4)), ("nopersist", Buf(4))])
    assert (r.ret, r.raw("persist"), r.int("nopersist")) == (1, b"\xab" * 4, 0)


def test_case_70_unknown_parameter_after_lookup() -> None:
    """70 | jail_get jid=1 `foo` | EINVAL, msg "unknown parameter: foo"; jail_get jid=999 `foo` →
    ENOENT "jail 999 not found".
    """
    assert create() == 1
    r = jail_get([("jid", I(1)), ("name", Buf(256, b"#")), ("foo", Buf(4))])
    expect_fail(r, errno.EINVAL, "unknown parameter: foo")
    assert r.raw("name")[:1] == b"#"
    expect_fail(jail_get([("jid", I(999)), ("foo", Buf(4))]), errno.ENOENT, "jail 999 not found")
    # the first unknown one in list order is named
    r = jail_get([("jid", I(1)), ("bar", Buf(4)), ("persist", Buf(4)), ("foo", Buf(4))])
    expect_fail(r, errno.EINVAL, "unknown parameter: bar")


@pytest.mark.parametrize(("first", "second", "named"), [
    ("foo", "nofoo", "nofoo"),              # "opt" and "noopt"
    ("nofoo", "foo", "foo"),
    ("nofoo", "nonofoo", "nonofoo"),        # "no" + "nofoo"
    ("a.foo", "a.nofoo", "a.nofoo"),        # "foo.noopt" after a common dotted prefix
    ("a.b.nofoo", "a.b.foo", "a.b.foo"),
    ("a.foo", "b.nofoo", "a.foo"),          # other prefixes: two options
    ("ro", "rdonly", "rdonly"),             # the ro/rw family, any two of it
    ("rw", "noro", "noro"),
    ("x.ro", "x.rw", "x.rw"),               # after a common dotted prefix too
    ("x.ro", "y.rw", "x.ro"),
    ("ro", "x.rw", "ro"),
    ("foo", "fop", "foo"),                  # equal lengths, other names
    ("foox", "nofoo", "foox"),              # two bytes apart, no "no" pair
    ("afoo", "nofoo", "afoo"),
])
def test_equal_options_keep_only_the_last(first: str, second: str, named: str) -> None:
    """vfs_sanitizeopts drops an option equal (vfs_equalopts of sys/kern/vfs_mount.c)
    to a later one, so jail_get names the first unknown option that survives."""
    assert create() == 1
    r = jail_get([("jid", I(1)), (first, Buf(4)), (second, Buf(4))])
    expect_fail(r, errno.EINVAL, f"unknown parameter: {named}")


def test_case_71_jailed_caller_cannot_get_own_jail() -> None:
    """71 | process in jail J: jail_get of J's own jid | ENOENT "jail J not found"; `parent` of J's
    child reads 0.
    """
    need_root()
    j = create(("name", "j"), ("children.max", I(2)))
    c = create(("name", "j.c"))
    assert values(c, "parent", "name") == {"parent": j, "name": "j.c"}

    def body() -> Any:
        ret = attach(j)
        own = fetch(j, "name")
        own_name = fetch("j", "jid")
        child = fetch(c, "parent", "name")
        child_by_name = fetch("c", "jid")
        return {
            "attach": ret,
            "own": [own.ret, own.errno, own.errmsg],
            "own_name": [own_name.ret, own_name.errno, own_name.errmsg],
            "child": [child.ret, child.errmsg, child.int("parent"), child.str("name")],
            "child_by_name": [child_by_name.ret, child_by_name.int("jid")],
        }

    out = run_child(body)
    assert out["attach"] == [0, 0]
    assert out["own"] == [-1, errno.ENOENT, f"jail {j} not found"]
    assert out["own_name"] == [-1, errno.ENOENT, 'jail "j" not found']
    assert out["child"] == [c, "", 0, "c"]
    assert out["child_by_name"] == [c, c]
    # from the host, j's parent reads 0 (prison0 is the caller's own prison)
    assert values(j, "parent") == {"parent": 0}


def test_case_72_errmsg_truncated_to_buffer() -> None:
    """72 | errmsg buffer of 8 bytes, UPDATE jid=99 | ENOENT; buffer = "jail 99" + NUL."""
    r = jail_set([("jid", I(99)), ("host.hostname", "x")], JAIL_UPDATE, errmsg=Buf(8, b"!" * 8))
    assert (r.ret, r.errno) == (-1, errno.ENOENT)
    assert r.raw("errmsg") == b"jail 99\0"
    assert r.len("errmsg") == 8
    assert r.errmsg == "jail 99"
    # a 2-byte buffer gets one character and the NUL
    r = jail_set([("jid", I(99)), ("host.hostname", "x")], JAIL_UPDATE, errmsg=Buf(2, b"!!"))
    assert (r.ret, r.errno, r.raw("errmsg")) == (-1, errno.ENOENT, b"j\0")
    # a 0-length errmsg is accepted and never written
    r = jail_set([("jid", I(99)), ("host.hostname", "x")], JAIL_UPDATE, errmsg=None)
    assert (r.ret, r.errno) == (-1, errno.ENOENT)
    assert jail_list(JAIL_DYING) == []


def test_case_73_no_message_leaves_errmsg() -> None:
    """73 | errmsg pre-filled "XYZ", CREATE `enforce_statfs=9` | EINVAL; buffer still "XYZ"."""
    r = jail_set(
        [("persist", None), ("enforce_statfs", I(9))],
        JAIL_CREATE,
        errmsg=Buf(16, b"XYZ"),
    )
    assert (r.ret, r.errno) == (-1, errno.EINVAL)
    assert r.raw("errmsg") == b"XYZ" + b"\0" * 13
    assert r.errmsg == "XYZ"
    assert jail_list(JAIL_DYING) == []


def test_case_74_remove_kills_process() -> None:
    """74 | jail_remove(jid) on live jail with a process | returns 0; process receives SIGKILL;
    jail_get jid → ENOENT.
    """
    need_root()
    jid = create(("name", "web"))
    c = Child(lambda: {"attach": attach(jid), "jid": jailcore.model.current_jid()}, after="pause")
    try:
        assert c.result() == {"attach": [0, 0], "jid": jid}
        assert remove(jid) == (0, 0)
        # until the killed process is reaped the jail stays dying
        expect_fail(fetch(jid, "name"), errno.ENOENT, f"jail {jid} is dying")
        assert values(jid, "dying", "persist", flags=JAIL_DYING) == {"dying": 1, "persist": 0}
        status = c.wait()
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        expect_fail(fetch(jid, "name"), errno.ENOENT, f"jail {jid} not found")
        expect_fail(fetch(jid, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {jid} not found")
        assert jail_list(JAIL_DYING) == []
    finally:
        c.cleanup()


def test_case_75_remove_dying_absent_nonroot() -> None:
    """75 | jail_remove on a jail kept dying by a lingering reference | 0 (no-op); on an absent jid
    → EINVAL; non-root → EPERM (before lookup).
    """
    need_root()
    jid = create(("name", "web"))
    jailcore.model.hold(jid)
    assert remove(jid) == (0, 0)
    assert values(jid, "dying", "name", flags=JAIL_DYING) == {"dying": 1, "name": "web"}
    assert remove(jid) == (0, 0)
    assert values(jid, "dying", flags=JAIL_DYING) == {"dying": 1}
    assert remove(999) == (-1, errno.EINVAL)
    assert remove(0) == (-1, errno.EINVAL)
    assert remove(-1) == (-1, errno.EINVAL)
    jailcore.model.release(jid)
    expect_fail(fetch(jid, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {jid} not found")

    live = create(("name", "live"))
    out = run_child(as_nobody(lambda: {"live": remove(live), "absent": remove(999)}))
    assert out == {"live": [-1, errno.EPERM], "absent": [-1, errno.EPERM]}
    assert values(live, "dying", "persist") == {"dying": 0, "persist": 1}


def test_case_76_remove_parent_kills_descendants() -> None:
    """76 | jail_remove on a parent with children | all descendants become dying too."""
    need_root()
    web = create(("name", "web"))
    db = create(("name", "web.db"))
    sub = create(("name", "web.db.sub"))
    other = create(("name", "other"))
    jailcore.model.hold(sub)  # keeps sub, and through it db and web, dying
    assert remove(web) == (0, 0)
    for jid in (web, db, sub):
        expect_fail(fetch(jid, "name"), errno.ENOENT, f"jail {jid} is dying")
        assert values(jid, "dying", "persist", flags=JAIL_DYING) == {"dying": 1, "persist": 0}
    assert values(web, "children.cur", flags=JAIL_DYING) == {"children.cur": 2}
    assert values(other, "dying") == {"dying": 0}
    assert jail_list() == [other]
    assert jail_list(JAIL_DYING) == [web, db, sub, other]
    jailcore.model.release(sub)
    assert jail_list(JAIL_DYING) == [other]

    # without lingering references the whole subtree is freed at once
    a = create(("name", "a"))
    b = create(("name", "a.b"))
    assert remove(a) == (0, 0)
    for jid in (a, b):
        expect_fail(fetch(jid, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {jid} not found")
    assert jail_list(JAIL_DYING) == [other]


def test_case_77_attach_errors() -> None:
    """77 | jail_attach(absent or 0 or own jail) → EINVAL; non-root → EPERM (before lookup); attach
    to a jail kept dying by a lingering reference → EINVAL.
    """
    need_root()
    jid = create(("name", "web"))

    def inside() -> Any:
        first = attach(jid)
        return {"first": first, "own": attach(jid), "zero": attach(0), "absent": attach(999),
                "negative": attach(-3), "cur": jailcore.model.current_jid()}

    assert run_child(inside) == {
        "first": [0, 0],
        "own": [-1, errno.EINVAL],
        "zero": [-1, errno.EINVAL],
        "absent": [-1, errno.EINVAL],
        "negative": [-1, errno.EINVAL],
        "cur": jid,
    }
    out = run_child(as_nobody(lambda: {"live": attach(jid), "absent": attach(999),
                                       "cur": jailcore.model.current_jid()}))
    assert out == {"live": [-1, errno.EPERM], "absent": [-1, errno.EPERM], "cur": 0}

    jailcore.model.hold(jid)
    assert remove(jid) == (0, 0)
    out = run_child(lambda: {"dying": attach(jid), "cur": jailcore.model.current_jid()})
    assert out == {"dying": [-1, errno.EINVAL], "cur": 0}
    assert values(jid, "dying", flags=JAIL_DYING) == {"dying": 1}
    jailcore.model.release(jid)
    assert jail_list(JAIL_DYING) == []


def test_case_78_attach_to_persistent_jail(tmp_path: Any) -> None:
    """78 | jail_attach to a persistent jail | 0; getcwd()/root inside = jail root;
    `security.jail.jailed` = 1.
    """
    need_root()
    jid = create(("name", "web"))

    def body() -> Any:
        os.chdir("/tmp")
        ret = attach(jid)
        r, e, val = sysctlbyname("security.jail.jailed")
        return {"attach": ret, "cwd": os.getcwd(), "jailed": [r, e, val.hex()],
                "cur": jailcore.model.current_jid()}

    assert run_child(body) == {
        "attach": [0, 0],
        "cwd": "/",
        "jailed": [0, 0, (1).to_bytes(4, "little").hex()],
        "cur": jid,
    }
    # the host itself is not jailed, and the jail is still alive
    assert sysctlbyname("security.jail.jailed")[:3] == (0, 0, b"\0\0\0\0")
    assert values(jid, "dying", "persist") == {"dying": 0, "persist": 1}

    # with a real path the root becomes that directory
    (tmp_path / "marker").write_text("x")
    pj = create(("name", "rooted"), ("path", str(tmp_path)))

    def rooted() -> Any:
        ret = attach(pj)
        return {"attach": ret, "cwd": os.getcwd(), "ls": sorted(os.listdir("/"))}

    assert run_child(rooted) == {"attach": [0, 0], "cwd": "/", "ls": ["marker"]}
    assert values(pj, "path") == {"path": os.path.realpath(tmp_path)}


def test_case_79_attached_only_process_exits() -> None:
    """79 | non-persistent jail created with ATTACH; the only process exits | jail becomes dying."""
    need_root()

    def body() -> Any:
        r = jail_set([("name", "eph")], JAIL_CREATE | JAIL_ATTACH)
        return {"ret": r.ret, "errno": r.errno, "errmsg": r.errmsg,
                "cur": jailcore.model.current_jid()}

    c = Child(body, after="wait")
    try:
        out = c.result()
        jid = out["ret"]
        assert out == {"ret": jid, "errno": 0, "errmsg": "", "cur": jid}
        assert jid == 1
        assert values(jid, "dying", "persist", "name") == {"dying": 0, "persist": 0, "name": "eph"}
        jailcore.model.hold(jid)  # a lingering reference keeps it visible as dying
        c.go()
        assert c.wait() == 0
        expect_fail(fetch(jid, "name"), errno.ENOENT, f"jail {jid} is dying")
        expect_fail(fetch("eph", "jid"), errno.ENOENT, 'jail "eph" is dying')
        assert values(jid, "dying", "persist", flags=JAIL_DYING) == {"dying": 1, "persist": 0}
        jailcore.model.release(jid)
        expect_fail(fetch(jid, "name", flags=JAIL_DYING), errno.ENOENT, f"jail {jid} not found")
    finally:
        c.cleanup()


def test_case_80_create_over_dying_jid() -> None:
    """80 | 15.x: jail N kept dying by a lingering reference; CREATE `jid=N persist` | succeeds with
    N; the dying one now has a jid near 999999 (visible via lastjid + JAIL_DYING). 14.x: `EEXIST`
    "jail N already exists".
    """
    need_root()
    n = create(("name", "old"))
    jailcore.model.hold(n)
    assert remove(n) == (0, 0)
    r = jail_set([("jid", I(n)), ("name", "new"), ("persist", None)], JAIL_CREATE)
    assert (r.ret, r.errmsg) == (n, "")
    assert values(n, "name", "dying", "persist") == {"name": "new", "dying": 0, "persist": 1}
    # the dying jail was renumbered, counting down from JAIL_MAX
    assert jail_list() == [n]
    assert jail_list(JAIL_DYING) == [n, 999999]
    r = jail_get([("lastjid", I(n)), ("jid", Buf(4)), ("name", Buf(256)), ("dying", Buf(4))],
                 JAIL_DYING)
    assert (r.ret, r.int("jid"), r.str("name"), r.int("dying")) == (999999, 999999, "old", 1)
    expect_fail(jail_get([("lastjid", I(n)), ("jid", Buf(4))]), errno.ENOENT, f"no jail after {n}")
    jailcore.model.release(999999)
    assert jail_list(JAIL_DYING) == [n]

    # 14.x
    jailcore.model.reset()
    jailcore.model.set_version(14)
    n = create(("name", "old"))
    jailcore.model.hold(n)
    assert remove(n) == (0, 0)
    r = jail_set([("jid", I(n)), ("name", "new"), ("persist", None)], JAIL_CREATE)
    expect_fail(r, errno.EEXIST, f"jail {n} already exists")
    assert jail_list(JAIL_DYING) == [n]
    assert values(n, "name", "dying", flags=JAIL_DYING) == {"name": "old", "dying": 1}
    jailcore.model.release(n)
    assert jail_list(JAIL_DYING) == []


def test_case_81_meta() -> None:
    """81 | 15.x meta: set `meta.k=v`, get `meta.k` → "v"; get `meta.x` → success, iov_len 0; set
    `meta` of 5000 bytes → `EFBIG`; get `meta` with 0-length buffer → `EINVAL`.
    """
    jid = create(("name", "web"), ("meta.k", "v"))
    r = jail_get([("jid", I(jid)), ("meta.k", Buf(64)), ("meta.x", Buf(64, b"#"))])
    assert (r.ret, r.errmsg) == (jid, "")
    assert r.str("meta.k") == "v"
    assert r.len("meta.x") == 0
    r = jail_set([("jid", I(jid)), ("meta", "m" * 4999)], JAIL_UPDATE)
    expect_fail(r, errno.EFBIG)
    assert values(jid, "meta.k") == {"meta.k": "v"}  # unchanged
    r = jail_get([("jid", I(jid)), ("meta", None)])
    expect_fail(r, errno.EINVAL)
    # update of one key, then of the whole buffer
    r = jail_set([("jid", I(jid)), ("meta.k", "w"), ("meta.k2", "z")], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (jid, "")
    assert values(jid, "meta.k", "meta.k2") == {"meta.k": "w", "meta.k2": "z"}
    r = jail_set([("jid", I(jid)), ("meta", "a=1\nb=2")], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (jid, "")
    r = jail_get([("jid", I(jid)), ("meta.a", Buf(16)), ("meta.b", Buf(16)), ("meta.k", Buf(16))])
    assert (r.ret, r.str("meta.a"), r.str("meta.b"), r.len("meta.k")) == (jid, "1", "2", 0)
    # an empty value deletes one key
    r = jail_set([("jid", I(jid)), ("meta.a", None)], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (jid, "")
    r = jail_get([("jid", I(jid)), ("meta.a", Buf(16)), ("meta.b", Buf(16))])
    assert (r.ret, r.len("meta.a"), r.str("meta.b")) == (jid, 0, "2")


def test_case_82_descriptor_flag_errors() -> None:
    """82 | 15.x: flags JAIL_CREATE|JAIL_USE_DESC|JAIL_AT_DESC → `EINVAL` (no msg);
    JAIL_CREATE|JAIL_GET_DESC with `persist` but no `desc` → `ENOENT` "missing desc".
    """
    r = jail_set([("persist", None), ("desc", I(-1))], JAIL_CREATE | JAIL_USE_DESC | JAIL_AT_DESC)
    expect_fail(r, errno.EINVAL)
    r = jail_set([("persist", None)], JAIL_CREATE | JAIL_GET_DESC)
    expect_fail(r, errno.ENOENT, "missing desc")
    assert jail_list(JAIL_DYING) == []
    jid = create()
    r = jail_get([("jid", I(jid)), ("desc", I(-1))], JAIL_USE_DESC | JAIL_AT_DESC)
    expect_fail(r, errno.EINVAL)
    r = jail_get([("jid", I(jid)), ("name", Buf(256))], JAIL_GET_DESC)
    expect_fail(r, errno.ENOENT, "missing desc")


def test_case_83_sysvmsg_under_disabled_parent() -> None:
    """83 | CREATE `persist sysvmsg=1` under a jail whose sysvmsg is disabled | `EPERM`."""
    jailcore.model.kldload("sysvmsg")
    p = create(("name", "p"))
    assert values(p, "sysvmsg") == {"sysvmsg": 0}
    r = jail_set([("name", "p.c"), ("persist", None), ("sysvmsg", I(1))], JAIL_CREATE)
    expect_fail(r, errno.EPERM)
    r = jail_set([("name", "p.c"), ("persist", None), ("sysvmsg", I(2))], JAIL_CREATE)
    expect_fail(r, errno.EPERM)
    assert jail_list(JAIL_DYING) == [p]
    assert values(p, "children.cur") == {"children.cur": 0}
    # under the host (which has its own namespace) the same request succeeds; the two
    # failed creations had already been given jids 2 and 3 (4.1 step 27 precedes the
    # module check of step 32), and freed ids are not reused before the counter wraps
    r = jail_set([("name", "q"), ("persist", None), ("sysvmsg", I(1))], JAIL_CREATE)
    assert (r.ret, r.errmsg) == (p + 3, "")
    assert values(r.ret, "sysvmsg") == {"sysvmsg": 1}


def test_case_84_nobool_names_reach_the_kernel() -> None:
    """84 | libjail: `jail_setv(JAIL_CREATE, "allow.mount", "false", "persist", NULL, NULL)` |
    kernel sees names `allow.nomount` and `persist`, both with empty values.

    Kernel side (tested here): a jail_set carrying `allow.nomount` and `persist` with 0-length
    values creates a persistent jail whose allow.mount reads 0, and the same `no` form turns an
    existing allow.mount off.  Turning "false" into the `no` form placed before the last dotted
    component is the Python layer's job (jailcore.params).
    """
    r = jail_set([("allow.nomount", None), ("persist", None)], JAIL_CREATE)
    assert (r.ret, r.errmsg) == (1, "")
    assert values(1, "allow.mount", "persist") == {"allow.mount": 0, "persist": 1}
    assert values(1, "allow.nomount") == {"allow.nomount": 1}
    r = jail_set([("allow.mount", None), ("persist", None)], JAIL_CREATE)
    assert (r.ret, r.errmsg) == (2, "")
    assert values(2, "allow.mount") == {"allow.mount": 1}
    r = jail_set([("jid", I(2)), ("allow.nomount", None)], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (2, "")
    assert values(2, "allow.mount") == {"allow.mount": 0}
    assert values(2, "allow.nomount") == {"allow.nomount": 1}
    # the gojail mistake: no dot before "no" is not a parameter
    r = jail_set([("allownomount", None), ("persist", None)], JAIL_CREATE)
    expect_fail(r, errno.EINVAL, "unknown parameter: allownomount")
    assert jail_list() == [1, 2]


def test_case_85_param_sysctls_for_nobool() -> None:
    """85 | libjail: `jailparam_init("nopersist")` → JP_NOBOOL; `jailparam_init("bogus")` → -1,
    `ENOENT`, "unknown parameter: bogus".

    Kernel side (tested here): `security.jail.param.persist` exists as a boolean int (format "B",
    read RW), while `security.jail.param.nopersist` and `security.jail.param.bogus` do not exist
    (ENOENT from sysctlbyname and sysctlnametomib).  Stripping the `no`, marking JP_NOBOOL and
    composing the "unknown parameter: bogus" message is the Python layer's job (jailcore.params).
    """
    assert sysctlbyname("security.jail.param.persist") == (0, 0, b"\0\0\0\0")
    kind, fmt = oidfmt("security.jail.param.persist")
    assert (kind & 0xF, fmt) == (2, "B")  # CTLTYPE_INT, boolean
    assert kind & 0x80000000 and kind & 0x40000000  # RD | WR
    for missing in ("nopersist", "bogus", "allow.nomount"):
        ret, err, _ = sysctlbyname(f"security.jail.param.{missing}")
        assert (ret, err) == (-1, errno.ENOENT), missing
        with pytest.raises(OSError) as ei:
            nametomib(f"security.jail.param.{missing}")
        assert ei.value.errno == errno.ENOENT
    # allow.mount is a node whose empty-named child carries the boolean type; a name
    # cannot reach that child ("allow.mount." resolves to the node itself), libjail
    # finds it as the next oid after the node ({0,2}), named "...allow.mount." ({0,1})
    node = nametomib("security.jail.param.allow.mount")
    assert nametomib("security.jail.param.allow.mount.") == node
    assert oidfmt("security.jail.param.allow.mount")[0] & 0xF == 1  # CTLTYPE_NODE
    ret, err, data, ln = sysctl([0, 2, *node])
    assert (ret, err) == (0, 0)
    child = [int.from_bytes(data[i:i + 4], "little", signed=True) for i in range(0, ln, 4)]
    assert child[: len(node)] == node and len(child) == len(node) + 1
    ret, err, data, _ = sysctl([0, 1, *child])
    assert (ret, err, data.split(b"\0", 1)[0]) == (0, 0, b"security.jail.param.allow.mount.")
    ret, err, data, _ = sysctl([0, 4, *child])
    assert (ret, err) == (0, 0)
    assert int.from_bytes(data[:4], "little") & 0xF == 2
    assert data[4:].split(b"\0", 1)[0] == b"B"


def test_case_86_get_by_name() -> None:
    """86 | libjail: `jail_getid("0")` → 0 without syscall; `jail_getid("web")` → name lookup.

    Kernel side (tested here): jail_get keyed by `name` finds the jail and returns its jid; keyed by
    jid it finds it too; `jid=0` with no name is no key at all ("no jail specified", which is why
    jail_getid("0") must answer 0 without a syscall: that short cut, and choosing the jid key for
    all-digit text, belong to the Python layer).
    """
    assert create(("name", "other")) == 1
    web = create(("name", "web"))
    r = jail_get([("name", Buf(256, b"web")), ("jid", Buf(4))])
    assert (r.ret, r.errmsg, r.int("jid"), r.str("name")) == (web, "", web, "web")
    r = jail_get([("jid", I(web)), ("name", Buf(256))])
    assert (r.ret, r.str("name")) == (web, "web")
    expect_fail(jail_get([("jid", I(0)), ("persist", Buf(4))]), errno.ENOENT, "no jail specified")
    expect_fail(fetch("ghost", "jid"), errno.ENOENT, 'jail "ghost" not found')
    expect_fail(fetch("", "jid"), errno.ENOENT, 'jail "" not found')
    # a zero-length name used as the key
    expect_fail(jail_get([("name", None), ("jid", Buf(4))]), errno.EINVAL)


def test_case_87_jailsys_and_address_values() -> None:
    """87 | libjail: import bool "yes" → "unknown boolean value"; jailsys "" → 1; ip list "-" → 0
    elements.

    Kernel side (tested here): jailsys values arrive as ints 0/1/2 (1 = new is what "" imports to)
    and are read back as such; values outside 0..2 are EINVAL; an empty address list arrives as a
    0-length `ip4.addr`, which restricts the jail to no addresses.  Parsing "yes", "" and "-" is the
    Python layer's job (jailcore.params).
    """
    r = jail_set([("persist", None), ("host", I(1)), ("ip4.addr", b""), ("ip6.addr", b"")],
                 JAIL_CREATE)
    assert (r.ret, r.errmsg) == (1, "")
    r = jail_get([("jid", I(1)), ("ip4.addr", None), ("ip6.addr", None),
                  ("ip4", Buf(4)), ("ip6", Buf(4)), ("host", Buf(4))])
    assert r.ret == 1
    assert (r.len("ip4.addr"), r.len("ip6.addr"), r.int("ip4"), r.int("ip6"), r.int("host")) == (
        0, 0, 0, 0, 1)
    r = jail_set([("persist", None), ("host", I(3))], JAIL_CREATE)
    expect_fail(r, errno.EINVAL)
    r = jail_set([("persist", None), ("ip4", I(-1))], JAIL_CREATE)
    expect_fail(r, errno.EINVAL)
    r = jail_set([("persist", None), ("host", b"\x01\x00")], JAIL_CREATE)
    expect_fail(r, errno.EINVAL)
    r = jail_set([("persist", None), ("ip4", I(2)), ("ip6", I(2))], JAIL_CREATE)
    assert (r.ret, r.errmsg) == (2, "")
    assert values(2, "ip4", "ip6", "ip4.addr") == {"ip4": 2, "ip6": 2, "ip4.addr": []}
    # a boolean's value is never looked at: any bytes mean "on"
    r = jail_set([("persist", b"yes\0")], JAIL_CREATE)
    assert (r.ret, r.errmsg) == (3, "")
    assert values(3, "persist") == {"persist": 1}
    assert jail_list() == [1, 2, 3]


def test_case_88_jls_iteration() -> None:
    """88 | jls iteration over jails {3,7}: two jail_get calls succeed, third fails `ENOENT`; jls
    exits 0.

    Kernel side (tested here): the lastjid loop with jls's default columns returns 3, then 7, then
    fails ENOENT "no jail after 7".  Treating that final ENOENT as the normal end (exit status 0) is
    the Python layer's job (jailcore CLI / jails()).
    """
    assert create(("jid", I(3)), ("host.hostname", "three")) == 3
    assert create(("jid", I(7)), ("name", "seven")) == 7
    seen = []
    last = 0
    for _ in range(2):
        r = jail_get([("lastjid", I(last)), ("jid", Buf(4)), ("ip4.addr", Buf(1020)),
                      ("host.hostname", Buf(256)), ("path", Buf(1024)), ("name", Buf(256))])
        assert (r.ret, r.errmsg) == (r.int("jid"), "")
        seen.append((r.ret, r.ip4(), r.str("host.hostname"), r.str("path"), r.str("name")))
        last = r.ret
    assert seen == [(3, [], "three", "/", "3"), (7, [], "", "/", "seven")]
    r = jail_get([("lastjid", I(7)), ("jid", Buf(4)), ("name", Buf(256))])
    expect_fail(r, errno.ENOENT, "no jail after 7")


def test_case_89_update_returns_jid() -> None:
    """89 | jail_set returns the jid on UPDATE too (`jid=3 host.hostname=x`) | returns 3."""
    assert create() == 1
    assert create(("jid", I(3))) == 3
    r = jail_set([("jid", I(3)), ("host.hostname", "x")], JAIL_UPDATE)
    assert (r.ret, r.errno, r.errmsg) == (3, 0, "")
    assert values(3, "host.hostname") == {"host.hostname": "x"}
    assert values(1, "host.hostname") == {"host.hostname": ""}
    r = jail_set([("name", "3"), ("host.hostname", "y")], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (3, "")
    r = jail_set([("jid", I(3)), ("host.hostname", "z")], JAIL_CREATE | JAIL_UPDATE)
    expect_fail(r, errno.EINVAL, "new jail must persist or attach")
    r = jail_set([("jid", I(3)), ("host.hostname", "z"), ("persist", None)],
                 JAIL_CREATE | JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (3, "")
    assert values(3, "host.hostname") == {"host.hostname": "z"}


def test_case_90_host_inheritance() -> None:
    """90 | P with `host.hostname=a`, child `P.c` created with `host=2` (inherit); UPDATE P
    `host.hostname=b` | P.c reads "b"; a child created with its own hostname keeps it.
    """
    p = create(("name", "p"), ("host.hostname", "a"), ("host.domainname", "dom"))
    c = create(("name", "p.c"), ("host", I(2)))
    d = create(("name", "p.d"), ("host.hostname", "own"))
    assert values(c, "host", "host.hostname", "host.domainname") == {
        "host": 2, "host.hostname": "a", "host.domainname": "dom"}
    assert values(d, "host", "host.hostname", "host.domainname") == {
        "host": 1, "host.hostname": "own", "host.domainname": ""}
    r = jail_set([("jid", I(p)), ("host.hostname", "b")], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (p, "")
    assert values(p, "host.hostname") == {"host.hostname": "b"}
    assert values(c, "host", "host.hostname") == {"host": 2, "host.hostname": "b"}
    assert values(d, "host", "host.hostname") == {"host": 1, "host.hostname": "own"}


def test_case_91_host_defaults() -> None:
    """91 | CREATE `persist` with no host params | `host` reads 1 (new), `host.hostname` "",
    `host.hostuuid` all-zero UUID, `host.hostid` 0.
    """
    assert create() == 1
    assert values(1, "host", "host.hostname", "host.domainname", "host.hostuuid",
                  "host.hostid") == {
        "host": 1, "host.hostname": "", "host.domainname": "", "host.hostuuid": ZERO_UUID,
        "host.hostid": 0}
    r = jail_get([("jid", I(1)), ("host.hostid", None), ("host.hostuuid", None)])
    assert (r.ret, r.len("host.hostid"), r.len("host.hostuuid")) == (
        1, ctypes.sizeof(ctypes.c_ulong), len(ZERO_UUID) + 1)
    # and a given hostid is kept
    r = jail_set([("jid", I(1)), ("host.hostid", UL(1234))], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (1, "")
    assert values(1, "host.hostid", "host") == {"host.hostid": 1234, "host": 1}


def test_case_92_ip_defaults() -> None:
    """92 | CREATE `persist` with no IP params (non-vnet) | `ip4.addr` size query returns 0; `ip4`
    reads 0 (disable).
    """
    assert create() == 1
    r = jail_get([("jid", I(1)), ("ip4.addr", None), ("ip6.addr", None),
                  ("ip4", Buf(4)), ("ip6", Buf(4))])
    assert (r.ret, r.errmsg) == (1, "")
    assert (r.len("ip4.addr"), r.len("ip6.addr"), r.int("ip4"), r.int("ip6")) == (0, 0, 0, 0)
    # restricted with no addresses: updating the list is allowed
    r = jail_set([("jid", I(1)), ("ip4.addr", IP4("192.0.2.7"))], JAIL_UPDATE)
    assert (r.ret, r.errmsg) == (1, "")
    assert values(1, "ip4.addr", "ip4") == {"ip4.addr": ["192.0.2.7"], "ip4": 0}


def test_case_93_hostuuid_length() -> None:
    """93 | CREATE `persist host.hostuuid=<64 bytes incl NUL>` → success; 65 bytes → `ENAMETOOLONG`.
    """
    u63 = "u" * 63
    r = jail_set([("persist", None), ("host.hostuuid", u63)], JAIL_CREATE)
    assert (r.ret, r.errmsg) == (1, "")
    assert values(1, "host.hostuuid", "host") == {"host.hostuuid": u63, "host": 1}
    r = jail_set([("persist", None), ("host.hostuuid", "v" * 64)], JAIL_CREATE)
    expect_fail(r, errno.ENAMETOOLONG)
    r = jail_set([("jid", I(1)), ("host.hostuuid", "v" * 64)], JAIL_UPDATE)
    expect_fail(r, errno.ENAMETOOLONG)
    assert values(1, "host.hostuuid") == {"host.hostuuid": u63}
    assert jail_list(JAIL_DYING) == [1]


def test_case_94_get_needs_no_privilege() -> None:
    """94 | jail_get (any user, e.g. uid 1000) jid=1 `name` | success (jail_get has no privilege
    check).
    """
    need_root()
    assert create(("name", "web")) == 1

    def body() -> Any:
        r = fetch(1, "name", "persist")
        s = jail_set([("persist", None)], JAIL_CREATE)
        return {"get": [r.ret, r.errno, r.errmsg, r.str("name"), r.int("persist")],
                "set": [s.ret, s.errno, s.errmsg], "euid": os.geteuid()}

    out = run_child(as_nobody(body))
    assert out == {"get": [1, 0, "", "web", 1], "set": [-1, errno.EPERM, ""], "euid": 65534}
    assert jail_list() == [1]
