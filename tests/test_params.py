"""Parameter discovery: jailcore.params learns every parameter from the sysctl tree.

Expected values come from spec sections 3 and 7 (the parameter table, the
meta-sysctls, libjail's jailparam_type).  Each test is named after the mistake
it guards against.
"""

from __future__ import annotations

import errno
import os
import pydoc
import struct

import pytest

import jailcore
import jailcore.model
from jailcore import _backend, params
from jailcore.params import Access, Kind


def assert_unknown(exc: BaseException, name: str) -> None:
    """``exc`` says that ``name`` is unknown: an UnknownParameterError (a
    ValueError) naming it, with the closest known names, if any, after it."""
    assert isinstance(exc, jailcore.UnknownParameterError) and isinstance(exc, ValueError)
    assert exc.name == name
    hint = f" (did you mean {' or '.join(exc.suggestions)}?)" if exc.suggestions else ""
    assert str(exc) == f"unknown parameter: {name}{hint}"
    assert all(s in params.all_params() for s in exc.suggestions)

W, C, R = Access.WRITABLE, Access.CREATE_ONLY, Access.READ_ONLY

# name -> (kind, sysctl format, size, access): spec section 3.1 (15.x), 3.5 (sizes)
CORE: dict[str, tuple[Kind, str, int, Access]] = {
    "jid": (Kind.INT, "I", 4, C),
    "parent": (Kind.INT, "I", 4, R),
    "name": (Kind.STRING, "A", 256, W),
    "path": (Kind.STRING, "A", 1024, C),
    "securelevel": (Kind.INT, "I", 4, W),
    "osreldate": (Kind.INT, "I", 4, C),
    "osrelease": (Kind.STRING, "A", 32, C),
    "enforce_statfs": (Kind.INT, "I", 4, W),
    "devfs_ruleset": (Kind.INT, "I", 4, W),
    "persist": (Kind.BOOL, "B", 4, W),
    "vnet": (Kind.JAILSYS, "E,jailsys", 4, C),
    "dying": (Kind.BOOL, "B", 4, R),
    "children.cur": (Kind.INT, "I", 4, R),
    "children.max": (Kind.INT, "I", 4, W),
    "host": (Kind.JAILSYS, "E,jailsys", 4, W),
    "host.hostname": (Kind.STRING, "A", 256, W),
    "host.domainname": (Kind.STRING, "A", 256, W),
    "host.hostuuid": (Kind.STRING, "A", 64, W),
    "host.hostid": (Kind.ULONG, "LU", struct.calcsize("L"), W),
    "cpuset.id": (Kind.INT, "I", 4, R),
    "ip4": (Kind.JAILSYS, "E,jailsys", 4, C),
    "ip4.addr": (Kind.IPV4, "S,in_addr,a", 4, W),
    "ip4.saddrsel": (Kind.BOOL, "B", 4, W),
    "ip6": (Kind.JAILSYS, "E,jailsys", 4, C),
    "ip6.addr": (Kind.IPV6, "S,in6_addr,a", 16, W),
    "ip6.saddrsel": (Kind.BOOL, "B", 4, W),
}
ALLOW_14 = [
    "set_hostname", "sysvipc", "raw_sockets", "chflags", "quotas", "socket_af", "mlock",
    "reserved_ports", "read_msgbuf", "unprivileged_proc_debug", "suser", "nfsd", "extattr",
    "adjtime", "settime", "mount", "mount.devfs",
]
ALLOW_15 = [*ALLOW_14, "unprivileged_parent_tampering", "routing"]
BOOL_W = (Kind.BOOL, "B", 4, W)
KEYVALUE = (Kind.KEYVALUE, "A,keyvalue", 4096, W)

EXPECTED_14 = {**CORE, **{f"allow.{a}": BOOL_W for a in ALLOW_14}}
EXPECTED_15 = {**EXPECTED_14, **{f"allow.{a}": BOOL_W for a in ALLOW_15},
               "meta": KEYVALUE, "env": KEYVALUE}


