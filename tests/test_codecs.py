"""Codecs: every parameter kind round-trips through the model, and bad values are
refused before the call with an error naming the parameter.

The properties write a generated value with jailcore.jail_set and read it back
with jailcore.jail_get: the bytes pass through the same iovec protocol FreeBSD
speaks (spec sections 2.3, 2.4, 3, 4.6).  Expected read-backs follow the spec:
the kernel keeps the first address and sorts the rest (section 4.6).
"""

from __future__ import annotations

import errno
import ipaddress
import struct
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jailcore
import jailcore.model
from jailcore import JailFlag, JailSys, params

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
ULONG_MAX = 2 ** (8 * struct.calcsize("L")) - 1


@contextmanager
def new_jail(values: Mapping[str, Any]) -> Iterator[int]:
    """A persistent jail created with ``values``, removed afterwards (the host is
    reset only between tests, not between hypothesis examples)."""
    jid = jailcore.jail_set({"persist": True, **values}, JailFlag.CREATE)
    try:
        yield jid
    finally:
        jailcore.jail_remove(jid)


def roundtrip(values: Mapping[str, Any], names: list[str] | None = None) -> dict[str, Any]:
    with new_jail(values) as jid:
        return jailcore.jail_get(jid, names or list(values))


def update_roundtrip(values: Mapping[str, Any]) -> dict[str, Any]:
    with new_jail({}) as jid:
        assert jailcore.jail_set({"jid": jid, **values}, JailFlag.UPDATE) == jid
        return jailcore.jail_get(jid, list(values))


# ---- strategies --------------------------------------------------------------------


def _no(chars: str) -> st.SearchStrategy[str]:
    return st.characters(blacklist_categories=("Cs",), blacklist_characters=chars)


def text_within(max_bytes: int, exclude: str = "\0") -> st.SearchStrategy[str]:
    """Unicode text, or arbitrary bytes seen through surrogateescape, fitting
    ``max_bytes`` bytes of UTF-8 without NUL (or ``exclude``)."""
    unicode = st.text(_no(exclude), max_size=max_bytes)
    raw = st.binary(max_size=max_bytes).map(
        lambda b: bytes(c for c in b if chr(c) not in exclude).decode("utf-8", "surrogateescape")
    )
    return st.one_of(unicode, raw).filter(
        lambda s: len(s.encode("utf-8", "surrogateescape")) <= max_bytes
    )


def ipv4s(max_size: int) -> st.SearchStrategy[list[ipaddress.IPv4Address]]:
    addr = st.integers(1, 2**32 - 2).map(ipaddress.IPv4Address)  # not 0.0.0.0 nor broadcast
    return st.lists(addr, min_size=1, max_size=max_size, unique=True)


def ipv6s(max_size: int) -> st.SearchStrategy[list[ipaddress.IPv6Address]]:
    addr = st.integers(1, 2**128 - 1).map(ipaddress.IPv6Address)  # not ::
    return st.lists(addr, min_size=1, max_size=max_size, unique=True)


def kernel_order(addrs: list[Any]) -> tuple[Any, ...]:
    """Spec 4.6: the first address stays first, the others are sorted."""
    return (addrs[0], *sorted(addrs[1:]))


def spellings(addrs: list[Any]) -> st.SearchStrategy[Any]:
    """The same addresses as objects, strings, a comma list, or a mix."""
    strs = [str(a) for a in addrs]
    return st.sampled_from([
        tuple(addrs), list(addrs), strs, ",".join(strs), ", ".join(strs),
        [addrs[0], *strs[1:]],
    ])


KEY_TEXT = st.text(_no("\0\n="), min_size=1, max_size=20)
VALUE_TEXT = st.text(_no("\0\n"), max_size=40)


# ---- integers -----------------------------------------------------------------------


