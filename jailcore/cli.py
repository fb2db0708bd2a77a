"""The ``jailcore`` command: jls, jexec and jail(8)-style commands over jailcore.

    jailcore ls [-dhNnqsv] [-j jail] [-u resource,...] [--json] [param ...]
    jailcore create [-iq] [name] param=value ...
    jailcore set JAIL param=value ...
    jailcore rm JAIL ...
    jailcore exec [-l] [-u user | -U user] [-d dir] JAIL [command ...]
    jailcore params [name ...]
    jailcore model reset | path | version [14|15] | racct [on|off|absent]
    jailcore rctl [-hn] [--json] [-a rule | -l filter | -r filter | -u filter | filter ...]
    jailcore watch [-j jail] [--json]
    jailcore tour [--real]

Values are written as jail(8) takes them: ``persist`` or ``nopersist`` for a
boolean (or ``allow.mount=false``), comma lists for addresses, ``new``,
``inherit`` and ``disable`` for jailsys parameters.  Errors go to standard
error in FreeBSD's words; the exit status is 1 on error, as jls and jexec do.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import os
import stat
import subprocess
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from jailcore import _backend
from jailcore.errors import JailError, JailPathError, ModelHostError
from jailcore.flags import JailFlag, JailSys
from jailcore.jail import Jail, jails
from jailcore.params import JAIL8_ADDRESS_NOTE, Access, Kind, ParamSpec, all_params, spec

PROG = "jailcore"
LIBXO_VERSION = "3"


class CommandError(Exception):
    """An error to report on standard error, exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: {message}\n")


# ---- values, the way jail(8) and libjail import them ----------------------------


def import_value(s: ParamSpec, text: str | None) -> Any:
    """The Python value of a jail(8)-style text value for parameter ``s``
    (``None``: the name alone, a boolean set to true)."""
    k = s.kind
    if k is Kind.BOOL:
        if text is None:
            return True
        low = text.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        try:
            return int(low, 10) != 0
        except ValueError:
            raise CommandError(f"{s.name}: unknown boolean value \"{text}\"") from None
    if text is None:
        text = ""
    if k is Kind.JAILSYS:
        try:
            digits = text.strip().lstrip("-")
            return JailSys.parse(int(text, 10) if digits.isascii() and digits.isdigit() else text)
        except (ValueError, TypeError):
            raise CommandError(f"{s.name}: unknown jailsys value \"{text}\"") from None
    if k in (Kind.INT, Kind.UINT, Kind.LONG, Kind.ULONG, Kind.INT64, Kind.UINT64):
        try:
            return int(text.strip(), 10)
        except ValueError:
            raise CommandError(f"{s.name}: non-integer value \"{text}\"") from None
    if k in (Kind.IPV4, Kind.IPV6):
        if text in ("", "-"):
            return ()
        family = ipaddress.IPv4Address if k is Kind.IPV4 else ipaddress.IPv6Address
        out = []
        for part in text.split(","):
            try:
                address = family(part.strip())
                if getattr(address, "scope_id", None):  # inet_pton(3) takes no zone
                    raise ValueError(part)
                out.append(address)
            except ValueError:
                if "|" in part:
                    raise CommandError(f"{s.name}: {part.strip()}: {JAIL8_ADDRESS_NOTE}") from None
                kind = "IPv4" if k is Kind.IPV4 else "IPv6"
                raise CommandError(f"{s.name}: not an {kind} address: {part.strip()}") from None
        return tuple(out)
    if k is Kind.KEY:
        return text if text else None
    return text


def parse_assignments(items: Sequence[str]) -> dict[str, Any]:
    """``param=value`` words (a bare ``param`` is a boolean) to dotted parameters."""
    out: dict[str, Any] = {}
    for item in items:
        name, eq, text = item.partition("=")
        try:
            s = spec(name)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        value = import_value(s, text if eq else None)
        if s.kind is Kind.BOOL and s.nobool:
            out[s.base] = not value
        else:
            out[name] = value
    return out