def sysctl_string(name: str) -> str:
    err, mib = _backend.sysctlnametomib(name)
    assert err == 0, os.strerror(err)
    err, data = _backend.sysctl(mib, 64)
    assert err == 0, os.strerror(err)
    return data.split(b"\0", 1)[0].decode()


def shape(name: str) -> tuple[Kind, str, int, Access]:
    s = params.spec(name)
    return (s.kind, s.fmt, s.size, s.access)


# ---- every format kind, access from the flags -----------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED_15))
def test_types_come_from_the_sysctl_format_not_from_a_guess_15(name: str) -> None:
    assert shape(name) == EXPECTED_15[name]
    s = params.spec(name)
    assert s.name == name
    assert not s.nobool and s.key is None


@pytest.mark.parametrize("name", sorted(EXPECTED_14))
def test_types_come_from_the_sysctl_format_not_from_a_guess_14(name: str) -> None:
    jailcore.model.set_version(14)
    assert shape(name) == EXPECTED_14[name]


def test_no_unsigned_int_parameter_is_invented() -> None:
    # The model offers no IU parameter (jail_max_af_ips is IU but not a parameter);
    # discovery must not turn an I parameter into an unsigned one.
    kinds = {params.spec(n).kind for n in params.all_params()}
    assert Kind.UINT not in kinds
    assert {Kind.INT, Kind.ULONG, Kind.BOOL, Kind.JAILSYS, Kind.STRING, Kind.KEYVALUE,
            Kind.IPV4, Kind.IPV6} <= kinds


def test_string_maximum_is_read_from_the_sysctl_value_not_a_table() -> None:
    for name in ("name", "path", "osrelease", "host.hostname", "host.domainname",
                 "host.hostuuid", "meta", "env"):
        assert params.spec(name).size == int(sysctl_string(f"security.jail.param.{name}"))
    # Lower the meta/env soft limit: the advertised maximum follows it.
    err, mib = _backend.sysctlnametomib("security.jail.meta_maxbufsize")
    assert err == 0
    assert _backend.sysctl(mib, 4, struct.pack("I", 100))[0] == 0
    params.clear_cache()
    assert params.spec("meta").size == 100
    assert params.spec("env").size == 100
    assert params.spec("meta.k").size == 100
    with pytest.raises(ValueError, match=r"^meta: "):
        params.spec("meta").encode({"k": "x" * 100})


def test_access_comes_from_the_flags_create_only_and_read_only() -> None:
    assert params.spec("path").access is Access.CREATE_ONLY
    assert not params.spec("path").writable
    assert params.spec("path").settable_at_create
    assert params.spec("dying").access is Access.READ_ONLY
    assert not params.spec("dying").settable_at_create
    assert params.spec("host.hostname").access is Access.WRITABLE
    assert params.spec("host.hostname").writable
    for name in ("parent", "children.cur", "cpuset.id", "dying"):
        assert params.spec(name).access is Access.READ_ONLY, name
    for name in ("path", "osrelease", "osreldate", "vnet", "ip4", "ip6"):
        assert params.spec(name).access is Access.CREATE_ONLY, name


# ---- nodes carrying their type in an empty-named child -------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [("host", Kind.JAILSYS), ("ip4", Kind.JAILSYS), ("ip6", Kind.JAILSYS),
     ("allow.mount", Kind.BOOL), ("sysvmsg", Kind.JAILSYS), ("sysvsem", Kind.JAILSYS),
     ("sysvshm", Kind.JAILSYS)],
)
def test_node_parameters_are_typed_by_their_empty_named_child(name: str, kind: Kind) -> None:
    s = params.spec(name)
    assert s.kind is kind
    assert s.name == name  # not "host." as the leaf is spelled in the tree


@pytest.mark.parametrize("name", ["children", "cpuset", "allow"])
def test_plain_nodes_are_not_parameters(name: str) -> None:
    with pytest.raises(ValueError) as info:
        params.spec(name)
    assert_unknown(info.value, name)


