"""The iovec builder: what reaches the kernel, and how values come back from it.

The seam jailcore._backend.jail_set/jail_get is wrapped (the ``seam`` fixture,
tests/seam.py) to see the very iovec arrays the kernel gets (spec section 2:
name/value pairs, errmsg, write-back).
Each test is named after the mistake it guards against (ARCHITECTURE.md section 4).
"""

from __future__ import annotations

import errno
import ipaddress
import struct
import threading
from typing import Any

import pytest
from seam import Call, Recorder

import jailcore
import jailcore.model
from jailcore import JailFlag, _backend, _iov, params

ffi = _backend.ffi


def v4(n: int, base: str = "10.0.0.0") -> list[ipaddress.IPv4Address]:
    start = ipaddress.IPv4Address(base)
    return [start + i + 1 for i in range(n)]


def v6(n: int, base: str = "2001:db8::") -> list[ipaddress.IPv6Address]:
    start = ipaddress.IPv6Address(base)
    return [start + i + 1 for i in range(n)]


def create(values: dict[str, Any]) -> int:
    return jailcore.jail_set({"persist": True, **values}, JailFlag.CREATE)


# ---- one jail_get, with array-size negotiation ------------------------------------------


def test_one_jail_get_per_parameter_is_not_how_values_are_read(seam: Recorder) -> None:
    """libjail-rs made one jail_get per parameter: every name goes in one call."""
    jailcore.model.kldload("sysvmsg")
    jailcore.model.kldload("nullfs")
    jid = create({"name": "web", "host.hostname": "web.example", "ip4.addr": v4(3),
                  "meta": {"a": "1"}})
    names = [*params.all_params(), "nopersist", "allow.nomount", "meta.a", "env.b"]
    seam.gets.clear()
    values = jailcore.jail_get(jid, names)
    assert len(seam.gets) == 1
    sent = seam.gets[0].names
    assert sent[0] == "jid" and sent[-1] == "errmsg"
    assert set(sent[:-1]) == set(params.all_params()) | {"meta.a", "env.b"}
    assert len(sent) == len(set(sent))  # nopersist and allow.nomount share their slots
    assert list(values) == list(dict.fromkeys(names))
    assert values["jid"] == jid and values["name"] == "web"
    assert values["host.hostname"] == "web.example"
    assert values["ip4.addr"] == tuple(v4(3))
    assert values["persist"] is True and values["nopersist"] is False
    assert values["meta"] == {"a": "1"} and values["meta.a"] == "1" and values["env.b"] is None
    assert values["sysvmsg"] == jailcore.JailSys.DISABLE
    assert values["allow.mount.nullfs"] is False


def test_up_to_sixteen_addresses_need_no_negotiation(seam: Recorder) -> None:
    jid = create({"ip4.addr": v4(16), "ip6.addr": v6(16)})
    seam.gets.clear()
    got = jailcore.jail_get(jid, ["ip4.addr", "ip6.addr"])
    assert got == {"ip4.addr": tuple(v4(16)), "ip6.addr": tuple(v6(16))}
    assert len(seam.gets) == 1
    assert seam.gets[0].pair("ip4.addr").length == 16 * 4
    assert seam.gets[0].pair("ip6.addr").length == 16 * 16


def test_more_addresses_than_the_guess_are_read_back_whole(seam: Recorder) -> None:
    """Negotiation as jailparam_get does it: the guess fails with EINVAL and no
    message, a size query follows, then the call with 5 spare addresses."""
    ip4 = v4(40, "192.0.2.0")
    ip6 = v6(20)
    jid = create({"name": "many", "ip4.addr": list(reversed(ip4)), "ip6.addr": ip6})
    seam.gets.clear()
    got = jailcore.jail_get(jid, ["name", "ip4.addr", "ip6.addr", "host.hostname"])
    assert got == {
        "name": "many",
        "ip4.addr": (ip4[-1], *ip4[:-1]),  # first kept, the rest sorted (spec 4.6)
        "ip6.addr": tuple(ip6),
        "host.hostname": "",
    }
    guess, query, final = seam.gets
    assert guess.result == (-1, errno.EINVAL)
    assert (guess.pair("ip4.addr").length, guess.pair("ip6.addr").length) == (64, 256)
    assert (query.pair("ip4.addr").length, query.pair("ip6.addr").length) == (0, 0)
    assert query.result == (jid, 0)
    assert final.pair("ip4.addr").length == (40 + 5) * 4
    assert final.pair("ip6.addr").length == (20 + 5) * 16
    assert final.result == (jid, 0)


