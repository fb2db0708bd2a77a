"""The Python peer: PyPI ``jail`` (py-jail 0.0.14), driven against the model.

py-jail is a ctypes binding: ``jail.Jiov`` turns a dict of parameters into
an iovec array, and the calls go through ``jail.dll``, its handle on libc
(``jail/libc.py``).  Here that handle is replaced, on the imported module
only, by an object whose ``jail_set``, ``jail_get``, ``jail_remove`` and
``jail_attach`` are the model's ``jailmodel_*`` functions of the library
jailcore itself uses, so py-jail works on the same host.  py-jail imports
``freebsd_sysctl`` (FreeBSD only) and reads
``security.jail.jail_max_af_ips`` through it when it is imported; a stand-in
module answers that one sysctl from the model, and has the ``types``
submodule py-jail imports.  Nothing else of py-jail is changed: a benchmark
call is written as its README shows, ``jail.Jiov(dict(...))`` and
``jail.dll.jail_set(jiov.pointer, len(jiov), flags)``.

py-jail takes addresses as a list of :class:`ipaddress.IPv4Address` and
booleans as a name with the value None, so a call turns the text of its
address into an address object, as a py-jail user must.
"""

from __future__ import annotations

import ctypes
import importlib
import ipaddress
import sys
import types
from collections.abc import Callable
from typing import Any

REQUIREMENT = "jail==0.0.14"
# py-jail 0.0.14 is an sdist whose setup.py imports pip, which pip's isolated
# build environment does not have: it installs only without build isolation,
# with setuptools and wheel already in the environment.
INSTALL = f"pip install setuptools wheel && pip install --no-build-isolation {REQUIREMENT}"
JAIL_CREATE = 0x01


def _installed_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("jail")
    except metadata.PackageNotFoundError:
        return None


def available() -> str | None:
    """None when py-jail 0.0.14 is installed, else why it cannot be measured."""
    version = _installed_version()
    if version is None:
        return f"PyPI jail (py-jail) is not installed: {INSTALL}"
    if version != REQUIREMENT.split("==")[1]:
        return f"PyPI jail {version} is installed, the suite measures {REQUIREMENT}"
    return None


class _ModelLibc:
    """What py-jail calls on its libc handle, answered by the model."""

    def __init__(self, library: str) -> None:
        lib = ctypes.CDLL(library, use_errno=True)
        self.jail_set = lib.jailmodel_jail_set
        self.jail_get = lib.jailmodel_jail_get
        self.jail_remove = lib.jailmodel_jail_remove
        self.jail_attach = lib.jailmodel_jail_attach
        self._sysctlbyname = lib.jailmodel_sysctlbyname

    def sysctl_int(self, name: str) -> int:
        value = ctypes.c_int()
        size = ctypes.c_size_t(ctypes.sizeof(value))
        if self._sysctlbyname(name.encode(), ctypes.byref(value), ctypes.byref(size),
                              None, ctypes.c_size_t(0)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"sysctl {name} on the model")
        return value.value


def _sysctl_stand_in(libc: _ModelLibc) -> types.ModuleType:
    """A module in place of freebsd_sysctl: Sysctl(name).value for the integer
    sysctls py-jail reads, from the model."""
    mod = types.ModuleType("freebsd_sysctl")
    sub = types.ModuleType("freebsd_sysctl.types")
    sub.STRING = 3  # type: ignore[attr-defined]  # CTLTYPE_STRING, compared only

    class Sysctl:
        def __init__(self, name: str) -> None:
            self.name = name
            self.value = libc.sysctl_int(name)
            self.ctl_type = 2  # CTLTYPE_INT

    mod.Sysctl = Sysctl  # type: ignore[attr-defined]
    mod.types = sub  # type: ignore[attr-defined]
    return mod


def load(library: str) -> Any:
    """py-jail's module, imported with its libc handle on the model."""
    libc = _ModelLibc(library)
    saved = {k: sys.modules.get(k) for k in ("freebsd_sysctl", "freebsd_sysctl.types")}
    sys.modules["freebsd_sysctl"] = _sysctl_stand_in(libc)
    sys.modules["freebsd_sysctl.types"] = sys.modules["freebsd_sysctl"].types
    try:
        pyjail: Any = importlib.import_module("jail")
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    pyjail.dll = libc
    return pyjail


def make_create_remove(library: str) -> Callable[[tuple[str, str, str]], None]:
    """B4 through py-jail: create a jail (name, path, host.hostname, ip4.addr,
    persist, allow.raw_sockets) with the (name, hostname, address) it is
    given, then remove it."""
    pyjail = load(library)

    def op(v: tuple[str, str, str]) -> None:
        name, host, ip = v
        jiov = pyjail.Jiov({
            "name": name, "path": "/", "host.hostname": host,
            "ip4.addr": [ipaddress.IPv4Address(ip)], "persist": None,
            "allow.raw_sockets": None,
        })
        jid = pyjail.dll.jail_set(jiov.pointer, len(jiov), JAIL_CREATE)
        if jid < 0:
            raise OSError(ctypes.get_errno(), f"py-jail jail_set: {jiov.errmsg.value!r}")
        if pyjail.dll.jail_remove(jid) != 0:
            raise OSError(ctypes.get_errno(), "py-jail jail_remove")

    return op
