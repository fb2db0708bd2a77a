"""devfs rulesets as Python objects: devfs.rules(5) text in and out, FreeBSD's
default rulesets, and what a devfs mount with a ruleset shows.

The rules part is pure Python and makes no system call.  The kernel side
(:func:`load`, :func:`show`, :func:`use`, :func:`applyset`, ...) issues the
``DEVFSIO_*`` ioctls that devfs(8) issues, on a devfs mount point; on Linux
the kernel model answers them.

The objects mirror the kernel's ``struct devfs_rule`` (sys/fs/devfs/devfs.h)
field by field, and are encoded into it by the kernel side:

=====================  ==========================================================
:class:`Rule` field    ``struct devfs_rule``
=====================  ==========================================================
``number``             rule part of ``dr_id`` (``mkrid(ruleset, rule)``)
``types``              ``DRC_DSWFLAGS`` in ``dr_icond``; ``dr_dswflags``
                       (:data:`DEVICE_TYPES`)
``path``               ``DRC_PATHPTRN`` in ``dr_icond``; ``dr_pathptrn``
``hide``, ``unhide``   ``DRA_BACTS`` in ``dr_iacts``; ``DRB_HIDE``/``DRB_UNHIDE``
``user``, ``group``    ``DRA_UID``/``DRA_GID``; ``dr_uid``/``dr_gid`` (a name is
                       resolved to its number at load time, as devfs(8) does)
``mode``               ``DRA_MODE``; ``dr_mode``
``include``            ``DRA_INCSET``; ``dr_incset``
=====================  ==========================================================
"""

from __future__ import annotations

import errno as _errno
import grp
import os
import pwd
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from jailcore import _backend
from jailcore._backend import BACKEND, ffi, lib
from jailcore.errors import DevfsError, host_error

__all__ = [
    "DEFAULT_RULES",
    "DEFAULT_RULESETS",
    "DEVFS_MAXPTRNLEN",
    "DEVICE_TYPES",
    "ERPCMISMATCH",
    "RULE_DEPTH",
    "DevfsRulesError",
    "Device",
    "Entry",
    "Node",
    "Rule",
    "Ruleset",
    "add",
    "apply",
    "applyset",
    "delete",
    "delete_rule",
    "emit_rules",
    "fnmatch_pathname",
    "load",
    "load_defaults",
    "nodes",
    "parse_rules",
    "rules",
    "rulesets",
    "show",
    "use",
    "visible",
]

#: The device types ``type`` accepts, with the cdevsw ``d_flags`` bit each one
#: tests (``D_TAPE``, ``D_DISK``, ``D_TTY``, ``D_MEM`` of sys/sys/conf.h).  The
#: order is devfs(8)'s, which ``devfs rule show`` and :func:`emit_rules` follow.
DEVICE_TYPES: Mapping[str, int] = {"disk": 0x0002, "mem": 0x0008, "tape": 0x0001, "tty": 0x0004}

#: Size of ``dr_pathptrn``: a pattern has at most this many bytes less one.
DEVFS_MAXPTRNLEN = 200

#: The default of the ``vfs.devfs.rule_depth`` sysctl: how many levels of
#: ``include`` the kernel follows.  With 1, a ruleset's own includes are
#: followed but not the includes of the rulesets it includes, which is why
#: ``devfsrules_jail_vnet`` includes rulesets 1 to 3 again besides 4.
RULE_DEPTH = 1

_RULE_MAX = 0xFFFF  # devfs_rnum and devfs_rsnum are 16 bits
_INT_MAX = 0x7FFFFFFF
_MODE_BITS = 0o7777
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DIGITS = re.compile(r"[0-9]+\Z")

Owner = int | str
"""A user or group: a number, or a name that devfs(8) looks up when it loads the rule."""


class DevfsRulesError(ValueError):
    """A devfs.rules(5) text that devfs(8) (or rc.subr, which feeds the file to
    it) would refuse.

    ``filename`` and ``lineno`` say where, ``reason`` what is wrong; the message
    is ``filename:lineno: reason``.
    """

    def __init__(self, filename: str, lineno: int, reason: str) -> None:
        super().__init__(f"{filename}:{lineno}: {reason}")
        self.filename = filename
        self.lineno = lineno
        self.reason = reason


def _check_owner(what: str, value: Owner | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"{what} must be an int or a str, not {type(value).__name__}")
    if isinstance(value, int) and not 0 <= value <= _INT_MAX:
        raise ValueError(f"{what} {value} out of range")
    if isinstance(value, str) and (not value or _DIGITS.match(value)):
        raise ValueError(f"{what} {value!r}: give a number as an int, a name as a str")


