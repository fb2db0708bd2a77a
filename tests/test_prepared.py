"""Prepared calls: a plan sends and reads exactly what the general path does.

jail_set, Jail.create and Jail.update go through a plan made once per set of
names (jailcore/_iov.py, csrc/prepared.c); jail_get, Jail.get and jails()
through one made per (key, names).  Every value a plan does not take, and
every value it would refuse, goes the general way, which explains refusals.
These tests hold the two paths against each other: the pairs the kernel gets,
the values read back (and their order), and the errors.
"""

from __future__ import annotations

import errno
import ipaddress
import signal
import struct
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seam import Recorder

import jailcore
from jailcore import JailFlag, _backend, _iov, params
from jailcore._backend import ffi, lib

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
            max_size=40),
    st.binary(max_size=40).map(
        lambda b: b.replace(b"\0", b"").decode("utf-8", "surrogateescape")),
)
V4 = st.integers(1, 2**32 - 2).map(ipaddress.IPv4Address)
V6 = st.integers(1, 2**128 - 1).map(ipaddress.IPv6Address)


def addresses(addr: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Addresses as a str, a tuple of str, a list of objects, or none."""
    lists = st.lists(addr, max_size=4, unique=True)
    return st.one_of(
        lists.map(lambda a: ",".join(map(str, a))),
        lists.map(lambda a: tuple(map(str, a))),
        lists,
    )


# Writable at creation, one strategy per kind a plan encodes its own way.
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "host.hostname": TEXT,
    "host.domainname": TEXT,
    "path": st.just("/"),
    "securelevel": st.integers(-1, 3),
    "children.max": st.integers(0, 100),
    "host.hostid": st.integers(0, 2**32 - 1),
    "persist": st.booleans(),
    "nopersist": st.booleans(),
    "allow.raw_sockets": st.one_of(st.booleans(), st.sampled_from([0, 1])),
    "allow.mount.nodevfs": st.booleans(),
    "ip4.addr": addresses(V4),
    "ip6.addr": addresses(V6),
    "host": st.sampled_from(["new", "inherit", jailcore.JailSys.NEW]),
    "meta": st.dictionaries(st.text("abc", min_size=1, max_size=3), st.text("xyz"),
                            max_size=3),
    "osrelease": st.text("0123456789.-ABC", min_size=1, max_size=30),
}
NAMES = sorted(VALUES)


def pairs(call: Any) -> list[tuple[str, bytes | None, int]]:
    """What the kernel got, without where it lives."""
    return [(p.name, p.value, p.length) for p in call.pairs]


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=8, unique=True))
    if "persist" not in names and "nopersist" not in names:
        names.append("persist")
    request = {n: draw(VALUES[n]) for n in names}
    if "persist" in request and "nopersist" in request:
        request["nopersist"] = not request["persist"]  # jail(8) would refuse the clash
    if request.get("persist") is False or request.get("nopersist") is True:
        request["persist"], request["nopersist"] = True, False
    return request


# ---- jail_set ----------------------------------------------------------------------


@SETTINGS
@given(request=requests())
def test_a_plan_sends_the_pairs_of_the_general_path(
    seam: Recorder, request: dict[str, Any]
) -> None:
    seam.sets.clear()
    jid = jailcore.jail_set(request, JailFlag.CREATE)
    assert _iov._create_plans[tuple(request)] is not None, "the plan was not used"
    jailcore.jail_remove(jid)
    general = _iov.encode_params(request, creating=True).call("jail_set", JailFlag.CREATE)[0]
    jailcore.jail_remove(general)
    planned, by_hand = seam.sets
    assert pairs(planned) == pairs(by_hand)


@SETTINGS
@given(request=requests())
def test_a_plan_for_update_sends_the_pairs_of_the_general_path(
    seam: Recorder, request: dict[str, Any]
) -> None:
    request.pop("osrelease", None)  # both create-only
    request.pop("path", None)
    jid = jailcore.jail_set({"persist": True}, JailFlag.CREATE)
    try:
        seam.sets.clear()
        changes = {"jid": jid, **request}
        jailcore.jail_set(changes, JailFlag.UPDATE)
        assert _iov._update_plans[tuple(changes)] is not None
        _iov.encode_params(changes, creating=False).call("jail_set", JailFlag.UPDATE)
        planned, by_hand = seam.sets
        assert pairs(planned) == pairs(by_hand)
    finally:
        jailcore.jail_remove(jid)


def test_empty_addresses_are_left_out_on_create_but_sent_on_update(seam: Recorder) -> None:
    jid = jailcore.jail_set({"persist": True, "ip4.addr": ()}, JailFlag.CREATE)
    assert [p.name for p in seam.sets[-1].pairs] == ["persist", "errmsg"]
    jailcore.jail_set({"jid": jid, "ip4.addr": ()}, JailFlag.UPDATE)
    assert pairs(seam.sets[-1])[:2] == [("jid", jid.to_bytes(4, "little"), 4),
                                        ("ip4.addr", None, 0)]


@pytest.mark.parametrize(
    ("name", "value", "error", "message"),
    [
        ("host.hostname", "a\0b", ValueError,
         "host.hostname: a NUL character cannot be part of the value"),
        ("host.hostname", "h" * 256, ValueError,
         "host.hostname: 256 bytes is longer than the maximum of 255"),
        ("host.hostname", 5, TypeError, "host.hostname: expected a str, not int"),
        ("securelevel", True, TypeError, "securelevel: expected an int, not bool"),
        ("securelevel", 2**31, ValueError,
         "securelevel: 2147483648 is out of range for a C int (-2147483648..2147483647)"),
        ("securelevel", "3", TypeError, "securelevel: expected an int, not str"),
        ("allow.raw_sockets", 1.0, TypeError, "allow.raw_sockets: expected a bool, not 1.0"),
        ("allow.raw_sockets", 2, TypeError, "allow.raw_sockets: expected a bool, not 2"),
        ("ip4.addr", "300.1.1.1", ValueError,
         "ip4.addr: Octet 300 (> 255) not permitted in '300.1.1.1'"),
        ("ip4.addr", 5, TypeError, "ip4.addr: expected IPv4Address addresses, not int"),
    ],
)
def test_values_a_plan_refuses_are_explained_as_the_general_path_does(
    name: str, value: Any, error: type[Exception], message: str
) -> None:
    for attempt in range(2):  # the second time the plan exists already
        with pytest.raises(error) as info:
            jailcore.jail_set({"persist": True, name: value}, JailFlag.CREATE)
        assert str(info.value) == message, attempt
    assert list(jailcore.jails(())) == []  # nothing reached the kernel


@pytest.mark.parametrize(
    ("name", "value", "read_back"),
    [
        ("allow.raw_sockets", 1, True),
        ("allow.raw_sockets", 0, False),
        ("host.hostname", "caf\udce9", "caf\udce9"),  # not UTF-8: surrogateescape
        ("ip4.addr", ["192.0.2.1"], (ipaddress.IPv4Address("192.0.2.1"),)),
        ("securelevel", jailcore.JailSys.INHERIT, 2),  # an IntEnum is an int
    ],
)
def test_values_a_plan_passes_on_are_still_taken(name: str, value: Any, read_back: Any) -> None:
    for _ in range(2):
        jid = jailcore.jail_set({"persist": True, name: value}, JailFlag.CREATE)
        assert jailcore.jail_get(jid, [name]) == {name: read_back}
        jailcore.jail_remove(jid)


def test_a_kernel_error_through_a_plan_keeps_errno_and_message() -> None:
    jailcore.jail_set({"persist": True, "name": "web"}, JailFlag.CREATE)
    for _ in range(2):
        with pytest.raises(jailcore.JailExistsError) as info:
            jailcore.jail_set({"persist": True, "name": "web"}, JailFlag.CREATE)
        assert (info.value.errno, info.value.errmsg) == (errno.EEXIST,
                                                        'jail "web" already exists')


# ---- Jail.create with keywords -----------------------------------------------------


def test_keywords_are_spelled_once_and_persist_is_the_default(seam: Recorder) -> None:
    for i in range(3):
        j = jailcore.Jail.create(name=f"k{i}", host__hostname=f"k{i}.example")
        assert j.get("name", "host.hostname", "persist") == {
            "name": f"k{i}", "host.hostname": f"k{i}.example", "persist": True}
    assert [p.name for p in seam.sets[-1].pairs] == [
        "name", "host.hostname", "persist", "errmsg"]


def test_keywords_that_say_nopersist_get_no_persist_added(seam: Recorder) -> None:
    with pytest.raises(jailcore.JailError) as info:
        jailcore.Jail.create(name="gone", nopersist=True)
    assert info.value.errno == errno.EINVAL  # neither persistent nor with a process
    assert [p.name for p in seam.sets[-1].pairs] == ["name", "nopersist", "errmsg"]


def test_one_name_spelled_twice_is_refused() -> None:
    with pytest.raises(TypeError, match=r"parameter 'host\.hostname' given twice"):
        jailcore.Jail.create(**{"host__hostname": "a", "host.hostname": "b"})
    assert list(jailcore.jails(())) == []


# ---- jail_get ----------------------------------------------------------------------


GET_NAMES = [
    "jid", "name", "path", "host.hostname", "host.hostid", "securelevel", "children.max",
    "persist", "nopersist", "dying", "nodying", "ip4.addr", "ip6.addr", "host", "vnet",
    "meta", "osrelease", "parent", "cpuset.id", "allow.raw_sockets", "allow.nomount",
]


@SETTINGS
@given(request=requests(), data=st.data())
def test_a_plan_reads_what_the_general_path_reads(request: dict[str, Any],
                                                 data: st.DataObject) -> None:
    request["name"] = "prepared"
    jid = jailcore.jail_set(request, JailFlag.CREATE)
    try:
        names = data.draw(st.lists(st.sampled_from(GET_NAMES), min_size=1, max_size=12,
                                   unique=True))
        for key in (jid, "prepared"):
            planned = _iov.jail_get(key, names)
            general = _iov._jail_get(key, names)
            assert planned == general
            assert list(planned[1]) == list(general[1]) == names  # in the order asked
        rows = list(_iov.iterate(tuple(names)))
        assert rows == [general]
    finally:
        jailcore.jail_remove(jid)


def test_strings_come_back_whole_from_a_full_buffer_and_empty() -> None:
    jid = jailcore.jail_set({"persist": True, "host.hostname": "h" * 255,
                             "host.domainname": ""}, JailFlag.CREATE)
    got = jailcore.jail_get(jid, ["host.domainname", "host.hostname", "path"])
    assert got == {"host.domainname": "", "host.hostname": "h" * 255, "path": "/"}


def test_more_addresses_than_a_plan_guesses_are_read_whole() -> None:
    many = tuple(ipaddress.IPv4Address(f"10.0.{i // 200}.{i % 200 + 1}") for i in range(40))
    jid = jailcore.jail_set({"persist": True, "ip4.addr": many}, JailFlag.CREATE)
    for _ in range(2):
        assert jailcore.jail_get(jid, ["ip4.addr", "name"]) == {
            "ip4.addr": many, "name": str(jid)}
    assert [v["ip4.addr"] for _, v in _iov.iterate(("ip4.addr",))] == [many]


def in_threads(worker: Any, n: int) -> None:
    """worker(0) to worker(n - 1), each in a thread of its own, all at once."""
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_errors_and_messages_do_not_cross_threads() -> None:
    """Each thread's failed call reports its own errno and message, while other
    threads succeed and fail around it (errno is kept per thread by cffi)."""
    jid = jailcore.jail_set({"persist": True, "name": "present"}, JailFlag.CREATE)
    failures: list[str] = []

    def worker(i: int) -> None:
        for k in range(200):
            try:
                if k % 2:
                    assert jailcore.jail_get("present", ["jid"]) == {"jid": jid}
                    continue
                with pytest.raises(jailcore.JailNotFoundError) as info:
                    jailcore.jail_get(f"missing-{i}", ["jid"])
                assert info.value.errno == errno.ENOENT
                assert info.value.errmsg == f'jail "missing-{i}" not found'
                with pytest.raises(jailcore.JailExistsError) as exists:
                    jailcore.jail_set({"name": "present", "persist": True}, JailFlag.CREATE)
                assert exists.value.errno == errno.EEXIST
            except AssertionError as exc:  # pragma: no cover - reported below
                failures.append(f"thread {i}: {exc}")
                return

    in_threads(worker, 8)
    assert failures == []


def test_a_plan_holds_as_many_names_as_the_kernel_takes() -> None:
    """301 pairs (the kernel takes up to 512): no limit of jailcore's own."""
    keys = {f"meta.k{i}": f"v{i}" for i in range(300)}
    jid = jailcore.jail_set({"persist": True}, JailFlag.CREATE)
    for _ in range(2):
        assert jailcore.jail_set({"jid": jid, **keys}, JailFlag.UPDATE) == jid
        assert _iov._update_plans[("jid", *keys)] is not None
    # Each key is read into a buffer of meta's maximum (4096 bytes), and the
    # kernel takes 64 KiB of names and values in all: ten at a time.
    names = list(keys)
    for i in range(0, 300, 10):
        assert jailcore.jail_get(jid, names[i : i + 10]) == {n: keys[n] for n in names[i : i + 10]}


def test_errno_survives_a_signal_handler_that_makes_calls_of_its_own() -> None:
    """errno travels in the C call's return value, and the message of a failed
    prepared jail_set is read in C before the call returns to Python: a
    handler that runs after the call, as often as its signals come, and fails
    calls of its own, replaces neither.  (With the message read in Python
    from a ring of eight, a slow run, under ASan, once let the handler run
    eight times first.)"""
    jailcore.jail_set({"persist": True, "name": "web"}, JailFlag.CREATE)
    handled = [0]

    def handler(signum: int, frame: Any) -> None:
        handled[0] += 1
        assert _backend.jail_remove(999999) == (-1, errno.EINVAL)
        with pytest.raises(jailcore.JailError) as exc:
            jailcore.jail_set({"persist": True, "name": "none.web"}, JailFlag.CREATE)
        assert (exc.value.errno, exc.value.errmsg) == (errno.ENOENT, 'jail "none" not found')

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.0001, 0.0001)
    wrong = []
    try:
        # Until the handler has run 500 times, over at least 2,000 calls (the
        # bug this guards against hit about one call in 40).
        for calls in range(1, 50001):
            try:
                jailcore.jail_set({"persist": True, "name": "web"}, JailFlag.CREATE)
            except jailcore.JailError as exc:
                if (exc.errno, exc.errmsg) != (errno.EEXIST, 'jail "web" already exists'):
                    wrong.append((exc.errno, exc.errmsg))
            if calls >= 2000 and handled[0] >= 500:
                break
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)  # drops one still pending
        signal.signal(signal.SIGALRM, old)
    assert handled[0] >= 100, "the handler hardly ran"
    assert wrong == []


