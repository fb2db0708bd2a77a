"""Resource limits: rctl(8)'s rules, as objects.

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
"""

from __future__ import annotations

import grp
import pwd
import re
from dataclasses import dataclass

__all__ = ["ACTIONS", "RESOURCES", "SUBJECTS", "Rule", "RuleError", "expand_number"]

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
        # rctl(8)'s own spelling.
        raise RuleError(f"malformed rule '{rule}': uknown {kind} '{textid}'")
    if not textid.isdigit():
        raise RuleError(f"malformed rule '{rule}': trailing characters after numerical id")
    return str(int(textid))


@dataclass(frozen=True)
class Rule:
    """One rule, or with fields left ``None`` a filter.  ``amount`` is in
    the kernel's units (bytes, processes, seconds...); ``per`` is the subject
    the amount is counted per, when it is not the rule's own (None)."""

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
        parts = text.split(":", 2)
        if len(parts) < 2:
            raise RuleError(f"malformed rule '{text}': missing subject")
        subject, textid = parts[0], parts[1]
        rest = parts[2] if len(parts) > 2 else ""
        subject = _ABBREVIATIONS.get(subject.lower(), subject)
        if resolve_ids and subject.lower() in ("user", "group") and textid:
            textid = _resolve(subject.lower(), textid, text)
        resource, _sep, tail = rest.partition(":")
        action, amount_text, per = tail, "", ""
        for i, c in enumerate(tail):
            if c in "=/":
                action = tail[:i]
                after = tail[i + 1:]
                if c == "=":
                    amount_text, _, per = after.partition("/")
                else:
                    per = after
                break
        amount = None
        if amount_text:
            try:
                amount = expand_number(amount_text)
            except ValueError:
                raise RuleError(f"malformed rule '{text}': invalid numeric value "
                                f"'{amount_text}'") from None
        per = _ABBREVIATIONS.get(per.lower(), per)
        # The kernel counts per the subject when no other is given.
        rule = cls(subject or None, textid or None, resource or None, action or None, amount,
                   per if per and per != subject else None)
        rule._check(text)
        return rule

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
