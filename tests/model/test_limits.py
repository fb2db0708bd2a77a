"""Tunable limits without fixed arrays (spec section 11): security.jail.jail_max_af_ips
and security.jail.meta_maxbufsize take any u_int, as FreeBSD's handlers do
(kern_jail.c: SYSCTL_UINT jail_max_af_ips; kern_jailmeta.c: jm_sysctl_meta_maxbufsize),
and the model stores addresses and meta/env texts in a heap that grows with what
jails hold.  The heap is covered by the undo log and checked when a state file is
mapped; when it has no room left a call fails with ENOMEM and changes nothing."""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import os
import signal
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import modelabi
import pytest
from forked import in_child
from modelabi import (
    IP4,
    IP6,
    JAIL_CREATE,
    JAIL_UPDATE,
    LIB,
    Buf,
    I,
    create,
    get,
    jail_get,
    jail_set,
    sysctlbyname,
)

import jailcore
import jailcore.model


def write_uint(name: str, value: int) -> None:
    ret, err, _ = sysctlbyname(name, 0, struct.pack("I", value))
    assert ret == 0, os.strerror(err)


def read_uint(name: str) -> int:
    ret, err, data = sysctlbyname(name, 4)
    assert ret == 0, os.strerror(err)
    return int(struct.unpack("I", data)[0])


def v4(n: int, base: str = "10.0.0.1") -> list[str]:
    start = int(ipaddress.IPv4Address(base))
    return [str(ipaddress.IPv4Address(start + i)) for i in range(n)]


def v6(n: int, base: str = "2001:db8::1") -> list[str]:
    start = int(ipaddress.IPv6Address(base))
    return [str(ipaddress.IPv6Address(start + i)) for i in range(n)]


@pytest.fixture
def heap_limit() -> Iterator[Any]:
    """jailmodel_test_heap_limit: carve no heap block beyond a given size (this process)."""
    LIB.jailmodel_test_heap_limit.argtypes = [ctypes.c_uint32]
    yield LIB.jailmodel_test_heap_limit
    LIB.jailmodel_test_heap_limit(0)


@pytest.mark.parametrize("name", ["security.jail.jail_max_af_ips", "security.jail.meta_maxbufsize"])
@pytest.mark.parametrize("value", [0, 256, 4097, 65536, 0x7FFFFFFF, 0xFFFFFFFF])
def test_any_uint_is_accepted(name: str, value: int) -> None:
    write_uint(name, value)
    assert read_uint(name) == value


# ---- addresses ---------------------------------------------------------------------------


def test_more_than_255_addresses() -> None:
    write_uint("security.jail.jail_max_af_ips", 20000)
    four, six = v4(1000), v6(300)
    r = jail_set([("name", "j"), ("persist", None), ("ip4.addr", IP4(*four)),
                  ("ip6.addr", IP6(*six))], JAIL_CREATE)
    assert (r.ret, r.errno, r.errmsg) == (1, 0, "")
    r = jail_get([("jid", I(1)), ("ip4.addr", Buf(4 * 1000)), ("ip6.addr", Buf(16 * 300))])
    assert (r.ret, r.ip4(), r.ip6()) == (1, four, six)
    # A size query gives the byte counts; security.jail.list the address counts.
    r = jail_get([("jid", I(1)), ("ip4.addr", None), ("ip6.addr", None)])
    assert (r.len("ip4.addr"), r.len("ip6.addr")) == (4000, 4800)
    ret, _, data = sysctlbyname("security.jail.list", 1 << 20)
    assert ret == 0
    assert struct.unpack_from("2I", data, 1552) == (1000, 300)
    assert data[1560:1560 + 4000] == IP4(*four)
    # An update replaces the list; a child inherits it.
    assert jail_set([("jid", I(1)), ("ip4.addr", IP4(*four[:700]))], JAIL_UPDATE).ok
    child = create(("name", "j.c"), ("ip4", I(2)))
    r = jail_get([("jid", I(child)), ("ip4.addr", Buf(4 * 700))])
    assert (r.ret, r.ip4()) == (child, four[:700])