# ---- no-forms ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "base"),
    [("nopersist", "persist"), ("allow.mount.nodevfs", "allow.mount.devfs"),
     ("allow.nosuser", "allow.suser"), ("allow.nomount", "allow.mount"),
     ("ip4.nosaddrsel", "ip4.saddrsel"), ("nodying", "dying")],
)
def test_no_forms_are_derived_on_the_last_dotted_component(name: str, base: str) -> None:
    s = params.spec(name)
    assert s.kind is Kind.BOOL
    assert s.nobool
    assert s.base == base
    assert s.access is params.spec(base).access


@pytest.mark.parametrize(
    "name",
    ["nosecurelevel", "nohost", "noname", "noip4.addr", "allow.nobogus", "nomount",
     "allownomount", "no"],
)
def test_no_form_of_a_non_boolean_or_misplaced_no_is_unknown(name: str) -> None:
    with pytest.raises(ValueError) as info:
        params.spec(name)
    assert_unknown(info.value, name)


# ---- meta.KEY ------------------------------------------------------------------------


def test_meta_and_env_keys_are_parameters_on_15() -> None:
    s = params.spec("meta.owner")
    assert (s.kind, s.key, s.base, s.access) == (Kind.KEY, "owner", "meta", W)
    e = params.spec("env.PATH")
    assert (e.kind, e.key, e.base) == (Kind.KEY, "PATH", "env")
    dotted = params.spec("meta.a.b")
    assert (dotted.key, dotted.base) == ("a.b", "meta")


def test_meta_with_an_empty_key_is_unknown() -> None:
    with pytest.raises(ValueError) as info:
        params.spec("meta.")
    assert_unknown(info.value, "meta.")


@pytest.mark.parametrize("name", ["host.", "host..", "allow.mount.", "persist.", "ip4..addr",
                                  "allow..mount", "nopersist.", ".meta"])
def test_names_with_an_empty_component_are_not_resolved_to_a_node(name: str) -> None:
    # sysctl's name2oid resolves "host." to the node and "host.." to its typed child.
    with pytest.raises(ValueError) as info:
        params.spec(name)
    assert_unknown(info.value, name)


@pytest.mark.parametrize(("name", "key"), [("meta..", "."), ("meta.a.", "a."),
                                           ("env..a", ".a")])
def test_keys_may_contain_dots(name: str, key: str) -> None:
    s = params.spec(name)
    assert (s.kind, s.key, s.base) == (Kind.KEY, key, name.split(".")[0])


def test_keys_of_a_non_keyvalue_parameter_are_unknown() -> None:
    with pytest.raises(ValueError) as info:
        params.spec("name.foo")
    assert_unknown(info.value, "name.foo")


@pytest.mark.parametrize("name", ["meta", "env", "meta.owner", "env.PATH",
                                  "allow.routing", "allow.unprivileged_parent_tampering"])
def test_15_only_parameters_are_unknown_on_14(name: str) -> None:
    jailcore.model.set_version(14)
    with pytest.raises(ValueError) as info:
        params.spec(name)
    assert_unknown(info.value, name)


def test_switching_release_is_not_hidden_by_a_stale_cache() -> None:
    assert params.spec("meta.k").kind is Kind.KEY
    jailcore.model.set_version(14)
    with pytest.raises(ValueError) as info:
        params.spec("meta.k")
    assert_unknown(info.value, "meta.k")
    jailcore.model.set_version(15)
    assert params.spec("meta.k").kind is Kind.KEY


# ---- unknown names -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bogus", "host.bogus", "allow.bogus", "ip4.addr.x", "",
                                  "lastjid.x", "security.jail.param.name"])
def test_unknown_names_raise_valueerror_naming_them(name: str) -> None:
    with pytest.raises(ValueError) as info:
        params.spec(name)
    assert_unknown(info.value, name)