class SortedKeys(dict):  # type: ignore[type-arg]
    """A dict whose keys come in another order than its values."""

    def __iter__(self) -> Any:
        return iter(sorted(super().__iter__()))


class ShortValues(dict):  # type: ignore[type-arg]
    """A dict that gives one value fewer than it has keys."""

    def values(self) -> Any:
        return list(super().values())[:-1]


@pytest.mark.parametrize("kind", [SortedKeys, ShortValues])
def test_a_mapping_other_than_a_dict_goes_the_general_way(kind: type[dict]) -> None:  # type: ignore[type-arg]
    """Only a dict promises its keys and values in one order; the general path
    reads a mapping's items() once."""
    request = kind({"persist": True, "host.hostname": "example",
                    "host.domainname": "web.example"})
    jid = jailcore.jail_set(request, JailFlag.CREATE)
    assert jailcore.jail_get(jid, ["host.hostname", "host.domainname"]) == {
        "host.hostname": "example", "host.domainname": "web.example"}


def test_fewer_lengths_than_slots_is_refused_in_c() -> None:
    jailcore.jail_set({"persist": True, "name": "a"}, JailFlag.CREATE)
    plan = _iov._create_plans[("persist", "name")]
    assert plan is not None
    iov = _backend.ffi.new("struct iovec[]", plan._iov_len)
    assert _backend.lib.jc_set_iov(iov, plan._c, plan._n, b"\0b\0", [1], 1,
                                   _backend.ffi.NULL, 0) == -2
    # The call made in C gives it to the general path instead, and makes none.
    assert _backend.lib.jc_set_call(_backend.BACKEND, plan._c, plan._n, b"\0b\0",
                                    struct.pack("=I", 1), 1,
                                    JailFlag.CREATE) == _backend.lib.JC_SET_FALLBACK
    assert [j.name for j in jailcore.jails()] == ["a"]


