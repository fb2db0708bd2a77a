"""Resource limits and usage: rctl(2) and rctl(8)'s rules, as objects.

A rule is ``subject:subject-id:resource:action=amount[/per]`` (rctl(8),
sys/kern/kern_rctl.c).  :meth:`Rule.parse` reads one as rctl(8) reads its
arguments (usr.bin/rctl/rctl.c ``expand_rule``): the subject may be
abbreviated (``u``, ``g``, ``p``, ``l``/``c``/``class``, ``j``, in any case),
a user or group given by name is looked up, and the amount may carry an
expand_number(3) suffix (``1g``).  ``str()`` gives the form the kernel prints
back: full subject names, numeric user ids, the amount in the kernel's units,
and ``/per`` only where it differs from the subject.

>>> from jailcore.rctl import Rule
>>> rule = Rule.parse("j:web:memoryuse:deny=1g")
>>> str(rule)
'jail:web:memoryuse:deny=1073741824'
>>> rule.subject, rule.id, rule.resource, rule.action, rule.amount
('jail', 'web', 'memoryuse', 'deny', 1073741824)
>>> str(Rule.parse("user:0:maxproc:log=100/jail"))
'user:0:maxproc:log=100/jail'

A filter (what ``rctl``, ``rctl -r`` and ``rctl -u`` take) may leave fields
out or empty: :meth:`Rule.filter`.

The calls: :func:`add`, :func:`remove`, :func:`rules`, :func:`usage` and
:func:`limits` are rctl_add_rule(2), rctl_remove_rule(2), rctl_get_rules(2),
rctl_get_racct(2) and rctl_get_limits(2), with the output buffer grown on
ERANGE as rctl(8) grows it.  They fail with :class:`RctlError`; when the
kernel has no RACCT/RCTL, or has it disabled (GENERIC's default), that is
ENOSYS with rctl(8)'s explanation (:func:`status`).  On the kernel model,
:func:`jailcore.model.set_racct` boots the host with RACCT enabled.
"""

from __future__ import annotations

import errno as _errno
import grp
import os
import pwd
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypedDict

from jailcore import _backend
from jailcore.errors import HostError, host_error

__all__ = [
    "ACTIONS", "RESOURCES", "SUBJECTS", "RctlError", "Rule", "RuleError", "Usage", "add",
    "expand", "expand_number", "humanize_number", "limits", "remove", "rules", "status",
    "usage",
]

#: The subjects the kernel knows (kern_rctl.c's subject names); rctl(8) also
#: reads "group" (and the abbreviations) but the kernel has no group rules.
SUBJECTS = ("process", "user", "loginclass", "jail")
#: The resources (kern_rctl.c's resource names), in the kernel's order.
RESOURCES = (
    "cputime", "datasize", "stacksize", "coredumpsize", "memoryuse", "memorylocked",
    "maxproc", "openfiles", "vmemoryuse", "pseudoterminals", "swapuse", "nthr",
    "msgqqueued", "msgqsize", "nmsgq", "nsem", "nsemop", "nshm", "shmsize", "wallclock",
    "pcpu", "readbps", "writebps", "readiops", "writeiops",
)
#: The actions: the signals the kernel may send, then deny, log, devctl, throttle.
ACTIONS = (
    "sighup", "sigint", "sigquit", "sigill", "sigtrap", "sigabrt", "sigemt", "sigfpe",
    "sigkill", "sigbus", "sigsegv", "sigsys", "sigpipe", "sigalrm", "sigterm", "sigurg",
    "sigstop", "sigtstp", "sigchld", "sigttin", "sigttou", "sigio", "sigxcpu", "sigxfsz",
    "sigvtalrm", "sigprof", "sigwinch", "siginfo", "sigusr1", "sigusr2", "sigthr",
    "deny", "log", "devctl", "throttle",
)
_ABBREVIATIONS = {"u": "user", "g": "group", "p": "process", "l": "loginclass",
                  "c": "loginclass", "class": "loginclass", "j": "jail"}
_SUFFIXES = "kmgtpe"
_NUMBER = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([A-Za-z]?)")


class RuleError(ValueError):
    """A rule rctl(8) would refuse before asking the kernel; ``str()`` is
    rctl(8)'s message (``malformed rule 'j:web:memoryuse:deny=1x': invalid
    numeric value '1x'``), or, for names the kernel does not know, one that
    names the field."""


class RctlError(HostError):
    """An rctl(2) call failed: ``operation`` is the call (``rctl_add_rule``),
    ``target`` the rule or filter as sent, ``errno`` the kernel's.  For ENOSYS
    ``errmsg`` says why as rctl(8) does (RACCT/RCTL not in the kernel, or
    present but disabled, with the tunable that enables it)."""


