"""Another process writes the state file between two calls of this one (issue 12,
item 1): whatever it writes, the next call fails with EINVAL and the host is
refused from then on, naming the file; the process neither crashes nor reads or
writes outside the host.  Each case runs in a forked child, so that a crash
fails the test instead of killing pytest."""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable
from pathlib import Path

import modelabi
import pytest
from forked import in_child
from modelabi import I, create, get

import jailcore
import jailcore.model

AT_START = ("changed into an invalid state by another process (found so at the start "
            "of a call): refused")
DURING = "changed into an invalid state by another process (found so during a call): refused"


off = modelabi.state_offset


def prison_off(slot: int, field: str) -> int:
    return off("prison." + field, "prisons", slot, "sizeof.prison")


def i32(v: int) -> bytes:
    return struct.pack("=i", v)


Writes = list[tuple[int, bytes]]


def tampered(path: Path, writes: Callable[[], Writes],
             call: Callable[[], tuple[int, int]]) -> tuple[object, ...]:
    """In a forked child: open the host in `path`, make jails a (jid 1, slot 1)
    and a.b (jid 2, slot 2), write `writes()` into the file as another process
    would, make `call`; return what the call and the next one reported."""

    def child() -> tuple[object, ...]:
        jailcore.model.use_state_file(path)
        assert create(("name", "a"), ("persist", None)) == 1
        assert create(("name", "a.b"), ("persist", None)) == 2
        assert get(("jid", I(2)), "name").str("name") == "a.b"
        modelabi.write_state(path, writes())
        ret, err = call()
        # The host is refused from now on, with the reason.
        with pytest.raises(jailcore.ModelHostError) as exc:
            jailcore.model.reset()
        e = exc.value
        return ret, err, e.errno, e.filename, e.strerror

    return tuple(in_child(child))


def get_jid(jid: int) -> Callable[[], tuple[int, int]]:
    def call() -> tuple[int, int]:
        r = get(("jid", I(jid)), "name", "host.hostname", "path")
        return r.ret, r.errno

    return call


def get_name(name: str) -> Callable[[], tuple[int, int]]:
    def call() -> tuple[int, int]:
        r = get(("name", name), "jid")
        return r.ret, r.errno

    return call


@pytest.fixture
def host(tmp_path: Path) -> Path:
    return tmp_path / "host"


def expect(path: Path, got: tuple[object, ...], why: str) -> None:
    assert got == (-1, errno.EINVAL, errno.EINVAL, str(path), why)


# ---- what every call relies on, checked at its start ---------------------------


def test_bad_magic(host: Path) -> None:
    expect(host, tampered(host, lambda: [(off("magic"), b"NOTMODEL")], get_jid(1)), AT_START)


@pytest.mark.parametrize("field,value", [
    ("g.nbyjid", 10240),
    ("g.nbyjid", -1),
    ("g.nprisons_hint", 10241),
    ("g.nprisons_hint", 0),
    ("g.nprocs_hint", 4097),
    ("g.npending", 10241),
])
def test_count_out_of_range(host: Path, field: str, value: int) -> None:
    expect(host, tampered(host, lambda: [(off(field), i32(value))], get_jid(1)), AT_START)


def test_heap_end_out_of_range(host: Path) -> None:
    expect(host, tampered(host, lambda: [(off("hc.brk"), struct.pack("=I", (1 << 30) + 32))],
                          get_jid(1)), AT_START)


def test_prison0_parent(host: Path) -> None:
    expect(host, tampered(host, lambda: [(prison_off(0, "parent"), i32(1))], get_jid(1)),
           AT_START)


# ---- indexes and strings, checked where a call uses them -----------------------


def test_parent_cycle(host: Path) -> None:
    # a's parent becomes a.b: a.b -> a -> a.b -> ...
    expect(host, tampered(host, lambda: [(prison_off(1, "parent"), i32(2))], get_jid(2)),
           DURING)


def test_parent_of_itself(host: Path) -> None:
    expect(host, tampered(host, lambda: [(prison_off(2, "parent"), i32(2))], get_jid(2)),
           DURING)


@pytest.mark.parametrize("parent", [10240, 999999, -5, 7])
def test_parent_out_of_range(host: Path, parent: int) -> None:
    # 7: within the table but no prison.
    expect(host, tampered(host, lambda: [(prison_off(2, "parent"), i32(parent))], get_jid(2)),
           DURING)