def test_the_option_size_bounds_the_addresses() -> None:
    """No fixed array: the count is bounded by jail_max_af_ips and by the
    iovec option size (VFS_MOUNTARG_SIZE_MAX, 64 KiB per option and call)."""
    write_uint("security.jail.jail_max_af_ips", 0xFFFFFFFF)
    many = v4(16000)
    r = jail_set([("name", "j"), ("persist", None), ("ip4.addr", IP4(*many))], JAIL_CREATE)
    assert (r.ret, r.errno) == (1, 0)
    r = jail_get([("jid", I(1)), ("ip4.addr", Buf(4 * 16000))])
    assert r.ip4() == many
    r = jail_set([("name", "k"), ("persist", None), ("ip4.addr", IP4(*v4(16385, "11.0.0.1")))],
                 JAIL_CREATE)
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.EINVAL, "")
    write_uint("security.jail.jail_max_af_ips", 300)
    r = jail_set([("name", "k"), ("persist", None), ("ip4.addr", IP4(*v4(301, "11.0.0.1")))],
                 JAIL_CREATE)
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.EINVAL, "too many IPv4 addresses")
    r = jail_set([("name", "k"), ("persist", None), ("ip6.addr", IP6(*v6(301)))], JAIL_CREATE)
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.EINVAL, "too many IPv6 addresses")
    r = jail_set([("name", "k"), ("persist", None), ("ip6.addr", IP6(*v6(300)))], JAIL_CREATE)
    assert (r.ret, r.errno) == (2, 0)


# ---- meta and env ---------------------------------------------------------------------------


@pytest.mark.parametrize("param", ["meta", "env"])
def test_texts_above_4096_bytes(param: str) -> None:
    write_uint("security.jail.meta_maxbufsize", 1 << 20)
    assert sysctlbyname(f"security.jail.param.{param}", 64)[2] == b"1048576\0"
    jid = create(("name", "j"), (param, "a=" + "a" * 30000))
    r = jail_get([("jid", I(jid)), (param, Buf(30003))])
    assert (r.ret, r.str(param)) == (jid, "a=" + "a" * 30000)
    r = jail_get([("jid", I(jid)), (f"{param}.a", Buf(30001))])
    assert (r.ret, r.str(f"{param}.a")) == (jid, "a" * 30000)
    # Keys added call by call grow the text past what one call can carry...
    for k in ("b", "c", "d"):
        r = jail_set([("jid", I(jid)), (f"{param}.{k}", k * 30000)], JAIL_UPDATE)
        assert (r.ret, r.errno) == (jid, 0)
    whole = f"d={'d' * 30000}\nc={'c' * 30000}\nb={'b' * 30000}\na={'a' * 30000}"
    # ... and past what jail_get can return: no value may exceed
    # VFS_MOUNTARG_SIZE_MAX, so the whole text, or the first key (its
    # buffer must outsize the rest of the text), cannot be read any more.
    for name in (param, f"{param}.d"):
        for size in (65536, len(whole) + 1):
            r = jail_get([("jid", I(jid)), (name, Buf(size))])
            assert (r.ret, r.errno, r.errmsg) == (-1, errno.EINVAL, ""), (name, size)
    r = jail_get([("jid", I(jid)), (f"{param}.a", Buf(30001))])
    assert (r.ret, r.str(f"{param}.a")) == (jid, "a" * 30000)
    r = jail_get([("jid", I(jid)), (f"{param}.b", Buf(60004))])
    assert (r.ret, r.str(f"{param}.b")) == (jid, "b" * 30000)
    if param == "env":  # a jailed process reads it all through security.jail.env
        def body() -> Any:
            assert LIB.jailmodel_jail_attach(jid) == 0
            return sysctlbyname("security.jail.env", 1 << 20)

        assert in_child(body) == (0, 0, whole.encode() + b"\0")
    # The hard limit still decides: the text may not grow past it.
    write_uint("security.jail.meta_maxbufsize", len(whole) + 1)
    r = jail_set([("jid", I(jid)), (f"{param}.e", "1")], JAIL_UPDATE)
    assert (r.ret, r.errno) == (-1, errno.EFBIG)
    r = jail_set([("jid", I(jid)), (f"{param}.d", None), (f"{param}.b", None),
                  (f"{param}.c", None)], JAIL_UPDATE)
    assert (r.ret, r.errno) == (jid, 0)
    r = jail_get([("jid", I(jid)), (param, Buf(30003))])
    assert (r.ret, r.str(param)) == (jid, "a=" + "a" * 30000)