def expand_number(text: str) -> int:
    """expand_number(3): a number with an optional unit suffix (k, m, g, t,
    p, e in either case; powers of 1024), in decimal, octal (leading 0) or
    hexadecimal (0x).  ValueError for anything else, a negative value or one
    that does not fit in 64 bits."""
    m = _NUMBER.fullmatch(text)
    if m is None or m.group(1) == "-":
        raise ValueError(text)
    digits = m.group(2)
    base = 16 if digits[:2].lower() == "0x" else 8 if digits.startswith("0") else 10
    value = int(digits, base)
    suffix = m.group(3).lower()
    if suffix:
        if suffix not in _SUFFIXES:
            raise ValueError(text)
        value <<= 10 * (_SUFFIXES.index(suffix) + 1)
    if value >= 2**64:
        raise ValueError(text)
    return value


def _resolve(kind: str, textid: str, rule: str) -> str:
    """A user or group name as its number, as rctl(8)'s parse_user and
    parse_group do (a name first, then digits)."""
    try:
        return str(pwd.getpwnam(textid).pw_uid if kind == "user" else grp.getgrnam(textid).gr_gid)
    except KeyError:
        pass
    if not textid[:1].isdigit():
        raise RuleError(f"malformed rule '{rule}': unknown {kind} '{textid}'")
    if not textid.isdigit():
        raise RuleError(f"malformed rule '{rule}': trailing characters after numerical id")
    return str(int(textid))


def _split(text: str) -> tuple[str | None, ...]:
    """The six fields as kern_rctl.c's rctl_string_to_rule cuts them with
    strsep(3): subject, id and resource at ':', action at '=' or '/', amount
    at '/', the rest the per; None for a field past the end."""
    fields: list[str | None] = []
    rest: str | None = text
    for delims in (":", ":", ":", "=/", "/"):
        if rest is None:
            fields.append(None)
            continue
        cut = min((i for i in (rest.find(d) for d in delims) if i >= 0), default=-1)
        if cut < 0:
            fields.append(rest)
            rest = None
        else:
            fields.append(rest[:cut])
            rest = rest[cut + 1:]
    fields.append(rest)
    return tuple(fields)


def expand(text: str, resolve_ids: bool = True) -> str:
    """A rule or filter as rctl(8) rewrites it before the system call
    (usr.bin/rctl/rctl.c, ``expand_rule``): the subject's abbreviation
    spelled out, a user or group name as its number (not with
    ``resolve_ids=False``, ``rctl -a -n``), the amount's suffix expanded.
    Names are left for the kernel to judge.  RuleError with rctl(8)'s
    message for what rctl(8) itself refuses."""
    subject, sep, after = text.partition(":")
    if not sep:
        raise RuleError(f"malformed rule '{text}': missing subject")
    textid, _, rest = after.partition(":")
    subject = _ABBREVIATIONS.get(subject.lower(), subject)
    if resolve_ids and subject.lower() in ("user", "group") and textid:
        textid = _resolve(subject.lower(), textid, text)
    resolved = f"{subject}:{textid}:{rest}"
    f = _split(resolved)
    amount, per = f[4], f[5]
    if not amount:
        return resolved
    try:
        number = expand_number(amount)
    except ValueError:
        raise RuleError(f"malformed rule '{text}': invalid numeric value '{amount}'") from None
    head = f"{f[0]}:{f[1]}:{f[2]}:{f[3]}={number}"
    return head if per is None else f"{head}/{per}"