def test_a_non_string_name_is_a_typeerror() -> None:
    with pytest.raises(TypeError):
        params.spec(3)  # type: ignore[arg-type]


def test_lastjid_is_a_synthetic_read_only_key() -> None:
    s = params.spec("lastjid")
    assert (s.kind, s.size, s.access) == (Kind.INT, 4, Access.READ_ONLY)
    assert "lastjid" not in params.all_params()


# ---- on-demand module loading --------------------------------------------------------


def test_module_parameters_load_their_module_on_demand() -> None:
    assert jailcore.model.loaded_modules() == []
    assert "allow.mount.nullfs" not in params.all_params()
    s = params.spec("allow.mount.nullfs")
    assert (s.kind, s.access) == (Kind.BOOL, W)
    assert jailcore.model.loaded_modules() == ["nullfs"]
    assert params.spec("sysvmsg").kind is Kind.JAILSYS
    assert sorted(jailcore.model.loaded_modules()) == ["nullfs", "sysvmsg"]
    # The cached enumeration is refreshed after a module was loaded.
    assert {"allow.mount.nullfs", "sysvmsg"} <= set(params.all_params())


def test_no_form_of_a_module_boolean_loads_the_module() -> None:
    s = params.spec("allow.mount.notmpfs")
    assert s.nobool and s.base == "allow.mount.tmpfs"
    assert jailcore.model.loaded_modules() == ["tmpfs"]


def test_an_unknown_filesystem_loads_nothing_and_is_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """libjail would kldload("bogusfs") (and, for allow.mount.ipfw, a firewall);
    jailcore loads only the file systems that add an allow.mount parameter."""
    loads: list[str] = []
    real = _backend.kldload

    def spy(name: str) -> tuple[int, int]:
        loads.append(name)
        return real(name)

    monkeypatch.setattr(_backend, "kldload", spy)
    for name, module in (("allow.mount.bogusfs", "bogusfs"), ("allow.mount.ipfw", "ipfw"),
                         ("allow.mount.nobogusfs", "nobogusfs")):
        with pytest.raises(jailcore.UnknownParameterError) as info:
            params.spec(name)
        assert info.value.name == name
        assert str(info.value).startswith(
            f"unknown parameter: {name} (jailcore loads no module {module} for it: if that "
            "module provides it, load it first with kldload(8)")
    assert loads == []
    assert jailcore.model.loaded_modules() == []


def test_a_mac_policy_parameter_names_its_module_and_loads_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """libjail loads no MAC policy either: the module is named for the user."""
    monkeypatch.setattr(_backend, "kldload", lambda name: pytest.fail(f"kldload({name!r})"))
    with pytest.raises(jailcore.UnknownParameterError) as info:
        params.spec("mac.portacl.rules")
    assert str(info.value) == (
        "unknown parameter: mac.portacl.rules (jailcore loads no module mac_portacl for it: "
        "if that module provides it, load it first with kldload(8))")


def test_a_typo_of_a_file_system_gets_both_the_note_and_a_suggestion() -> None:
    jailcore.model.kldload("nullfs")
    with pytest.raises(jailcore.UnknownParameterError) as info:
        params.spec("allow.mount.nulfs")
    assert info.value.suggestions[0] == "allow.mount.nullfs"
    assert str(info.value) == (
        "unknown parameter: allow.mount.nulfs (jailcore loads no module nulfs for it: if "
        "that module provides it, load it first with kldload(8); did you mean "
        "allow.mount.nullfs or allow.mount.devfs or allow.mount?)")


@pytest.mark.parametrize("name, module", [("linux", "linux"), ("linux.osname", "linux"),
                                          ("allow.mount.fusefs", "fusefs"),
                                          ("allow.mount.nolinprocfs", "linprocfs")])