def export_text(s: ParamSpec, value: Any) -> str:
    """libjail's text for a value: decimal numbers, true/false, jailsys names,
    comma-joined addresses."""
    if s.kind is Kind.BOOL:
        return "true" if value else "false"
    if s.kind in (Kind.IPV4, Kind.IPV6):
        return ",".join(str(a) for a in value)
    if s.kind is Kind.KEYVALUE:
        return "\n".join(f"{k}={v}" for k, v in value.items())
    if s.kind is Kind.KEY:
        return "" if value is None else str(value)
    if s.kind is Kind.OPAQUE:
        return bytes(value).hex()
    return str(value)


# ---- ls: jls ----------------------------------------------------------------------


def _quoted(text: str, quote: bool) -> str:
    """jls's quoted_print: an empty value is always ``""``; under ``-q`` a value
    holding a quote, a space or a tab is put between the quotes it does not contain."""
    if not text:
        return '""'
    if not quote:
        return text
    qc = ('"' if "'" in text else "'" if '"' in text
          else '"' if " " in text or "\t" in text else "")
    return f"{qc}{text}{qc}"


def _sorted_all() -> list[str]:
    names = list(all_params())
    return sorted(names, key=lambda n: ("." in n, n))


def _jail_key(text: str) -> int | str:
    # A jid only when ASCII digits, as jexec's strtoul(3) reads one: "١٢" is a name.
    return int(text) if text.isascii() and text.isdigit() and int(text) != 0 else text


def cmd_ls(args: argparse.Namespace) -> int:
    flags = int(JailFlag.DYING) if args.dying else 0
    params: list[str] = []
    for p in args.params:
        params.extend(_sorted_all() if p == "all" else [p])
    mode = args.mode
    if mode in ("n", "s", "h") and not params:
        params = _sorted_all()
    if params and mode == "default":
        mode = "values"
    if mode in ("default", "v"):
        names = ["jid", "name", "host.hostname", "path", "ip4.addr", "ip6.addr"]
        if mode == "v":
            names += ["dying", "cpuset.id"]
    else:
        names = list(dict.fromkeys(params))
    try:
        specs = {n: spec(n) for n in names}
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    # jls -s skips X.y when X is a jailsys parameter that is not "new": it reads X too.
    parents = {n: n.split(".", 1)[0] for n in names
               if mode == "s" and "." in n and _is_jailsys(n.split(".", 1)[0])}
    use = _usage_names(args.usage)
    query = list(dict.fromkeys([*names, *parents.values(), *(["jid", "name"] if use else [])]))
    if args.jail is not None:
        rows = [_get_one(_jail_key(args.jail), query, flags)[1]]
    else:
        rows = [j._values for j in jails(query, dying=args.dying)]

    used = {r["jid"]: _jail_usage(r["name"]) for r in rows} if use else {}

    def usage_words(r: dict[str, Any], width: bool) -> str:
        if not use:
            return ""
        u = used[r["jid"]]
        return "".join(f"{u.get(n, 0):>{max(len(n), 10) if width else 0}} " for n in use)

    def shown(r: dict[str, Any]) -> list[str]:
        if mode != "s":
            return names
        return [n for n in names if specs[n].access is not Access.READ_ONLY
                and (n not in parents or r[parents[n]] == JailSys.NEW)]

    if args.json:
        objs = [_json_row(mode, specs, r, args.show_names, shown(r)) for r in rows]
        for obj, r in zip(objs, rows, strict=True):
            if use:
                obj["usage"] = {n: used[r["jid"]].get(n, 0) for n in use}
        print(json.dumps({"__version": LIBXO_VERSION, "jail-information": {"jail": objs}}))
        return 0
    out = sys.stdout
    if mode == "default":
        extra = "".join(f"{n:>{max(len(n), 10)}} " for n in use)
        if args.show_names:
            out.write(" JID             IP Address      Hostname                      "
                      f"{extra}Path\n")
        else:
            out.write(f"   JID  IP Address      Hostname                      {extra}Path\n")
        for r in rows:
            ip = str(r["ip4.addr"][0]) if r["ip4.addr"] else ""
            lead = f" {r['name']:<15} " if args.show_names else f"{r['jid']:6d}  "
            out.write(f"{lead}{ip:<15.15} {r['host.hostname']:<29.29} "
                      f"{usage_words(r, True)}{r['path']:.74}\n")
        return 0
    if mode == "v":
        out.write("   JID  Hostname                      Path\n"
                  "        Name                          State\n"
                  "        CPUSetID\n"
                  "        IP Address(es)\n")
        for r in rows:
            state = "DYING" if r["dying"] else "ACTIVE"
            out.write(f"{r['jid']:6d}  {r['host.hostname']:<29.29} {r['path']:.74}\n")
            out.write(f"        {r['name']:<29.29} {state}\n")
            out.write(f"        {r['cpuset.id']}\n")
            for a in (*r["ip4.addr"], *r["ip6.addr"]):
                out.write(f"        {a}\n")
        return 0
    if mode == "h":
        out.write(" ".join([*names, *use]) + "\n")
    quote = args.quote or mode == "s"
    for r in rows:
        words = [_word(specs[n], r[n], mode in ("n", "s"), quote) for n in shown(r)]
        if use:
            u = used[r["jid"]]
            words += [f"{n}={u.get(n, 0)}" if mode in ("n", "s") else str(u.get(n, 0))
                      for n in use]
        out.write(" ".join(words) + "\n")
    return 0