@dataclass(frozen=True)
class Rule:
    """One rule, or with fields left ``None`` a filter.  ``amount`` is in
    the units the kernel prints (bytes, processes, seconds, percent); ``per``
    is the subject the amount is counted per, when it is not the rule's own
    (None)."""

    subject: str | None
    id: str | None = None
    resource: str | None = None
    action: str | None = None
    amount: int | None = None
    per: str | None = None

    @classmethod
    def parse(cls, text: str, *, resolve_ids: bool = True) -> Rule:
        """A complete rule, as ``rctl -a`` takes it (``resolve_ids=False`` is
        ``rctl -a -n``: a user or group stays as written)."""
        rule = cls.filter(text, resolve_ids=resolve_ids)
        missing = [name for name, value in (("subject", rule.subject), ("subject id", rule.id),
                                            ("resource", rule.resource),
                                            ("action", rule.action), ("amount", rule.amount))
                   if value in (None, "")]
        if missing:
            raise RuleError(f"malformed rule '{text}': no {missing[0]}")
        return rule

    @classmethod
    def filter(cls, text: str, *, resolve_ids: bool = True) -> Rule:
        """A filter, as ``rctl``, ``rctl -r``, ``rctl -u`` and ``rctl -l``
        take it: the fields given, the others None (``jail:web`` is every
        rule of jail web, ``::`` every rule)."""
        rule = cls._fields(expand(text, resolve_ids), text)
        rule._check(text)
        return rule

    @classmethod
    def _fields(cls, expanded: str, text: str) -> Rule:
        subject, textid, resource, action, amount, per = (
            (f or None) for f in _split(expanded))
        # The kernel reads names in any case (str2value: strcasecmp).
        subject, resource, action, per = (
            v.lower() if v is not None else None for v in (subject, resource, action, per))
        number = None
        if amount is not None:
            if not amount.isdigit():
                raise RuleError(f"malformed rule '{text}': invalid numeric value '{amount}'")
            number = int(amount)
        # The kernel counts per the subject when no other is given.
        return cls(subject, textid, resource, action, number, per if per != subject else None)

    @classmethod
    def _from_kernel(cls, text: str) -> Rule:
        return cls._fields(text, text)

    def _check(self, text: str) -> None:
        for what, value, known in (("subject", self.subject, (*SUBJECTS, "group")),
                                   ("resource", self.resource, RESOURCES),
                                   ("action", self.action, ACTIONS),
                                   ("per", self.per, SUBJECTS)):
            if value is not None and value not in known:
                raise RuleError(f"malformed rule '{text}': unknown {what} '{value}'")

    def __str__(self) -> str:
        """The rule as the kernel prints it (a filter: as far as it goes)."""
        fields = [self.subject or "", self.id or "", self.resource or "", self.action or ""]
        while len(fields) > 2 and not fields[-1] and self.amount is None:
            fields.pop()
        text = ":".join(fields)
        if self.amount is not None:
            text += f"={self.amount}"
        if self.per is not None:
            text += f"/{self.per}"
        return text


class Usage(TypedDict, total=False):
    """What rctl_get_racct(2) reports, resource by resource, in the units
    the kernel prints: bytes, counts, seconds (cputime, wallclock), percent
    of one CPU (pcpu), bytes and operations per second.  A process's usage
    leaves out the resources counted per user or jail only (pseudoterminals,
    swapuse and the System V IPC ones)."""

    cputime: int
    datasize: int
    stacksize: int
    coredumpsize: int
    memoryuse: int
    memorylocked: int
    maxproc: int
    openfiles: int
    vmemoryuse: int
    pseudoterminals: int
    swapuse: int
    nthr: int
    msgqqueued: int
    msgqsize: int
    nmsgq: int
    nsem: int
    nsemop: int
    nshm: int
    shmsize: int
    wallclock: int
    pcpu: int
    readbps: int
    writebps: int
    readiops: int
    writeiops: int


# ---- the system calls ------------------------------------------------------------

_GET_RACCT, _GET_RULES, _GET_LIMITS, _ADD_RULE, _REMOVE_RULE = range(5)
_CALLS = ("rctl_get_racct", "rctl_get_rules", "rctl_get_limits", "rctl_add_rule",
          "rctl_remove_rule")
#: rctl(8)'s first output buffer (RCTL_DEFAULT_BUFSIZE), grown four times on ERANGE.
BUFSIZE = 128 * 1024


def status() -> str | None:
    """Why rctl(2) answers ENOSYS here, in rctl(8)'s words, or None when
    RACCT/RCTL is on (kern.racct.enable is 1)."""
    err, mib = _backend.sysctlnametomib("kern.racct.enable")
    if err == 0:
        # A bool (CTLTYPE_U8) in FreeBSD 12 and later, an int before.
        err, data = _backend.sysctl(mib, 4)
    if err == _errno.ENOENT:
        return "RACCT/RCTL support not present in kernel; see rctl(8) for details"
    if err:
        raise OSError(err, f"sysctlbyname: {os.strerror(err)}")
    if not any(data):
        return "RACCT/RCTL present, but disabled; enable using kern.racct.enable=1 tunable"
    return None


def _error(op: int, err: int, target: str) -> RctlError:
    text = status() if err == _errno.ENOSYS else None
    exc = host_error(RctlError, err, _CALLS[op], target, text)
    assert isinstance(exc, RctlError)
    return exc


def _call(op: int, text: str) -> str:
    """One rctl(2) call with ``text`` (its NUL added); the output, the buffer
    grown on ERANGE from 128 KiB, four times each time, as rctl(8) does."""
    ffi, lib = _backend.native()
    inbuf = os.fsencode(text) + b"\0"
    if op in (_ADD_RULE, _REMOVE_RULE):
        ret = lib.jc_rctl(_backend.BACKEND, op, inbuf, len(inbuf), ffi.NULL, 0)
        if ret < 0:
            _backend.check_model_host(-ret)
            raise _error(op, -ret, text)
        return ""
    size = BUFSIZE
    while True:
        out = ffi.new("char[]", size)
        ret = lib.jc_rctl(_backend.BACKEND, op, inbuf, len(inbuf), out, size)
        if ret >= 0:
            return str(ffi.string(out).decode(errors="surrogateescape"))
        if ret != -_errno.ERANGE:
            _backend.check_model_host(-ret)
            raise _error(op, -ret, text)
        size *= 4