def test_addresses_added_between_size_query_and_call_are_retried(seam: Recorder) -> None:
    jid = create({"ip4.addr": v4(20)})
    grown: list[int] = []

    def grow(iov: Any, niov: int, call: Call) -> None:
        # Right after the first size query, another program adds addresses.
        if call.pair("ip4.addr").length == 0 and not grown:
            grown.append(1)
            jailcore.jail_set({"jid": jid, "ip4.addr": v4(60)}, JailFlag.UPDATE)

    seam.after_get = grow
    assert jailcore.jail_get(jid, ["ip4.addr"]) == {"ip4.addr": tuple(v4(60))}
    lengths = [c.pair("ip4.addr").length for c in seam.gets]
    assert lengths == [64, 0, 25 * 4, 0, 65 * 4]


def test_negotiation_gives_up_after_five_retries(seam: Recorder) -> None:
    jid = create({"ip4.addr": v4(20)})
    count = [20]

    def keep_growing(iov: Any, niov: int, call: Call) -> None:
        if call.pair("ip4.addr").length == 0:
            count[0] += 10
            jailcore.jail_set({"jid": jid, "ip4.addr": v4(count[0])}, JailFlag.UPDATE)

    seam.after_get = keep_growing
    with pytest.raises(jailcore.JailError) as info:
        jailcore.jail_get(jid, ["ip4.addr"])
    assert info.value.errno == errno.EINVAL and info.value.errmsg is None
    assert len(seam.gets) == 6 + 5  # the first try and 5 retries, each after a size query


def test_an_einval_with_a_message_is_not_mistaken_for_a_small_buffer(seam: Recorder) -> None:
    jid = create({"ip4.addr": v4(3)})
    params.spec("sysvmsg")  # loads sysvmsg and caches its spec
    # Someone else unloads the module behind the cache's back.
    _, lib = _backend.native()
    assert lib.jailmodel_kldunload(jailcore.model.kldfind("sysvmsg")) == 0
    seam.gets.clear()
    with pytest.raises(jailcore.JailError) as info:
        jailcore.jail_get(jid, ["ip4.addr", "sysvmsg"])
    assert (info.value.errno, info.value.errmsg) == (errno.EINVAL, "unknown parameter: sysvmsg")
    assert len(seam.gets) == 1


def test_an_einval_that_is_not_about_sizes_does_not_loop(seam: Recorder) -> None:
    jid = create({"ip4.addr": v4(40)})
    with pytest.raises(jailcore.JailError) as info:
        jailcore.jail_get(jid, ["ip4.addr"], JailFlag.CREATE)  # not a jail_get flag
    assert (info.value.errno, info.value.errmsg) == (errno.EINVAL, None)
    assert len(seam.gets) <= 11


# ---- buffers: owned, fresh, decoded in place -----------------------------------------------


def test_values_are_decoded_from_the_buffers_the_kernel_wrote(seam: Recorder) -> None:
    """py-jail handed the kernel a fresh buffer per access and lost what it wrote."""
    jid = create({"name": "web", "host.hostname": "real", "securelevel": 1})

    def kernel_writes(iov: Any, niov: int, call: Call) -> None:
        # Stand in for the kernel writing values: the caller must read these bytes.
        for i in range(0, niov, 2):
            name = ffi.string(ffi.cast("char *", iov[i].iov_base))
            buf = ffi.cast("char *", iov[i + 1].iov_base)
            if name == b"host.hostname":
                ffi.memmove(buf, b"written-in-place\0", 17)
            elif name == b"securelevel":
                ffi.cast("int *", buf)[0] = 3

    seam.after_get = kernel_writes
    got = jailcore.jail_get(jid, ["host.hostname", "securelevel", "name"])
    assert got == {"host.hostname": "written-in-place", "securelevel": 3, "name": "web"}


