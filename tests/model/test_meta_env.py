"""meta and env (FreeBSD 15): spec sections 3.5 and 3.6, checked against
sys/kern/kern_jailmeta.c (jm_osd_method_set, jm_osd_method_get,
jm_sysctl_meta_maxbufsize, jm_sysctl_param_meta, jm_sysctl_env) and
kern_jail.c (kern_jail_set's PR_METHOD_SET, kern_jail_get's missing key)."""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from typing import Any

import pytest
from forked import in_child
from modelabi import (
    JAIL_CREATE,
    JAIL_UPDATE,
    LIB,
    Buf,
    I,
    create,
    get,
    jail_get,
    jail_set,
    remove,
    sysctlbyname,
)

import jailcore
import jailcore.model

both = pytest.mark.parametrize("param", ["meta", "env"])


def text(jid: int, param: str) -> str:
    r = get(("jid", I(jid)), param)
    assert r.ok, (r.errno, r.errmsg)
    return r.str(param)


def update(jid: int, *pairs: tuple[str, Any]) -> Any:
    return jail_set([("jid", I(jid)), *pairs], JAIL_UPDATE)


def maxbufsize(value: int | None = None) -> int:
    """security.jail.meta_maxbufsize (written first when ``value`` is given)."""
    if value is not None:
        ret, err, _ = sysctlbyname("security.jail.meta_maxbufsize", 0, struct.pack("I", value))
        assert ret == 0, os.strerror(err)
    ret, err, data = sysctlbyname("security.jail.meta_maxbufsize", 4)
    assert ret == 0, os.strerror(err)
    return int(struct.unpack("I", data)[0])


def param_size(param: str) -> bytes:
    ret, err, data = sysctlbyname(f"security.jail.param.{param}", 64)
    assert ret == 0, os.strerror(err)
    return data


# ---- jail_set ---------------------------------------------------------------------------


@both
@pytest.mark.parametrize("empty", [None, ""])
def test_whole_value_empty_clears(param: str, empty: Any) -> None:
    """A 0-length value (NULL in the kernel) clears the text, as "" does."""
    jid = create(("name", "j"), (param, "a=1\nb=2"))
    r = update(jid, (param, empty))
    assert (r.ret, r.errno, r.errmsg) == (jid, 0, "")
    assert text(jid, param) == ""
    r = get(("jid", I(jid)), f"{param}.a")
    assert (r.ok, r.len(f"{param}.a")) == (True, 0)


@both
def test_new_key_goes_first(param: str) -> None:
    """jm_h_prepend: a key not yet present, or one replaced, becomes the first line."""
    jid = create(("name", "j"), (f"{param}.k1", "v1"))
    assert update(jid, (f"{param}.k2", "v2")).ok
    assert text(jid, param) == "k2=v2\nk1=v1"
    assert update(jid, (f"{param}.k1", "w1")).ok
    assert text(jid, param) == "k1=w1\nk2=v2"
    # Several in one call: each goes before the ones before it.
    assert update(jid, (f"{param}.a", "1"), (f"{param}.b", "2")).ok
    assert text(jid, param) == "b=2\na=1\nk1=w1\nk2=v2"
    # Removing the middle and the last lines keeps the others in order.
    assert update(jid, (f"{param}.a", None), (f"{param}.k2", None)).ok
    assert text(jid, param) == "b=2\nk1=w1"


@both
def test_whole_then_keys_in_one_call(param: str) -> None:
    """Options apply in order: the whole text, then a key on top of it."""
    jid = create(("name", "j"), (param, "x=0"))
    assert update(jid, (param, "a=1\nb=2"), (f"{param}.c", "3"), (f"{param}.a", None)).ok
    assert text(jid, param) == "c=3\nb=2"


@both
def test_no_content_check(param: str) -> None:
    """Keys and values are not checked: a newline in a value, '=' in a key."""
    jid = create(("name", "j"))
    r = update(jid, (f"{param}.k", "x\ny"))
    assert (r.ret, r.errno, r.errmsg) == (jid, 0, "")
    assert text(jid, param) == "k=x\ny"
    # meta.k reads the value up to its newline; "y" is no key.
    r = jail_get([("jid", I(jid)), (f"{param}.k", Buf(64)), (f"{param}.y", Buf(64, b"#"))])
    assert (r.ok, r.str(f"{param}.k"), r.len(f"{param}.y")) == (True, "x", 0)
    r = update(jid, (f"{param}.a=b", "c"))
    assert r.ok
    assert text(jid, param) == "a=b=c\nk=x\ny"
    r = get(("jid", I(jid)), f"{param}.a", f"{param}.a=b")
    assert (r.str(f"{param}.a"), r.str(f"{param}.a=b")) == ("b=c", "c")