def test_through_jailcore() -> None:
    """The Python API with limits beyond FreeBSD's defaults (set before the
    parameters are first looked up: jailcore caches what it discovers)."""
    write_uint("security.jail.meta_maxbufsize", 1 << 20)
    write_uint("security.jail.jail_max_af_ips", 5000)
    addrs = [ipaddress.IPv4Address(a) for a in v4(600)]
    meta = {f"k{i}": "v" * 100 for i in range(100)}  # 10 KB of text
    web = jailcore.Jail.create({"name": "web", "ip4.addr": addrs, "meta": meta,
                                "env": {"E": "e" * 5000}})
    got = web.get("ip4.addr", "meta", "meta.k7", "env.E")
    assert got == {"ip4.addr": tuple(addrs), "meta": meta, "meta.k7": "v" * 100,
                   "env.E": "e" * 5000}
    web.update(meta__big="b" * 40000)
    assert web.get("meta.big")["meta.big"] == "b" * 40000
    others = [ipaddress.IPv4Address(a) for a in v4(300, "10.2.0.1")]
    jid = jailcore.jail_set({"name": "api", "persist": True, "ip4.addr": others,
                             "env": "x=" + "y" * 9000})
    assert jailcore.jail_get(jid, ["ip4.addr", "env.x"]) == {
        "ip4.addr": tuple(others), "env.x": "y" * 9000}
    assert [j.name for j in jailcore.jails()] == ["web", "api"]


# ---- exhaustion ---------------------------------------------------------------------------


def test_no_room_is_enomem_and_changes_nothing(heap_limit: Any) -> None:
    write_uint("security.jail.meta_maxbufsize", 1 << 20)
    write_uint("security.jail.jail_max_af_ips", 20000)
    jid = create(("name", "j"), ("host.hostname", "before"), ("meta", "a=1"))
    heap_limit(4096)
    r = jail_set([("jid", I(jid)), ("host.hostname", "after"), ("meta", "x" * 60000)],
                 JAIL_UPDATE)
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.ENOMEM, "")
    r = get(("jid", I(jid)), "host.hostname", "meta")
    assert (r.str("host.hostname"), r.str("meta")) == ("before", "a=1")
    r = jail_set([("name", "k"), ("persist", None), ("ip4.addr", IP4(*v4(2000)))], JAIL_CREATE)
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.ENOMEM, "")
    r = get(("name", "k"), "jid")
    assert (r.ret, r.errno) == (-1, errno.ENOENT)
    # With room again, the same calls work, and the next jid is 2.
    heap_limit(0)
    r = jail_set([("name", "k"), ("persist", None), ("ip4.addr", IP4(*v4(2000)))], JAIL_CREATE)
    assert (r.ret, r.errno) == (2, 0)
    r = jail_set([("jid", I(jid)), ("host.hostname", "after"), ("meta", "x" * 60000)],
                 JAIL_UPDATE)
    assert (r.ret, r.errno) == (jid, 0)