@dataclass(frozen=True)
class Rule:
    """One devfs rule: its number, its conditions and its actions.

    Conditions (all given ones must hold): ``path``, a shell pattern matched
    against the device's path below the mount point (fnmatch with
    ``FNM_PATHNAME``, so ``*`` stops at ``/``); ``types``, device types of
    :data:`DEVICE_TYPES` (any one of them matches).  No condition matches
    every entry.

    Actions, run on a matching entry in this order: ``hide`` then ``unhide``
    (both may be set; the entry then ends up shown), ``user``, ``group``,
    ``mode``, and ``include``, the number of another ruleset whose rules are
    applied to the entry in turn.

    ``number`` is the rule's number in its ruleset, 1 to 65535; 0 asks
    :meth:`Ruleset.add` to number it, as ``devfs rule add`` without a number
    does.
    """

    number: int
    path: str | None = None
    types: frozenset[str] | None = None
    hide: bool = False
    unhide: bool = False
    user: Owner | None = None
    group: Owner | None = None
    mode: int | None = None
    include: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.number <= _RULE_MAX:
            raise ValueError(f"rule number {self.number} out of range (0 to {_RULE_MAX})")
        if self.path is not None:
            if not self.path:
                raise ValueError("empty path pattern")
            if len(self.path.encode()) >= DEVFS_MAXPTRNLEN:
                raise ValueError(f"pattern specified too long: {self.path!r}")
        if self.types is not None:
            types = frozenset(self.types)
            unknown = sorted(types - DEVICE_TYPES.keys())
            if unknown:
                raise ValueError(f"unknown type: {unknown[0]}")
            if not types:
                raise ValueError("types must name at least one type, or be None")
            object.__setattr__(self, "types", types)
        _check_owner("user", self.user)
        _check_owner("group", self.group)
        if self.mode is not None and not 0 <= self.mode <= _MODE_BITS:
            raise ValueError(f"invalid mode: {self.mode:o}")
        if self.include is not None and not 1 <= self.include <= _RULE_MAX:
            raise ValueError(f"include {self.include}: no such ruleset number")

    def __repr__(self) -> str:
        parts = [repr(self.number)]
        if self.path is not None:
            parts.append(f"path={self.path!r}")
        if self.types is not None:
            parts.append(f"types={{{', '.join(repr(t) for t in _ordered_types(self.types))}}}")
        for name in ("hide", "unhide"):
            if getattr(self, name):
                parts.append(f"{name}=True")
        for name in ("user", "group"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name)!r}")
        if self.mode is not None:
            parts.append(f"mode=0o{self.mode:o}")
        if self.include is not None:
            parts.append(f"include={self.include}")
        return f"Rule({', '.join(parts)})"

    def __str__(self) -> str:
        """The rule as ``devfs rule show`` prints it: ``100 path null unhide``."""
        return " ".join([str(self.number), *self._words(quote=False, names={})])

    def _words(self, *, quote: bool, names: Mapping[int, str]) -> list[str]:
        q = _quote if quote else str
        words: list[str] = []
        if self.types is not None:
            for t in _ordered_types(self.types):
                words += ["type", t]
        if self.path is not None:
            words += ["path", q(self.path)]
        if self.hide:
            words.append("hide")
        if self.unhide:
            words.append("unhide")
        if self.user is not None:
            words += ["user", q(str(self.user))]
        if self.group is not None:
            words += ["group", q(str(self.group))]
        if self.mode is not None:
            words += ["mode", f"{self.mode:04o}"]
        if self.include is not None:
            name = names.get(self.include)
            words += ["include", f"${name}" if name else str(self.include)]
        return words

    def matches(self, device: str | Device) -> bool:
        """Whether the rule's conditions hold for *device* (a name, or a
        :class:`Device` carrying its types), as the kernel's
        ``devfs_rule_match`` decides it."""
        dev = device if isinstance(device, Device) else Device(device)
        if self.types is not None and not (self.types & dev.types):
            return False
        return self.path is None or fnmatch_pathname(self.path, dev.name)


def _ordered_types(types: Iterable[str]) -> list[str]:
    return [t for t in DEVICE_TYPES if t in types]


@dataclass(frozen=True)
class Ruleset:
    """A numbered devfs ruleset: its ``number`` (1 to 65535), the ``name``
    devfs.rules(5) gives it (``None`` when it has none, as for a ruleset read
    back from a kernel), and its ``rules`` in rule-number order, which is the
    order the kernel applies them in.

    Immutable: :meth:`add` returns a new ruleset.
    """

    number: int
    name: str | None = None
    rules: tuple[Rule, ...] = field(default=())

    def __post_init__(self) -> None:
        if not 1 <= self.number <= _RULE_MAX:
            raise ValueError(f"ruleset number {self.number} out of range (1 to {_RULE_MAX})")
        if self.name is not None and not _NAME.match(self.name):
            raise ValueError(f"bad ruleset name {self.name!r}: a name is a shell variable name")
        rules = tuple(sorted(self.rules, key=lambda r: r.number))
        seen: set[int] = set()
        for rule in rules:
            if rule.number == 0:
                raise ValueError("a rule in a ruleset needs a number (Ruleset.add numbers it)")
            if rule.number in seen:
                raise ValueError(f"rule {rule.number} twice in ruleset {self.number}")
            seen.add(rule.number)
        object.__setattr__(self, "rules", rules)

    def __repr__(self) -> str:
        return f"Ruleset({self.number}, {self.name!r}, <{len(self.rules)} rules>)"

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[Rule]:
        """The rules, in number order."""
        return iter(self.rules)

    def rule(self, number: int) -> Rule:
        """The rule numbered *number*; :class:`KeyError` when there is none."""
        for rule in self.rules:
            if rule.number == number:
                return rule
        raise KeyError(number)

    def next_number(self) -> int:
        """The number ``devfs rule add`` gives a rule added without one: the last
        rule's number plus 100, or 100 in an empty ruleset (the kernel's
        ``devfs_rule_autonumber``).  :class:`OverflowError` past 65535, where
        the kernel fails with ERANGE."""
        number = self.rules[-1].number + 100 if self.rules else 100
        if number > _RULE_MAX:
            raise OverflowError(
                f"no rule number after {self.rules[-1].number} in ruleset {self.number}"
            )
        return number

    def add(self, rule: Rule) -> Ruleset:
        """A copy with *rule* added, numbered by :meth:`next_number` when its
        number is 0.  :class:`ValueError` when the number is taken (the kernel's
        EEXIST)."""
        if rule.number == 0:
            rule = replace(rule, number=self.next_number())
        elif any(r.number == rule.number for r in self.rules):
            raise ValueError(f"rule {rule.number} already exists in ruleset {self.number}")
        return replace(self, rules=(*self.rules, rule))


# --------------------------------------------------------------------------
# Pattern matching: the kernel's fnmatch(9) (sys/libkern/fnmatch.c) with
# FNM_PATHNAME, which devfs_rule_matchpath passes; no FNM_PERIOD, no case
# folding, backslash escapes.


def fnmatch_pathname(pattern: str, string: str) -> bool:
    """Whether *string* matches the shell *pattern* the way devfs rules match:
    ``*`` and ``?`` and bracket expressions never match ``/``."""
    return _fnmatch(pattern, 0, string, 0)