@SETTINGS
@given(
    securelevel=st.integers(-1, INT_MAX),  # not below the host's -1 (EPERM)
    children_max=st.integers(0, 999_998),  # strictly below the host's 999999
    devfs_ruleset=st.integers(0, 65535),
    enforce_statfs=st.integers(0, 2),
    osreldate=st.integers(INT_MIN, INT_MAX).filter(lambda n: n != 0),
)
def test_int_codec_round_trips_through_the_model(
    securelevel: int, children_max: int, devfs_ruleset: int, enforce_statfs: int, osreldate: int
) -> None:
    values = {"securelevel": securelevel, "children.max": children_max,
              "devfs_ruleset": devfs_ruleset, "enforce_statfs": enforce_statfs,
              "osreldate": osreldate}
    got = roundtrip(values)
    assert got == values
    assert all(type(v) is int for v in got.values())


@SETTINGS
@given(securelevel=st.integers(-1, INT_MAX), enforce_statfs=st.integers(0, 2))
def test_int_codec_round_trips_on_update(securelevel: int, enforce_statfs: int) -> None:
    values = {"securelevel": securelevel, "enforce_statfs": enforce_statfs}
    assert update_roundtrip(values) == values


@SETTINGS
@given(hostid=st.integers(0, ULONG_MAX))
def test_hostid_round_trips_over_the_whole_unsigned_long_range(hostid: int) -> None:
    assert roundtrip({"host.hostid": hostid}) == {"host.hostid": hostid}
    assert update_roundtrip({"host.hostid": hostid}) == {"host.hostid": hostid}


# ---- strings ------------------------------------------------------------------------


@SETTINGS
@given(hostname=text_within(255), domainname=text_within(255), hostuuid=text_within(63))
def test_string_codec_round_trips_any_text_within_the_maximum(
    hostname: str, domainname: str, hostuuid: str
) -> None:
    values = {"host.hostname": hostname, "host.domainname": domainname,
              "host.hostuuid": hostuuid}
    got = roundtrip(values)
    assert got == values
    assert all(type(v) is str for v in got.values())
    assert update_roundtrip(values) == values


@SETTINGS
@given(osrelease=text_within(30))
def test_create_only_string_round_trips(osrelease: str) -> None:
    # The kernel refuses an osrelease whose iov_len reaches OSRELEASELEN (32), one
    # byte less than the sysctl's advertised size: 30 bytes and the NUL (spec 4.1 step 21).
    assert roundtrip({"osrelease": osrelease}) == {"osrelease": osrelease}


def test_osrelease_of_31_bytes_is_refused_by_the_kernel_in_its_own_words() -> None:
    with pytest.raises(jailcore.JailError) as info:
        roundtrip({"osrelease": "r" * 31})
    assert (info.value.errno, info.value.errmsg) == (
        errno.ENAMETOOLONG, "osrelease string must be 1-31 bytes long")


@SETTINGS
@given(suffix=text_within(200, exclude="\0."))
def test_name_round_trips(suffix: str) -> None:
    name = "j-" + suffix  # never numeric, never dotted (spec 4.4)
    assert roundtrip({"name": name}) == {"name": name}
    with new_jail({"name": name}) as jid:
        assert jailcore.jail_get(name, ["jid", "name"]) == {"jid": jid, "name": name}


def test_string_maximum_is_inclusive_of_the_nul() -> None:
    assert roundtrip({"host.hostname": "a" * 255}) == {"host.hostname": "a" * 255}
    assert roundtrip({"host.hostuuid": "u" * 63}) == {"host.hostuuid": "u" * 63}
    assert roundtrip({"host.hostname": "é" * 127}) == {"host.hostname": "é" * 127}


def test_numeric_looking_strings_stay_strings() -> None:
    """gojail guessed types from values: "123" must go as a string, not an int."""
    got = roundtrip({"host.hostname": "123", "host.domainname": "0"})
    assert got == {"host.hostname": "123", "host.domainname": "0"}


def test_path_round_trips(tmp_path: Any) -> None:
    assert roundtrip({"path": str(tmp_path)}) == {"path": str(tmp_path)}