@pytest.mark.parametrize("entry", [50000, -1, 0, 9])
def test_byjid_entry_out_of_range(host: Path, entry: int) -> None:
    expect(host, tampered(host, lambda: [(off("byjid"), i32(entry))], get_jid(1)), DURING)


def name_bucket(name: str) -> int:
    """The bucket of byname[] that holds ``name`` (the model's FNV-1a, masked)."""
    x = 2166136261
    for c in name.encode():
        x = ((x ^ c) * 16777619) & 0xFFFFFFFF
    return x & (16384 - 1)


@pytest.mark.parametrize("entry", [123456, -1, 7])
def test_name_index_bucket_out_of_range(host: Path, entry: int) -> None:
    # 7: within the table but no prison.
    at = off("byname") + 4 * name_bucket("a.b")
    expect(host, tampered(host, lambda: [(at, i32(entry))], get_name("a.b")), DURING)


def test_name_index_chain_cycle(host: Path) -> None:
    # The bucket of a.b.c starts a chain a.b -> a -> a -> ... (a's next is
    # itself), none of them a.b.c: the lookup would never end.
    at = off("byname") + 4 * name_bucket("a.b.c")
    writes = [(at, i32(2)), (prison_off(2, "name_next"), i32(1)),
              (prison_off(1, "name_next"), i32(1))]
    expect(host, tampered(host, lambda: writes, get_name("a.b.c")), DURING)


@pytest.mark.parametrize("field,value", [
    ("child_first", 50000), ("child_first", 7), ("child_first", 1),
])
def test_children_list_out_of_place(host: Path, field: str, value: int) -> None:
    # Removing a walks the jails below it: a's first child becomes a slot out
    # of range, no prison, or a itself (whose parent is not a).
    expect(host, tampered(host, lambda: [(prison_off(1, field), i32(value))],
                          lambda: modelabi.remove(1)), DURING)


def test_children_list_cycle(host: Path) -> None:
    # a.b's next sibling is itself: the walk below a would never end.
    expect(host, tampered(host, lambda: [(prison_off(2, "sib_next"), i32(2))],
                          lambda: modelabi.remove(1)), DURING)


@pytest.mark.parametrize("entry", [10240, -7])
def test_pending_entry_out_of_range(host: Path, entry: int) -> None:
    # A queued prison is looked at by the next call that settles: removing a.
    def writes() -> Writes:
        return [(off("pending"), i32(entry)), (off("g.npending"), i32(1))]

    expect(host, tampered(host, writes, lambda: modelabi.remove(1)), DURING)


@pytest.mark.parametrize("prison", [10240, 70000, -2])
def test_proc_prison_out_of_range(host: Path, prison: int) -> None:
    # An entry of the process table that names this process.
    def writes() -> Writes:
        base = off("procs")
        return [(base + off("proc.pid"), i32(os.getpid())),
                (base + off("proc.prison"), i32(prison)),
                (off("g.nprocs_hint"), i32(1))]

    expect(host, tampered(host, writes, get_jid(1)), DURING)


@pytest.mark.parametrize("field,size", [("name", 256), ("osrelease", 32)])
def test_string_without_nul(host: Path, field: str, size: int) -> None:
    expect(host, tampered(host, lambda: [(prison_off(2, field), b"x" * size)], get_jid(2)),
           DURING)


# The texts of a prison in the heap (JM_ST_*): path, root, host.hostname,
# host.domainname, host.hostuuid.
ST_PATH, ST_ROOT, ST_HOSTNAME, ST_DOMAINNAME, ST_HOSTUUID = 4, 5, 6, 7, 8


def heap_text(host: Path, slot: int, store: int) -> tuple[int, int]:
    """Where prison `slot`'s text `store` lies in the file, and its length."""
    with open(host, "rb") as f:
        f.seek(prison_off(slot, "store") + 4 * store)
        (block,) = struct.unpack("=I", f.read(4))
        f.seek(prison_off(slot, "store_len") + 4 * store)
        (length,) = struct.unpack("=I", f.read(4))
    assert block != 0
    return off("heap") + block + 16, length  # after the block's header