def _fnmatch(p: str, pi: int, s: str, si: int) -> bool:
    while True:
        if pi == len(p):
            return si == len(s)
        c = p[pi]
        pi += 1
        if c == "?":
            if si == len(s) or s[si] == "/":
                return False
            si += 1
        elif c == "*":
            while pi < len(p) and p[pi] == "*":
                pi += 1
            if pi == len(p):
                return "/" not in s[si:]
            if p[pi] == "/":
                slash = s.find("/", si)
                if slash < 0:
                    return False
                si = slash
                continue
            while si <= len(s):
                if _fnmatch(p, pi, s, si):
                    return True
                if si == len(s) or s[si] == "/":
                    return False
                si += 1
            return False
        elif c == "[":
            if si == len(s) or s[si] == "/":
                return False
            matched, end = _range(p, pi, s[si])
            if end < 0:  # no closing bracket: '[' is an ordinary character
                if s[si] != "[":
                    return False
                si += 1
                continue
            if not matched:
                return False
            pi = end
            si += 1
        else:
            if c == "\\" and pi < len(p):
                c = p[pi]
                pi += 1
            if si == len(s) or s[si] != c:
                return False
            si += 1


def _range(p: str, pi: int, ch: str) -> tuple[bool, int]:
    """Match *ch* against the bracket expression starting at ``p[pi]`` (after
    the ``[``), as libkern's ``rangematch``: (matched, index after the
    ``]``), or index -1 when the expression is unterminated (the ``[`` is
    then an ordinary character)."""
    negate = pi < len(p) and p[pi] in "!^"
    if negate:
        pi += 1
    ok = False
    first = True
    while True:
        if pi >= len(p):
            return False, -1
        c = p[pi]
        pi += 1
        if c == "]" and not first:
            return ok != negate, pi
        first = False
        if c == "\\":
            if pi >= len(p):
                return False, -1
            c = p[pi]
            pi += 1
        if c == "/":  # FNM_PATHNAME: a bracket expression never matches '/'
            return False, len(p)
        if pi + 1 < len(p) and p[pi] == "-" and p[pi + 1] != "]":
            hi = p[pi + 1]
            pi += 2
            if hi == "\\":
                if pi >= len(p):
                    return False, -1
                hi = p[pi]
                pi += 1
            if c <= ch <= hi:
                ok = True
        elif c == ch:
            ok = True


# --------------------------------------------------------------------------
# devfs.rules(5): rc.subr's devfs_rulesets_from_file reads the file with the
# shell's `read` (no -r), skips lines starting with '#', takes `[name=N]` as a
# section header (after `devfs rule -s N delset`), and evals every other line
# as the arguments of `devfs rule -s N`.
#
# The comment of FreeBSD's devfs.rules (and devfs.rules(5)) says a '#'
# anywhere ends the line.  The source does otherwise: rc.subr's
# `${line%%"\#*"}` quotes its pattern, so it only strips a literal `\#*`
# suffix, and what ends a line is the shell's own comment rule at eval time:
# an unquoted '#' that starts a word.  `add path null unhide # why` has a
# comment; `add path a#b hide` has the pattern `a#b`.  The source is followed.

