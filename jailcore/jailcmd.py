"""``jailcore jail``: jail(8)'s command line, options and output, on
:mod:`jailcore.lifecycle`.

The options and the styles of command line are jail(8)'s (usr.sbin/jail/jail.c
``main``): ``-c``, ``-m``, ``-r``, ``-R`` and ``-C`` say what to do, to the jails
of a configuration file (``-f``, default /etc/jail.conf), to one jail given by
parameters on the command line, or, in the old style, to a jail given as
``path hostname ip[,ip...] command...``.  What it prints, and where, and its
exit status, are jail(8)'s, messages starting ``jail: ``.
"""

from __future__ import annotations

import getopt
import ipaddress
import os
import sys
from collections.abc import Sequence
from typing import IO

from jailcore.conf import Config, ConfigError, ConfiguredJail, load, strtol
from jailcore.lifecycle import JailConf, command_line_config

__all__ = ["USAGE", "main"]

CONF_FILE = "/etc/jail.conf"
USAGE = """\
usage: jail [-dhilqv] [-J jid_file] [-u username] [-U username]
            -[cmr] param=value ... [command=command ...]
       jail [-dqv] [-f file] -[cmr] [jail]
       jail [-qv] [-f file] -[rR] ['*' | jail ...]
       jail [-dhilqv] [-J jid_file] [-u username] [-U username]
            [-n jailname] [-s securelevel]
            path hostname ip[,...] command ...
       jail [-f file] -e separator
"""
# The legacy security.jail.*_allowed sysctls an old-style command line
# follows when the caller is not in a jail (jail.c perm_sysctl): sysctl,
# parameter, and whether the sense is reversed.
_PERM_SYSCTLS = (
    ("security.jail.set_hostname_allowed", "allow.set_hostname", False),
    ("security.jail.sysvipc_allowed", "allow.sysvipc", False),
    ("security.jail.allow_raw_sockets", "allow.raw_sockets", False),
    ("security.jail.chflags_allowed", "allow.chflags", False),
    ("security.jail.mount_allowed", "allow.mount", False),
    ("security.jail.socket_unixiproute_only", "allow.socket_af", True),
)


class _Usage(Exception):
    pass


def _sysctl_int(name: str) -> int | None:
    """An integer sysctl's value, None when it cannot be read."""
    from jailcore import _backend

    err, mib = _backend.sysctlnametomib(name)
    if err:
        return None
    err, raw = _backend.sysctl(mib, 4)
    if err or len(raw) != 4:
        return None
    return int.from_bytes(raw, sys.byteorder, signed=True)


def main(argv: Sequence[str], out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """Run ``jail ARGV...``; the exit status."""
    err = err or sys.stderr
    try:
        return _main(list(argv), out or sys.stdout, err)
    except _Usage:
        err.write(USAGE)
        err.flush()
        return 1
    except ConfigError as exc:
        print(f"jail: {exc}", file=err, flush=True)
        return 1


def _main(argv: list[str], out: IO[str], err: IO[str]) -> int:
    try:
        opts, args = getopt.getopt(argv, "cCde:f:hiJ:lmn:p:qrRs:u:U:v")
    except getopt.GetoptError as exc:
        print(f"jail: {_getopt_message(exc)}", file=err, flush=True)
        raise _Usage() from None
    ops = ""
    cfname = CONF_FILE
    docf = True
    verbose = 0
    parallel = 0
    print_jid = False
    jid_file = None
    separator = None
    dflag = rflag = False
    early: list[tuple[str, list[str]]] = []  # parameters the options give
    for opt, val in opts:
        if opt == "-c":
            ops += "c"
        elif opt == "-C":
            ops += "C"
        elif opt == "-d":
            dflag = True
        elif opt == "-e":
            separator = val
        elif opt == "-f":
            cfname = val
        elif opt == "-h":
            early.append(("ip_hostname", []))
            docf = False
        elif opt == "-i":
            print_jid = True
            verbose = -1
        elif opt == "-J":
            jid_file = val
        elif opt == "-l":
            early.append(("exec.clean", []))
            docf = False
        elif opt == "-m":
            ops += "m"
        elif opt == "-n":
            early.append(("name", [val]))
            docf = False
        elif opt == "-p":
            parallel = strtol(val)
        elif opt == "-q":
            verbose = -1
        elif opt == "-r":
            ops += "r"
        elif opt == "-R":
            ops += "r"
            rflag = True
        elif opt == "-s":
            early.append(("securelevel", [val]))
            docf = False
        elif opt in ("-u", "-U"):
            early.append(("exec.jail_user", [val]))
            early.append(("exec.system_jail_user", [] if opt == "-u" else ["false"]))
            docf = False
        elif opt == "-v":
            verbose = 1

    if separator is not None:
        if ops or args:
            raise _Usage()
        cfg = load(cfname)
        text = cfg.show(separator)
        if text:
            print(text, file=out, flush=True)
        return 0

    oldcl = False
    config: Config | None
    kinds = set(ops)
    stop_only = kinds <= {"r"} and "r" in kinds
    if not ops:
        if len(args) < 4 or not args[0].startswith("/"):
            raise _Usage()
        ops, docf, oldcl = "c", False, True
        words = [f"path={args[0]}", f"host.hostname={args[1]}"]
        if args[2]:
            for address in args[2].split(","):
                family = "ip6.addr" if _is_ipv6(address) else "ip4.addr"
                words.append(f"{family}={address}")
        config = _command_line(early, words)
        cj = config.jails[0]
        for arg in args[3:]:
            cj.set("command", [arg], append=True)
        if _sysctl_int("security.jail.jailed") == 0:
            for name, param, reverse in _PERM_SYSCTLS:
                value = _sysctl_int(name)
                if value is not None:
                    cj.set(param, [] if bool(value) != reverse else ["false"], append=True)
    elif stop_only:  # -r or -R alone (jail.c: op == JF_STOP; -rC reads the file below)
        if not docf or not args:
            raise _Usage()
        if not rflag and any("=" in a for a in args):
            raise _Usage()
        docf = not rflag and (cfname == "-" or os.path.exists(cfname))
        config = load(cfname) if docf else None
    elif len(args) > 1 or (len(args) == 1 and "=" in args[0]):
        if rflag or "C" in ops:
            raise _Usage()
        docf = False
        config = _command_line(early, args)
    else:
        if rflag or not docf:
            raise _Usage()
        config = load(cfname)
    jc = JailConf(config, verbose=verbose, parallel=parallel, print_jid=print_jid,
                  jid_file=jid_file, out=out, err=err, oldcl=oldcl, allow_dying=dflag)
    return jc.run(ops + ("R" if rflag else ""), args if docf or stop_only else [], docf=docf)


def _command_line(early: list[tuple[str, list[str]]], words: Sequence[str]) -> Config:
    """The jail of the command line: the options' parameters first (jail(8)
    adds them as it reads the options), then the words'."""
    config = command_line_config([])
    cj: ConfiguredJail = config.jails[0]
    for name, vals in early:
        cj.set(name, vals, append=True)
    for p in command_line_config(words).jails[0].params:
        cj.set(p.name, p.values, append=True)
    return config


def _is_ipv6(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


def _getopt_message(exc: getopt.GetoptError) -> str:
    # BSD getopt(3)'s words.
    if "requires argument" in exc.msg:
        return f"option requires an argument -- {exc.opt}"
    return f"illegal option -- {exc.opt}"