# ---- booleans -----------------------------------------------------------------------

WRITABLE_BOOLS = [
    "ip4.saddrsel", "ip6.saddrsel", "allow.set_hostname", "allow.sysvipc",
    "allow.raw_sockets", "allow.chflags", "allow.quotas", "allow.socket_af", "allow.mlock",
    "allow.reserved_ports", "allow.read_msgbuf", "allow.unprivileged_proc_debug",
    "allow.unprivileged_parent_tampering", "allow.suser", "allow.nfsd", "allow.extattr",
    "allow.adjtime", "allow.settime", "allow.routing", "allow.mount", "allow.mount.devfs",
    "allow.mount.nullfs", "allow.mount.tmpfs",
]


def no_form(name: str) -> str:
    head, dot, last = name.rpartition(".")
    return f"{head}{dot}no{last}"


@SETTINGS
@given(
    chosen=st.dictionaries(st.sampled_from(WRITABLE_BOOLS), st.booleans(), min_size=1),
    use_no=st.lists(st.booleans(), min_size=len(WRITABLE_BOOLS),
                    max_size=len(WRITABLE_BOOLS)),
    as_int=st.booleans(),
)
def test_bool_codec_and_no_forms_round_trip(
    chosen: dict[str, bool], use_no: list[bool], as_int: bool
) -> None:
    request: dict[str, Any] = {}
    for name, value in chosen.items():
        flip = use_no[WRITABLE_BOOLS.index(name)]
        v: Any = (not value) if flip else value
        request[no_form(name) if flip else name] = int(v) if as_int else v
    names = [*chosen, *(no_form(n) for n in chosen)]
    with new_jail(request) as jid:
        got = jailcore.jail_get(jid, names)
        # One form of each, asked separately, agrees with both asked together.
        for name in chosen:
            assert jailcore.jail_get(jid, [no_form(name)]) == {no_form(name): not chosen[name]}
    assert got == {**chosen, **{no_form(n): not v for n, v in chosen.items()}}
    assert all(type(v) is bool for v in got.values())


@SETTINGS
@given(chosen=st.dictionaries(st.sampled_from(WRITABLE_BOOLS), st.booleans(), min_size=1))
def test_bool_codec_round_trips_on_update(chosen: dict[str, bool]) -> None:
    assert update_roundtrip(chosen) == chosen


def test_persist_and_nopersist_asked_together_both_answer() -> None:
    """The kernel fills only the later of persist/nopersist: both must still be right."""
    with new_jail({}) as jid:
        got = jailcore.jail_get(jid, ["persist", "nopersist", "dying", "nodying"])
        assert got == {"persist": True, "nopersist": False, "dying": False, "nodying": True}
        got = jailcore.jail_get(jid, ["nopersist", "persist"])
        assert got == {"nopersist": False, "persist": True}


# ---- jailsys ------------------------------------------------------------------------

JAILSYS_SPELLINGS = {
    JailSys.DISABLE: [JailSys.DISABLE, 0, "disable", "DISABLE", "Disable", " disable "],
    JailSys.NEW: [JailSys.NEW, 1, "new", "NEW", "New", ""],
    JailSys.INHERIT: [JailSys.INHERIT, 2, "inherit", "INHERIT", "Inherit"],
}


def jailsys_values(allowed: list[JailSys]) -> st.SearchStrategy[tuple[JailSys, Any]]:
    return st.sampled_from(
        [(js, spelled) for js in allowed for spelled in JAILSYS_SPELLINGS[js]]
    )