_DEVFS_COMMANDS = ("apply", "applyset", "del", "delset", "show", "showsets")
_SHELL_SYNTAX = set(";&|<>()`")


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """The shell's ``read line`` over *text*: (line number where the logical line
    starts, line).  A backslash before a newline joins the lines; a backslash
    before any other character is dropped, keeping the character; unescaped
    blanks at either end are stripped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    # rc.subr's `while read line` would drop a last line without its newline;
    # it is kept here, as a string passed to parse_rules often has none.
    i = 0
    while i < len(lines):
        start = i + 1
        chars: list[tuple[str, bool]] = []
        line = lines[i]
        i += 1
        j = 0
        while True:
            if j == len(line):
                break
            c = line[j]
            if c == "\\":
                if j + 1 == len(line):  # continuation
                    if i < len(lines):
                        line = lines[i]
                        i += 1
                        j = 0
                        continue
                    break
                chars.append((line[j + 1], True))
                j += 2
                continue
            chars.append((c, False))
            j += 1
        while chars and not chars[0][1] and chars[0][0] in " \t":
            chars.pop(0)
        while chars and not chars[-1][1] and chars[-1][0] in " \t":
            chars.pop()
        yield start, "".join(c for c, _ in chars)


def _shell_words(cmd: str, names: Mapping[str, int], err: _Err) -> list[str]:
    """Split *cmd* into words as ``eval`` does: blanks separate words, single
    quotes keep everything, double quotes and backslashes as in sh(1), and
    ``$name``/``${name}`` expand to the number of the ruleset named so far."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    i = 0

    def expand(i: int) -> tuple[str, int]:
        if cmd.startswith("${", i):
            end = cmd.find("}", i)
            if end < 0:
                raise err("bad substitution: missing '}'")
            name, i = cmd[i + 2 : end], end + 1
        else:
            m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(cmd, i + 1)
            if m is None:
                return "$", i + 1
            name, i = m.group(), m.end()
        if name not in names:
            raise err(f"unknown ruleset name: ${name}")
        return str(names[name]), i

    while i < len(cmd):
        c = cmd[i]
        if c == "#" and not in_word:
            break  # a comment, as sh(1) sees it
        if c in " \t":
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            i += 1
            continue
        in_word = True
        if c == "'":
            end = cmd.find("'", i + 1)
            if end < 0:
                raise err("unterminated quoted string")
            word.append(cmd[i + 1 : end])
            i = end + 1
        elif c == '"':
            i += 1
            while True:
                if i >= len(cmd):
                    raise err("unterminated quoted string")
                c = cmd[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < len(cmd) and cmd[i + 1] in '$"\\`':
                    word.append(cmd[i + 1])
                    i += 2
                elif c == "$":
                    value, i = expand(i)
                    word.append(value)
                elif c == "`":
                    raise err("unsupported shell syntax: '`'")
                else:
                    word.append(c)
                    i += 1
        elif c == "\\":
            if i + 1 < len(cmd):
                word.append(cmd[i + 1])
            i += 2
        elif c == "$":
            if cmd.startswith("$(", i):
                raise err("unsupported shell syntax: '$('")
            value, i = expand(i)
            word.append(value)
        elif c in _SHELL_SYNTAX:
            raise err(f"unsupported shell syntax: {c!r}")
        else:
            word.append(c)
            i += 1
    if in_word:
        words.append("".join(word))
    return words


class _Err:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.lineno = 0

    def __call__(self, reason: str) -> DevfsRulesError:
        return DevfsRulesError(self.filename, self.lineno, reason)


def _number(word: str) -> int | None:
    """devfs(8)'s atonum: a decimal number 0 to 65535, else None."""
    if _DIGITS.match(word) and int(word) <= _RULE_MAX:
        return int(word)
    return None


def _owner(word: str, err: _Err) -> Owner:
    # devfs(8) looks the name up first and falls back to a number (eatoi); a
    # word of digits is taken as the number here, without a lookup.
    if _DIGITS.match(word):
        if int(word) > _INT_MAX:
            raise err(f"error converting to integer: {word}")
        return int(word)
    if word[:1].isdigit() or word[:1] in "+-":
        raise err(f"error converting to integer: {word}")
    return word


def _mode(word: str, err: _Err) -> int:
    # setmode(3) takes an octal number up to 07777; its symbolic forms are
    # resolved against devfs(8)'s umask, which a library cannot know.
    if re.fullmatch(r"[0-7]+", word) and int(word, 8) <= _MODE_BITS:
        return int(word, 8)
    if word[:1].isdigit():
        raise err(f"invalid mode: {word}")
    raise err(
        f"invalid mode: {word} (only octal modes are accepted: a symbolic mode "
        "depends on the umask devfs(8) runs with)"
    )


def _rulespec(words: list[str], err: _Err) -> Rule:
    """devfs(8)'s rulespec_intok: ``[rule#] [type T]... [path P]... action...``."""
    number = _number(words[0])
    i = 1 if number is not None else 0
    path: str | None = None
    types: set[str] = set()
    hide = unhide = False
    user: Owner | None = None
    group: Owner | None = None
    mode: int | None = None
    include: int | None = None
    while i < len(words) and words[i] in ("type", "path"):
        key = words[i]
        if i + 1 == len(words):
            raise err(f"expecting argument for {key}")
        arg = words[i + 1]
        if key == "type":
            if arg not in DEVICE_TYPES:
                raise err(f"unknown type: {arg}")
            types.add(arg)
        else:
            if len(arg.encode()) >= DEVFS_MAXPTRNLEN:
                # devfs(8) warns and truncates; refused here, the rule would
                # not be the one written.
                raise err(f"pattern specified too long: at most {DEVFS_MAXPTRNLEN - 1} bytes")
            if not arg:
                raise err("empty path pattern")
            path = arg  # a second path replaces the first, as in devfs(8)
        i += 2
    while i < len(words):
        key = words[i]
        if key == "hide":
            hide = True
            i += 1
            continue
        if key == "unhide":
            unhide = True
            i += 1
            continue
        if key not in ("user", "group", "mode", "include"):
            raise err(f"unknown argument: {key}")
        if i + 1 == len(words):
            raise err(f"expecting argument for {key}")
        arg = words[i + 1]
        if key == "mode":
            mode = _mode(arg, err)
        elif key == "include":
            include = _number(arg)
            if include is None:
                raise err(f"error converting to number: {arg}")
            if include == 0:
                # devfs_rule_insert looks ruleset 0 up and never finds it: ESRCH
                raise err("include 0: ruleset 0 cannot be included")
        elif key == "user":
            user = _owner(arg, err)
        else:
            group = _owner(arg, err)
        i += 2
    return Rule(
        number or 0,
        path=path,
        types=frozenset(types) if types else None,
        hide=hide,
        unhide=unhide,
        user=user,
        group=group,
        mode=mode,
        include=include,
    )


def parse_rules(text: str, *, filename: str = "<string>") -> list[Ruleset]:
    """The rulesets of a devfs.rules(5) *text*, in the order of their headers.

    The text is read as rc.subr's ``devfs_rulesets_from_file`` reads
    ``/etc/devfs.rules`` and hands it to devfs(8): ``[name=number]`` starts a
    ruleset (a later header with the same number starts it over, as rc.subr's
    ``delset`` does); every other line is ``add [rule#] [type T] [path P]
    action...``; a line starting with ``#``, or the rest of a line from an
    unquoted ``#`` that starts a word, is a comment; shell quotes and a
    trailing backslash (continuation) work as in sh(1);
    ``$name`` stands for the number of a ruleset named earlier in the text.
    Rules without a number are numbered as the kernel numbers them (the last
    rule's number plus 100, the first 100).

    Raises :class:`DevfsRulesError` naming *filename* and the line for what
    devfs(8) would refuse: an unknown command, type or argument, a missing
    argument, a bad number or mode, a ``$name`` that names no ruleset, a rule
    before the first header, a rule number already taken.
    """
    err = _Err(filename)
    names: dict[str, int] = {}
    order: list[int] = []
    sets: dict[int, Ruleset] = {}
    current: int | None = None
    for lineno, line in _logical_lines(text):
        err.lineno = lineno
        if line.startswith("#"):
            continue
        if line.startswith("[") and "]" in line:
            m = re.match(r"\[.*=([0-9]*)\]", line)
            if m is None or not m.group(1):
                raise err(f"cannot extract rule number ({line})")
            name = re.match(r"\[(.*)=[0-9]*\]", line)
            if name is None or not name.group(1):
                raise err(f"cannot extract rule name ({line})")
            if not _NAME.match(name.group(1)):
                raise err(f"bad ruleset name: {name.group(1)} (a name is a shell variable name)")
            number = _number(m.group(1))
            if number is None:
                raise err(f"error converting to number: {m.group(1)}")
            if number == 0:
                # the kernel adds no rule to ruleset 0 (DEVFSIO_RADD: EIO)
                raise err("ruleset 0 cannot hold rules")
            names[name.group(1)] = number
            if number in sets:
                order.remove(number)
            order.append(number)
            sets[number] = Ruleset(number, name.group(1))
            current = number
            continue
        words = _shell_words(line, names, err)
        if not words:
            continue
        if current is None:
            raise err(f"rule outside any ruleset: no [name=number] header before {words[0]!r}")
        if words[0] != "add":
            if words[0] in _DEVFS_COMMANDS:
                raise err(f"unsupported command in a rules file: {words[0]} (only add is)")
            raise err(f"unknown command: {words[0]}")
        if len(words) == 1:
            raise err("unexpected end of rulespec")
        rule = _rulespec(words[1:], err)
        ruleset = sets[current]
        try:
            sets[current] = ruleset.add(rule)
        except OverflowError:
            raise err(
                f"no rule number after {ruleset.rules[-1].number} "
                "(ioctl DEVFSIO_RADD: Result too large)"
            ) from None
        except ValueError:
            raise err(
                f"rule {rule.number} already exists in ruleset {current} "
                "(ioctl DEVFSIO_RADD: File exists)"
            ) from None
    return [sets[n] for n in order]


_SAFE = re.compile(r"[A-Za-z0-9_./:+,=@%-]+\Z")


def _quote(word: str) -> str:
    """*word* quoted for rc.subr: single quotes for eval, and every backslash
    doubled for the ``read`` that comes first."""
    if "\n" in word:
        raise ValueError(f"{word!r} cannot be written to devfs.rules: it holds a newline")
    if _SAFE.match(word):
        return word
    return "'" + word.replace("\\", "\\\\").replace("'", "'\\\\''") + "'"


def emit_rules(rulesets: Iterable[Ruleset]) -> str:
    """devfs.rules(5) text for *rulesets*, which :func:`parse_rules` reads back
    to equal rulesets.

    Each ruleset gets its ``[name=number]`` header; an unnamed one is written
    as ``ruleset_N`` (and so reads back with that name).  A rule's number is
    written only where auto-numbering would give another; an ``include`` of a
    ruleset written earlier names it (``$name``), others give the number.
    :class:`ValueError` when two rulesets share a number or a name, or when a
    pattern or name holds a newline, which the format cannot carry.
    """
    out: list[str] = []
    names: dict[int, str] = {}
    for rs in rulesets:
        name = rs.name or f"ruleset_{rs.number}"
        if rs.number in names:
            raise ValueError(f"ruleset {rs.number} given twice")
        if name in names.values():
            raise ValueError(f"ruleset name {name} given twice")
        if out:
            out.append("")
        out.append(f"[{name}={rs.number}]")
        names[rs.number] = name
        expected = 100
        for rule in rs.rules:
            words = ["add"]
            if rule.number != expected:
                words.append(str(rule.number))
            words += rule._words(quote=True, names=names)
            out.append(" ".join(words))
            expected = rule.number + 100
    return "\n".join(out) + "\n" if out else ""


# --------------------------------------------------------------------------
# What a mount shows.


@dataclass(frozen=True)
class Device:
    """A device node as the rules see it: its ``name`` (its path below the
    mount point, ``pts/0``) and its ``types``, the :data:`DEVICE_TYPES` its
    driver's cdevsw flags carry (``{"disk"}`` for ``ada0``).

    A name alone gives a device with no type, which ``type`` conditions never
    match; that is also how the kernel treats symbolic links (``stdin``) and
    directories (``pts``).
    """

    name: str
    types: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", frozenset(self.types))
        unknown = sorted(self.types - DEVICE_TYPES.keys())
        if unknown:
            raise ValueError(f"unknown type: {unknown[0]}")
        if not self.name or self.name.startswith("/") or "" in self.name.split("/"):
            raise ValueError(f"bad device name {self.name!r}")


@dataclass(frozen=True)
class Entry:
    """How a shown device looks: the ``user``, ``group`` and ``mode`` the rules
    gave it, or ``None`` where no rule set one (the driver's own value stays)."""

    user: Owner | None = None
    group: Owner | None = None
    mode: int | None = None

    def __repr__(self) -> str:
        parts = [
            f"{k}={getattr(self, k)!r}" for k in ("user", "group") if getattr(self, k) is not None
        ]
        if self.mode is not None:
            parts.append(f"mode=0o{self.mode:o}")
        return f"Entry({', '.join(parts)})"


class _State:
    __slots__ = ("group", "hidden", "mode", "user")

    def __init__(self) -> None:
        self.hidden = False
        self.user: Owner | None = None
        self.group: Owner | None = None
        self.mode: int | None = None


def _apply(
    registry: Mapping[int, Ruleset], rs: Ruleset, dev: Device, st: _State, depth: int
) -> None:
    # devfs_ruleset_applyde / devfs_rule_run
    for rule in rs.rules:
        if not rule.matches(dev):
            continue
        if rule.hide:
            st.hidden = True
        if rule.unhide:
            st.hidden = False
        if rule.user is not None:
            st.user = rule.user
        if rule.group is not None:
            st.group = rule.group
        if rule.mode is not None:
            st.mode = rule.mode
        if rule.include is not None and depth > 0:
            inc = registry.get(rule.include)
            if inc is None:
                # The kernel refuses such a rule when it is added (ESRCH) and
                # keeps an included ruleset alive while a rule includes it.
                raise ValueError(
                    f"ruleset {rs.number}, rule {rule.number}: include "
                    f"{rule.include}: no such ruleset"
                )
            _apply(registry, inc, dev, st, depth - 1)


def visible(
    registry: Mapping[int, Ruleset] | Iterable[Ruleset],
    ruleset: int | Ruleset,
    devices: Iterable[str | Device],
    *,
    rule_depth: int = RULE_DEPTH,
) -> dict[str, Entry]:
    """Which of *devices* a devfs mount using *ruleset* shows, and how.

    *registry* is the kernel's set of loaded rulesets (a mapping from number,
    or rulesets); *ruleset* a number or a :class:`Ruleset`.  The result maps
    each shown device's name to its :class:`Entry`, in the order of
    *devices*.

    As in the kernel: every entry starts shown, and the ruleset's rules run on
    it in number order, a later one overriding an earlier; ``include`` runs
    another ruleset's rules on it, followed *rule_depth* levels deep
    (``vfs.devfs.rule_depth``, default :data:`RULE_DEPTH`).  A ruleset number
    that is not loaded, or 0, hides nothing.  A device inside a directory
    (``pts/0``) is shown only when the directory (``pts``, matched by its
    path, never by a type) is shown too.
    """
    if isinstance(registry, Mapping):
        reg: Mapping[int, Ruleset] = registry
    else:
        reg = {rs.number: rs for rs in registry}
    if isinstance(ruleset, Ruleset):
        rs: Ruleset | None = ruleset
    else:
        rs = reg.get(ruleset) if ruleset else None
    hidden: dict[str, bool] = {}

    def state(dev: Device) -> _State:
        st = _State()
        if rs is not None:
            _apply(reg, rs, dev, st, rule_depth)
        return st

    shown: dict[str, Entry] = {}
    for item in devices:
        dev = item if isinstance(item, Device) else Device(item)
        parts = dev.name.split("/")
        dirs = ["/".join(parts[: k + 1]) for k in range(len(parts) - 1)]
        if any(hidden.setdefault(d, state(Device(d)).hidden) for d in dirs):
            continue
        st = state(dev)
        if not st.hidden:
            shown[dev.name] = Entry(st.user, st.group, st.mode)
    return shown


# --------------------------------------------------------------------------
# FreeBSD's defaults (sbin/devfs/devfs.rules, installed as
# /etc/defaults/devfs.rules and loaded at boot by rc.d/devfs).

DEFAULT_RULES = """\
# FreeBSD's default devfs rulesets, as /etc/defaults/devfs.rules has them.

# 1: hide every entry; the other rulesets start from it.
[devfsrules_hide_all=1]
add hide

# 2: the devices nearly every program needs (use after hide_all).
[devfsrules_unhide_basic=2]
add path null unhide
add path zero unhide
add path crypto unhide
add path random unhide
add path urandom unhide

# 3: terminals and descriptors for logged-in users (use after hide_all):
# the old BSD pty/tty pairs of every letter series, then ptmx, pts, fd and
# the standard descriptors.
[devfsrules_unhide_login=3]
add path 'ptyp*' unhide
add path 'ptyq*' unhide
add path 'ptyr*' unhide
add path 'ptys*' unhide
add path 'ptyP*' unhide
add path 'ptyQ*' unhide
add path 'ptyR*' unhide
add path 'ptyS*' unhide
add path 'ptyl*' unhide
add path 'ptym*' unhide
add path 'ptyn*' unhide
add path 'ptyo*' unhide
add path 'ptyL*' unhide
add path 'ptyM*' unhide
add path 'ptyN*' unhide
add path 'ptyO*' unhide
add path 'ttyp*' unhide
add path 'ttyq*' unhide
add path 'ttyr*' unhide
add path 'ttys*' unhide
add path 'ttyP*' unhide
add path 'ttyQ*' unhide
add path 'ttyR*' unhide
add path 'ttyS*' unhide
add path 'ttyl*' unhide
add path 'ttym*' unhide
add path 'ttyn*' unhide
add path 'ttyo*' unhide
add path 'ttyL*' unhide
add path 'ttyM*' unhide
add path 'ttyN*' unhide
add path 'ttyO*' unhide
add path ptmx unhide
add path pts unhide
add path 'pts/*' unhide
add path fd unhide
add path 'fd/*' unhide
add path stdin unhide
add path stdout unhide
add path stderr unhide

# 4: what a jail gets by default (jail(8)'s mount.devfs): 1, 2 and 3, plus
# fuse and zfs.
[devfsrules_jail=4]
add include $devfsrules_hide_all
add include $devfsrules_unhide_basic
add include $devfsrules_unhide_login
add path fuse unhide
add path zfs unhide

# 5: for a vnet jail, 4 and pf.  Rulesets 1 to 3 are included again because
# the kernel follows includes one level deep only (vfs.devfs.rule_depth).
[devfsrules_jail_vnet=5]
add include $devfsrules_hide_all
add include $devfsrules_unhide_basic
add include $devfsrules_unhide_login
add include $devfsrules_jail
add path pf unhide
"""
"""The default rulesets as devfs.rules(5) text (jailcore's own rendering of
FreeBSD's ``/etc/defaults/devfs.rules``)."""

#: FreeBSD's five default rulesets, parsed from :data:`DEFAULT_RULES`:
#: 1 ``devfsrules_hide_all``, 2 ``devfsrules_unhide_basic``,
#: 3 ``devfsrules_unhide_login``, 4 ``devfsrules_jail``, 5 ``devfsrules_jail_vnet``.
DEFAULT_RULESETS: tuple[Ruleset, ...] = tuple(
    parse_rules(DEFAULT_RULES, filename="/etc/defaults/devfs.rules")
)


# --------------------------------------------------------------------------
# The kernel side: the DEVFSIO_* ioctls devfs(8) issues, on a directory
# descriptor of a devfs mount point (devfs(8)'s ``-m``).  On the model they
# reach its ruleset registry; on FreeBSD the kernel's.

#: The errno of a rule whose ``dr_magic`` is not ``DEVFS_MAGIC``: FreeBSD's
#: ERPCMISMATCH (sys/errno.h, 73); on Linux, which has no such errno, the
#: model gives EPROTO.
ERPCMISMATCH: int = getattr(_errno, "ERPCMISMATCH", _errno.EPROTO)

_DRC_DSWFLAGS = 0x001
_DRC_PATHPTRN = 0x002
_DRA_BACTS = 0x001
_DRA_UID = 0x002
_DRA_GID = 0x004
_DRA_MODE = 0x008
_DRA_INCSET = 0x010
_DRB_HIDE = 0x001
_DRB_UNHIDE = 0x002


@dataclass(frozen=True)
class Node:
    """A node of a devfs mount as ``ls -l`` shows it: its ``name`` below the
    mount point, its ``mode`` with the file type bits (``stat.S_ISCHR`` ...),
    its ``uid`` and ``gid``.  Only the model lists them (:func:`nodes`)."""

    name: str
    mode: int
    uid: int
    gid: int


def _op_name(op: int) -> str:
    return {
        lib.JC_DEVFS_RADD: "DEVFSIO_RADD",
        lib.JC_DEVFS_RAPPLY: "DEVFSIO_RAPPLY",
        lib.JC_DEVFS_RGETNEXT: "DEVFSIO_RGETNEXT",
        lib.JC_DEVFS_RDEL: "DEVFSIO_RDEL",
        lib.JC_DEVFS_RAPPLYID: "DEVFSIO_RAPPLYID",
        lib.JC_DEVFS_SUSE: "DEVFSIO_SUSE",
        lib.JC_DEVFS_SAPPLY: "DEVFSIO_SAPPLY",
        lib.JC_DEVFS_SGETNEXT: "DEVFSIO_SGETNEXT",
    }[op]


def _error(err: int, operation: str, target: str) -> DevfsError:
    """The DevfsError of a failed call; on the model, a ModelHostError
    instead when the failure is the model's host being unusable."""
    if BACKEND == _backend.BACKEND_MODEL:
        _backend.check_model_host(err)
    return host_error(DevfsError, err, operation, target)  # type: ignore[return-value]


def _fail(err: int, op: int, mount: str, what: str) -> DevfsError:
    return _error(err, _op_name(op), f"{mount} {what}")


def _open(mount: str) -> int:
    return os.open(mount, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def _check_set(n: int, zero: bool) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"ruleset must be an int, not {type(n).__name__}")
    if not (0 if zero else 1) <= n <= _RULE_MAX:
        raise ValueError(f"ruleset number {n} out of range")


def _owner_id(what: str, value: Owner, lookup: Callable[[str], int]) -> int:
    if isinstance(value, int):
        return value
    try:
        return lookup(value)
    except KeyError:
        raise ValueError(f"unknown {what}: {value}") from None


def _encode(rule: Rule, ruleset: int) -> Any:
    r = ffi.new("struct jc_devfs_rule *")
    r.id = (ruleset << 16) | rule.number
    if rule.path is not None:
        r.icond |= _DRC_PATHPTRN
        r.pathptrn = rule.path.encode()
    if rule.types is not None:
        r.icond |= _DRC_DSWFLAGS
        for t in rule.types:
            r.dswflags |= DEVICE_TYPES[t]
    if rule.hide or rule.unhide:
        r.iacts |= _DRA_BACTS
        r.bacts = (_DRB_HIDE if rule.hide else 0) | (_DRB_UNHIDE if rule.unhide else 0)
    if rule.user is not None:
        r.iacts |= _DRA_UID
        r.uid = _owner_id("user", rule.user, lambda n: pwd.getpwnam(n).pw_uid)
    if rule.group is not None:
        r.iacts |= _DRA_GID
        r.gid = _owner_id("group", rule.group, lambda n: grp.getgrnam(n).gr_gid)
    if rule.mode is not None:
        r.iacts |= _DRA_MODE
        r.mode = rule.mode
    if rule.include is not None:
        r.iacts |= _DRA_INCSET
        r.incset = rule.include
    return r


def _decode(r: Any) -> Rule:
    types = None
    if r.icond & _DRC_DSWFLAGS:
        types = frozenset(t for t, bit in DEVICE_TYPES.items() if r.dswflags & bit) or None
    bacts = r.bacts if r.iacts & _DRA_BACTS else 0
    return Rule(
        number=r.id & 0xFFFF,
        path=ffi.string(r.pathptrn).decode(errors="surrogateescape") or None
        if r.icond & _DRC_PATHPTRN
        else None,
        types=types,
        hide=bool(bacts & _DRB_HIDE),
        unhide=bool(bacts & _DRB_UNHIDE),
        user=int(r.uid) if r.iacts & _DRA_UID else None,
        group=int(r.gid) if r.iacts & _DRA_GID else None,
        mode=int(r.mode) & _MODE_BITS if r.iacts & _DRA_MODE else None,
        include=int(r.incset) if r.iacts & _DRA_INCSET and r.incset else None,
    )


def _rule_ioctl(fd: int, op: int, r: Any, mount: str, what: str) -> None:
    err = lib.jc_devfs_rule_ioctl(BACKEND, fd, op, r)
    if err < 0:
        raise _fail(-err, op, mount, what)


def _set_ioctl(mount: str, op: int, n: int) -> int:
    rs = ffi.new("unsigned short *", n)
    fd = _open(mount)
    try:
        err = lib.jc_devfs_set_ioctl(BACKEND, fd, op, rs)
    finally:
        os.close(fd)
    if err < 0:
        raise _fail(-err, op, mount, f"ruleset {n}")
    return int(rs[0])


def _rid_ioctl(mount: str, op: int, n: int, rule: int) -> None:
    fd = _open(mount)
    try:
        err = lib.jc_devfs_rid_ioctl(BACKEND, fd, op, (n << 16) | rule)
    finally:
        os.close(fd)
    if err < 0:
        raise _fail(-err, op, mount, f"ruleset {n} rule {rule}")


def load(rulesets: str | Ruleset | Iterable[Ruleset], mount: str = "/dev", *,
         replace: bool = False) -> None:
    """Add every rule of *rulesets* to the kernel's rulesets, as
    ``devfs -m MOUNT rule -s N add ...`` does for each (``DEVFSIO_RADD``).

    *rulesets* is devfs.rules(5) text (parsed with :func:`parse_rules`), a
    :class:`Ruleset` or several.  A rule whose number is taken fails with
    :class:`~jailcore.errors.DevfsError` (EEXIST); the rules added before it
    stay.  ``replace=True`` first deletes each ruleset's rules, as rc.d/devfs
    does (``devfs rule -s N delset``) before it loads a rules file, so that
    loading the same file again gives the same rulesets.  User and group
    names are looked up here, as devfs(8) does."""
    if isinstance(rulesets, str):
        sets: Iterable[Ruleset] = parse_rules(rulesets)
    elif isinstance(rulesets, Ruleset):
        sets = (rulesets,)
    else:
        sets = rulesets
    sets = list(sets)
    if replace:
        for rs in sets:
            delete(rs.number, mount)
    fd = _open(mount)
    try:
        for rs in sets:
            for rule in rs:
                _rule_ioctl(fd, lib.JC_DEVFS_RADD, _encode(rule, rs.number), mount,
                            f"ruleset {rs.number} rule {rule.number}")
    finally:
        os.close(fd)


def add(rule: Rule, ruleset: int = 0, mount: str = "/dev") -> int:
    """Add one *rule* to *ruleset* (0: the mount's active ruleset), as
    ``devfs rule add`` does (``DEVFSIO_RADD``); a rule number 0 lets the
    kernel number it.  Returns the ruleset the rule went to."""
    _check_set(ruleset, True)
    r = _encode(rule, ruleset)
    fd = _open(mount)
    try:
        _rule_ioctl(fd, lib.JC_DEVFS_RADD, r, mount, f"ruleset {ruleset} rule {rule.number}")
    finally:
        os.close(fd)
    return int(r.id) >> 16


def use(n: int, mount: str = "/dev") -> None:
    """Make ruleset *n* the mount's active ruleset (0: none), as ``devfs
    ruleset N`` does (``DEVFSIO_SUSE``).  Creates it empty when absent; the
    mount's nodes are not re-ruled (see :func:`applyset`)."""
    _check_set(n, True)
    _set_ioctl(mount, lib.JC_DEVFS_SUSE, n)


def applyset(n: int = 0, mount: str = "/dev") -> None:
    """Apply ruleset *n* (0: the active one) once to the mount's nodes, as
    ``devfs rule -s N applyset`` does (``DEVFSIO_SAPPLY``); ESRCH when it does
    not exist."""
    _check_set(n, True)
    _set_ioctl(mount, lib.JC_DEVFS_SAPPLY, n)


def apply(rule: Rule | int, ruleset: int = 0, mount: str = "/dev") -> None:
    """Apply one rule to the mount's nodes without storing it, as ``devfs
    rule apply ...`` does: a :class:`Rule` (``DEVFSIO_RAPPLY``), or the
    number of a stored rule of *ruleset* (0: the active one;
    ``DEVFSIO_RAPPLYID``)."""
    _check_set(ruleset, True)
    if isinstance(rule, Rule):
        fd = _open(mount)
        try:
            _rule_ioctl(fd, lib.JC_DEVFS_RAPPLY, _encode(rule, ruleset), mount,
                        f"ruleset {ruleset} rule {rule.number}")
        finally:
            os.close(fd)
        return
    _rid_ioctl(mount, lib.JC_DEVFS_RAPPLYID, ruleset, rule)


def delete_rule(n: int, rule: int, mount: str = "/dev") -> None:
    """Delete rule *rule* of ruleset *n*, as ``devfs rule -s N del RULE``
    does (``DEVFSIO_RDEL``); ENOENT when there is none."""
    _check_set(n, True)
    _rid_ioctl(mount, lib.JC_DEVFS_RDEL, n, rule)


def delete(n: int, mount: str = "/dev") -> None:
    """Delete every rule of ruleset *n*, as ``devfs rule -s N delset`` does
    (``DEVFSIO_RDEL`` for each).  An empty, unreferenced ruleset is then
    gone."""
    for rule in show(n, mount):
        delete_rule(n, rule.number, mount)


def rules(n: int = 0, mount: str = "/dev") -> list[Rule]:
    """The rules of ruleset *n* as the kernel has them, in order
    (``DEVFSIO_RGETNEXT``, as ``devfs rule -s N show``); *n* 0 is the mount's
    active ruleset, as ``devfs rule show`` without ``-s`` (none: no rules).
    Users and groups are numbers."""
    _check_set(n, True)
    found: list[Rule] = []
    r = ffi.new("struct jc_devfs_rule *")
    fd = _open(mount)
    try:
        after = 0
        while True:
            ffi.memmove(r, b"\0" * ffi.sizeof("struct jc_devfs_rule"),
                        ffi.sizeof("struct jc_devfs_rule"))
            r.id = (n << 16) | after
            err = lib.jc_devfs_rule_ioctl(BACKEND, fd, lib.JC_DEVFS_RGETNEXT, r)
            if err == -_errno.ENOENT:
                break
            if err < 0:
                raise _fail(-err, lib.JC_DEVFS_RGETNEXT, mount, f"ruleset {n}")
            rule = _decode(r)
            found.append(rule)
            after = rule.number
    finally:
        os.close(fd)
    return found


def show(n: int, mount: str = "/dev") -> Ruleset:
    """Ruleset *n* (1 to 65535) as the kernel has it (see :func:`rules`): no
    rules when it is empty or does not exist.  Names are not kept by the
    kernel: ``name`` is ``None``, users and groups are numbers."""
    _check_set(n, False)
    return Ruleset(n, None, tuple(rules(n, mount)))


def rulesets(mount: str = "/dev") -> list[int]:
    """The numbers of the kernel's rulesets, as ``devfs showsets`` lists them
    (``DEVFSIO_SGETNEXT``)."""
    found: list[int] = []
    rs = ffi.new("unsigned short *", 0)
    fd = _open(mount)
    try:
        while True:
            err = lib.jc_devfs_set_ioctl(BACKEND, fd, lib.JC_DEVFS_SGETNEXT, rs)
            if err == -_errno.ENOENT:
                break
            if err < 0:
                raise _fail(-err, lib.JC_DEVFS_SGETNEXT, mount, f"after ruleset {rs[0]}")
            found.append(int(rs[0]))
    finally:
        os.close(fd)
    return found


def nodes(mount: str = "/dev") -> list[Node]:
    """The visible nodes of the model's devfs mount at *mount* (no FreeBSD
    counterpart: there, list the directory).  :class:`DevfsError` with ENOSYS
    on the kernel backend, ENOTTY when *mount* is not a devfs mount."""
    fd = _open(mount)
    try:
        n = 64
        while True:
            buf = ffi.new("struct jc_devfs_node[]", n)
            total = lib.jc_devfs_nodes(BACKEND, fd, buf, n)
            if total < 0:
                raise _error(-total, "devfs_nodes", mount)
            if total <= n:
                break
            n = total
    finally:
        os.close(fd)
    return [
        Node(ffi.string(buf[i].name).decode(), int(buf[i].mode), int(buf[i].uid),
             int(buf[i].gid))
        for i in range(total)
    ]


def load_defaults() -> None:
    """The model only: load FreeBSD's default rulesets 1 to 5 again, their
    rules replaced, as rc.d/devfs does at boot (a fresh model host has them).
    Needs the host's superuser outside a jail (EPERM)."""
    err = lib.jc_devfs_load_defaults(BACKEND)
    if err < 0:
        raise _error(-err, "devfs_load_defaults", "")