@pytest.mark.parametrize("text,packed", [
    ("192.0.2.1", "c0000201"),
    (" 192.0.2.1 ,\t192.0.2.2\n", "c0000201c0000202"),
    ("192.0.2.1,,", "c0000201"),
    ("", ""),
    (" , ", ""),
])
def test_addresses_given_as_text_are_packed_in_c(text: str, packed: str) -> None:
    """The blanks Python's str.strip() takes away are taken away in C too; empty
    parts are skipped; the result is what inet_pton(3) packs."""
    jid = jailcore.jail_set({"name": "a", "persist": True, "ip4": "new"}, JailFlag.CREATE)
    # Through the seam's recorder-free path: jc_set_call.
    assert _iov._backend.jail_set is _iov._SEAM_SET
    jailcore.jail_set({"jid": jid, "ip4.addr": text}, JailFlag.UPDATE)
    raw = b"".join(a.packed for a in jailcore.jail_get(jid, ["ip4.addr"])["ip4.addr"])
    assert raw.hex() == packed


@pytest.mark.parametrize("text,message", [
    ("192.0.2.01", "Leading zeros are not permitted in '01' in '192.0.2.01'"),
    ("192.0.2.1\x00", "Only decimal digits permitted in '1\\x00' in '192.0.2.1\\x00'"),
    ("192.0.2.1\xa0,", None),
    ("em0|192.0.2.1", None),
])
def test_addresses_c_refuses_are_the_general_paths_to_explain(text: str,
                                                             message: str | None) -> None:
    """C packs only what inet_pton(3) takes and refuses the rest, which the
    general path then takes (a non-ASCII blank) or refuses with its reason."""
    jid = jailcore.jail_set({"name": "a", "persist": True, "ip4": "new"}, JailFlag.CREATE)
    if "\xa0" in text:
        jailcore.jail_set({"jid": jid, "ip4.addr": text}, JailFlag.UPDATE)
        assert [str(a) for a in jailcore.jail_get(jid, ["ip4.addr"])["ip4.addr"]] == [
            "192.0.2.1"]
        return
    with pytest.raises(ValueError) as exc:
        jailcore.jail_set({"jid": jid, "ip4.addr": text}, JailFlag.UPDATE)
    if message is not None:
        assert message in str(exc.value)