@SETTINGS
@given(
    host=jailsys_values([JailSys.NEW, JailSys.INHERIT]),
    vnet=jailsys_values([JailSys.NEW, JailSys.INHERIT]),
    sysvmsg=jailsys_values(list(JailSys)),
    sysvsem=jailsys_values(list(JailSys)),
    sysvshm=jailsys_values(list(JailSys)),
)
def test_jailsys_codec_round_trips_any_spelling(
    host: tuple[JailSys, Any], vnet: tuple[JailSys, Any], sysvmsg: tuple[JailSys, Any],
    sysvsem: tuple[JailSys, Any], sysvshm: tuple[JailSys, Any],
) -> None:
    chosen = {"host": host, "vnet": vnet, "sysvmsg": sysvmsg, "sysvsem": sysvsem,
              "sysvshm": sysvshm}
    got = roundtrip({k: spelled for k, (_, spelled) in chosen.items()})
    assert got == {k: js for k, (js, _) in chosen.items()}
    assert all(type(v) is JailSys for v in got.values())


# ---- addresses ----------------------------------------------------------------------


@SETTINGS
@given(data=st.data(), ip4=ipv4s(40), ip6=ipv6s(24))
def test_address_codecs_round_trip_in_kernel_order(
    data: st.DataObject, ip4: list[ipaddress.IPv4Address], ip6: list[ipaddress.IPv6Address]
) -> None:
    got = roundtrip({"ip4.addr": data.draw(spellings(ip4)),
                     "ip6.addr": data.draw(spellings(ip6))})
    assert got == {"ip4.addr": kernel_order(ip4), "ip6.addr": kernel_order(ip6)}
    assert type(got["ip4.addr"]) is tuple
    assert all(type(a) is ipaddress.IPv4Address for a in got["ip4.addr"])
    assert all(type(a) is ipaddress.IPv6Address for a in got["ip6.addr"])


@SETTINGS
@given(first=ipv4s(20), second=ipv4s(20))
def test_address_codec_round_trips_on_update(
    first: list[ipaddress.IPv4Address], second: list[ipaddress.IPv4Address]
) -> None:
    with new_jail({"ip4.addr": first}) as jid:
        jailcore.jail_set({"jid": jid, "ip4.addr": second}, JailFlag.UPDATE)
        assert jailcore.jail_get(jid, ["ip4.addr"]) == {"ip4.addr": kernel_order(second)}
        jailcore.jail_set({"jid": jid, "ip4.addr": ()}, JailFlag.UPDATE)
        assert jailcore.jail_get(jid, ["ip4.addr"]) == {"ip4.addr": ()}


def test_a_jail_without_addresses_reads_back_an_empty_tuple() -> None:
    assert roundtrip({}, ["ip4.addr", "ip6.addr"]) == {"ip4.addr": (), "ip6.addr": ()}


# ---- meta / env ---------------------------------------------------------------------


def keyvalue_dicts() -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(KEY_TEXT, VALUE_TEXT, max_size=12).filter(
        lambda d: len("\n".join(f"{k}={v}" for k, v in d.items()).encode()) < 4096
    )


@SETTINGS
@given(meta=keyvalue_dicts(), env=keyvalue_dicts())
def test_keyvalue_codec_round_trips_dicts(meta: dict[str, str], env: dict[str, str]) -> None:
    got = roundtrip({"meta": meta, "env": env})
    assert got == {"meta": meta, "env": env}
    assert list(got["meta"].items()) == list(meta.items())
    assert update_roundtrip({"meta": meta}) == {"meta": meta}


@SETTINGS
@given(
    start=keyvalue_dicts(),
    key=KEY_TEXT,
    value=st.one_of(st.none(), VALUE_TEXT),
)
def test_meta_key_codec_sets_reads_and_removes_one_key(
    start: dict[str, str], key: str, value: str | None
) -> None:
    with new_jail({"meta": start}) as jid:
        jailcore.jail_set({"jid": jid, f"meta.{key}": value}, JailFlag.UPDATE)
        got = jailcore.jail_get(jid, [f"meta.{key}", "meta"])
    expected = dict(start)
    if value is None:
        expected.pop(key, None)
    else:
        expected[key] = value
    assert got[f"meta.{key}"] == value
    assert got["meta"] == expected