def test_the_key_slot_is_read_back_when_asked_for(seam: Recorder) -> None:
    jid = create({"name": "web"})
    assert jailcore.jail_get(jid, ["name", "jid"]) == {"name": "web", "jid": jid}
    assert jailcore.jail_get("web", ["jid", "name"]) == {"jid": jid, "name": "web"}
    # One pair for the key, also used for the output (not sent twice).
    assert seam.gets[-1].names == ["name", "jid", "errmsg"]


def test_a_shorter_string_leaves_no_tail_of_an_older_one() -> None:
    jid = create({"host.hostname": "a-rather-long-hostname"})
    assert jailcore.jail_get(jid, ["host.hostname"])["host.hostname"] == "a-rather-long-hostname"
    jailcore.jail_set({"jid": jid, "host.hostname": "short"}, JailFlag.UPDATE)
    assert jailcore.jail_get(jid, ["host.hostname"])["host.hostname"] == "short"


def test_a_256_byte_errmsg_or_a_shared_one_is_not_used(seam: Recorder) -> None:
    """py-jail/libjail-rs used 256 bytes; libjail one process-wide buffer."""
    create({"name": "web"})
    with pytest.raises(jailcore.JailExistsError):
        create({"name": "web"})
    with pytest.raises(jailcore.JailNotFoundError):
        jailcore.jail_get("nosuch", ["jid"])
    with pytest.raises(jailcore.JailNotFoundError):
        jailcore.jail_get("nosuch", ["jid"])
    calls = [*seam.sets, *seam.gets]
    errmsgs = [c.pairs[-1] for c in calls]
    assert all(p.name == "errmsg" for p in errmsgs)
    assert all(p.length == 1024 for p in errmsgs)
    # Fresh and zeroed on entry, also right after a call whose buffer got a message.
    assert all(p.value == bytes(1024) for p in errmsgs)


def test_a_message_longer_than_256_bytes_is_kept_whole() -> None:
    name = "n" * 255
    with pytest.raises(jailcore.JailNotFoundError) as info:
        jailcore.jail_get(name, ["jid"])
    assert info.value.errmsg == f'jail "{name}" not found'
    assert len(info.value.errmsg) > 256


def test_an_error_after_an_error_does_not_repeat_the_old_message() -> None:
    jid = create({"name": "web"})
    with pytest.raises(jailcore.JailExistsError) as first:
        create({"name": "web"})
    assert first.value.errmsg == 'jail "web" already exists'
    with pytest.raises(jailcore.JailError) as second:
        jailcore.jail_set({"jid": jid, "enforce_statfs": 3}, JailFlag.UPDATE)
    assert second.value.errno == errno.EINVAL
    assert second.value.errmsg is None
    with pytest.raises(jailcore.JailNotFoundError) as third:
        jailcore.jail_get("other", ["jid"])
    assert third.value.errmsg == 'jail "other" not found'
    with pytest.raises(jailcore.JailError) as fourth:
        jailcore.jail_get(jid, ["jid"], JailFlag.CREATE)
    assert (fourth.value.errno, fourth.value.errmsg) == (errno.EINVAL, None)


def test_errno_is_not_lost_when_a_message_exists_nor_the_reverse() -> None:
    create({"name": "web"})
    with pytest.raises(jailcore.JailExistsError) as info:
        create({"name": "web"})
    assert (info.value.errno, info.value.errmsg) == (errno.EEXIST, 'jail "web" already exists')
    with pytest.raises(jailcore.JailError) as info2:
        create({"name": "x", "devfs_ruleset": 70000})
    assert (info2.value.errno, info2.value.errmsg) == (errno.EINVAL, None)