@pytest.mark.parametrize("call", [
    lambda: jailcore.jail_get(1, ["lastjid"]),
    lambda: jailcore.jail_get(1, ["name", "lastjid"]),
    lambda: _iov._jail_get(1, ["lastjid"]),
    lambda: list(jailcore.jails(["lastjid"])),
])
def test_lastjid_is_a_key_not_a_value(call: Any) -> None:
    """Asked for as a value, lastjid's zeroed pair would come last and be taken
    for the key: jails() would list jail 1 for ever."""
    jailcore.jail_set({"persist": True}, JailFlag.CREATE)
    with pytest.raises(ValueError, match=r"^lastjid is a key"):
        call()


def test_plan_caches_stay_bounded() -> None:
    jid = jailcore.jail_set({"persist": True}, JailFlag.CREATE)
    for i in range(600):
        jailcore.jail_set({"jid": jid, f"meta.k{i}": "v"}, JailFlag.UPDATE)
        jailcore.jail_get(jid, [f"meta.k{i}"])
        list(jailcore.jails([f"meta.k{i}"]))
    assert 0 < len(_iov._update_plans) <= 256
    assert 0 < len(_iov._plans) <= 256


def test_update_by_keywords_forgets_the_values_it_made_stale() -> None:
    """Jail.update(**kwargs) goes through a plan by spelling; the values the
    Jail object carries for the names changed (a boolean by either form) are
    read again afterwards, the others kept."""
    j = jailcore.Jail.create(name="a", path="/", host__hostname="one")
    assert j.get("host.hostname", "persist", "nopersist", "path") == {
        "host.hostname": "one", "persist": True, "nopersist": False, "path": "/"}
    j.update(host__hostname="two", nopersist=False)
    assert _iov.update_plans[("host__hostname", "nopersist")] is not None
    assert "host.hostname" not in j.values and "persist" not in j.values
    assert "nopersist" not in j.values and j.values["path"] == "/"
    assert j["host.hostname"] == "two" and j["persist"] is True
    # A value the plan cannot take goes the general way, which explains it.
    with pytest.raises(TypeError, match=r"host\.hostname"):
        j.update(host__hostname=5)
    with pytest.raises(TypeError, match="jid"):
        j.update(jid=3)