def test_meta_key_of_an_absent_key_reads_none_and_empty_value_reads_empty() -> None:
    with new_jail({"meta.a": "", "env.b": "1"}) as jid:
        got = jailcore.jail_get(jid, ["meta.a", "meta.zz", "env.b", "env.a"])
    assert got == {"meta.a": "", "meta.zz": None, "env.b": "1", "env.a": None}


def test_keyvalue_codec_accepts_the_raw_text() -> None:
    got = roundtrip({"meta": "a=1\nb=x=y"})
    assert got == {"meta": {"a": "1", "b": "x=y"}}


# ---- native encoding ------------------------------------------------------------------


def test_integers_are_encoded_natively_not_by_hand() -> None:
    """libjail-rs packed integers little-endian by hand: use the C types' encoding."""
    assert params.spec("securelevel").encode(-1) == struct.pack("i", -1)
    assert params.spec("host.hostid").encode(ULONG_MAX) == struct.pack("L", ULONG_MAX)
    assert len(params.spec("host.hostid").encode(1)) == struct.calcsize("L")
    assert params.spec("vnet").encode("inherit") == struct.pack("i", 2)
    big = 0x0102030405060708
    assert params.spec("host.hostid").decode(struct.pack("L", big)) == big
    assert roundtrip({"host.hostid": big}) == {"host.hostid": big}
    assert roundtrip({"host.hostid": 2**32}) == {"host.hostid": 2**32}


def test_addresses_are_encoded_in_network_byte_order() -> None:
    assert params.spec("ip4.addr").encode("10.1.2.3") == bytes([10, 1, 2, 3])
    assert params.spec("ip6.addr").encode("::1") == bytes(15) + b"\1"


# ---- rejection: wrong types ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("securelevel", "3"),  # a value's type does not choose the codec
        ("securelevel", True),  # a bool is not an int parameter's value
        ("securelevel", 3.0),
        ("securelevel", None),
        ("children.max", b"\1\0\0\0"),
        ("host.hostid", "1"),
        ("host.hostid", False),
        ("host.hostname", 123),
        ("host.hostname", b"web"),
        ("host.hostname", None),
        ("persist", "yes"),
        ("persist", "true"),
        ("persist", 2),
        ("persist", None),
        ("allow.mount", 1.0),
        ("vnet", True),
        ("vnet", 1.5),
        ("vnet", None),
        ("ip4.addr", 167772161),
        ("ip4.addr", b"\n\0\0\1"),
        ("ip4.addr", [ipaddress.IPv6Address("::1")]),
        ("ip6.addr", [ipaddress.IPv4Address("10.0.0.1")]),
        ("ip4.addr", [ipaddress.IPv4Network("10.0.0.0/8")]),
        ("meta", ["a=1"]),
        ("meta", {"a": 1}),
        ("meta", {1: "a"}),
        ("meta.k", 5),
        ("env.k", b"v"),
    ],
)
def test_wrong_python_type_is_a_typeerror_naming_the_parameter(name: str, value: Any) -> None:
    with pytest.raises(TypeError) as info:
        jailcore.jail_set({"persist": True, name: value}, JailFlag.CREATE)
    assert str(info.value).startswith(f"{name}: ")
    with pytest.raises(jailcore.JailNotFoundError):
        jailcore.jail_get({"lastjid": 0}, ["jid"])  # nothing was created


