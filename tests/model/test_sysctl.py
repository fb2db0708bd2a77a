"""The kernel model's sysctl(3) surface: the tree, the meta-sysctls, the values.

Expected values come from FreeBSD's sources (kern_sysctl.c, kern_jail.c,
kern_jailmeta.c, kern_mib.c, sys/sysctl.h, sys/jail.h) and spec sections 3 and 7.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import struct
from collections.abc import Callable
from typing import Any

import pytest
from modelabi import IP4, IP6, LIB, create, nametomib, sysctl, sysctlbyname

import jailcore.model

# sys/sysctl.h
CTLTYPE_NODE, CTLTYPE_INT, CTLTYPE_STRING, CTLTYPE_STRUCT = 1, 2, 3, 5
CTLTYPE_UINT, CTLTYPE_ULONG, CTLTYPE_U32 = 6, 8, 0xF
RD, WR, TUN, MPSAFE = 0x80000000, 0x40000000, 0x00080000, 0x00040000
RW, RDTUN = RD | WR, RD | TUN
DYN, PRISON, ANYBODY, CAPRD = 0x02000000, 0x04000000, 0x10000000, 0x00008000
CTL_AUTO_START = 0x100
SJP = "security.jail.param"

PARAMS_14 = [
    "jid", "parent", "name", "path", "securelevel", "osreldate", "osrelease",
    "enforce_statfs", "devfs_ruleset", "persist", "vnet", "dying",
    "children.cur", "children.max",
    "host.", "host.hostname", "host.domainname", "host.hostuuid", "host.hostid",
    "cpuset.id",
    "ip4.", "ip4.addr", "ip4.saddrsel", "ip6.", "ip6.addr", "ip6.saddrsel",
    "allow.set_hostname", "allow.sysvipc", "allow.raw_sockets", "allow.chflags",
    "allow.quotas", "allow.socket_af", "allow.mlock", "allow.reserved_ports",
    "allow.read_msgbuf", "allow.unprivileged_proc_debug", "allow.suser",
    "allow.nfsd", "allow.extattr", "allow.adjtime", "allow.settime",
    "allow.mount.", "allow.mount.devfs",
]
_SUSER = PARAMS_14.index("allow.suser")
_MOUNT = PARAMS_14.index("allow.mount.")
PARAMS_15 = [
    *PARAMS_14[:_SUSER],
    "allow.unprivileged_parent_tampering",
    *PARAMS_14[_SUSER:_MOUNT],
    "allow.routing",
    "allow.mount.",
    "allow.mount.devfs",
    "meta",
    "env",
]


# ---- helpers -------------------------------------------------------------------------


def ints(b: bytes) -> list[int]:
    return list(struct.unpack(f"{len(b) // 4}i", b))


def oid_name(mib: list[int]) -> str:
    ret, err, val, _ = sysctl([0, 1, *mib], 1024)
    assert ret == 0, os.strerror(err)
    assert val.endswith(b"\0")
    return val[:-1].decode()


def oid_next(mib: list[int]) -> list[int] | None:
    ret, err, val, _ = sysctl([0, 2, *mib], 24 * 4)
    if ret == -1:
        assert err == errno.ENOENT
        return None
    return ints(val)


def oidfmt(name: str) -> tuple[int, str]:
    ret, err, val, _ = sysctl([0, 4, *nametomib(name)], 1024)
    assert ret == 0, os.strerror(err)
    kind = struct.unpack("I", val[:4])[0]
    assert val.endswith(b"\0")
    return kind, val[4:-1].decode()


def jailparam_all() -> list[str]:
    """libjail's jailparam_all(): {0,2} from security.jail.param while the first
    three components match; names via {0,1}; trailing dots are kept here."""
    base = nametomib(SJP)
    assert len(base) == 3
    out, cur = [], base
    while (nxt := oid_next(cur)) is not None and nxt[:3] == base:
        out.append(oid_name(nxt)[len(SJP) + 1 :])
        cur = nxt
    return out


def read_int(name: str) -> int:
    ret, err, val = sysctlbyname(name, 4)
    assert ret == 0, (name, os.strerror(err))
    assert len(val) == 4
    return struct.unpack("i", val)[0]


def write(name: str, new: bytes, size: int = 0) -> tuple[int, int]:
    ret, err, _ = sysctlbyname(name, size, new)
    return ret, err


def sysctl_raw(mib: list[int], oldp: int | None, oldlen: int | None,
               new: bytes | None = None) -> tuple[int, int, bytes, int | None]:
    """sysctl with explicit control of oldp (None: NULL) and oldlenp (None: NULL)."""
    arr = (ctypes.c_int * len(mib))(*mib)
    buf = ctypes.create_string_buffer(oldp) if oldp is not None else None
    ln = ctypes.c_size_t(oldlen) if oldlen is not None else None
    nb = ctypes.create_string_buffer(new, len(new)) if new is not None else None
    ctypes.set_errno(0)
    ret = LIB.jailmodel_sysctl(arr, len(mib), buf, ctypes.byref(ln) if ln is not None else None,
                               nb, len(new) if new is not None else 0)
    err = ctypes.get_errno() if ret == -1 else 0
    return ret, err, (buf.raw if buf is not None else b""), (ln.value if ln is not None else None)


def in_child(body: Callable[[], Any]) -> Any:
    """Run body() in a forked child (sharing the model host) and return its JSON result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            try:
                text = json.dumps(body())
            except BaseException as e:
                text = json.dumps({"child_exception": repr(e)})
            os.write(w, text.encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    out = json.loads(data)
    assert not (isinstance(out, dict) and "child_exception" in out), out
    return out


def attached(jid: int, body: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        assert LIB.jailmodel_jail_attach(jid) == 0, os.strerror(ctypes.get_errno())
        return body()

    return run


def as_nobody(body: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        os.setgid(65534)
        os.setuid(65534)
        return body()

    return run


@pytest.fixture
def root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: the model takes privilege from the real euid")


# ---- enumeration -----------------------------------------------------------------------


def test_jailparam_all_15() -> None:
    assert jailcore.model.version() == 15
    assert jailparam_all() == PARAMS_15


def test_jailparam_all_14() -> None:
    jailcore.model.set_version(14)
    assert jailparam_all() == PARAMS_14
    for name in ("meta", "env", "allow.routing", "allow.unprivileged_parent_tampering",
                 "desc"):
        with pytest.raises(FileNotFoundError):
            nametomib(f"{SJP}.{name}")


def test_version_switch_changes_tree_at_once() -> None:
    jailcore.model.set_version(14)
    assert "meta" not in jailparam_all()
    jailcore.model.set_version(15)
    assert jailparam_all() == PARAMS_15


def test_no_forms_and_desc_are_not_registered() -> None:
    for name in ("nopersist", "allow.nomount", "ip4.nosaddrsel", "nodying", "desc",
                 "lastjid", "errmsg"):
        with pytest.raises(FileNotFoundError):
            nametomib(f"{SJP}.{name}")


def test_module_params_appear_and_vanish() -> None:
    with pytest.raises(FileNotFoundError):
        nametomib(f"{SJP}.allow.mount.nullfs")
    before = {n: nametomib(f"{SJP}.{n.rstrip('.')}") for n in PARAMS_15}

    jailcore.model.kldload("nullfs")
    jailcore.model.kldload("sysvmsg")
    jailcore.model.kldload("tmpfs")
    got = jailparam_all()
    i = PARAMS_15.index("allow.mount.devfs") + 1
    assert got == [
        *PARAMS_15[:i], "allow.mount.nullfs", "allow.mount.tmpfs", *PARAMS_15[i:], "sysvmsg."
    ]
    # module oids do not renumber the built-in ones and sort after them
    assert {n: nametomib(f"{SJP}.{n.rstrip('.')}") for n in PARAMS_15} == before
    nullfs = nametomib(f"{SJP}.allow.mount.nullfs")
    assert nullfs[:-1] == before["allow.mount."] and nullfs[-1] > before["allow.mount.devfs"][-1]
    assert nametomib(f"{SJP}.sysvmsg")[-1] > max(m[3] for m in before.values())
    assert read_int("security.jail.mount_nullfs_allowed") == 0

    jailcore.model.kldunload("nullfs")
    jailcore.model.kldunload("sysvmsg")
    jailcore.model.kldunload("tmpfs")
    assert jailparam_all() == PARAMS_15
    for name in (f"{SJP}.allow.mount.nullfs", f"{SJP}.sysvmsg",
                 "security.jail.mount_nullfs_allowed"):
        with pytest.raises(FileNotFoundError):
            nametomib(name)
    assert sysctl([0, 4, *nullfs])[:2] == (-1, errno.ENOENT)


def test_every_module_param() -> None:
    for m in jailcore.model.MODULES:
        jailcore.model.kldload(m)
    got = jailparam_all()
    assert got[-3:] == ["sysvmsg.", "sysvsem.", "sysvshm."]
    mounts = [n for n in got if n.startswith("allow.mount.")]
    assert mounts == ["allow.mount.", "allow.mount.devfs", "allow.mount.fdescfs",
                      "allow.mount.nullfs", "allow.mount.procfs", "allow.mount.tmpfs",
                      "allow.mount.zfs"]
    for sysv in ("sysvmsg", "sysvsem", "sysvshm"):
        assert oidfmt(f"{SJP}.{sysv}") == (CTLTYPE_NODE | MPSAFE, "N")
        child = nametomib(f"{SJP}.{sysv}..")
        assert oid_name(child) == f"{SJP}.{sysv}."
        assert sysctl([0, 4, *child])[2][4:] == b"E,jailsys\0"
        assert struct.unpack("I", sysctl([0, 4, *child])[2][:4])[0] == CTLTYPE_INT | RW | MPSAFE


def test_empty_named_child_is_node_minus_one() -> None:
    """libjail finds a node's type in the child numbered node-1 (or node+1)."""
    jailcore.model.kldload("sysvshm")
    for node in ("host", "ip4", "ip6", "allow.mount", "sysvshm"):
        mib = nametomib(f"{SJP}.{node}")
        assert oid_name([*mib, mib[-1] - 1]) == f"{SJP}.{node}."
        # {0,1} of a number that is not a child prints it in decimal
        assert oid_name([*mib, 0x7FFF0000]) == f"{SJP}.{node}.{0x7FFF0000}"
        # {0,2} given the node: its first leaf, the empty-named child
        assert oid_next(mib) == [*mib, mib[-1] - 1]


def libjail_type(name: str) -> tuple[int, str, int]:
    """libjail's jailparam_type(): (CTLTYPE, format, value size) of a parameter."""
    mib = nametomib(f"{SJP}.{name}")
    kind, fmt = struct.unpack("I", sysctl([0, 4, *mib])[2][:4])[0], ""
    if kind & 0xF == CTLTYPE_NODE:
        # the empty-named child is node-1 or node+1; {0,1} tells which
        for d in (-1, 1):
            if oid_name([*mib, mib[-1] + d]) == f"{SJP}.{name}.":
                mib = [*mib, mib[-1] + d]
                break
        else:
            raise AssertionError(f"no type for node {name}")
    val = sysctl([0, 4, *mib])[2]
    kind, fmt = struct.unpack("I", val[:4])[0], val[4:-1].decode()
    ctype = kind & 0xF
    if ctype == CTLTYPE_STRING:
        size = int(sysctl(mib, 64)[2].rstrip(b"\0"))
    elif ctype == CTLTYPE_STRUCT:
        size = {"S,in_addr,a": 4, "S,in6_addr,a": 16}[fmt]
    else:
        size = {CTLTYPE_INT: 4, CTLTYPE_ULONG: 8}[ctype]
    return ctype, fmt, size


def test_libjail_typing_of_every_param() -> None:
    jailcore.model.kldload("sysvsem")
    types = {p.rstrip("."): libjail_type(p.rstrip(".")) for p in jailparam_all()}
    assert types["host"] == (CTLTYPE_INT, "E,jailsys", 4)
    assert types["ip6"] == (CTLTYPE_INT, "E,jailsys", 4)
    assert types["sysvsem"] == (CTLTYPE_INT, "E,jailsys", 4)
    assert types["allow.mount"] == (CTLTYPE_INT, "B", 4)
    assert types["host.hostuuid"] == (CTLTYPE_STRING, "A", 64)
    assert types["meta"] == (CTLTYPE_STRING, "A,keyvalue", 4096)
    assert types["host.hostid"] == (CTLTYPE_ULONG, "LU", 8)
    assert types["ip4.addr"] == (CTLTYPE_STRUCT, "S,in_addr,a", 4)
    assert {t[1] for t in types.values()} == {
        "I", "B", "A", "A,keyvalue", "E,jailsys", "LU", "S,in_addr,a", "S,in6_addr,a"}


def test_numbers() -> None:
    assert nametomib("kern") == [1]
    assert nametomib("kern.osrelease") == [1, 2]
    assert nametomib("kern.securelevel") == [1, 9]
    assert nametomib("kern.hostname") == [1, 10]
    assert nametomib("kern.osreldate") == [1, 24]
    assert nametomib("sysctl.name2oid") == [0, 3]
    sec = nametomib("security")
    assert len(sec) == 1 and sec[0] >= CTL_AUTO_START
    mib = nametomib(f"{SJP}.jid")
    assert len(mib) == 4 and all(n >= CTL_AUTO_START for n in mib)


def test_next_walks_the_whole_tree() -> None:
    names, cur = [], []
    while (nxt := oid_next(cur)) is not None:
        names.append(oid_name(nxt))
        cur = nxt
    assert names[:5] == ["sysctl.name", "sysctl.next", "sysctl.name2oid", "sysctl.oidfmt",
                         "sysctl.oiddescr"]
    assert names[5:9] == ["kern.osrelease", "kern.securelevel", "kern.hostname",
                          "kern.osreldate"]
    assert "security.jail.list" in names and names[-1] == "security.jail.mount_devfs_allowed"
    assert len(names) == len(set(names))
    # every leaf's name resolves back to its MIB (an empty last component
    # needs a second dot, since name2oid ignores one trailing dot)
    cur = []
    for n in names:
        cur = oid_next(cur)
        assert nametomib(n + "." if n.endswith(".") else n) == cur
    # the leaf after the last one
    assert sysctl([0, 2, *nametomib(names[-1])])[:2] == (-1, errno.ENOENT)


def test_next_with_absent_components() -> None:
    jid = nametomib(f"{SJP}.jid")
    # a number between two siblings: the next sibling's first leaf
    assert oid_next([*jid[:3], jid[3] - 1]) == jid
    # past everything
    assert oid_next([0x7FFFFFFF]) is None


# ---- nametomib / name2oid --------------------------------------------------------------


def test_nametomib_of_nodes() -> None:
    param = nametomib(SJP)
    assert param == [*nametomib("security.jail"), param[2]]
    host = nametomib(f"{SJP}.host")
    assert host[:3] == param
    # FreeBSD's name2oid ignores one trailing dot: "host." is the node itself
    assert nametomib(f"{SJP}.host.") == host
    # "host.." names the empty-named child
    assert nametomib(f"{SJP}.host..") == [*host, host[3] - 1]
    assert nametomib(f"{SJP}.allow.mount.") == nametomib(f"{SJP}.allow.mount")


def test_nametomib_errors() -> None:
    for name in ("", "nosuch", "security.jail.param.nosuch", "security.jail.param.jid.x",
                 "sysctl.name.x", ".security", "security..jail"):
        with pytest.raises(FileNotFoundError):
            nametomib(name)
    with pytest.raises(OSError) as e:
        nametomib("x" * 1024)
    assert e.value.errno == errno.ENAMETOOLONG
    # mib buffer too small: ENOMEM, *sizep unchanged
    arr = (ctypes.c_int * 2)()
    ln = ctypes.c_size_t(2)
    ctypes.set_errno(0)
    assert LIB.jailmodel_sysctlnametomib(f"{SJP}.jid".encode(), arr, ctypes.byref(ln)) == -1
    assert ctypes.get_errno() == errno.ENOMEM and ln.value == 2
    assert list(arr) == nametomib(f"{SJP}.jid")[:2]
    # NULL mib: the size in ints
    ln = ctypes.c_size_t(0)
    assert LIB.jailmodel_sysctlnametomib(f"{SJP}.jid".encode(), None, ctypes.byref(ln)) == 0
    assert ln.value == 4


def test_name2oid_by_sysctl() -> None:
    ret, _err, val, n = sysctl([0, 3], 96, new=b"kern.osreldate")
    assert (ret, n, ints(val)) == (0, 8, [1, 24])
    assert sysctl([0, 3], 96)[:2] == (-1, errno.ENOENT)  # no name
    # name2oid is a leaf: more components -> ENOTDIR
    assert sysctl([0, 3, 1], 96, new=b"kern")[:2] == (-1, errno.ENOTDIR)


# ---- {0,1} and {0,5} -------------------------------------------------------------------


def test_name() -> None:
    assert oid_name([1, 24]) == "kern.osreldate"
    assert oid_name([1, 12345]) == "kern.12345"
    assert oid_name([99, 1]) == "99.1"
    assert oid_name([1, 24, 7]) == "kern.osreldate.7"
    assert oid_name([0, 2, 5]) == "sysctl.next.5"
    # size query and ENOMEM
    ret, err, _, n = sysctl_raw([0, 1, 1, 24], None, 0)
    assert (ret, n) == (0, len("kern.osreldate") + 1)
    ret, err, val, n = sysctl_raw([0, 1, 1, 24], 6, 6)
    assert (ret, err, val, n) == (-1, errno.ENOMEM, b"kern.o", 6)


def test_descriptions() -> None:
    for p in PARAMS_15:
        mib = nametomib(f"{SJP}.{p}")
        if p.endswith("."):
            mib = [*mib, mib[-1] - 1]
        ret, _err, val, _ = sysctl([0, 5, *mib], 1024)
        assert ret == 0 and val.endswith(b"\0") and len(val) > 4, p
    assert sysctl([0, 5, 1, 777])[:2] == (-1, errno.ENOENT)


# ---- {0,4} oidfmt ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind", "fmt"), [
    (f"{SJP}.jid", CTLTYPE_INT | RDTUN | MPSAFE, "I"),
    (f"{SJP}.parent", CTLTYPE_INT | RD | MPSAFE, "I"),
    (f"{SJP}.securelevel", CTLTYPE_INT | RW | MPSAFE, "I"),
    (f"{SJP}.persist", CTLTYPE_INT | RW | MPSAFE, "B"),
    (f"{SJP}.dying", CTLTYPE_INT | RD | MPSAFE, "B"),
    (f"{SJP}.vnet", CTLTYPE_INT | RDTUN | MPSAFE, "E,jailsys"),
    (f"{SJP}.name", CTLTYPE_STRING | RW | MPSAFE, "A"),
    (f"{SJP}.path", CTLTYPE_STRING | RDTUN | MPSAFE, "A"),
    (f"{SJP}.osrelease", CTLTYPE_STRING | RDTUN | MPSAFE, "A"),
    (f"{SJP}.host.hostid", CTLTYPE_ULONG | RW | MPSAFE, "LU"),
    (f"{SJP}.ip4.addr", CTLTYPE_STRUCT | RW | MPSAFE, "S,in_addr,a"),
    (f"{SJP}.ip6.addr", CTLTYPE_STRUCT | RW | MPSAFE, "S,in6_addr,a"),
    (f"{SJP}.host", CTLTYPE_NODE | MPSAFE, "N"),
    (f"{SJP}.host..", CTLTYPE_INT | RW | MPSAFE, "E,jailsys"),
    (f"{SJP}.ip4..", CTLTYPE_INT | RDTUN | MPSAFE, "E,jailsys"),
    (f"{SJP}.allow", CTLTYPE_NODE | MPSAFE, "N"),
    (f"{SJP}.allow.mount..", CTLTYPE_INT | RW | MPSAFE, "B"),
    (f"{SJP}.allow.mount.devfs", CTLTYPE_INT | RW | MPSAFE | DYN, "B"),
    (f"{SJP}.meta", CTLTYPE_STRING | RW | MPSAFE, "A,keyvalue"),
    (f"{SJP}.env", CTLTYPE_STRING | RW | MPSAFE, "A,keyvalue"),
    (SJP, CTLTYPE_NODE | RW | MPSAFE, "N"),
    ("security.jail.list", CTLTYPE_STRUCT | RD | MPSAFE, "S"),
    ("security.jail.jailed", CTLTYPE_INT | RD | MPSAFE, "I"),
    ("security.jail.jail_max_af_ips", CTLTYPE_UINT | RW | MPSAFE, "IU"),
    ("security.jail.enforce_statfs", CTLTYPE_INT | RW | MPSAFE, "I"),
    ("security.jail.meta_maxbufsize", CTLTYPE_U32 | RW | MPSAFE, "IU"),
    ("security.jail.env", CTLTYPE_STRING | RD | MPSAFE, "A"),
    ("security.jail.set_hostname_allowed", CTLTYPE_INT | RD | MPSAFE, "I"),
    ("kern.securelevel", CTLTYPE_INT | RW | PRISON | MPSAFE, "I"),
    ("kern.osreldate", CTLTYPE_INT | RD | CAPRD | MPSAFE, "I"),
    ("kern.osrelease", CTLTYPE_STRING | RD | CAPRD | MPSAFE, "A"),
    ("sysctl.name2oid", CTLTYPE_INT | RW | ANYBODY | MPSAFE | 0x0000C000, "I"),
])
def test_oidfmt(name: str, kind: int, fmt: str) -> None:
    assert oidfmt(name) == (kind, fmt)


def test_oidfmt_module_param() -> None:
    jailcore.model.kldload("zfs")
    assert oidfmt(f"{SJP}.allow.mount.zfs") == (CTLTYPE_INT | RW | MPSAFE | DYN, "B")


def test_oidfmt_errors() -> None:
    jid = nametomib(f"{SJP}.jid")
    assert sysctl([0, 4, *jid, 1])[:2] == (-1, errno.ENOTDIR)
    assert sysctl([0, 4, *jid[:3], 12345])[:2] == (-1, errno.ENOENT)
    ret, err, _val, n = sysctl([0, 4, *jid], 2)
    assert (ret, err, n) == (-1, errno.ENOMEM, 2)
    assert sysctl([0, 4, *jid], 0)[3] == 6  # size query: u_int + "I\0"


# ---- the parameter sysctls' values ----------------------------------------------------


@pytest.mark.parametrize(("param", "value"), [
    ("name", b"256\0"), ("path", b"1024\0"), ("osrelease", b"32\0"),
    ("host.hostname", b"256\0"), ("host.domainname", b"256\0"), ("host.hostuuid", b"64\0"),
    ("meta", b"4096\0"), ("env", b"4096\0"),
    ("jid", b"\0" * 4), ("persist", b"\0" * 4), ("allow.mount.devfs", b"\0" * 4),
    ("host.hostid", b"\0" * 8),
    ("ip4.addr", struct.pack("N", 4)), ("ip6.addr", struct.pack("N", 16)),
])
def test_param_values(param: str, value: bytes) -> None:
    ret, err, val = sysctlbyname(f"{SJP}.{param}", 64)
    assert (ret, err, val) == (0, 0, value)
    ret, _err, val = sysctlbyname(f"{SJP}.{param}", 0)  # oldp NULL: size
    assert ret == 0


def test_param_empty_child_values() -> None:
    host = nametomib(f"{SJP}.host")
    assert sysctl([*host, host[3] - 1], 64)[:3] == (0, 0, b"\0" * 4)


def test_meta_param_follows_maxbufsize(root: None) -> None:
    assert write("security.jail.meta_maxbufsize", struct.pack("I", 1000)) == (0, 0)
    assert read_int("security.jail.meta_maxbufsize") == 1000
    assert sysctlbyname(f"{SJP}.meta", 64)[2] == b"1000\0"
    # Any u_int (kern_jailmeta.c, jm_sysctl_meta_maxbufsize); a short value is EINVAL.
    assert write("security.jail.meta_maxbufsize", struct.pack("I", 4097)) == (0, 0)
    assert write("security.jail.meta_maxbufsize", b"\1\0") == (-1, errno.EINVAL)
    assert read_int("security.jail.meta_maxbufsize") == 4097


def test_param_writes(root: None) -> None:
    # RW parameter sysctls accept a write from root and ignore it
    assert write(f"{SJP}.securelevel", struct.pack("i", 5)) == (0, 0)
    assert write(f"{SJP}.name", b"12345678901") == (0, 0)
    assert write(f"{SJP}.name", b"123456789012") == (-1, errno.EINVAL)
    assert sysctlbyname(f"{SJP}.name", 64)[2] == b"256\0"
    # RDTUN and RD ones are not writable
    assert write(f"{SJP}.jid", struct.pack("i", 5)) == (-1, errno.EPERM)
    assert write(f"{SJP}.dying", struct.pack("i", 1)) == (-1, errno.EPERM)


# ---- errors of the generic path ----------------------------------------------------------


def test_reading_a_node_is_eisdir() -> None:
    for name in ("security", "security.jail", SJP, f"{SJP}.host", f"{SJP}.allow.mount",
                 "kern", "sysctl", "security.jail.children"):
        assert sysctlbyname(name)[:2] == (-1, errno.EISDIR), name
    assert sysctl(nametomib(f"{SJP}.host"))[:2] == (-1, errno.EISDIR)


def test_enotdir_enoent_einval() -> None:
    jid = nametomib(f"{SJP}.jid")
    assert sysctl([*jid, 0])[:2] == (-1, errno.ENOTDIR)
    assert sysctl([1, 24, 1])[:2] == (-1, errno.ENOTDIR)
    assert sysctl([*jid[:3], 0x7FFF0000])[:2] == (-1, errno.ENOENT)
    assert sysctl([1, 3])[:2] == (-1, errno.ENOENT)
    assert sysctlbyname("security.jail.nosuch")[:2] == (-1, errno.ENOENT)
    assert sysctlbyname("kern.osreldate.x")[:2] == (-1, errno.ENOENT)
    # namelen outside 2..24
    assert sysctl([1])[:2] == (-1, errno.EINVAL)
    assert sysctl([0, 1] + [1] * 23)[:2] == (-1, errno.EINVAL)
    assert sysctlbyname("")[:2] == (-1, errno.EINVAL)
    assert sysctlbyname("x" * 1025)[:2] == (-1, errno.EINVAL)
    assert sysctlbyname("x" * 1024)[:2] == (-1, errno.ENAMETOOLONG)


def test_enomem_and_size_queries() -> None:
    mib = nametomib("kern.osrelease")
    full = sysctlbyname("kern.osrelease")[2]
    assert full == b"15.0-RELEASE\0"
    # oldp NULL: the size needed
    assert sysctl_raw(mib, None, 0)[::3] == (0, len(full))
    assert sysctl_raw(mib, None, None)[0] == 0
    # too small: what fits is copied, *oldlenp = what was copied
    assert sysctl_raw(mib, 16, 4) == (-1, errno.ENOMEM, b"15.0" + b"\0" * 12, 4)
    # oldp without oldlenp: a zero-length buffer
    assert sysctl_raw(mib, 16, None)[:2] == (-1, errno.ENOMEM)
    # exact size
    assert sysctl_raw(mib, len(full), len(full)) == (0, 0, full, len(full))
    # ints
    ret, err, _val, n = sysctl_raw(nametomib("kern.osreldate"), 3, 3)
    assert (ret, err, n) == (-1, errno.ENOMEM, 3)


def test_write_read_only_is_eperm(root: None) -> None:
    for name in ("security.jail.jailed", "security.jail.vnet", "security.jail.list",
                 "security.jail.devfs_ruleset", "security.jail.children.max",
                 "kern.osrelease", "kern.osreldate", "kern.hostname",
                 "security.jail.set_hostname_allowed"):
        assert write(name, b"\0\0\0\0") == (-1, errno.EPERM), name
    # even an empty new value counts as a write
    ret, err, _, _ = sysctl_raw(nametomib("kern.osreldate"), 4, 4, new=b"")
    assert (ret, err) == (-1, errno.EPERM)


def test_short_int_write_is_einval(root: None) -> None:
    assert write("security.jail.jail_max_af_ips", b"\1\0") == (-1, errno.EINVAL)
    assert read_int("security.jail.jail_max_af_ips") == 255
    assert write("security.jail.jail_max_af_ips", struct.pack("I", 7)) == (0, 0)
    assert read_int("security.jail.jail_max_af_ips") == 7


def test_write_returns_old_value(root: None) -> None:
    ret, err, val = sysctlbyname("security.jail.enforce_statfs", 4, struct.pack("i", 1))
    assert (ret, val) == (0, struct.pack("i", 2))
    assert read_int("security.jail.enforce_statfs") == 1
    # too small a buffer for the old value: ENOMEM and nothing written
    ret, err, _ = sysctlbyname("security.jail.enforce_statfs", 2, struct.pack("i", 0))
    assert (ret, err) == (-1, errno.ENOMEM)
    assert read_int("security.jail.enforce_statfs") == 1


def test_nonroot_writes_are_eperm(root: None) -> None:
    def body() -> Any:
        return [
            write("security.jail.jail_max_af_ips", struct.pack("I", 3)),
            write("kern.securelevel", struct.pack("i", 3)),
            write(f"{SJP}.securelevel", struct.pack("i", 3)),
            write("security.jail.enforce_statfs", struct.pack("i", 3)),
            read_int("security.jail.jail_max_af_ips"),
            nametomib("kern.securelevel"),
        ]

    assert in_child(as_nobody(body)) == [[-1, errno.EPERM]] * 4 + [255, [1, 9]]
    assert read_int("kern.securelevel") == -1


# ---- security.jail.* values ---------------------------------------------------------------


def test_host_values() -> None:
    assert read_int("security.jail.jailed") == 0
    assert read_int("security.jail.vnet") == 0
    assert read_int("security.jail.jail_max_af_ips") == 255
    assert read_int("security.jail.enforce_statfs") == 2
    assert read_int("security.jail.devfs_ruleset") == 0
    assert read_int("security.jail.children.max") == 999999
    assert read_int("security.jail.children.cur") == 0
    assert read_int("security.jail.meta_maxbufsize") == 4096
    assert sysctlbyname("security.jail.env")[2] == b"\0"
    assert sysctlbyname("security.jail.list")[:3] == (0, 0, b"")
    assert sysctl_raw(nametomib("security.jail.list"), None, 0)[3] == 0


def test_deprecated_allowed_defaults() -> None:
    names = ["set_hostname_allowed", "socket_unixiproute_only", "sysvipc_allowed",
             "allow_raw_sockets", "chflags_allowed", "mount_allowed", "mlock_allowed",
             "mount_devfs_allowed"]
    assert [read_int(f"security.jail.{n}") for n in names] == [1, 1, 0, 0, 0, 0, 0, 0]


def test_version_14_lacks_15_leaves() -> None:
    jailcore.model.set_version(14)
    for name in ("security.jail.meta_maxbufsize", "security.jail.env"):
        assert sysctlbyname(name)[:2] == (-1, errno.ENOENT)
    assert sysctlbyname("kern.osrelease")[2] == b"14.3-RELEASE\0"
    assert read_int("kern.osreldate") == 1403000


def test_children_counts(root: None) -> None:
    a = create(("name", "a"), ("children.max", b"\5\0\0\0"))
    create(("name", "a.b"))
    create(("name", "c"))
    assert read_int("security.jail.children.cur") == 3

    def body() -> Any:
        return [read_int("security.jail.children.max"), read_int("security.jail.children.cur"),
                read_int("security.jail.jailed")]

    assert in_child(attached(a, body)) == [5, 1, 1]


def test_kern_securelevel(root: None) -> None:
    j = create(("name", "j"), ("securelevel", b"\2\0\0\0"))
    k = create(("name", "k"))
    assert read_int("kern.securelevel") == -1
    assert write("kern.securelevel", struct.pack("i", 1)) == (0, 0)
    assert read_int("kern.securelevel") == 1
    assert write("kern.securelevel", struct.pack("i", 0)) == (-1, errno.EPERM)
    assert write("kern.securelevel", struct.pack("i", 1)) == (0, 0)  # equal is fine

    def levels() -> Any:
        return read_int("kern.securelevel")

    # raised below the host: j (2) keeps its level, k (-1) is raised to 1
    assert in_child(attached(j, levels)) == 2
    assert in_child(attached(k, levels)) == 1

    def raise_inside() -> Any:
        return [write("kern.securelevel", struct.pack("i", 3)),
                write("kern.securelevel", struct.pack("i", 2)), levels()]

    # CTLFLAG_PRISON: jailed root may raise its own jail's level
    assert in_child(attached(j, raise_inside)) == [[0, 0], [-1, errno.EPERM], 3]
    assert in_child(attached(j, levels)) == 3
    assert read_int("kern.securelevel") == 1


def test_jailed_view(root: None) -> None:
    j = create(("name", "j"), ("host.hostname", "inside"), ("enforce_statfs", b"\1\0\0\0"),
               ("allow.raw_sockets", None), ("allow.mount", None))
    create(("name", "j.sub"), ("enforce_statfs", b"\2\0\0\0"))

    def body() -> Any:
        return {
            "jailed": read_int("security.jail.jailed"),
            "vnet": read_int("security.jail.vnet"),
            "enforce_statfs": read_int("security.jail.enforce_statfs"),
            "hostname": sysctlbyname("kern.hostname")[2].decode(),
            "osrelease": sysctlbyname("kern.osrelease")[2].decode(),
            "raw": read_int("security.jail.allow_raw_sockets"),
            "mount": read_int("security.jail.mount_allowed"),
            "set_hostname": read_int("security.jail.set_hostname_allowed"),
            "unixiproute_only": read_int("security.jail.socket_unixiproute_only"),
            "max_af_ips": write("security.jail.jail_max_af_ips", struct.pack("I", 3)),
            "write_enforce": write("security.jail.enforce_statfs", struct.pack("i", 2)),
            "params": len(jailparam_all()),
        }

    assert in_child(attached(j, body)) == {
        "jailed": 1, "vnet": 0, "enforce_statfs": 1, "hostname": "inside\0",
        "osrelease": "15.0-RELEASE\0", "raw": 1, "mount": 1, "set_hostname": 1,
        "unixiproute_only": 1, "max_af_ips": [-1, errno.EPERM],
        "write_enforce": [-1, errno.EPERM], "params": len(PARAMS_15),
    }


def test_env_sysctl(root: None) -> None:
    j = create(("name", "j"), ("env", "A=1\nB=2"), ("meta", "secret=x"))

    def body() -> Any:
        return sysctlbyname("security.jail.env")[2].decode()

    assert in_child(attached(j, body)) == "A=1\nB=2\0"


# ---- security.jail.list -----------------------------------------------------------------

XPRISON = struct.Struct("=4i1024s256s256s2I")


def records(data: bytes) -> list[dict[str, Any]]:
    out, at = [], 0
    while at < len(data):
        v, jid, state, cpuset, path, host, name, n4, n6 = XPRISON.unpack_from(data, at)
        at += XPRISON.size
        ip4 = [data[at + 4 * i : at + 4 * i + 4] for i in range(n4)]
        at += 4 * n4
        ip6 = [data[at + 16 * i : at + 16 * i + 16] for i in range(n6)]
        at += 16 * n6
        out.append({"version": v, "jid": jid, "state": state, "cpuset": cpuset,
                    "path": path.rstrip(b"\0").decode(), "host": host.rstrip(b"\0").decode(),
                    "name": name.rstrip(b"\0").decode(), "ip4": ip4, "ip6": ip6})
    assert at == len(data)
    return out


def test_xprison_layout(root: None, tmp_path: Any) -> None:
    assert XPRISON.size == 1560
    sub = tmp_path / "sub"
    sub.mkdir()
    web = create(("name", "web"), ("path", str(tmp_path)), ("host.hostname", "www"),
                 ("ip4.addr", IP4("192.0.2.1", "192.0.2.2")), ("ip6.addr", IP6("2001:db8::1")))
    create(("name", "web.db"), ("path", str(sub)), ("ip6.addr", IP6("2001:db8::1")))
    other = create(("name", "other"))

    ret, err, data = sysctlbyname("security.jail.list", 65536)
    assert ret == 0
    assert len(data) == 3 * 1560 + 2 * 4 + 16 + 16
    recs = records(data)
    assert [r["name"] for r in recs] == ["web", "web.db", "other"]
    r = recs[0]
    assert (r["version"], r["jid"], r["state"], r["path"], r["host"]) == (
        3, web, 1, str(tmp_path), "www")
    assert r["ip4"] == [bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])]
    assert r["ip6"] == [bytes.fromhex("20010db8000000000000000000000001")]
    assert recs[1]["ip4"] == [] and recs[1]["ip6"] == r["ip6"]
    assert recs[2]["jid"] == other and recs[2]["ip4"] == [] and recs[2]["path"] == "/"
    # raw offsets of the first record
    assert struct.unpack_from("=4i", data, 0)[:2] == (3, web)
    assert data[16 : 16 + len(str(tmp_path))] == str(tmp_path).encode()
    assert data[1040:1044] == b"www\0"
    assert data[1296:1300] == b"web\0"
    assert struct.unpack_from("=2I", data, 1552) == (2, 1)
    assert data[1560:1564] == bytes([192, 0, 2, 1])

    # size query, then ENOMEM with a partial buffer
    mib = nametomib("security.jail.list")
    assert sysctl_raw(mib, None, 0)[3] == len(data)
    ret, err, buf, n = sysctl_raw(mib, 2000, 2000)
    assert (ret, err, n, buf) == (-1, errno.ENOMEM, 2000, data[:2000])

    # seen from inside web: only web.db, with relative name and path
    def body() -> Any:
        recs = records(sysctlbyname("security.jail.list", 65536)[2])
        return [(r["name"], r["path"], len(r["ip6"])) for r in recs]

    assert in_child(attached(web, body)) == [["db", "/sub", 1]]


def test_xprison_dying_jail_listed(root: None) -> None:
    jid = create(("name", "d"))
    jailcore.model.hold(jid)
    assert LIB.jailmodel_jail_remove(jid) == 0
    recs = records(sysctlbyname("security.jail.list", 65536)[2])
    assert [(r["jid"], r["state"]) for r in recs] == [(jid, 2)]
    jailcore.model.release(jid)
    assert sysctlbyname("security.jail.list", 65536)[2] == b""