def _usage_names(text: str | None) -> list[str]:
    """The resources of ``ls -u memoryuse,maxproc``, checked."""
    if text is None:
        return []
    from jailcore.rctl import RESOURCES

    names = [n for n in text.split(",") if n]
    for n in names:
        if n not in RESOURCES:
            raise CommandError(f"-u: unknown resource '{n}' (one of {', '.join(RESOURCES)})")
    if not names:
        raise CommandError("-u: no resource named")
    return names


def _jail_usage(name: str) -> dict[str, int]:
    from jailcore import rctl

    try:
        return {k: v for k, v in rctl.usage(f"jail:{name}").items() if isinstance(v, int)}
    except rctl.RctlError as exc:
        if exc.errno == errno.ENOSYS and exc.errmsg:
            raise CommandError(f"-u: {exc.errmsg}") from None
        raise


def _get_one(key: int | str, names: list[str], flags: int) -> tuple[int, dict[str, Any]]:
    from jailcore import _iov

    return _iov.jail_get(key, names, flags)


def _is_jailsys(name: str) -> bool:
    try:
        return spec(name).kind is Kind.JAILSYS
    except ValueError:
        return False


def _word(s: ParamSpec, value: Any, with_name: bool, quote: bool) -> str:
    if s.kind is Kind.BOOL and with_name:
        return s.bool_name(bool(value))
    zero_length = ((s.kind in (Kind.IPV4, Kind.IPV6) and not value)
                   or (s.kind is Kind.KEY and value is None))
    if zero_length:  # jls's special_print
        text = '""' if quote else "" if with_name else "-"
    else:
        text = _quoted(export_text(s, value), quote)
    return f"{s.name}={text}" if with_name else text


def _json_row(mode: str, specs: dict[str, ParamSpec], r: dict[str, Any],
              show_names: bool, names: list[str]) -> dict[str, Any]:
    if mode == "default":
        ip = str(r["ip4.addr"][0]) if r["ip4.addr"] else ""
        obj: dict[str, Any] = {"name": r["name"]} if show_names else {"jid": r["jid"]}
        obj.update(ipv4=ip, hostname=r["host.hostname"], path=r["path"])
        return obj
    if mode == "v":
        return {
            "jid": r["jid"], "hostname": r["host.hostname"], "path": r["path"],
            "name": r["name"], "state": "DYING" if r["dying"] else "ACTIVE",
            "cpusetid": r["cpuset.id"],
            "ipv4_addrs": [str(a) for a in r["ip4.addr"]],
            "ipv6_addrs": [str(a) for a in r["ip6.addr"]],
        }
    out: dict[str, Any] = {}
    for n in names:
        s = specs[n]
        # jls emits a "no" boolean (nodying) as true under its own name, whatever its value.
        nobool_quirk = mode in ("n", "s") and s.kind is Kind.BOOL and s.nobool
        out[n] = True if nobool_quirk else s.export(r[n])
    return out


# ---- create, set, rm ------------------------------------------------------------


def _find(text: str) -> Jail:
    return Jail.get(_jail_key(text))