def test_a_buffer_a_plan_reuses_holds_nothing_of_the_last_call() -> None:
    """A plan's buffers serve call after call without being zeroed.  What the
    kernel reads of them must still be what a new buffer holds: a "jid" asked
    for besides a name key is read as a key when not 0, and a "name" besides
    a jid key of 0."""
    first = jailcore.jail_set({"name": "first", "persist": True, "host.hostname": "h" * 200,
                               "ip4.addr": "192.0.2.1,192.0.2.2"}, JailFlag.CREATE)
    second = jailcore.jail_set({"name": "second", "persist": True, "host.hostname": "s"},
                               JailFlag.CREATE)
    names = ["jid", "name", "host.hostname", "ip4.addr"]
    for _ in range(3):
        assert jailcore.jail_get("first", names) == {
            "jid": first, "name": "first", "host.hostname": "h" * 200,
            "ip4.addr": (ipaddress.IPv4Address("192.0.2.1"),
                         ipaddress.IPv4Address("192.0.2.2"))}
        assert jailcore.jail_get("second", names) == {
            "jid": second, "name": "second", "host.hostname": "s", "ip4.addr": ()}
    # The plan by jid, after reading a jail's name: jid 0 names no jail.
    assert jailcore.jail_get(first, ["name", "jid"]) == {"name": "first", "jid": first}
    for call in (_iov.jail_get, _iov._jail_get):
        with pytest.raises(jailcore.JailError) as info:
            call(0, ["name", "jid"])
        assert (info.value.errno, info.value.errmsg) == (errno.ENOENT, 'jail "" not found')