@both
def test_set_limits_are_efbig(param: str) -> None:
    """EFBIG, without a message, for a value whose iov_len exceeds the hard
    limit and for a joined text (its NUL included) that does."""
    jid = create(("name", "j"))
    r = update(jid, (param, "x" * 4095))  # 4096 bytes with the NUL: fits
    assert (r.ret, r.errno) == (jid, 0)
    assert len(text(jid, param)) == 4095
    r = update(jid, (param, "x" * 4096))
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.EFBIG, "")
    assert len(text(jid, param)) == 4095  # unchanged
    # The limit is on the value's iov_len: bytes after an inner NUL count.
    r = update(jid, (param, b"a=1\0" + b"\0" * 4093))
    assert (r.ret, r.errno) == (-1, errno.EFBIG)
    r = update(jid, (param, b"a=1\0" + b"\0" * 4092))
    assert (r.ret, r.errno) == (jid, 0)
    assert text(jid, param) == "a=1"
    # A key: the value alone fits, the line "k=" + value does not.
    r = update(jid, (param, None), (f"{param}.k", "v" * 4095))
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.EFBIG, "")
    r = update(jid, (param, None), (f"{param}.k", "v" * 4093))
    assert (r.ret, r.errno) == (jid, 0)
    # Added to what is there, the text would be too long.
    r = update(jid, (f"{param}.z", "1"))
    assert (r.ret, r.errno) == (-1, errno.EFBIG)
    assert text(jid, param) == "k=" + "v" * 4093


@both
def test_set_einval(param: str) -> None:
    jid = create(("name", "j"), (param, "a=1"))
    for pairs in ([(f"{param}.k", b"abc")], [(param, b"abc")], [(f"{param}.", "v")],
                  [(f"{param}.", None)]):
        r = update(jid, *pairs)
        assert (r.ret, r.errno, r.errmsg) == (-1, errno.EINVAL, ""), pairs
    assert text(jid, param) == "a=1"


@both
def test_set_errors_come_after_the_other_changes(param: str) -> None:
    """kern_jail_set calls PR_METHOD_SET after applying everything else: an
    update keeps its other changes; a jail being created goes away; an
    unknown parameter is reported first."""
    jid = create(("name", "j"), ("host.hostname", "old"))
    r = update(jid, ("host.hostname", "new"), (param, "x" * 5000))
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.EFBIG, "")
    assert get(("jid", I(jid)), "host.hostname").str("host.hostname") == "new"

    r = jail_set([("name", "k"), ("persist", None), (param, "x" * 5000)], JAIL_CREATE)
    assert (r.ret, r.errno) == (-1, errno.EFBIG)
    r = get(("name", "k"), "jid")
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.ENOENT, 'jail "k" not found')

    r = update(jid, (param, "x" * 5000), ("bogus", "1"))
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.EINVAL, "unknown parameter: bogus")


# ---- jail_get ---------------------------------------------------------------------------


@both
def test_get_whole_strlcpy(param: str) -> None:
    """strlcpy semantics: a buffer of strlen+1 or more; a 0-length one (a size
    query) is EINVAL even for an empty text."""
    jid = create(("name", "j"))
    r = jail_get([("jid", I(jid)), (param, None)])
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.EINVAL, "")
    r = jail_get([("jid", I(jid)), (param, Buf(1, b"#"))])
    assert (r.ret, r.raw(param)) == (jid, b"\0")
    assert update(jid, (param, "a=1")).ok
    r = jail_get([("jid", I(jid)), (param, None)])
    assert (r.ret, r.errno) == (-1, errno.EINVAL)
    r = jail_get([("jid", I(jid)), (param, Buf(3))])
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.EINVAL, "")
    r = jail_get([("jid", I(jid)), (param, Buf(8, b"#" * 8))])
    assert (r.ret, r.len(param), r.raw(param)) == (jid, 8, b"a=1\0####")


@both
def test_get_key_buffer_covers_the_rest_of_the_text(param: str) -> None:
    """meta.KEY: strlcpy from the value to the end of the whole text, cut at
    the value's newline: the buffer must be larger than all after the '='."""
    jid = create(("name", "j"), (param, "a=1\nb=22222222"))
    rest = len("1\nb=22222222")
    r = jail_get([("jid", I(jid)), (f"{param}.a", Buf(rest))])
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.EINVAL, "")
    r = jail_get([("jid", I(jid)), (f"{param}.a", Buf(rest + 1, b"#" * (rest + 1)))])
    assert (r.ret, r.len(f"{param}.a"), r.raw(f"{param}.a")) == (
        jid, rest + 1, b"1\0" + b"#" * (rest - 1))
    # The last line: its value is all the rest.
    r = jail_get([("jid", I(jid)), (f"{param}.b", Buf(8))])
    assert (r.ret, r.errno) == (-1, errno.EINVAL)
    r = jail_get([("jid", I(jid)), (f"{param}.b", Buf(9))])
    assert (r.ret, r.str(f"{param}.b")) == (jid, "22222222")
    # A size query is EINVAL, for a present key...
    r = jail_get([("jid", I(jid)), (f"{param}.b", None)])
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.EINVAL, "")
    # ... and an absent key succeeds with iov_len 0, whatever the buffer.
    for buf in (None, Buf(1), Buf(64, b"#")):
        r = jail_get([("jid", I(jid)), (f"{param}.none", buf)])
        assert (r.ret, r.len(f"{param}.none")) == (jid, 0)


