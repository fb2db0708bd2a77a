"""The bad-input table: every kind of bad input tried, and what the user gets.

One data structure, two uses: ``tests/test_bad_input.py`` runs each row as a
test (one parametrized case per row), and the Sphinx extension
``docs/_ext/jailcore_badinput.py`` renders the same rows as the table of
``docs/bad-input.rst``.  The code shown in the table is the code the test runs
(``eval`` of ``code``), so the two cannot drift.

Each row's code runs on a fresh model host where ``web`` is a jail made by
``Jail.create(name="web")``.  The names it can use are those of
:data:`NAMESPACE_DOC`.  No module here imports pytest: the docs build reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: What the code of a row may name (besides Python's builtins).
NAMESPACE_DOC = (
    "jailcore, Jail, JailDescriptor, JailFlag, jail_set, jail_get, jail_attach, "
    "jail_remove, describe, jails; web (a jail named web); abi (tests/modelabi.py: "
    "the model's C ABI through ctypes, with I, Buf, Null, IP4, IP6 and the JAIL_* flags)"
)


@dataclass(frozen=True)
class Row:
    """One kind of bad input.

    ``raises`` is the exception type's name (``None``: a C-ABI call that returns
    -1 and sets errno instead); ``errno`` the errno's name or ``None``;
    ``message`` exactly ``str()`` of the exception, or, for a C-ABI call, the
    text written to the ``errmsg`` buffer (``""``: none).
    """

    id: str
    kind: str
    code: str
    raises: str | None
    errno: str | None
    message: str
    note: str = ""


TYPES = "Wrong Python types"
NUL = "Embedded NUL characters"
LONG = "Over-long values"
JIDS = "Negative, zero and huge jids"
UNKNOWN = "Unknown parameters"
ADDR = "Invalid addresses"
PATHS = "Paths the kernel cannot look up"
FLAGS = "Conflicting or invalid flags"
RO = "Values for read-only parameters"
RANGE = "Values the kernel refuses"
SPAWN = "Running programs"
ABI = "The C ABI (iovec arrays)"

ROWS: tuple[Row, ...] = (
    # ---- wrong Python types
    Row("name-int", TYPES, 'Jail.create(name=5)', "TypeError", None,
        "name: expected a str, not int"),
    Row("name-bytes", TYPES, 'Jail.create(name=b"db")', "TypeError", None,
        "name: expected a str, not bytes"),
    Row("int-param-str", TYPES, 'Jail.create(name="db", children__max="3")', "TypeError",
        None, "children.max: expected an int, not str"),
    Row("int-param-float", TYPES, 'Jail.create(name="db", children__max=3.0)', "TypeError",
        None, "children.max: expected an int, not float"),
    Row("int-param-bool", TYPES, 'Jail.create(name="db", children__max=True)', "TypeError",
        None, "children.max: expected an int, not bool"),
    Row("bool-param-str", TYPES, 'Jail.create(name="db", persist="yes")', "TypeError", None,
        "persist: expected a bool, not 'yes'"),
    Row("bool-param-2", TYPES, 'Jail.create(name="db", allow__mount=2)', "TypeError", None,
        "allow.mount: expected a bool, not 2"),
    Row("jailsys-float", TYPES, 'Jail.create(name="db", vnet=1.0)', "TypeError", None,
        "vnet: a jailsys value is disable, new or inherit, not float"),
    Row("keyvalue-int", TYPES, 'Jail.create(name="db", meta=5)', "TypeError", None,
        "meta: expected a dict of str to str, not int"),
    Row("addr-int", TYPES, 'Jail.create(name="db", ip4__addr=5)', "TypeError", None,
        "ip4.addr: expected IPv4Address addresses, not int"),
    Row("addr-bytes", TYPES, 'Jail.create(name="db", ip4__addr=b"\\1\\2\\3\\4")', "TypeError",
        None, "ip4.addr: expected IPv4Address addresses, not bytes"),
    Row("params-list", TYPES, 'Jail.create(["name", "db"])', "TypeError", None,
        "parameters are a mapping of names to values, not ['name', 'db']"),
    Row("param-name-int", TYPES, 'Jail.create({1: "db"})', "TypeError", None,
        "a parameter name is a str, not 1"),
    Row("param-given-twice", TYPES,
        'Jail.create({"host.hostname": "a"}, host__hostname="b")', "TypeError", None,
        "parameter 'host.hostname' given twice"),
    Row("get-key-float", TYPES, 'Jail.get(1.5)', "TypeError", None,
        "a jail_get key is a jid, a name or {'lastjid': n}, not 1.5"),
    Row("get-key-bool", TYPES, 'jail_get(True, "name")', "TypeError", None,
        "a jail is named by its jid (int) or name (str), not a bool"),
    Row("get-name-int", TYPES, 'web.get(5)', "TypeError", None,
        "a parameter name is a str, not int"),
    Row("remove-float", TYPES, 'jail_remove(1.5)', "TypeError", None,
        "jid: expected an int, not float", "fixed: was truncated to 1 and removed jail 1"),
    Row("remove-str", TYPES, 'jail_remove("1")', "TypeError", None,
        "jid: expected an int, not str", "fixed: was parsed as a number"),
    Row("jail-str", TYPES, 'Jail("web")', "TypeError", None,
        "jid: expected an int, not str"),
    Row("call-not-callable", TYPES, 'web.call(5)', "TypeError", None,
        "Jail.call needs a callable, not 5"),
    Row("set-none", TYPES, 'jail_set(None)', "TypeError", None,
        "jail_set: parameters are a mapping of dotted names to values, not NoneType",
        "fixed: was AttributeError"),
    Row("set-pairs", TYPES, 'jail_set([("name", "db"), ("persist", True)])', "TypeError", None,
        "jail_set: parameters are a mapping of dotted names to values, not list",
        "pass a dict"),
    Row("update-generator-bad-item", TYPES,
        'web.update(ip4__addr=(a for a in ["192.0.2.2", "bogus"]))', "ValueError", None,
        "ip4.addr: Expected 4 octets in 'bogus'",
        "fixed: erased the jail's addresses (the iterator was read twice)"),
    Row("jails-str", TYPES, 'list(jails("name"))', "UnknownParameterError", None,
        "unknown parameter: n",
        "a str is a sequence of one-letter names; pass a tuple"),
    # ---- embedded NULs
    Row("nul-name", NUL, 'Jail.create(name="a\\0b")', "ValueError", None,
        "name: a NUL character cannot be part of the value"),
    Row("nul-hostname", NUL, 'Jail.create(name="db", host__hostname="db\\0x")', "ValueError",
        None, "host.hostname: a NUL character cannot be part of the value"),
    Row("nul-get-name", NUL, 'Jail.get("web\\0x")', "ValueError", None,
        "name: a NUL character cannot be part of a jail name: 'web\\x00x'",
        "fixed: found the jail web"),
    Row("nul-param-name", NUL, 'web.get("name\\0x")', "ValueError", None,
        "unknown parameter: 'name\\x00x' (a name cannot contain a NUL)"),
    Row("nul-argv", NUL, 'web.spawn(["true", "a\\0b"])', "ValueError", None,
        "embedded NUL in b'a\\x00b'"),
    Row("nul-env", NUL, 'web.spawn(["true"], env={"A": "b\\0"})', "ValueError", None,
        "embedded NUL in b'A=b\\x00'"),
    Row("nul-cwd", NUL, 'web.spawn(["true"], cwd="/tmp\\0x")', "ValueError", None,
        "embedded NUL in cwd b'/tmp\\x00x'", "fixed: was cut at the NUL"),
    # ---- over-long values
    Row("long-name", LONG, 'Jail.create(name="x" * 300)', "ValueError", None,
        "name: 300 bytes is longer than the maximum of 255"),
    Row("long-path", LONG, 'Jail.create(name="db", path="/" * 2000)', "ValueError", None,
        "path: 2000 bytes is longer than the maximum of 1023"),
    Row("long-hostuuid", LONG, 'Jail.create(name="db", host__hostuuid="x" * 100)',
        "ValueError", None, "host.hostuuid: 100 bytes is longer than the maximum of 63"),
    Row("long-meta", LONG, 'Jail.create(name="db", meta={"a": "x" * 5000})', "ValueError",
        None, "meta: 5002 bytes is longer than the maximum of 4095"),
    Row("long-get-name", LONG, 'Jail.get("x" * 300)', "JailNotFoundError", "ENOENT",
        'jail_get: jail "' + "x" * 300 + '" not found [ENOENT]'),
    Row("too-many-addrs", LONG,
        'Jail.create(name="db", ip4__addr=[f"10.0.{i // 250}.{i % 250 + 1}" '
        'for i in range(5000)])', "JailError", "EINVAL",
        "jail_set: too many IPv4 addresses [EINVAL]"),
    Row("int-too-big", LONG, 'Jail.create(name="db", children__max=2**31)', "ValueError", None,
        "children.max: 2147483648 is out of range for a C int (-2147483648..2147483647)"),
    Row("ulong-negative", LONG, 'Jail.create(name="db", host__hostid=-1)', "ValueError", None,
        "host.hostid: -1 is out of range for a C ulong (0..18446744073709551615)"),
    # ---- jids
    Row("get-jid-negative", JIDS, 'Jail.get(-1)', "JailNotFoundError", "ENOENT",
        "jail_get: jail -1 not found [ENOENT]"),
    Row("get-jid-zero", JIDS, 'Jail.get(0)', "JailNotFoundError", "ENOENT",
        'jail_get: jail "" not found [ENOENT]',
        "jid 0 names no jail, so the kernel looks the (empty) name up"),
    Row("get-jid-absent", JIDS, 'Jail.get(99999)', "JailNotFoundError", "ENOENT",
        "jail_get: jail 99999 not found [ENOENT]"),
    Row("get-jid-huge", JIDS, 'Jail.get(2**31)', "ValueError", None,
        "jid: 2147483648 is out of range for a C int", "fixed: was struct.error"),
    Row("get-jid-huger", JIDS, 'Jail.get(2**64)', "ValueError", None,
        "jid: 18446744073709551616 is out of range for a C int"),
    Row("create-jid-negative", JIDS, 'Jail.create(jid=-1, name="db")', "JailError", "EINVAL",
        "jail_set: negative jid [EINVAL]"),
    Row("remove-negative", JIDS, 'jail_remove(-1)', "JailError", "EINVAL",
        "jail_remove: Invalid argument [EINVAL]"),
    Row("remove-zero", JIDS, 'jail_remove(0)', "JailError", "EINVAL",
        "jail_remove: Invalid argument [EINVAL]"),
    Row("remove-huge", JIDS, 'jail_remove(2**31)', "ValueError", None,
        "jid: 2147483648 is out of range for a C int", "fixed: was OverflowError"),
    Row("attach-absent", JIDS, 'jail_attach(99999)', "JailError", "EINVAL",
        "jail_attach: Invalid argument [EINVAL]"),
    Row("attach-huge", JIDS, 'jail_attach(2**40)', "ValueError", None,
        "jid: 1099511627776 is out of range for a C int", "fixed: was OverflowError"),
    Row("get-unicode-digits", JIDS, 'Jail.get("\u0661\u0662")', "JailNotFoundError", "ENOENT",
        'jail_get: jail "\u0661\u0662" not found [ENOENT]',
        "fixed: was jail 12; only ASCII digits make a jid, as strtoul(3) reads one"),
    Row("get-superscript-digit", JIDS, 'Jail.get("\u00b2")', "JailNotFoundError", "ENOENT",
        'jail_get: jail "\u00b2" not found [ENOENT]',
        "fixed: was a ValueError from int(); a name"),
    Row("update-absent", JIDS, 'Jail(99999).update(persist=True)', "JailNotFoundError",
        "ENOENT", "jail_set: jail 99999 not found [ENOENT]"),
    Row("descriptor-absent", JIDS, 'JailDescriptor.open(99999)', "JailNotFoundError",
        "ENOENT", "jail_get: jail 99999 not found [ENOENT]"),
    # ---- unknown parameters
    Row("unknown", UNKNOWN, 'Jail.create(name="db", nosuch=1)', "UnknownParameterError", None,
        "unknown parameter: nosuch"),
    Row("unknown-allow", UNKNOWN, 'Jail.create(name="db", allow__nosuch=True)',
        "UnknownParameterError", None, "unknown parameter: allow__nosuch",
        "named as the keyword was spelled"),
    Row("unknown-empty-component", UNKNOWN, 'Jail.create({"name": "db", "allow..mount": True})',
        "UnknownParameterError", None,
        "unknown parameter: allow..mount (did you mean allow.mount or allow.mount.devfs?)"),
    Row("unknown-no-form", UNKNOWN, 'Jail.create(name="db", nohost__hostname="x")',
        "UnknownParameterError", None,
        "unknown parameter: nohost__hostname (did you mean host__hostname?)",
        "only booleans have a no form"),
    Row("unknown-get", UNKNOWN, 'web.get("nosuch")', "UnknownParameterError", None,
        "unknown parameter: nosuch"),
    Row("unknown-describe", UNKNOWN, 'describe("nosuch")', "UnknownParameterError", None,
        "unknown parameter: nosuch"),
    Row("unknown-typo", UNKNOWN, 'Jail.create(name="db", host__hostnam="x")',
        "UnknownParameterError", None,
        "unknown parameter: host__hostnam (did you mean host__hostname or host__hostid?)"),
    Row("unknown-last-part", UNKNOWN, 'Jail.create({"name": "db", "hostname": "x"})',
        "UnknownParameterError", None,
        "unknown parameter: hostname (did you mean host.hostname?)"),
    Row("unknown-pseudo", UNKNOWN, 'Jail.create({"name": "db", "exec.start": "/bin/sh /etc/rc"})',
        "UnknownParameterError", None,
        "unknown parameter: exec.start (a jail(8) pseudo-parameter: jail(8) acts on it itself "
        "and never passes it to the kernel; jailcore will handle it in its jail.conf "
        "lifecycle, not in jail_set)"),
    Row("module-not-loaded", UNKNOWN, 'Jail.create(name="db", sysvmsg="new")', None, None, "",
        "accepted: jailcore loads the sysvmsg module first, as libjail does"),
    # ---- invalid addresses
    Row("ip4-any", ADDR, 'Jail.create(name="db", ip4__addr="0.0.0.0")', "JailError",
        "EINVAL", "jail_set: Invalid argument [EINVAL]", "the kernel gives no message"),
    Row("ip4-broadcast", ADDR, 'Jail.create(name="db", ip4__addr="255.255.255.255")',
        "JailError", "EINVAL", "jail_set: Invalid argument [EINVAL]",
        "the kernel gives no message"),
    Row("ip4-duplicate", ADDR, 'Jail.create(name="db", ip4__addr=["192.0.2.1", "192.0.2.1"])',
        "JailError", "EINVAL", "jail_set: Invalid argument [EINVAL]",
        "the kernel gives no message"),
    Row("ip6-unspecified", ADDR, 'Jail.create(name="db", ip6__addr="::")', "JailError",
        "EINVAL", "jail_set: Invalid argument [EINVAL]", "the kernel gives no message"),
    Row("ip4-jail8-interface", ADDR, 'Jail.create(name="db", ip4__addr="em0|192.0.2.10")',
        "ValueError", None,
        "ip4.addr: em0|192.0.2.10: the interface|address form is jail(8)'s, which adds the "
        "address to the interface itself; the kernel's parameter takes addresses only"),
    # ---- paths: the kernel's namei errors, named as path errors, not "no such jail"
    Row("path-absent", PATHS, 'Jail.create(name="db", path="/nonexistent/web")',
        "JailPathNotFoundError", "ENOENT",
        "jail_set: path /nonexistent/web: No such file or directory [ENOENT]",
        "fixed: was JailNotFoundError, which read as no such jail"),
    Row("path-file", PATHS, 'Jail.create(name="db", path="/etc/passwd")',
        "JailPathNotADirectoryError", "ENOTDIR",
        "jail_set: path /etc/passwd: Not a directory [ENOTDIR]"),
    Row("path-pathlike", PATHS,
        'Jail.create(name="db", path=__import__("pathlib").Path("/nonexistent"))',
        "JailPathNotFoundError", "ENOENT",
        "jail_set: path /nonexistent: No such file or directory [ENOENT]",
        "an os.PathLike is taken as a path"),
    Row("ip6-zone", ADDR, 'Jail.create(name="db", ip6__addr="fe80::1%em0")', "ValueError", None,
        "ip6.addr: fe80::1%em0: an IPv6 address with a zone (%em0) is not one the kernel "
        "takes (inet_pton refuses it)", "fixed: was stored without its zone"),
    Row("ip4-malformed", ADDR, 'Jail.create(name="db", ip4__addr="192.0.2")', "ValueError",
        None, "ip4.addr: Expected 4 octets in '192.0.2'"),
    Row("ip4-given-ip6", ADDR, 'Jail.create(name="db", ip4__addr="2001:db8::1")', "ValueError",
        None, "ip4.addr: Expected 4 octets in '2001:db8::1'"),
    Row("ip6-malformed", ADDR, 'Jail.create(name="db", ip6__addr="2001:db8:::1")',
        "ValueError", None, "ip6.addr: At most one '::' permitted in '2001:db8:::1'"),
    Row("ip6-given-ip4", ADDR, 'Jail.create(name="db", ip6__addr="192.0.2.1")', "ValueError",
        None, "ip6.addr: At least 3 parts expected in '192.0.2.1'"),
    Row("addr-list-int", ADDR, 'Jail.create(name="db", ip4__addr=[5])', "TypeError", None,
        "ip4.addr: expected IPv4Address addresses, not 5"),
    Row("vnet-with-addr", ADDR, 'Jail.create(name="db", vnet="new", ip4__addr="192.0.2.1")',
        "ValueError", None, "ip4.addr: vnet jails cannot have IP address restrictions"),
    # ---- flags
    Row("set-no-operation", FLAGS, 'jail_set({"name": "db"}, 0)', "JailError", "EINVAL",
        "jail_set: no valid operation (create or update) [EINVAL]"),
    Row("set-use-and-at-desc", FLAGS,
        'jail_set({"name": "db", "desc": 0}, JailFlag.CREATE | JailFlag.USE_DESC'
        ' | JailFlag.AT_DESC)', "JailError", "EINVAL", "jail_set: Invalid argument [EINVAL]"),
    Row("set-unknown-flag", FLAGS, 'jail_set({"name": "db"}, 0x100)', "JailError", "EINVAL",
        "jail_set: Invalid argument [EINVAL]"),
    Row("get-create", FLAGS, 'jail_get(web.jid, "name", JailFlag.CREATE)', "JailError",
        "EINVAL", "jail_get: Invalid argument [EINVAL]"),
    Row("get-negative-flags", FLAGS, 'jail_get(web.jid, "name", -1)', "JailError", "EINVAL",
        "jail_get: Invalid argument [EINVAL]"),
    Row("get-huge-flags", FLAGS, 'jail_get(web.jid, "name", 2**40)', "ValueError", None,
        "flags: 1099511627776 is out of range for a C int", "fixed: was OverflowError"),
    Row("create-existing", FLAGS, 'jail_set({"name": "web", "persist": True}, JailFlag.CREATE)',
        "JailExistsError", "EEXIST", 'jail_set: jail "web" already exists [EEXIST]'),
    Row("update-absent-name", FLAGS, 'jail_set({"name": "db"}, JailFlag.UPDATE)',
        "JailNotFoundError", "ENOENT", 'jail_set: jail "db" not found [ENOENT]'),
    Row("use-desc-not-a-jail-descriptor", FLAGS,
        'jail_set({"desc": 0, "persist": True}, JailFlag.UPDATE | JailFlag.USE_DESC)',
        "JailError", "EBADF", "jail_set: not a jail descriptor [EBADF]"),
    Row("closed-descriptor", FLAGS, 'd = JailDescriptor.open(web); d.close(); d.get("name")',
        "ValueError", None, "I/O operation on a closed jail descriptor"),
    # ---- read-only parameters
    Row("ro-dying", RO, 'Jail.create(name="db", dying=True)', "ValueError", None,
        "dying: read-only parameter"),
    Row("ro-parent", RO, 'Jail.create(name="db", parent=0)', "ValueError", None,
        "parent: read-only parameter"),
    Row("ro-children-cur", RO, 'Jail.create(name="db", children__cur=1)', "ValueError", None,
        "children.cur: read-only parameter"),
    Row("ro-cpuset", RO, 'web.update(cpuset__id=1)', "ValueError", None,
        "cpuset.id: read-only parameter"),
    Row("ro-jid-update", RO, 'web.update(jid=5)', "TypeError", None,
        "jid: a jail's jid cannot be changed"),
    Row("create-only-update", RO, 'web.update(osreldate=1)', "JailError", "EINVAL",
        "jail_set: osreldate cannot be changed after creation [EINVAL]"),
    # ---- values the kernel refuses
    Row("enforce-statfs-range", RANGE, 'Jail.create(name="db", enforce_statfs=5)', "JailError",
        "EINVAL", "jail_set: Invalid argument [EINVAL]", "the kernel gives no message"),
    Row("jailsys-unknown", RANGE, 'Jail.create(name="db", vnet="maybe")', "ValueError", None,
        "vnet: unknown jailsys value: 'maybe' (disable, new or inherit)"),
    Row("jailsys-range", RANGE, 'Jail.create(name="db", vnet=7)', "ValueError", None,
        "vnet: jailsys value out of range: 7"),
    Row("meta-key-equals", RANGE, 'Jail.create(name="db", meta={"a=b": "c"})', "ValueError",
        None, "meta: invalid key 'a=b': it must be non-empty, without '=' or newline"),
    Row("meta-value-newline", RANGE, 'Jail.create(name="db", meta={"a": "b\\nc"})',
        "ValueError", None, "meta: the value of 'a' has a newline"),
    Row("child-of-absent", RANGE, 'Jail.create(name="nosuch.db")', "JailNotFoundError",
        "ENOENT", 'jail_set: jail "nosuch" not found [ENOENT]'),
    Row("relative-path", PATHS, 'Jail.create(name="db", path="relative")',
        "JailPathNotFoundError", "ENOENT",
        "jail_set: path relative: No such file or directory [ENOENT]",
        "looked up from the caller's working directory, as namei does"),
    # ---- running programs
    Row("spawn-shell", SPAWN, 'web.spawn("true", shell=True)', "TypeError", None,
        "shell is not supported inside a jail"),
    Row("spawn-preexec", SPAWN, 'web.spawn(["true"], preexec_fn=print)', "TypeError", None,
        "preexec_fn is not supported inside a jail"),
    Row("spawn-empty", SPAWN, 'web.spawn([])', "ValueError", None,
        "args is empty: there is no program to run"),
    Row("spawn-missing", SPAWN, 'web.spawn(["/nonexistent/prog"])', "FileNotFoundError",
        "ENOENT", "[Errno 2] No such file or directory: '/nonexistent/prog'"),
    Row("spawn-cwd-missing", SPAWN, 'web.spawn(["true"], cwd="/nonexistent")',
        "FileNotFoundError", "ENOENT",
        "[Errno 2] chdir: No such file or directory: '/nonexistent'"),
    Row("spawn-env-name", SPAWN, 'web.spawn(["true"], env={"A=B": "c"})', "ValueError", None,
        "illegal environment variable name", "fixed: the child got A=B=c"),
    Row("spawn-negative-fd", SPAWN, 'web.spawn(["true"], pass_fds=[-1])', "ValueError", None,
        "bad value(s) in fds_to_keep", "fixed: was ignored"),
    Row("spawn-closed-fd", SPAWN, 'web.spawn(["true"], pass_fds=[9999])', "OSError", "EBADF",
        "[Errno 9] file descriptors: Bad file descriptor"),
    Row("spawn-both-users", SPAWN, 'web.spawn(["true"], user="root", host_user="root")',
        "ValueError", None, "user and host_user exclude each other (jexec's -U and -u)"),
    Row("spawn-absent-host-user", SPAWN, 'web.spawn(["true"], host_user="no-such-user")',
        "JailNotFoundError", "ENOENT",
        "getpwnam: no such user on the host: no-such-user [ENOENT]"),
    Row("spawn-absent-jail", SPAWN, 'Jail(99999).spawn(["true"])', "JailError", "EINVAL",
        "jail_attach: Invalid argument [EINVAL]"),
    Row("call-absent-jail", SPAWN, 'Jail(99999).call(len, "x")', "JailError", "EINVAL",
        "jail_attach: Invalid argument [EINVAL]"),
    # ---- the C ABI
    Row("abi-odd-niov-set", ABI, 'abi.jail_set([("name", "db"), ("persist", None)], niov=3)',
        None, "EINVAL", ""),
    Row("abi-odd-niov-get", ABI, 'abi.jail_get([("jid", I(1)), ("name", Buf(256))], niov=5)',
        None, "EINVAL", ""),
    Row("abi-niov-1026", ABI, 'abi.jail_set([("name", "db"), ("persist", None)] * 513)', None,
        "EINVAL", "", "more than UIO_MAXIOV (1024) iovecs"),
    Row("abi-niov-2048-get", ABI, 'abi.jail_get([("jid", I(1))] + [("name", Buf(256))] * 1023)',
        None, "EINVAL", ""),
    Row("abi-niov-0-set", ABI, 'abi.jail_set([], errmsg=None)', None, "EINVAL", ""),
    Row("abi-niov-0-get", ABI, 'abi.jail_get([], errmsg=None)', None, "ENOENT", ""),
    Row("abi-name-without-nul", ABI, 'abi.jail_set([(b"name", "db"), ("persist", None)])',
        None, "EINVAL", ""),
    Row("abi-value-without-nul", ABI, 'abi.jail_set([("name", b"db"), ("persist", None)])',
        None, "EINVAL", ""),
    Row("abi-null-value", ABI, 'abi.jail_set([("name", Null(5)), ("persist", None)])', None,
        "EFAULT", ""),
    Row("abi-huge-length", ABI, 'abi.jail_set([("name", Null(1 << 40)), ("persist", None)])',
        None, "EINVAL", ""),
    Row("abi-int-wrong-size", ABI,
        'abi.jail_set([("name", "db"), ("children.max", b"\\1\\0"), ("persist", None)])',
        None, "EINVAL", ""),
    Row("abi-jid-short", ABI, 'abi.jail_get([("jid", b"\\1\\0"), ("name", Buf(256))])', None,
        "EINVAL", ""),
    Row("abi-unknown-get", ABI, 'abi.jail_get([("jid", I(1)), ("nosuch", Buf(4))])', None,
        "EINVAL", "unknown parameter: nosuch"),
    Row("abi-buffer-too-small", ABI, 'abi.jail_get([("jid", I(1)), ("name", Buf(1))])', None,
        "EINVAL", ""),
    Row("abi-ip4-odd-length", ABI,
        'abi.jail_set([("name", "db"), ("ip4.addr", b"\\1\\2\\3"), ("persist", None)])', None,
        "EINVAL", ""),
    Row("abi-errmsg-null", ABI, 'abi.jail_set([("name", "db"), ("nosuch", I(1))], '
        'errmsg=Null(1024))', None, "EFAULT", ""),
    Row("abi-name-too-long", ABI, 'abi.jail_set([("name", "x" * 300), ("persist", None)])',
        None, "ENAMETOOLONG", ""),
    Row("abi-negative-jid", ABI, 'abi.jail_set([("jid", I(-1)), ("persist", None)])', None,
        "EINVAL", "negative jid"),
    Row("abi-use-and-at-desc", ABI, 'abi.jail_set([("name", "db"), ("desc", I(0))], '
        'abi.JAIL_CREATE | abi.JAIL_USE_DESC | abi.JAIL_AT_DESC)', None, "EINVAL", ""),
    Row("abi-get-create", ABI, 'abi.jail_get([("jid", I(1)), ("name", Buf(256))], '
        'abi.JAIL_CREATE)', None, "EINVAL", ""),
)


def outcome(row: Row) -> str:
    """What the user gets, as the table says it (reStructuredText)."""
    if row.raises is None and row.errno is None:
        return "accepted"
    if row.raises is None:
        msg = f'errmsg ``{row.message}``' if row.message else "no errmsg"
        return f"-1, errno ``{row.errno}``, {msg}"
    parts = [f"``{row.raises}``"]
    if row.errno:
        parts.append(f"``{row.errno}``")
    return " ".join(parts)