def test_the_modules_libjail_loads_are_tried(
    monkeypatch: pytest.MonkeyPatch, name: str, module: str,
) -> None:
    loads: list[str] = []
    monkeypatch.setattr(_backend, "kldload", lambda m: (loads.append(m), (-1, errno.ENOENT))[1])
    with pytest.raises(jailcore.UnknownParameterError):
        params.spec(name)
    assert loads[-1] == module


def test_module_loaded_by_someone_else_is_found_after_the_cache_was_filled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = params.all_params()
    assert "allow.mount.procfs" not in before
    params.spec("host.hostname")
    # Another process loads procfs into the (shared) host: our cache knows nothing of it.
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            jailcore.model.kldload("procfs")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert jailcore.model.loaded_modules() == ["procfs"]

    def no_kldload(name: str) -> tuple[int, int]:
        raise AssertionError(f"kldload({name!r}) should not be needed")

    monkeypatch.setattr(_backend, "kldload", no_kldload)
    assert params.spec("allow.mount.procfs").kind is Kind.BOOL
    # Having found it, the enumeration must not stay stale either.
    assert "allow.mount.procfs" in params.all_params()


# ---- all_params ----------------------------------------------------------------------


def test_all_params_lists_exactly_the_sysctl_tree_15() -> None:
    names = params.all_params()
    assert len(names) == len(set(names))
    assert set(names) == set(EXPECTED_15)
    assert names[0] == "jid"


def test_all_params_lists_exactly_the_sysctl_tree_14() -> None:
    jailcore.model.set_version(14)
    names = params.all_params()
    assert len(names) == len(set(names))
    assert set(names) == set(EXPECTED_14)


def test_all_params_follows_modules_loaded_and_unloaded() -> None:
    jailcore.model.kldload("sysvshm")
    jailcore.model.kldload("zfs")
    assert set(params.all_params()) == {*EXPECTED_15, "sysvshm", "allow.mount.zfs"}
    jailcore.model.kldunload("sysvshm")
    assert set(params.all_params()) == {*EXPECTED_15, "allow.mount.zfs"}


def test_every_listed_parameter_has_a_spec() -> None:
    jailcore.model.kldload("sysvsem")
    for name in params.all_params():
        assert params.spec(name).name == name


# ---- describe / help -----------------------------------------------------------------


def test_describe_shows_format_access_and_meaning() -> None:
    d = jailcore.describe("host.hostname")
    assert d.__doc__ == (
        "host.hostname: string of at most 255 bytes; writable; sysctl format 'A'.\n"
        "Host name of the jail"
    )
    assert d.name == "host.hostname" and d.kind is Kind.STRING


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("path", ["string of at most 1023 bytes", "create-only", "'A'",
                  "Root directory of the jail"]),
        ("dying", ["boolean", "read-only", "'B'", "Jail is being removed"]),
        ("host.hostid", ["ulong", "writable", "'LU'", "Host ID of the jail"]),
        ("vnet", ["jailsys: disable, new or inherit", "create-only", "'E,jailsys'"]),
        ("ip4.addr", ["IPv4 addresses", "'S,in_addr,a'", "IPv4 addresses of the jail"]),
        ("ip6.addr", ["IPv6 addresses", "'S,in6_addr,a'"]),
        ("meta", ["key=value text of at most 4095 bytes", "'A,keyvalue'"]),
        ("meta.owner", ["one key of meta"]),
        ("nopersist", ["the negation of persist", "boolean"]),
    ],
)
def test_help_on_a_parameter_gives_format_access_and_meaning(name: str, parts: list[str]) -> None:
    text = pydoc.render_doc(jailcore.describe(name), renderer=pydoc.plaintext)
    for part in parts:
        assert part in text, (part, text)


def test_describe_of_an_unknown_name_raises() -> None:
    with pytest.raises(ValueError) as info:
        jailcore.describe("nope")
    assert_unknown(info.value, "nope")


# ---- the cdef matches the real prototypes --------------------------------------------