# ---- rejection: values ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("securelevel", 2**31),
        ("securelevel", -(2**31) - 1),
        ("devfs_ruleset", 2**40),
        ("children.max", -(2**63)),
        ("host.hostid", -1),
        ("host.hostid", ULONG_MAX + 1),
        ("host.hostname", "a\0b"),
        ("host.hostname", "\0"),
        ("host.hostname", "a" * 256),
        ("host.hostname", "é" * 128),  # 256 bytes of UTF-8
        ("host.hostname", "\ud800"),  # not encodable
        ("host.hostuuid", "u" * 64),
        ("osrelease", "r" * 32),
        ("name", "n" * 256),
        ("vnet", "bogus"),
        ("vnet", 3),
        ("vnet", -1),
        ("ip4.addr", "300.0.0.1"),
        ("ip4.addr", "10.0.0.1,bogus"),
        ("ip4.addr", "::1"),
        ("ip6.addr", "10.0.0.1"),
        ("ip6.addr", "fe80::1::2"),
        ("meta", {"a=b": "c"}),
        ("meta", {"": "c"}),
        ("meta", {"a\nb": "c"}),
        ("meta", {"a": "1\n2"}),
        ("meta", {"a": "\0"}),
        ("meta", "x" * 4096),
        ("meta", {"k": "v" * 4094}),
        ("meta.k", "1\n2"),
        ("meta.k", "a\0"),
    ],
)
def test_bad_value_is_a_valueerror_naming_the_parameter(name: str, value: Any) -> None:
    with pytest.raises(ValueError) as info:
        jailcore.jail_set({"persist": True, name: value}, JailFlag.CREATE)
    assert str(info.value).startswith(f"{name}: ")
    with pytest.raises(jailcore.JailNotFoundError):
        jailcore.jail_get({"lastjid": 0}, ["jid"])  # nothing was created


def test_a_value_within_the_c_range_but_refused_by_the_kernel_is_a_jailerror() -> None:
    # devfs_ruleset's 0..65535 and enforce_statfs's 0..2 are the kernel's rules, not C's.
    for name, value in (("devfs_ruleset", 65536), ("enforce_statfs", 3)):
        with pytest.raises(jailcore.JailError) as info:
            jailcore.jail_set({"persist": True, name: value}, JailFlag.CREATE)
        assert info.value.errno == 22


def test_read_only_parameters_are_refused_before_the_call() -> None:
    for name, value in (("parent", 0), ("children.cur", 0), ("cpuset.id", 1),
                        ("dying", False), ("nodying", True), ("lastjid", 0)):
        with pytest.raises(ValueError) as info:
            jailcore.jail_set({"persist": True, name: value}, JailFlag.CREATE)
        assert str(info.value).startswith(f"{name}: "), name


# ---- accepted spellings ----------------------------------------------------------------


@pytest.mark.parametrize("spelled", ["NEW", "New", "new", " new", JailSys.NEW, 1, ""])
def test_jailsys_strings_are_case_insensitive(spelled: Any) -> None:
    assert params.spec("host").encode(spelled) == struct.pack("i", 1)
    assert roundtrip({"host": spelled}) == {"host": JailSys.NEW}


@pytest.mark.parametrize(
    "spelled",
    [
        "10.0.0.2,10.0.0.1",
        " 10.0.0.2 , 10.0.0.1 ",
        ["10.0.0.2", "10.0.0.1"],
        ("10.0.0.2", ipaddress.IPv4Address("10.0.0.1")),
        [ipaddress.IPv4Address("10.0.0.2"), ipaddress.IPv4Address("10.0.0.1")],
        (a for a in ["10.0.0.2", "10.0.0.1"]),
        ["10.0.0.2,10.0.0.1"],
    ],
)
def test_addresses_as_strings_comma_lists_and_ipaddress_objects(spelled: Any) -> None:
    expected = (ipaddress.IPv4Address("10.0.0.2"), ipaddress.IPv4Address("10.0.0.1"))
    assert roundtrip({"ip4.addr": spelled}, ["ip4.addr"]) == {"ip4.addr": expected}


def test_a_single_address_string_or_object() -> None:
    one = ipaddress.IPv6Address("2001:db8::1")
    assert roundtrip({"ip6.addr": "2001:db8::1"}) == {"ip6.addr": (one,)}
    assert roundtrip({"ip6.addr": one}) == {"ip6.addr": (one,)}


def test_booleans_accept_0_and_1() -> None:
    assert roundtrip({"allow.mount": 1, "allow.nochflags": 1}) == {
        "allow.mount": True, "allow.nochflags": True}