def cmd_create(args: argparse.Namespace) -> int:
    """As ``jail -c``: the first word is the jail's name when it has no ``=``;
    ``persist`` is added unless the words say ``nopersist`` (no command runs
    that would keep the jail alive)."""
    words = list(args.params)
    first = words.pop(0) if words and "=" not in words[0] else None
    params = parse_assignments(words)
    if first is not None:
        if "name" in params and params["name"] != first:
            raise CommandError(f"name: given twice ({first} and {params['name']})")
        params = {"name": first, **params}
    jail = Jail.create(params)
    if args.jid:
        print(jail.jid)
    elif not args.quiet and "name" in params:
        print(f"{params['name']}: created")
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    params = parse_assignments(args.params)
    if not params:
        raise CommandError("set: no parameters to change")
    _find(args.jail).update(params)
    print(f"{args.jail}: updated")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    status = 0
    for text in args.jails:
        try:
            _find(text).remove()
            print(f"{text}: removed")
        except JailError as exc:
            _report(args.cmd, exc)
            status = 1
    return status


# ---- exec: jexec ----------------------------------------------------------------


def _close_directories_for_exec() -> None:
    """Before this process attaches: FreeBSD refuses jail_attach while it holds
    an open directory descriptor.  Those that are close-on-exec would not
    reach the command anyway, and are closed; one the command would inherit
    (a shell's ``3</some/dir``) cannot go into a jail, and is an error."""
    from jailcore.jail import ATTACH_RULE, _open_directories

    for fd in _open_directories():
        if not os.get_inheritable(fd):
            os.close(fd)
        else:
            raise CommandError(
                f"jail_attach: {ATTACH_RULE} [EPERM], and descriptor {fd}, which the "
                f"command would inherit, is one: close it first (in a shell, {fd}<&-)"
            )


def cmd_exec(args: argparse.Namespace) -> int:
    """As jexec: attach this very process and exec the command (no fork).

    Directory descriptors stand in the way of the attach (FreeBSD refuses it):
    close-on-exec ones are closed first, an inheritable one is an error."""
    from jailcore.process import JEXEC, UserRequest, base_environment

    if args.user is not None and args.host_user is not None:
        raise CommandError("-u and -U exclude each other")
    jail = _find(args.jail)
    who = UserRequest.of(args.user, args.host_user, args.login)
    _close_directories_for_exec()
    if who is not None:
        # jailcore-jexec does the rest as jexec does: the user looked up on
        # the host before attaching or in the jail after it, the login class,
        # the environment; it reports failures itself, as this command would.
        root, jid = _backend.model_register_self(jail.jid), str(jail.jid)
        env = base_environment(args.login)
        flags = ("l" if args.login else "") + ("c" if args.dir is not None else "")
        argv = [JEXEC, "-", root or "", "0" if root is not None else jid, who.mode, who.name,
                flags, args.dir or "", *(args.argv or [""])]
        try:
            os.execve(JEXEC, argv, env)
        except OSError as exc:
            raise CommandError(f"{JEXEC}: {exc.strerror}") from None
    jail.attach()
    for where in ("/", args.dir):
        if where is None:
            continue
        try:
            os.chdir(where)
        except OSError as exc:
            raise CommandError(f"chdir: {where}: {exc.strerror}") from None
    command = list(args.argv) or [os.environ.get("SHELL", "/bin/sh"), "-i"]
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        raise CommandError(f"execvp: {command[0]}: {exc.strerror}") from None


# ---- params ---------------------------------------------------------------------