def test_freed_storage_is_reused(heap_limit: Any) -> None:
    """Blocks freed by one call serve the next ones: replacing a text again
    and again needs no more heap than the first time."""
    write_uint("security.jail.meta_maxbufsize", 1 << 20)
    jid = create(("name", "j"), ("meta", "x" * 50000))
    assert jail_set([("jid", I(jid)), ("meta", "y" * 50000)], JAIL_UPDATE).ok
    heap_limit(1)  # nothing more may be carved
    for i in range(20):
        r = jail_set([("jid", I(jid)), ("meta", f"{i:02d}" * 25000)], JAIL_UPDATE)
        assert (r.ret, r.errno) == (jid, 0), i
    r = jail_get([("jid", I(jid)), ("meta", Buf(50001))])
    assert r.str("meta") == "19" * 25000
    r = jail_set([("jid", I(jid)), ("meta.k", "x" * 40000)], JAIL_UPDATE)
    assert (r.ret, r.errno) == (-1, errno.ENOMEM)  # a larger block would be carved


# ---- the undo log and the state file --------------------------------------------------------


def crash_in_child(point: int, pairs: list[tuple[str, Any]], flags: int) -> int:
    """Fork a child that dies by SIGKILL at crash point `point` of jail_set."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            LIB.jailmodel_test_crash_at(point)
            jail_set(pairs, flags)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return status


@pytest.mark.parametrize("point", [1, 2])
def test_killed_mid_change_rolls_the_heap_back(point: int) -> None:
    """A SIGKILL after the new addresses (point 1) or the new texts (point 2)
    were stored: the next locker puts back the old ones, and the host is one
    that a fresh mapping of its state file accepts."""
    write_uint("security.jail.meta_maxbufsize", 1 << 20)
    write_uint("security.jail.jail_max_af_ips", 2000)
    old4, new4 = v4(400), v4(900, "10.1.0.1")
    jid = create(("name", "j"), ("ip4.addr", IP4(*old4)), ("meta", "m=" + "o" * 9000),
                 ("env", "e=1"))
    status = crash_in_child(point, [("jid", I(jid)), ("ip4.addr", IP4(*new4)),
                                    ("meta", "m=" + "n" * 20000), ("env", None)], JAIL_UPDATE)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    r = jail_get([("jid", I(jid)), ("ip4.addr", Buf(4 * 900)), ("meta", Buf(30000)),
                  ("env", Buf(16))])
    assert (r.ret, r.ip4(), r.str("meta"), r.str("env")) == (jid, old4, "m=" + "o" * 9000, "e=1")
    # The heap is whole: a new mapping of the state file validates it...
    path = jailcore.model.state_path()
    assert path is not None
    jailcore.model.use_state_file(path)
    # ... and the storage keeps working.
    r = jail_set([("jid", I(jid)), ("ip4.addr", IP4(*new4)), ("meta", "m=2")], JAIL_UPDATE)
    assert (r.ret, r.errno) == (jid, 0)
    r = jail_get([("jid", I(jid)), ("ip4.addr", Buf(4 * 900)), ("meta", Buf(16))])
    assert (r.ip4(), r.str("meta")) == (new4, "m=2")
    assert create(("name", "k"), ("meta", "z=" + "z" * 30000)) == 2
    jailcore.model.use_state_file(path)


MARK = 3210  # the meta text's length: makes its block easy to find
ST_META = 2  # JM_ST_META: the meta text's entry of a prison's store[] and store_len[]


def prison_field(slot: int, field: str) -> int:
    return modelabi.state_offset("prison." + field, "prisons", slot, "sizeof.prison")


@pytest.mark.parametrize("field, value", [
    ("store", 0x3FFFFFE0),  # the block offset: beyond what the heap has carved
    ("store", 16),          # ... inside the block, where no header is (relative)
    ("store", 0xFFFFFFF0),  # ... beyond the heap
    ("store_len", 100000),  # the length: more than the block holds
    ("store_len", 0),       # ... none, for a block that is there
])
def test_corrupted_storage_in_a_state_file_is_refused(tmp_path: Path, field: str,
                                                      value: int) -> None:
    before = jailcore.model.state_path()
    path = tmp_path / "host"
    jailcore.model.use_state_file(path)
    try:
        assert create(("name", "j"), ("meta", "k=" + "v" * (MARK - 2))) == 1
        assert get(("jid", I(1)), "meta").str("meta") == "k=" + "v" * (MARK - 2)
    finally:
        jailcore.model.use_state_file(before)
    at = prison_field(1, field) + 4 * ST_META
    with open(path, "r+b") as f:
        f.seek(at)
        (was,) = struct.unpack("I", f.read(4))
        assert was == (MARK if field == "store_len" else was)
        if value == 16:
            value = was + 16
        f.seek(at)
        f.write(struct.pack("I", value))
    with pytest.raises(OSError) as exc:
        jailcore.model.use_state_file(path)
    assert exc.value.errno == errno.EINVAL
    assert jailcore.model.state_path() == before


def test_corrupted_heap_block_is_refused(tmp_path: Path) -> None:
    """A block header with a size larger than the heap; a free list that loops."""
    before = jailcore.model.state_path()
    path = tmp_path / "host"
    jailcore.model.use_state_file(path)
    try:
        jid = create(("name", "j"), ("meta", "k=" + "v" * (MARK - 2)))
        assert create(("name", "k")) == 2
        # Two blocks of 64 bytes, then both freed: a free list of two.
        assert jail_set([("jid", I(jid)), ("env", "a=" + "1" * 40)], JAIL_UPDATE).ok
        assert jail_set([("jid", I(jid)), ("env", "b=" + "2" * 40)], JAIL_UPDATE).ok
        assert jail_set([("jid", I(jid)), ("env", None)], JAIL_UPDATE).ok
        # A new change, which takes no block: the freed blocks are free.
        assert jail_set([("jid", I(2)), ("securelevel", I(1))], JAIL_UPDATE).ok
    finally:
        jailcore.model.use_state_file(before)
    with open(path, "rb") as f:
        good = f.read(64 << 20)
    header = good.find(b"k=" + b"v" * (MARK - 2)) - 16
    heap = modelabi.state_offset("heap")
    assert struct.unpack_from("2I", good, header) == (0x55424A4D, 12)  # used, 4 KiB
    frees = [i for i in range(header, len(good) - 16, 32)
             if struct.unpack_from("2I", good, i) == (0x46424A4D, 6)]
    assert len(frees) == 2
    tail = next(i for i in frees if struct.unpack_from("I", good, i + 12)[0] == 0)
    head = next(i for i in frees if i != tail)
    for at, value, accepted in ((header + 4, 31, False), (header + 4, 12, True),
                                (tail + 12, head - heap, False), (tail + 12, 0, True)):
        with open(path, "r+b") as f:
            f.seek(at)
            f.write(struct.pack("I", value))
        if accepted:
            jailcore.model.use_state_file(path)
            jailcore.model.use_state_file(before)
        else:
            with pytest.raises(OSError) as exc:
                jailcore.model.use_state_file(path)
            assert exc.value.errno == errno.EINVAL


def test_undo_record_out_of_the_host_is_refused(tmp_path: Path) -> None:
    """The undo log of a change a process left: a record that would restore
    bytes outside the host is refused when the file is mapped; one inside
    it is accepted."""
    before = jailcore.model.state_path()
    path = tmp_path / "host"
    jailcore.model.use_state_file(path)
    try:
        create(("name", "j"), ("meta", "k=" + "v" * (MARK - 2)))
    finally:
        jailcore.model.use_state_file(before)
    with open(path, "rb") as f:
        text = f.read(64 << 20).find(b"k=" + b"v" * (MARK - 2))
    undo = modelabi.state_offset("undo")
    for offset, accepted in ((0xFFFFFFF0, False), (1 << 31, False), (text, True)):
        with open(path, "r+b") as f:
            f.seek(undo)
            f.write(struct.pack("4I", 1, 7, 1, 16) + b"k=XXXXXX" + struct.pack("2I", offset, 8))
        if accepted:
            jailcore.model.use_state_file(path)
            try:  # a log that no dead process owns is dropped, not applied
                assert get(("jid", I(1)), "meta").str("meta") == "k=" + "v" * (MARK - 2)
            finally:
                jailcore.model.use_state_file(before)
        else:
            with pytest.raises(OSError) as exc:
                jailcore.model.use_state_file(path)
            assert exc.value.errno == errno.EINVAL