def test_threads_reading_through_one_plan_each_get_their_own_jail() -> None:
    """A buffer is one call's at a time: eight threads read eight jails through
    one plan at once, and each reads its own."""
    jids = [jailcore.jail_set({"name": f"t{i}", "persist": True,
                               "host.hostname": f"host{i}" * (i + 1),
                               "ip6.addr": f"2001:db8::{i + 1}"}, JailFlag.CREATE)
            for i in range(8)]
    failures: list[str] = []

    def worker(i: int) -> None:
        want = {"name": f"t{i}", "host.hostname": f"host{i}" * (i + 1),
                "ip6.addr": (ipaddress.IPv6Address(f"2001:db8::{i + 1}"),)}
        for _ in range(300):
            got = jailcore.jail_get(jids[i], ["name", "host.hostname", "ip6.addr"])
            if got != want:  # pragma: no cover - reported below
                failures.append(f"thread {i}: {got}")
                return

    in_threads(worker, 8)
    assert failures == []


@pytest.mark.parametrize("cls", [ipaddress.IPv4Address, ipaddress.IPv6Address])
def test_addresses_read_are_the_objects_ipaddress_makes(cls: Any) -> None:
    """Reads make address objects without ipaddress's constructor (on this
    Python: the maker passed its probe), on the prepared and the general path
    alike; they are what the constructor makes, to every operation a user
    has."""
    import copy
    import pickle

    make = params._fast_address(cls)
    assert make is not cls
    size = 4 if cls is ipaddress.IPv4Address else 16
    for packed in (bytes(size), b"\xff" * size, bytes(range(1, size + 1))):
        made, real = make(packed), cls(packed)
        assert type(made) is cls
        assert (made, hash(made), str(made), repr(made)) == (real, hash(real), str(real),
                                                             repr(real))
        assert pickle.loads(pickle.dumps(made)) == real and copy.copy(made) == real
        assert made.is_private == real.is_private and int(made) == int(real)
        assert {made: 1}[real] == 1 and sorted([real, made]) == [real, made]
    if cls is ipaddress.IPv6Address:
        assert make(bytes(16)).scope_id is None


def test_a_maker_that_fails_its_probe_gives_way_to_the_constructor() -> None:
    """Where ipaddress keeps its objects otherwise (here: a class with a slot
    of its own that repr needs), the constructor is used."""

    class Tagged(ipaddress.IPv4Address):
        __slots__ = ("tag",)

        def __init__(self, address: Any) -> None:
            super().__init__(address)
            self.tag = "t"

        def __repr__(self) -> str:
            return f"Tagged({str(self)!r}, {self.tag})"

    assert params._fast_address(Tagged) is Tagged