def cmd_params(args: argparse.Namespace) -> int:
    names = args.names or _sorted_all()
    rows = []
    for n in names:
        try:
            s = spec(n)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        rows.append((n, s.fmt, s.access.value, s.description))
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    w3 = max(len(r[2]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{w1}}  {r[1]:<{w2}}  {r[2]:<{w3}}  {r[3]}".rstrip())
    return 0


# ---- model: the kernel model's host ----------------------------------------------


def cmd_model(args: argparse.Namespace) -> int:
    from jailcore import _backend, model

    if _backend.NAME != "model":
        raise CommandError("jailcore's backend is the FreeBSD kernel, not the model "
                           "(set JAILCORE_BACKEND=model to use the model here)")
    if args.action == "reset":
        model.reset()
    elif args.action == "path":
        print(model.state_path() or "(a private host, in memory)")
    elif args.action == "racct":
        states = {"on": True, "off": False, "absent": None}
        if args.value is None:
            now = model.racct()
            print(next(k for k, v in states.items() if v is now))
        elif args.value not in states:
            raise CommandError(f"racct: {args.value!r} is not one of on, off, absent")
        else:
            model.set_racct(states[args.value])
    elif args.value is not None:
        if args.value not in ("14", "15"):
            raise CommandError(f"version: {args.value!r} is not one of 14, 15")
        model.set_version(int(args.value))
    else:
        print(model.version())
    return 0


# ---- net: network interfaces ------------------------------------------------------


def _ifconfig_lines(iface: Any) -> list[str]:
    """One interface as ``ifconfig -a`` shows it (the lines this model knows)."""
    names = ",".join(iface.flag_names)
    lines = [f"{iface.name}: flags={iface.flags:x}<{names}> metric 0 mtu {iface.mtu}"]
    if iface.mac is not None:
        lines.append(f"\tether {iface.mac}")
    for a in iface.addresses:
        if a.version == 4:
            line = f"\tinet {a.ip} netmask 0x{int(a.netmask):08x}"
            if a.ip in iface.broadcast:
                line += f" broadcast {iface.broadcast[a.ip]}"
        else:
            scope = iface.scopes.get(a.ip)
            where = f"%{iface.name}" if scope else ""
            line = f"\tinet6 {a.ip}{where} prefixlen {a.network.prefixlen}"
            if scope:
                line += f" scopeid 0x{scope:x}"
        lines.append(line)
    return lines


def cmd_net(args: argparse.Namespace) -> int:
    from jailcore import net

    found = net.interfaces(args.jail) if args.jail is not None else net.interfaces()
    if args.json:
        print(json.dumps([i.to_json() for i in found], indent=2))
    else:
        for iface in found:
            print("\n".join(_ifconfig_lines(iface)))
    return 0


def _add_net_parser(sub: Any) -> None:
    ne = sub.add_parser("net", help="network interfaces, as ifconfig -a")
    ne.add_argument("action", choices=("ls",), help="ls: list the interfaces and addresses")
    ne.add_argument("--json", action="store_true", help="a JSON list of objects")
    ne.add_argument("-j", "--jail", default=None,
                    help="the interfaces seen in this jail (jid or name)")
    ne.set_defaults(func=cmd_net)


# ---- mount: mounted file systems ---------------------------------------------------


def _mount_line(m: Any, fstab: bool) -> str:
    """One mount as ``mount`` shows it, or as ``mount -p`` (fstab(5) fields)."""
    if fstab:
        return f"{m.source:<23} {m.fspath:<23} {m.fstype:<7} {m.fstab_options:<15} 0 0"
    return f"{m.source} on {m.fspath} ({', '.join([m.fstype, *m.options])})"


def cmd_mount(args: argparse.Namespace) -> int:
    from jailcore import mount

    found = mount.mounts()
    if args.json:
        print(json.dumps([m.to_json() for m in found], indent=2))
    else:
        for m in found:
            print(_mount_line(m, args.p))
    return 0


def _add_mount_parser(sub: Any) -> None:
    mt = sub.add_parser("mount", help="mounted file systems, as mount and mount -p")
    mt.add_argument("action", choices=("ls",), help="ls: list the mounted file systems")
    mt.add_argument("-p", action="store_true", help="as mount -p: fstab(5) lines")
    mt.add_argument("--json", action="store_true", help="a JSON list of objects")
    mt.set_defaults(func=cmd_mount)


# ---- devfs: the kernel's devfs rulesets -------------------------------------------


def cmd_devfs(args: argparse.Namespace) -> int:
    from jailcore import devfs

    if args.action == "showsets":
        sets = devfs.rulesets(args.m)
        print(json.dumps(sets) if args.json else "\n".join(map(str, sets)))
    elif args.action == "show":
        rules = devfs.rules(args.s, args.m)
        if args.json:
            print(json.dumps([{"number": r.number, "rule": str(r)} for r in rules], indent=2))
        else:
            for r in rules:
                print(r)  # "100 path fuse unhide", as devfs rule show prints it
    else:
        found = devfs.nodes(args.m)
        if args.json:
            print(json.dumps([{"name": n.name, "mode": n.mode, "uid": n.uid, "gid": n.gid}
                              for n in found], indent=2))
        else:
            for n in found:
                print(f"{stat.filemode(n.mode)} {n.uid:>5} {n.gid:>5} {n.name}")
    return 0


def _add_devfs_parser(sub: Any) -> None:
    dv = sub.add_parser("devfs", help="devfs rulesets in the kernel, as devfs(8)",
                        usage="jailcore devfs [-m DIR] [--json] showsets | show [-s N] | ls")
    dv.add_argument("action", choices=("showsets", "show", "ls"),
                    help="showsets: the rulesets' numbers (devfs showsets); show: ruleset "
                    "N's rules (devfs rule -s N show); ls: the nodes the mount shows "
                    "(the model only)")
    dv.add_argument("-m", default="/dev", metavar="DIR",
                    help="the devfs mount to ask, as devfs -m (default /dev)")
    dv.add_argument("-s", type=int, default=0, metavar="N",
                    help="with show: the ruleset (default: the mount's active one)")
    dv.add_argument("--json", action="store_true", help="JSON output")
    dv.set_defaults(func=cmd_devfs)


# ---- the command line -------------------------------------------------------------


def _report(command: str, exc: BaseException) -> None:
    if isinstance(exc, JailPathError):
        text = f"path {exc.filename}: {exc.strerror}"  # as jail(8) reports it
    elif isinstance(exc, ModelHostError):
        text = f"{exc} (JAILCORE_MODEL_STATE selects another host: see jailcore --help)"
    elif isinstance(exc, JailError):
        text = exc.errmsg or f"{exc.operation}: {exc.strerror}"
    elif isinstance(exc, OSError):
        text = f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
    else:
        text = str(exc)
    print(f"{PROG} {command}: {text}", file=sys.stderr)


HOST_NOTE = """\
Off FreeBSD every command works on jailcore's kernel model.  Its jails outlive
the command, as a kernel's do: by default they live in your own host,
/tmp/jailcore-UID/host, until `jailcore model reset` empties it.
JAILCORE_MODEL_STATE=FILE selects another host (shared by every process that
names it), JAILCORE_MODEL_STATE=:private: one that ends with the command.
JAILCORE_BACKEND=model selects the model on FreeBSD too."""


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="FreeBSD jails through their system calls.",
                epilog=HOST_NOTE, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    ls = sub.add_parser("ls", add_help=False, help="list jails, as jls(8)",
                        usage="jailcore ls [-dhNnqsv] [-j jail] [-u resource,...] [--json] "
                              "[param ...]")
    ls.add_argument("--help", action="help", help="show this help and exit")
    ls.add_argument("-d", "-a", dest="dying", action="store_true", help="include dying jails")
    ls.add_argument("-j", dest="jail", metavar="jail", help="only this jail (jid or name)")
    ls.add_argument("-N", dest="show_names", action="store_true",
                    help="show names instead of jids in the default mode")
    ls.add_argument("-q", dest="quote", action="store_true",
                    help="quote values with spaces or quotes, and empty ones")
    for flag, mode, what in (("-h", "h", "a header line, then values (all parameters)"),
                             ("-n", "n", "name=value pairs (all parameters)"),
                             ("-s", "s", "name=value pairs that jail(8) could set again"),
                             ("-v", "v", "the verbose summary")):
        ls.add_argument(flag, dest="mode", action="store_const", const=mode, help=what)
    ls.add_argument("--json", action="store_true",
                    help="JSON shaped like `jls --libxo json`")
    ls.add_argument("-u", dest="usage", metavar="resource,...",
                    help="add columns of the jails' resource usage, as rctl -u "
                         "jail:NAME reports it (memoryuse,maxproc,...)")
    ls.add_argument("params", nargs="*", metavar="param", help="parameters to show, or all")
    ls.set_defaults(mode="default", func=cmd_ls)

    cr = sub.add_parser("create", help="create a jail, as jail -c",
                        usage="jailcore create [-iq] [name] param=value ...",
                        description="Create a jail, as `jail -c name=web path=/ persist` "
                        "does: parameters as jail(8) spells them; a first word without "
                        "'=' is the name.  persist is added unless nopersist is given.")
    cr.add_argument("-i", dest="jid", action="store_true",
                    help="print the new jail's jid (only), as jail -i")
    cr.add_argument("-q", dest="quiet", action="store_true",
                    help="do not print \"NAME: created\"")
    cr.add_argument("params", nargs="+", metavar="param=value")
    cr.set_defaults(func=cmd_create)

    st = sub.add_parser("set", help="change parameters of a jail, as jail -m")
    st.add_argument("jail", help="jid or name")
    st.add_argument("params", nargs="+", metavar="param=value")
    st.set_defaults(func=cmd_set)

    rm = sub.add_parser("rm", help="remove jails, as jail -r")
    rm.add_argument("jails", nargs="+", metavar="jail")
    rm.set_defaults(func=cmd_rm)

    ex = sub.add_parser("exec", help="run a command in a jail, as jexec(8)",
                        usage="jailcore exec [-l] [-u user | -U user] [-d dir] jail [command ...]")
    ex.add_argument("-l", dest="login", action="store_true",
                    help="a clean environment, as a login would give")
    ex.add_argument("-u", dest="host_user", metavar="user",
                    help="the user, from the host's password database")
    ex.add_argument("-U", dest="user", metavar="user",
                    help="the user, from the jail's password database")
    ex.add_argument("-d", dest="dir", metavar="dir", help="the working directory in the jail")
    ex.add_argument("jail")
    ex.add_argument("argv", nargs=argparse.REMAINDER, metavar="command")
    ex.set_defaults(func=cmd_exec)

    pa = sub.add_parser("params", help="the parameters the kernel offers")
    pa.add_argument("names", nargs="*", metavar="name")
    pa.set_defaults(func=cmd_params)

    mo = sub.add_parser("model", help="the kernel model's host: reset it, name its file",
                        usage="jailcore model reset | path | version [14|15] | "
                              "racct [on|off|absent]",
                        description=HOST_NOTE,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    mo.add_argument("action", choices=("reset", "path", "version", "racct"),
                    help="reset: remove every jail (the host starts afresh); path: the "
                    "host's state file; version: the FreeBSD release the model follows, "
                    "or switch it; racct: whether its kernel boots with RACCT/RCTL on "
                    "(kern.racct.enable=1), off (GENERIC's default) or without them, or "
                    "reboot it so (both switches only while the host has no jail)")
    mo.add_argument("value", nargs="?",
                    help="with version: 14 or 15; with racct: on, off or absent")
    mo.set_defaults(func=cmd_model)

    rc = sub.add_parser(
        "rc", help="rc.d/jail: start, stop, restart jails at boot from rc.conf",
        usage="jailcore rc [--root DIR] [--run-dir DIR] "
              "[one|force|quiet]start|stop|restart|status [name ...]",
        description="What `service jail start` does: rc.conf's jail_enable, jail_list, "
        "jail_conf, jail_parallel_start, jail_reverse_stop, jail_flags and jail_<name>_* "
        "variables read as rc.subr reads them (defaults, rc.conf, rc.conf.d), jail(8) run "
        "as rc.d/jail runs it (here: jailcore jail), /var/run/jail_<name>.id written.")
    rc.add_argument("--root", default="/", help="where etc/rc.conf and the rest are "
                    "looked for (default /)")
    rc.add_argument("--run-dir", dest="run_dir", default=None,
                    help="where the .id files go (default ROOT/var/run)")
    rc.add_argument("action")
    rc.add_argument("names", nargs="*", metavar="name")
    rc.set_defaults(func=cmd_rc)

    jl = sub.add_parser("jail", add_help=False,
                        help="jail(8): create, remove, restart, modify jails from jail.conf",
                        usage="jailcore jail [jail(8)'s options and arguments]")
    jl.add_argument("args", nargs=argparse.REMAINDER)

    sub.add_parser("rctl", add_help=False,
                   help="rctl(8): add, remove and show resource limits and usage",
                   usage="jailcore rctl [-hn] [--json] [-a rule | -l filter | "
                         "-r filter | -u filter | filter ...]")

    wa = sub.add_parser("watch", help="print jail events as they happen (kqueue, FreeBSD 15)",
                        usage="jailcore watch [-j jail] [--json]",
                        description="Print, one line each as they happen, the jails created, "
                        "changed, attached to and removed: below this process's own jail "
                        "(the host), or with -j a jail and the jails below it.  Lines read "
                        "`created jail=0 child=3`, `changed jail=3`, `attached jail=3 "
                        "pid=1234`, `removed jail=3` (`child=- multiple` when several came "
                        "together); --json prints JSON lines.  Stop it with Ctrl-C.")
    wa.add_argument("-j", dest="jail", metavar="jail", help="watch this jail (jid or name)")
    wa.add_argument("--json", action="store_true", help="JSON lines")
    wa.set_defaults(func=cmd_watch)

    tour = sub.add_parser("tour", help="walk the jail lifecycle, call by call")
    tour.add_argument("--real", action="store_true",
                      help="on FreeBSD, use the real kernel (it refuses without)")
    tour.set_defaults(func=cmd_tour)
    _add_net_parser(sub)
    _add_mount_parser(sub)
    _add_devfs_parser(sub)
    return p


def _run_jail(argv: list[str]) -> tuple[int, str]:
    """jail(8) for rc.d/jail: this jailcore's ``jail`` command, as a program
    (rc.d/jail runs jail(8) so, with its output captured and stdin /dev/null)."""
    # This jailcore, whatever the directory holds: run from /, with its own
    # location first on the path.
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run([sys.executable, "-m", "jailcore", "jail", *argv],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False, cwd="/",
                          env={**os.environ, "PYTHONPATH": path})
    return done.returncode, done.stdout


def cmd_rc(args: argparse.Namespace) -> int:
    from jailcore.rcconf import RcConf, RcJail

    conf = RcConf.load(args.root)
    rc = RcJail(conf, run_jail=_run_jail, run_dir=args.run_dir)
    base = args.action
    for prefix in ("fast", "force", "one", "quiet"):
        base = base.removeprefix(prefix)
    if base not in ("start", "stop", "restart", "status"):
        raise CommandError(f"{args.action}: not one of start, stop, restart, status "
                           "(with rc.subr's one, force, fast or quiet before it)")
    return rc.service(args.action, args.names)


def _event_line(event: Any, as_json: bool) -> str:
    """One event as ``jailcore watch`` prints it."""
    from jailcore.events import JailAttached, JailChanged, JailCreated

    kind = ("created" if isinstance(event, JailCreated) else
            "changed" if isinstance(event, JailChanged) else
            "attached" if isinstance(event, JailAttached) else "removed")
    fields: dict[str, Any] = {"event": kind, "jail": event.jid}
    if isinstance(event, JailCreated):
        fields.update(child=event.child, multiple=event.multiple)
    elif isinstance(event, JailAttached):
        fields.update(pid=event.pid, multiple=event.multiple)
    if as_json:
        return json.dumps(fields)
    words = [kind, f"jail={event.jid}"]
    for key in ("child", "pid"):
        if key in fields:
            words.append(f"{key}={'-' if fields[key] is None else fields[key]}")
    if fields.get("multiple"):
        words.append("multiple")
    return " ".join(words)


def cmd_watch(args: argparse.Namespace) -> int:
    from jailcore.events import watch

    jail = None if args.jail is None else _find(args.jail)
    with watch(jail, children=True) as w:
        for event in w:
            print(_event_line(event, args.json), flush=True)
    return 0


def cmd_tour(args: argparse.Namespace) -> int:
    from jailcore.tour import tour

    return tour(real=args.real)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["jail"]:
        # jail(8)'s own command line, parsed as jail(8) parses it.
        from jailcore.jailcmd import main as jail_main

        return jail_main(words[1:])
    if words[:1] == ["rctl"]:
        # rctl(8)'s, likewise.
        from jailcore.rctlcmd import main as rctl_main

        return rctl_main(words[1:])
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # An unknown option of a subcommand: that subcommand's usage, not the top one's.
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices[args.cmd].error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        status = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        # The reader went away (jailcore ls | head): stop quietly, as jls does on SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except CommandError as exc:
        print(f"{PROG} {args.cmd}: {exc}", file=sys.stderr)
        return 1
    except (JailError, OSError) as exc:
        _report(args.cmd, exc)
        return 1
    except KeyboardInterrupt:
        return 130
    except ValueError as exc:
        print(f"{PROG} {args.cmd}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