def test_sysctl_lengths_are_size_t_not_int() -> None:
    """freebsd-sysctl declared size_t * as int *: the cdef must say size_t."""
    ffi, lib = _backend.native()
    size_t_p = ffi.typeof("size_t *")
    sysctl_args = ffi.typeof(lib.jc_sysctl).args
    assert sysctl_args[4] is size_t_p and sysctl_args[6] is ffi.typeof("size_t")
    assert ffi.typeof(lib.jc_sysctlnametomib).args[3] is size_t_p
    assert ffi.typeof(lib.jc_sysctlbyname).args[3] is size_t_p
    # A long name: the MIB length comes back through the size_t and names the oid again.
    long_name = "security.jail.param.allow.mount.devfs"
    err, mib = _backend.sysctlnametomib(long_name)
    assert err == 0
    assert len(mib) == 6
    err, data = _backend.sysctl([0, 1, *mib], 1024)
    assert err == 0
    assert data.rstrip(b"\0").decode() == long_name
    # The value size through a size_t: the string maximum "1024" of path, NUL included.
    err, mib = _backend.sysctlnametomib("security.jail.param.path")
    assert _backend.sysctl_size(mib) == (0, 5)


# ---- Kind and Access: kept as values, made on first use ---------------------------------


def test_kind_and_access_are_the_enum_members_of_the_values_kept() -> None:
    s = params.spec("host.hostname")
    assert (s.kind, s.access) == (Kind.STRING, Access.WRITABLE)
    assert s.kind is Kind.STRING and s.access is Access.WRITABLE
    assert params.spec("osreldate").access is Access.CREATE_ONLY
    assert params.spec("dying").access is Access.READ_ONLY
    assert params.spec("vnet").kind is Kind.JAILSYS
    assert repr(s).startswith("ParamSpec(name='host.hostname', kind=<Kind.STRING: 'string'>, ")
    assert "access=<Access.WRITABLE: 'writable'>" in repr(s)
    # The constants the code keeps are exactly the members' values.
    assert params.KINDS == {k.value for k in Kind}
    assert params.ACCESSES == {a.value for a in Access}
    assert Kind.__module__ == Access.__module__ == "jailcore.params"
    assert jailcore.params.Kind is Kind


def test_a_paramspec_takes_members_or_their_values_alike() -> None:
    import pickle

    by_member = params.ParamSpec("x", Kind.UINT, "IU", 4, Access.CREATE_ONLY, "d")
    by_value = params.ParamSpec("x", "uint", "IU", 4, "create-only", "d")
    assert by_member == by_value and hash(by_member) == hash(by_value)
    assert by_value.kind is Kind.UINT and by_value.access is Access.CREATE_ONLY
    assert pickle.loads(pickle.dumps(by_value)) == by_member
    assert pickle.loads(pickle.dumps(Kind.IPV6)) is Kind.IPV6
    # A value built at run time (not the interned constant) still compares by identity
    # inside jailcore: the constructor keeps the constant itself.
    built = "".join(["ip", "v4"])
    assert params.ParamSpec("y", built, "S,in_addr", 4, "writable").is_array
    with pytest.raises(ValueError, match=r"y: not a Kind and an Access: 'float', 'writable'"):
        params.ParamSpec("y", "float", "F", 8, "writable")
    with pytest.raises(ValueError, match="not a Kind and an Access"):
        params.ParamSpec("y", Kind.INT, "I", 4, "sometimes")


def test_params_has_no_other_lazy_name() -> None:
    message = r"module 'jailcore\.params' has no attribute 'Kinds'"
    with pytest.raises(AttributeError, match=message):
        jailcore.params.Kinds  # noqa: B018


def test_the_flag_constants_are_jailflag_and_jailsys() -> None:
    from jailcore import _iov
    from jailcore.flags import JailFlag, JailSys

    for flag in JailFlag:
        assert getattr(_iov, f"JAIL_{flag.name}") == flag
    for value in JailSys:
        assert getattr(_iov, f"JAIL_SYS_{value.name}") == value