@pytest.mark.parametrize(("family", "texts"), [
    ("ip4.addr", ["192.0.2.1", "1.0.0.0", "10.0.0.255", "223.255.255.254"]),
    ("ip6.addr", ["::1", "::ffff:192.0.2.1", "2001:db8::", "ffff:ffff:ffff:ffff::",
                  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::10"]),
])
def test_addresses_made_in_c_are_the_constructors(family: str, texts: list[str]) -> None:
    """A plan makes its addresses in C (csrc/values.c), as params._fast_address
    does: each is the object ipaddress's constructor makes from its text, with
    both 64-bit halves of an IPv6 address, to every operation a user has."""
    import pickle

    cls = ipaddress.IPv4Address if family == "ip4.addr" else ipaddress.IPv6Address
    jid = jailcore.jail_set({"persist": True, family: texts}, JailFlag.CREATE)
    try:
        planned = jailcore.jail_get(jid, [family, "jid"])[family]
        assert planned == _iov._jail_get(jid, [family])[1][family]
        # (the kernel keeps the first address first and sorts the others)
        real = tuple(sorted(cls(t) for t in texts))
        planned = tuple(sorted(planned))
        assert planned == real and [type(a) for a in planned] == [cls] * len(texts)
        assert [(hash(a), str(a), repr(a), int(a), a.packed) for a in planned] == [
            (hash(r), str(r), repr(r), int(r), r.packed) for r in real]
        assert pickle.loads(pickle.dumps(planned)) == real
        if cls is ipaddress.IPv6Address:
            assert all(a.scope_id is None for a in planned)
    finally:
        jailcore.jail_remove(jid)


@pytest.mark.parametrize("entry", [
    ("x", -1, 0, 0, 4, None),                         # no such kind
    ("x", 99, 0, 0, 4, None),
    ("x", lib.JV_I32, -8, 0, 4, None),                # an offset before the buffer
    ("x", lib.JV_I32, 0, 0, 4, len),                  # a number needs no function
    ("x", lib.JV_JAILSYS, 0, 0, 4, None),             # JailSys needs its three members
    ("x", lib.JV_ADDRS, 0, 0, 0, len),                # addresses of no size
    ("x", lib.JV_V4, 0, 0, 16, ipaddress.IPv4Address),  # an IPv4 address is 4 bytes
    ("x", lib.JV_V6, 0, 0, 16, len),                  # made of a class only
])
def test_a_values_plan_refuses_entries_it_cannot_follow(entry: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError, match="values_plan: a bad entry"):
        _backend.values_plan((entry,))


def test_values_takes_only_a_values_plan() -> None:
    with pytest.raises(ValueError):
        _backend.values(object(), 0)
    with pytest.raises(TypeError):
        _backend.values_plan([("x", lib.JV_I32, 0, 0, 4, None)])


def _outcome(params: dict[str, Any], names: list[str]) -> Any:
    """What jail_set of ``params`` through a plan comes to: the values read
    back, or the error's type and text."""
    try:
        jid = jailcore.jail_set({"persist": True, **params}, JailFlag.CREATE)
    except (TypeError, ValueError, OSError) as exc:
        return type(exc), str(exc)
    try:
        return jailcore.jail_get(jid, names)
    finally:
        jailcore.jail_remove(jid)


@pytest.mark.parametrize("params", [
    *({"host.hostid": v} for v in (-1, 0, 2**32 - 1, 2**32, 2**63, 2**64 - 1, 2**64)),
    *({"securelevel": v} for v in (-(2**31) - 1, -(2**31), -1, 2**31 - 1, 2**31)),
    *({"children.max": v} for v in (0, 3, -3, 1.5, None, "3", True)),
    {"host.hostname": "x" * 255, "path": "/" + "p" * 1000, "host.domainname": "d" * 255},
    {"host.hostname": "caf\u00e9", "meta": "a=1\nb=2"},
    {"host.hostname": b"bytes"}, {"host.hostname": "a\0b"}, {"host.hostname": "caf\udce9"},
    {"ip4.addr": ["192.0.2.1", "192.0.2.2"]}, {"ip4.addr": ("192.0.2.3",)},
    {"ip4.addr": [" 192.0.2.4 ", ""]}, {"ip4.addr": ["192.0.2.5", 5]},
    {"ip4.addr": "192.0.2.6,300.0.0.1"}, {"ip6.addr": ["2001:db8::1", "::1"]},
    {"allow.raw_sockets": False, "allow.nomount": True}, {"allow.raw_sockets": 1},
    {"host": jailcore.JailSys.NEW}, {"host": "new"},
])
def test_values_encoded_in_c_come_to_what_python_encodes(
    params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prepared jail_set encodes its values in C (csrc/values.c's set_call);
    with the seam wrapped it encodes them in Python.  Both come to the same
    values read back or the same error, new plan or not."""
    names = list(params)
    in_c = [_outcome(params, names) for _ in range(2)]
    from seam import install

    install(monkeypatch)
    in_python = [_outcome(params, names) for _ in range(2)]
    assert in_c == in_python
    assert in_c[0] == in_c[1]


@pytest.mark.parametrize(("encoders", "tail", "nslots"), [
    (((99, 0, 0, 0, None),), (b"",), 1),             # no such encoder
    (((lib.JE_SINT, 2, 0, 1, None),), (b"",), 1),    # numbers of 4 or 8 bytes
    (((lib.JE_FN, 0, 0, 0, None),), (b"",), 1),      # a function needs one
    (((lib.JE_STR, 0, 0, 0, len),), (b"",), 1),      # and nothing else has one
    (((lib.JE_STR, 0, 0, 0, None),) * 3, (b"",), 1),  # more values than slots
])
def test_a_set_plan_refuses_what_it_cannot_follow(encoders: tuple[Any, ...], tail: tuple[Any, ...],
                                                  nslots: int) -> None:
    slots = ffi.new("struct jc_set_slot[]", 4)
    with pytest.raises(ValueError, match="set_plan: a bad"):
        _backend.set_plan(int(ffi.cast("uintptr_t", slots)), nslots, encoders, tail)


def test_set_call_hands_fewer_values_to_the_general_path() -> None:
    slots = ffi.new("struct jc_set_slot[]", 2)
    plan = _backend.set_plan(int(ffi.cast("uintptr_t", slots)), 2,
                             ((lib.JE_STR, 0, 0, 0, None),) * 2, (b"",))
    assert _backend.set_call(plan, ["one"], (), _backend.BACKEND, 0) is None
    assert _backend.set_call(plan, iter(["one"]), (), _backend.BACKEND, 0) is None
    given = _backend.set_plan(int(ffi.cast("uintptr_t", slots)), 2,
                              ((lib.JE_STR, 0, 0, 0, None),), (b"",))
    with pytest.raises(TypeError, match="set_call: the head is bytes"):
        _backend.set_call(given, ["b"], ("not bytes",), _backend.BACKEND, 0)


def test_a_values_plan_keeps_its_reads_inside_the_buffer() -> None:
    plan = ffi.new("struct jc_get_plan *")
    call = int(ffi.cast("uintptr_t", plan))
    assert _backend.values_plan((("x", lib.JV_I32, 0, 8, 4, None),), call, 16) is not None
    for entry in (("x", lib.JV_I32, 12, 0, 4, None), ("x", lib.JV_STR, 0, 13, 4, None)):
        with pytest.raises(ValueError, match="values_plan: a bad entry"):
            _backend.values_plan((entry,), call, 16)
    with pytest.raises(ValueError, match="needs its buffer's size"):
        _backend.values_plan((), call)


def test_set_call_keeps_the_values_it_encodes_alive() -> None:
    """Values that only the iterator held (here: made by a generator) stay
    alive until the call has read their bytes (ASan sees it otherwise)."""
    plan = _iov._SetPlan.make(("name", "host.hostname", "persist"), True)
    assert plan is not None
    texts = ["kept", "h" * 200]
    jid = plan.call((v if isinstance(v, bool) else "".join([v, ""]) + ""
                     for v in [*texts, True]), JailFlag.CREATE)
    assert jid is not None and jailcore.jail_get(jid, ["name", "host.hostname"]) == {
        "name": "kept", "host.hostname": "h" * 200}