def _text(rule: Rule | str, resolve_ids: bool = True) -> str:
    return str(rule) if isinstance(rule, Rule) else expand(rule, resolve_ids)


def add(rule: Rule | str, *, resolve_ids: bool = True) -> Rule:
    """Add a rule (``rctl -a``), given as a :class:`Rule` or as rctl(8)'s
    text (abbreviations, names and suffixes expanded as rctl(8) expands
    them); the rule as the kernel keeps it.  A deny rule replaces the one
    that differs from it only in amount."""
    if isinstance(rule, str):
        rule = Rule.parse(rule, resolve_ids=resolve_ids)
    _call(_ADD_RULE, str(rule))
    return rule


def remove(filter: Rule | str = "::", *, missing_ok: bool = False) -> None:
    """Remove the rules that match ``filter`` (``rctl -r``).  The kernel
    answers ESRCH when none did: :class:`RctlError`, unless ``missing_ok``."""
    try:
        _call(_REMOVE_RULE, _text(filter))
    except RctlError as exc:
        if not (missing_ok and exc.errno == _errno.ESRCH):
            raise


def _rules(text: str) -> list[Rule]:
    return [Rule._from_kernel(t) for t in text.split(",") if t]


def rules(filter: Rule | str = "::") -> list[Rule]:
    """The rules that match ``filter`` (``rctl``, ``rctl jail:web``), in the
    kernel's order."""
    return _rules(_call(_GET_RULES, _text(filter)))


def limits(pid: int) -> list[Rule]:
    """The rules that apply to process ``pid`` (``rctl -l process:PID``):
    its own, its user's, its login class's and its jail's."""
    return _rules(_call(_GET_LIMITS, f"process:{int(pid)}"))


def usage(filter: Rule | str) -> Usage:
    """The resource usage of a subject (``rctl -u jail:web``): a mapping of
    resource name to amount, in the units the kernel prints."""
    text = _call(_GET_RACCT, _text(filter))
    result: dict[str, int] = {}
    for item in text.split(","):
        name, _, amount = item.partition("=")
        if name:
            result[name] = int(amount)
    return result  # type: ignore[return-value]


def jail_rules(name: str, limits: Iterable[Rule | str]) -> list[Rule]:
    """``limits`` (rules, or rctl(8) texts with the subject left out:
    ``"memoryuse:deny=1g"``) as rules of jail ``name``."""
    out = []
    for item in limits:
        if isinstance(item, str):
            text = item if item.count(":") >= 3 else f"jail:{name}:{item}"
            item = Rule.parse(text)
        if item.subject != "jail" or item.id != name:
            raise RuleError(f"malformed rule '{item}': not a rule of jail '{name}'")
        out.append(item)
    return out


# ---- humanize_number(3), for rctl -h ----------------------------------------------


def humanize_number(value: int, width: int = 6) -> str:
    """libutil's humanize_number(3) as rctl(8) calls it for ``-h``: a buffer
    of ``width`` bytes, HN_AUTOSCALE, HN_DECIMAL | HN_NOSPACE, no suffix,
    powers of 1024 (``1073741824`` is ``1024M``, ``10000`` is ``9.8K``)."""
    prefixes = ("", "K", "M", "G", "T", "P", "E")
    divisor, deccut = 1024, 973
    sign = -1 if value < 0 else 1
    quotient = abs(value)
    baselen = 1 + (2 if sign < 0 else 1)
    if width < baselen + 1:
        raise ValueError("humanize_number: buffer too small")
    biggest = 10 ** (width - baselen)
    remainder = 0
    i = 0
    while (quotient >= biggest or (quotient == biggest - 1 and (
            remainder >= deccut or remainder >= divisor // 2))) and i < len(prefixes) - 1:
        remainder = quotient % divisor
        quotient //= divisor
        i += 1
    if ((quotient == 9 and remainder < deccut) or quotient < 9) and i > 0:
        s1 = quotient + (remainder * 10 + divisor // 2) // divisor // 10
        s2 = ((remainder * 10 + divisor // 2) // divisor) % 10
        return f"{sign * s1}.{s2}{prefixes[i]}"
    return f"{sign * (quotient + (remainder + divisor // 2) // divisor)}{prefixes[i]}"