def set_host_texts(jid: int, length: int) -> None:
    """Give jail `jid` a host.hostname and host.domainname of `length` bytes."""
    r = modelabi.jail_set([("jid", I(jid)), ("host.hostname", "h" * length),
                           ("host.domainname", "d" * length)], modelabi.JAIL_UPDATE)
    assert (r.ret, r.errno) == (jid, 0)


@pytest.mark.parametrize("store", [ST_PATH, ST_ROOT, ST_HOSTNAME, ST_DOMAINNAME, ST_HOSTUUID])
@pytest.mark.parametrize("damage", ["nul", "inside", "length"])
def test_heap_text_damaged(host: Path, store: int, damage: str) -> None:
    """a.b's path, root, hostname, domain name or host UUID, kept in the heap:
    the NUL after it overwritten, a NUL put inside it, or its length made
    longer than its block."""

    def writes() -> Writes:
        set_host_texts(2, 10)
        text, length = heap_text(host, 2, store)
        if damage == "nul":
            return [(text + length, b"x")]
        if damage == "inside":
            return [(text, b"\0")]
        return [(prison_off(2, "store_len") + 4 * store, struct.pack("=I", 4096))]

    expect(host, tampered(host, writes, get_jid(2)), DURING)


@pytest.mark.parametrize("store,size", [(ST_HOSTNAME, 256), (ST_DOMAINNAME, 256),
                                        (ST_HOSTUUID, 64)])
def test_heap_text_longer_than_its_parameter(host: Path, store: int, size: int) -> None:
    """A host text that fits its block but not its parameter (MAXHOSTNAMELEN,
    HOSTUUIDLEN, the NUL included): a string the kernel could not hold."""

    def writes() -> Writes:
        set_host_texts(2, 255)
        r = modelabi.jail_set([("jid", I(2)), ("host.hostuuid", "u" * 63)],
                              modelabi.JAIL_UPDATE)
        assert (r.ret, r.errno) == (2, 0)
        text, length = heap_text(host, 2, store)
        assert length == size - 1
        return [(text + length, b"x\0"),
                (prison_off(2, "store_len") + 4 * store, struct.pack("=I", size))]

    expect(host, tampered(host, writes, get_jid(2)), DURING)


def test_string_without_nul_met_in_a_lookup_by_name(host: Path) -> None:
    expect(host, tampered(host, lambda: [(prison_off(2, "name"), b"a" * 256)],
                          get_name("a.b")), DURING)


def test_string_of_the_callers_ancestor_without_nul(host: Path) -> None:
    # a's hostname: a.b's parent, met on the way up from a.b.
    def writes() -> Writes:
        set_host_texts(1, 10)
        text, length = heap_text(host, 1, ST_HOSTNAME)
        return [(text + length, b"h")]

    expect(host, tampered(host, writes, get_jid(2)), DURING)


@pytest.mark.parametrize("field", ["nchild", "ndesc"])
def test_counter_at_the_end_of_its_range(host: Path, field: str) -> None:
    # a's count of children at INT32_MAX: a new child of a fails the call
    # instead of overflowing it.
    def call() -> tuple[int, int]:
        r = modelabi.jail_set([("name", "a.c"), ("persist", None)], modelabi.JAIL_CREATE)
        return r.ret, r.errno

    expect(host, tampered(host, lambda: [(prison_off(1, field), i32(2**31 - 1))], call),
           DURING)


def test_name_that_is_not_below_its_parent(host: Path) -> None:
    # a.b renamed "zz" behind the model's back: a name relative to a, the
    # caller's jail, would start past its end.
    def writes() -> Writes:
        ret, err = modelabi.attach(1)
        assert (ret, err) == (0, 0)
        return [(prison_off(2, "name"), b"zz\0")]

    expect(host, tampered(host, writes, get_name("b")), DURING)


def test_an_untouched_host_keeps_working(host: Path) -> None:
    """The checks refuse nothing a well-behaved writer leaves (control)."""

    def child() -> tuple[int, str]:
        jailcore.model.use_state_file(host)
        assert create(("name", "a"), ("persist", None)) == 1
        pid = os.fork()
        if pid == 0:  # another process changes the host between two calls
            try:
                create(("name", "a.b"), ("persist", None))
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        r = get(("name", "a.b"), "jid")
        return r.ret, get(("jid", I(r.ret)), "name").str("name")

    assert in_child(child) == (2, "a.b")