@both
def test_get_key_last_of_duplicate_lines(param: str) -> None:
    """A whole text may name a key twice: every line is copied, the last wins."""
    jid = create(("name", "j"), (param, "a=1\nxa=9\na=2"))
    r = get(("jid", I(jid)), f"{param}.a")
    assert (r.ok, r.str(f"{param}.a")) == (True, "2")


# ---- the limits and the sysctls ---------------------------------------------------------


def test_soft_limit_stays_while_jails_exist() -> None:
    """jm_sysctl_meta_maxbufsize: the soft limit (what security.jail.param.meta
    and .env report) follows a raised hard limit, and a lowered one only when
    no jail, alive or dying, exists."""
    assert (maxbufsize(), param_size("meta"), param_size("env")) == (4096, b"4096\0", b"4096\0")
    jid = create(("name", "j"))
    assert maxbufsize(1000) == 1000
    assert (param_size("meta"), param_size("env")) == (b"4096\0", b"4096\0")
    r = update(jid, ("meta", "x" * 1000))
    assert (r.ret, r.errno) == (-1, errno.EFBIG)  # the hard limit decides
    assert update(jid, ("meta", "x" * 999)).ok
    assert maxbufsize(2000) == 2000
    assert param_size("meta") == b"4096\0"
    # A dying jail still counts.
    jailcore.model.hold(jid)
    assert remove(jid) == (0, 0)
    assert maxbufsize(100) == 100
    assert param_size("meta") == b"4096\0"
    jailcore.model.release(jid)
    # No jail left: the soft limit follows down...
    assert maxbufsize(1500) == 1500
    assert (param_size("meta"), param_size("env")) == (b"1500\0", b"1500\0")
    # ... and up, jails or not.
    create(("name", "k"))
    assert maxbufsize(3000) == 3000
    assert param_size("env") == b"3000\0"
    assert maxbufsize(0) == 0
    assert param_size("env") == b"3000\0"


def test_zero_hard_limit_allows_only_clearing() -> None:
    jid = create(("name", "j"))
    maxbufsize(0)
    r = update(jid, ("meta", ""))
    assert (r.ret, r.errno) == (-1, errno.EFBIG)  # iov_len 1 > 0
    assert update(jid, ("meta", None), ("env.k", None)).ok


def test_env_sysctl_inside_a_jail() -> None:
    """jm_sysctl_env: the caller's jail's env with its NUL; the host's is empty;
    a size query gives the size; a buffer too small gets what fits and the
    call still succeeds (the handler ignores SYSCTL_OUT's ENOMEM)."""
    jid = create(("name", "j"), ("env", "A=1\nB=2"), ("meta", "secret=x"))
    assert sysctlbyname("security.jail.env") == (0, 0, b"\0")

    def size_query() -> tuple[int, int]:
        ln = ctypes.c_size_t(0)
        ret = LIB.jailmodel_sysctlbyname(b"security.jail.env", None, ctypes.byref(ln), None, 0)
        return ret, ln.value

    def body() -> Any:
        assert LIB.jailmodel_jail_attach(jid) == 0, os.strerror(ctypes.get_errno())
        return (sysctlbyname("security.jail.env"), size_query(),
                sysctlbyname("security.jail.env", 3))

    full, query, short = in_child(body)
    assert full == (0, 0, b"A=1\nB=2\0")
    assert query == (0, 8)
    assert short == (0, 0, b"A=1")
    assert size_query() == (0, 1)  # the host's: ""


@both
def test_key_with_an_empty_value_is_kept(param: str) -> None:
    """A 0-length value removes a key; "" (iov_len 1) keeps it, empty."""
    jid = create(("name", "j"), (f"{param}.k", ""))
    assert text(jid, param) == "k="
    r = jail_get([("jid", I(jid)), (f"{param}.k", Buf(8, b"#" * 8))])
    assert (r.ret, r.len(f"{param}.k"), r.raw(f"{param}.k")) == (jid, 8, b"\0" + b"#" * 7)
    assert update(jid, (f"{param}.k", None)).ok
    assert text(jid, param) == ""


def test_jailcore_reads_what_the_rules_make() -> None:
    """Through jailcore: new keys first, and a text set under a higher limit
    still read whole after the hard limit was lowered (the soft limit, which
    sizes jailcore's buffers, stays while jails exist)."""
    web = jailcore.Jail.create(name="web", meta={"k1": "v1"})
    web.update(meta__k2="v2")
    assert list(web.get("meta")["meta"]) == ["k2", "k1"]
    web.update(env__first="f" * 2000, env__last="l" * 2000)
    assert maxbufsize(100) == 100
    jailcore.params.clear_cache()  # as a new program would see the parameters
    assert jailcore.describe("env").size == 4096
    got = web.get("env", "env.last", "env.first")
    assert got == {"env": {"last": "l" * 2000, "first": "f" * 2000},
                   "env.last": "l" * 2000, "env.first": "f" * 2000}
    with pytest.raises(jailcore.JailError) as exc:
        web.update(env__x="1")
    assert (exc.value.errno, exc.value.errmsg) == (errno.EFBIG, None)