def test_builder_owns_its_input_buffers_until_the_call_returns() -> None:
    b = _iov.IovecBuilder()
    b.add("persist", None)
    data = bytearray(b"web\0")
    b.add("name", bytes(data))
    data[:] = b"xyz\0"  # the caller's object changes; the builder's copy does not
    jid, _, lengths = b.call("jail_set", JailFlag.CREATE)
    assert jailcore.jail_get(jid, ["name"]) == {"name": "web"}
    assert lengths == [0, 4]


# ---- threads -------------------------------------------------------------------------------


def test_per_call_buffers_give_no_cross_talk_between_threads() -> None:
    """libjail's errmsg lived in one process-wide buffer: not thread-safe."""
    failures: list[str] = []
    start = threading.Barrier(8)

    def worker(k: int) -> None:
        try:
            start.wait()
            for i in range(15):
                name = f"t{k}-{i}"
                addrs = [ipaddress.IPv4Address(f"10.{k}.{i}.{n}") for n in range(1, 21)]
                jid = create({"name": name, "host.hostname": f"{name}.example",
                              "ip4.addr": addrs, "meta": {"owner": name}})
                got = jailcore.jail_get(jid, ["jid", "name", "host.hostname", "ip4.addr",
                                              "meta"])
                want = {"jid": jid, "name": name, "host.hostname": f"{name}.example",
                        "ip4.addr": tuple(addrs), "meta": {"owner": name}}
                if got != want:
                    failures.append(f"{name}: read {got!r}")
                try:
                    create({"name": name})
                    failures.append(f"{name}: duplicate created")
                except jailcore.JailExistsError as exc:
                    if exc.errmsg != f'jail "{name}" already exists':
                        failures.append(f"{name}: errmsg {exc.errmsg!r}")
                try:
                    jailcore.jail_set({"jid": jid, "enforce_statfs": 3}, JailFlag.UPDATE)
                    failures.append(f"{name}: enforce_statfs=3 accepted")
                except jailcore.JailError as exc:
                    if (exc.errno, exc.errmsg) != (errno.EINVAL, None):
                        failures.append(f"{name}: {exc.errno} {exc.errmsg!r}")
                try:
                    jailcore.jail_get(f"{name}-absent", ["jid"])
                except jailcore.JailNotFoundError as exc:
                    if exc.errmsg != f'jail "{name}-absent" not found':
                        failures.append(f"{name}: errmsg {exc.errmsg!r}")
                jailcore.jail_remove(jid)
        except Exception as exc:  # reported below
            failures.append(f"thread {k}: {exc!r}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []
    with pytest.raises(jailcore.JailNotFoundError):
        jailcore.jail_get({"lastjid": 0}, ["jid"])


# ---- booleans: the no-form before the last dotted component ---------------------------------


@pytest.mark.parametrize(
    ("name", "value", "sent"),
    [
        ("allow.mount", False, "allow.nomount"),
        ("allow.mount", True, "allow.mount"),
        ("allow.mount.devfs", False, "allow.mount.nodevfs"),
        ("allow.mount.devfs", True, "allow.mount.devfs"),
        ("allow.nosuser", True, "allow.nosuser"),
        ("allow.nosuser", False, "allow.suser"),
        ("ip4.saddrsel", False, "ip4.nosaddrsel"),
        ("allow.mount.nullfs", False, "allow.mount.nonullfs"),
        ("nopersist", False, "persist"),
        ("allow.raw_sockets", 0, "allow.noraw_sockets"),
    ],
)
def test_false_is_not_sent_as_allownomount(
    seam: Recorder, name: str, value: Any, sent: str
) -> None:
    """gojail/0x1eef sent allow.mount false as "allownomount"."""
    jid = create({name: value})
    call = seam.sets[-1]
    assert call.names == ["persist", sent, "errmsg"]
    pair = call.pairs[1]
    assert pair.length == 0 and pair.value is None  # booleans carry no value
    got = jailcore.jail_get(jid, [name])
    assert got == {name: bool(value)}


def test_nopersist_on_update_is_sent_by_name(seam: Recorder) -> None:
    jid = create({"name": "web"})
    jailcore.jail_set({"jid": jid, "persist": False}, JailFlag.UPDATE)
    assert seam.sets[-1].names == ["jid", "nopersist", "errmsg"]
    with pytest.raises(jailcore.JailNotFoundError):
        jailcore.jail_get(jid, ["jid"])  # an idle jail without persist is gone


# ---- addresses and vnet ----------------------------------------------------------------------


def test_empty_address_lists_are_not_sent_on_create(seam: Recorder) -> None:
    jid = create({"name": "web", "ip4.addr": (), "ip6.addr": []})
    assert seam.sets[-1].names == ["persist", "name", "errmsg"]
    assert jailcore.jail_get(jid, ["ip4.addr", "ip6.addr"]) == {"ip4.addr": (), "ip6.addr": ()}


def test_empty_ip4_addr_is_not_sent_to_a_vnet_jail(seam: Recorder) -> None:
    """libjail-rs/iocage sent an empty ip4.addr to a vnet jail, which the kernel refuses."""
    jid = create({"name": "v", "vnet": "new", "ip4.addr": [], "ip6.addr": ""})
    assert seam.sets[-1].names == ["persist", "name", "vnet", "errmsg"]
    assert jailcore.jail_get(jid, ["vnet"]) == {"vnet": jailcore.JailSys.NEW}


def test_an_empty_address_list_on_update_clears_the_addresses(seam: Recorder) -> None:
    jid = create({"ip4.addr": v4(2)})
    jailcore.jail_set({"jid": jid, "ip4.addr": ()}, JailFlag.UPDATE)
    pair = seam.sets[-1].pair("ip4.addr")
    assert pair.length == 0
    assert jailcore.jail_get(jid, ["ip4.addr"]) == {"ip4.addr": ()}


@pytest.mark.parametrize("vnet", ["new", "NEW", 1, jailcore.JailSys.NEW])
@pytest.mark.parametrize(("name", "addrs"), [("ip4.addr", "10.0.0.1"), ("ip6.addr", "::1")])
def test_vnet_with_addresses_is_refused_before_any_syscall(
    seam: Recorder, vnet: Any, name: str, addrs: str
) -> None:
    with pytest.raises(ValueError) as info:
        jailcore.jail_set({"persist": True, "vnet": vnet, name: addrs}, JailFlag.CREATE)
    assert str(info.value) == f"{name}: vnet jails cannot have IP address restrictions"
    assert seam.sets == []
    # Order does not matter.
    with pytest.raises(ValueError):
        jailcore.jail_set({name: addrs, "persist": True, "vnet": vnet}, JailFlag.CREATE)
    assert seam.sets == []


def test_read_only_booleans_are_refused_before_any_syscall(seam: Recorder) -> None:
    for name in ("dying", "nodying"):
        with pytest.raises(ValueError, match=rf"^{name}: read-only parameter$"):
            jailcore.jail_set({"persist": True, name: False}, JailFlag.CREATE)
    assert seam.sets == []


def test_meta_key_none_is_sent_as_a_zero_length_value(seam: Recorder) -> None:
    jid = create({"meta": {"a": "1", "b": "2"}})
    jailcore.jail_set({"jid": jid, "meta.a": None}, JailFlag.UPDATE)
    pair = seam.sets[-1].pair("meta.a")
    assert (pair.length, pair.value) == (0, None)
    assert jailcore.jail_get(jid, ["meta"]) == {"meta": {"b": "2"}}


def test_values_are_sent_with_their_native_sizes(seam: Recorder) -> None:
    create({"name": "web", "securelevel": 2, "host.hostid": 5, "ip6.addr": v6(2),
            "host": "inherit"})
    call = seam.sets[-1]
    assert call.pair("name").value == b"web\0"
    assert call.pair("securelevel").value == struct.pack("i", 2)
    assert call.pair("host.hostid").length == ffi.sizeof("unsigned long")
    assert call.pair("ip6.addr").length == 32
    assert call.pair("host").value == struct.pack("i", 2)
