"""rc.conf(5) and rc.d/jail: what ``service jail start`` does, without sh.

:class:`RcConf` reads rc.conf files the way rc.subr's ``load_rc_config jail``
sources them (the shell subset such files use: assignments, quotes,
``$var`` and ``${var:-word}`` expansion, comments, line continuation;
anything else is skipped, never run).  :class:`RcJail` is FreeBSD's
libexec/rc/rc.d/jail: the jail(8) command lines it runs for ``start``,
``stop``, ``restart`` and ``status``, the configuration file it picks for a
jail of ``jail_list`` (or the one it writes from the obsolete per-jail
``jail_<name>_*`` variables), the ``/var/run/jail_<name>.id`` files, and its
messages (shared/spec/freebsd-jail-userland.md section 5,
freebsd-jail-host.md section F; facts from libexec/rc/rc.d/jail,
libexec/rc/rc.subr and libexec/rc/rc.conf of freebsd-src).

>>> from jailcore.rcconf import RcConf, jail_name, jail_var
>>> conf = RcConf.parse('jail_enable="YES"\\njail_list="www db.local"  # two jails')
>>> conf["jail_list"], conf.yes("jail_enable")
('www db.local', True)
>>> jail_name("db.local"), jail_var("db-1.x")
('db_local', 'db_1_x')
"""

from __future__ import annotations

import contextlib
import datetime
import fnmatch
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

__all__ = [
    "DEFAULTS",
    "Ignored",
    "JailOptions",
    "RcConf",
    "RcJail",
    "jail_name",
    "jail_var",
]

#: The jail variables of FreeBSD's /etc/defaults/rc.conf (libexec/rc/rc.conf),
#: with the ones load_rc_config itself relies on; used when the root has no
#: /etc/defaults/rc.conf.
DEFAULTS: Mapping[str, str] = {
    "rc_startmsgs": "YES",
    "local_startup": "/usr/local/etc/rc.d",
    "rc_conf_files": "/etc/rc.conf /etc/rc.conf.local",
    "jail_enable": "NO",
    "jail_conf": "/etc/jail.conf",
    "jail_confwarn": "YES",
    "jail_parallel_start": "NO",
    "jail_list": "",
    "jail_reverse_stop": "NO",
}

#: rc.d/jail's own defaults (``: ${jail_program:=/usr/sbin/jail}`` ...).
SCRIPT_DEFAULTS: Mapping[str, str] = {
    "jail_program": "/usr/sbin/jail",
    "jail_consolecmd": "/usr/bin/login -f root",
    "jail_jexec": "/usr/sbin/jexec",
    "jail_jls": "/usr/sbin/jls",
}

_IFS = re.compile(r"[ \t\n]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
_SPECIAL = "@*#?-$!0123456789"


def _fields(text: str) -> list[str]:
    """sh's field splitting with the default IFS (no pathname expansion)."""
    return [w for w in _IFS.split(text) if w]


def jail_name(name: str) -> str:
    """The jail name rc.d/jail uses for a word of ``jail_list``: ``/`` and ``.``
    become ``_`` (``tr /. _``), so ``a.b`` is jail ``a_b`` in ``/etc/jail.a_b.conf``."""
    return name.replace("/", "_").replace(".", "_")


def jail_var(name: str) -> str:
    """The key of a jail's ``jail_<key>_*`` variables: every byte that is not an
    ASCII letter or digit becomes ``_`` (``tr -c '[:alnum:]' _`` in the C locale)."""
    return "".join(c if c.isascii() and c.isalnum() else "_" * len(c.encode()) for c in name)


# ---- the sh subset ------------------------------------------------------------------


@dataclass(frozen=True)
class Ignored:
    """A statement of an rc.conf file that was not run: a command, a compound
    command or function definition, or an assignment whose value needs one
    (``$(...)``); ``text`` is its first words."""

    file: str
    line: int
    text: str


@dataclass(frozen=True)
class _Lit:
    text: str


@dataclass(frozen=True)
class _Param:
    name: str
    op: str = ""
    arg: tuple[_Part, ...] = ()


@dataclass(frozen=True)
class _CmdSub:
    pass


_Part = _Lit | _Param | _CmdSub


class _Unevaluable(Exception):
    pass


class _SyntaxError(Exception):
    pass


@dataclass
class _Word:
    parts: tuple[_Part, ...]
    raw: str
    line: int
    assign: str | None  # NAME of a NAME=value word


@dataclass
class _Op:
    op: str
    line: int


_OPS = (";;", "&&", "||", ">>", "<<", "<&", ">&", "<>", ">|", ";", "&", "|", "(", ")", "<", ">")
_REDIRECTS = {">>", "<<", "<&", ">&", "<>", ">|", "<", ">"}
_ANSI = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b",
         "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}


class _Lexer:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1

    def tokens(self) -> Iterator[_Word | _Op]:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t":
                self.i += 1
            elif s.startswith("\\\n", self.i):
                self.i += 2
                self.line += 1
            elif c == "#":
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            elif c == "\n":
                yield _Op("\n", self.line)
                self.i += 1
                self.line += 1
            else:
                for op in _OPS:
                    if s.startswith(op, self.i):
                        yield _Op(op, self.line)
                        self.i += len(op)
                        break
                else:
                    word = self._word()
                    # "2>/dev/null": an io number belongs to its redirection.
                    if not (word.raw.isdigit() and s[self.i:self.i + 1] in ("<", ">")):
                        yield word

    def _word(self) -> _Word:
        start, line = self.i, self.line
        m = _ASSIGN.match(self.s, self.i)
        assign = None
        if m:
            assign = m.group(1)
            self.i = m.end()
        parts = self._parts(" \t\n;&|()<>")
        return _Word(tuple(parts), self.s[start:self.i], line, assign)

    def _parts(self, stop: str) -> list[_Part]:
        s, out = self.s, list[_Part]()
        while self.i < len(s) and s[self.i] not in stop:
            c = s[self.i]
            if c == "\\":
                nxt = s[self.i + 1:self.i + 2]
                if nxt == "\n":
                    self.line += 1
                elif nxt:
                    out.append(_Lit(nxt))
                else:
                    out.append(_Lit("\\"))
                self.i += 2
            elif c == "'":
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise _SyntaxError("unterminated quoted string")
                text = s[self.i + 1:end]
                self.line += text.count("\n")
                out.append(_Lit(text))
                self.i = end + 1
            elif c == '"':
                self.i += 1
                out.extend(self._double())
            elif c == "$":
                out.append(self._dollar(quoted=False))
            elif c == "`":
                self._backquote()
                out.append(_CmdSub())
            else:
                if c == "\n":
                    self.line += 1
                out.append(_Lit(c))
                self.i += 1
        return out

    def _double(self) -> list[_Part]:
        s, out = self.s, list[_Part]()
        while True:
            if self.i >= len(s):
                raise _SyntaxError("unterminated quoted string")
            c = s[self.i]
            if c == '"':
                self.i += 1
                return out
            if c == "\\" and s[self.i + 1:self.i + 2] in ("$", "`", '"', "\\", "\n"):
                if s[self.i + 1] == "\n":
                    self.line += 1
                else:
                    out.append(_Lit(s[self.i + 1]))
                self.i += 2
            elif c == "$":
                out.append(self._dollar(quoted=True))
            elif c == "`":
                self._backquote()
                out.append(_CmdSub())
            else:
                if c == "\n":
                    self.line += 1
                out.append(_Lit(c))
                self.i += 1

    def _backquote(self) -> None:
        end = self.i + 1
        while end < len(self.s) and self.s[end] != "`":
            end += 2 if self.s[end] == "\\" else 1
        if end >= len(self.s):
            raise _SyntaxError("unterminated command substitution")
        self.line += self.s.count("\n", self.i, end)
        self.i = end + 1

    def _dollar(self, quoted: bool) -> _Part:
        s = self.s
        nxt = s[self.i + 1:self.i + 2]
        if nxt == "'" and not quoted:  # $'...' (FreeBSD sh)
            self.i += 2
            return _Lit(self._ansi())
        if nxt == "{":
            self.i += 2
            return self._brace()
        if nxt == "(":
            depth, j = 0, self.i + 1
            while j < len(s):
                if s[j] == "(":
                    depth += 1
                elif s[j] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                elif s[j] == "\\":
                    j += 1
                j += 1
            if j >= len(s):
                raise _SyntaxError("unterminated command substitution")
            self.line += s.count("\n", self.i, j)
            self.i = j + 1
            return _CmdSub()
        m = _NAME.match(s, self.i + 1)
        if m:
            self.i = m.end()
            return _Param(m.group(0))
        if nxt and nxt in _SPECIAL:
            self.i += 2
            return _Param(nxt)
        self.i += 1
        return _Lit("$")

    def _ansi(self) -> str:
        s, out = self.s, list[str]()
        while True:
            if self.i >= len(s):
                raise _SyntaxError("unterminated quoted string")
            c = s[self.i]
            if c == "'":
                self.i += 1
                return "".join(out)
            if c != "\\":
                out.append(c)
                self.i += 1
                continue
            e = s[self.i + 1:self.i + 2]
            self.i += 2
            if e in _ANSI:
                out.append(_ANSI[e])
            elif e == "x":
                m = re.compile(r"[0-9A-Fa-f]{1,2}").match(s, self.i)
                if m:
                    out.append(chr(int(m.group(0), 16)))
                    self.i = m.end()
                else:
                    out.append("\\x")
            elif e in "01234567" and e:
                m = re.compile(r"[0-7]{0,2}").match(s, self.i)
                assert m is not None
                out.append(chr(int(e + m.group(0), 8) & 0xFF))
                self.i = m.end()
            elif e == "c" and self.i < len(s):
                out.append(chr(ord(s[self.i]) & 0x1F))
                self.i += 1
            else:
                out.append("\\" + e)

    def _brace(self) -> _Part:
        s = self.s
        if s.startswith("#", self.i) and s[self.i + 1:self.i + 2] != "}":
            m = _NAME.match(s, self.i + 1)
            if m and s.startswith("}", m.end()):
                self.i = m.end() + 1
                return _Param(m.group(0), "len")
        m = _NAME.match(s, self.i) or re.compile(r"[0-9]+|[@*#?\-$!]").match(s, self.i)
        if not m:
            raise _SyntaxError("bad substitution")
        name = m.group(0)
        self.i = m.end()
        for op in (":-", ":=", ":+", ":?", "##", "%%", "-", "=", "+", "?", "#", "%"):
            if s.startswith(op, self.i):
                self.i += len(op)
                arg = self._parts("}")
                if self.i >= len(s):
                    raise _SyntaxError("unterminated substitution")
                self.i += 1
                return _Param(name, op, tuple(arg))
        if not s.startswith("}", self.i):
            raise _SyntaxError("bad substitution")
        self.i += 1
        return _Param(name)


def _expand(parts: Sequence[_Part], env: dict[str, str], assign: dict[str, str]) -> str:
    out = []
    for p in parts:
        if isinstance(p, _Lit):
            out.append(p.text)
        elif isinstance(p, _CmdSub):
            raise _Unevaluable
        else:
            out.append(_param(p, env, assign))
    return "".join(out)


def _param(p: _Param, env: dict[str, str], assign: dict[str, str]) -> str:
    value = env.get(p.name)
    op = p.op
    if op == "":
        return value or ""
    if op == "len":
        return str(len(value or ""))
    empty = value is None or (op.startswith(":") and value == "")
    if op in (":-", "-"):
        return _expand(p.arg, env, assign) if empty else value or ""
    if op in (":=", "="):
        if not empty:
            return value or ""
        new = _expand(p.arg, env, assign)
        if _NAME.fullmatch(p.name):
            assign[p.name] = new
            env[p.name] = new
        return new
    if op in (":+", "+"):
        return "" if empty else _expand(p.arg, env, assign)
    if op in (":?", "?"):
        if empty:
            raise _Unevaluable
        return value or ""
    text, pattern = value or "", _expand(p.arg, env, assign)
    cuts = range(len(text) + 1)
    if op in ("#", "##"):
        for n in (cuts if op == "#" else reversed(cuts)):
            if fnmatch.fnmatchcase(text[:n], pattern):
                return text[n:]
    else:
        for n in (reversed(cuts) if op == "%" else cuts):
            if fnmatch.fnmatchcase(text[n:], pattern):
                return text[:n]
    return text


_OPENERS = {"if", "case", "for", "while", "until", "{", "select"}
_CLOSERS = {"fi", "esac", "done", "}"}
_CONTINUERS = {"then", "do", "else", "elif", "!", "in"}


def _run(text: str, env: dict[str, str], filename: str, ignored: list[Ignored]) -> None:
    """Run the assignments of ``text`` into ``env``; record what was skipped."""
    lexer = _Lexer(text)
    words: list[_Word] = []
    redirect_next = False
    depth = 0  # compound commands (their bodies never run)
    parens = 0  # subshells at the top level
    swallow_paren = False  # the ")" of "name()"
    compound_line = 0
    status: int | None = 0
    prev_sep = ";"

    def finish(next_sep: str) -> None:
        nonlocal status, prev_sep, words
        cmd, words = words, []
        sep, prev_sep = prev_sep, next_sep
        if not cmd:
            return
        if depth or parens or sep == "|" or next_sep in ("|", "&"):
            if not depth and not parens:
                ignored.append(Ignored(filename, cmd[0].line, " ".join(w.raw for w in cmd)))
            status = None
            return
        if (sep == "&&" and status != 0) or (sep == "||" and status in (None, 0)):
            if status is None:
                ignored.append(Ignored(filename, cmd[0].line, " ".join(w.raw for w in cmd)))
            return
        status = _simple(cmd, env)
        if status is None:
            ignored.append(Ignored(filename, cmd[0].line, " ".join(w.raw for w in cmd)))

    try:
        for tok in lexer.tokens():
            if isinstance(tok, _Word):
                if redirect_next:
                    redirect_next = False
                    continue
                if not words and tok.assign is None:
                    if tok.raw in _OPENERS:
                        if not depth and not parens:
                            compound_line = tok.line
                        depth += 1
                        continue
                    if tok.raw in _CLOSERS:
                        depth = max(0, depth - 1)
                        if not depth and not parens:
                            ignored.append(Ignored(filename, compound_line, "compound command"))
                            status = None
                        continue
                    if tok.raw in _CONTINUERS:
                        continue
                words.append(tok)
            elif tok.op in _REDIRECTS:
                redirect_next = True
            elif tok.op == "(":
                if words:  # name() — a function definition; its body is the compound after
                    words = []
                    swallow_paren = True
                elif not depth:
                    if not parens:
                        compound_line = tok.line
                    parens += 1
            elif tok.op == ")":
                if swallow_paren:
                    swallow_paren = False
                    continue
                finish(";")
                if not depth and parens:
                    parens -= 1
                    if not parens:
                        ignored.append(Ignored(filename, compound_line, "subshell"))
                        status = None
            else:
                finish(";" if tok.op in ("\n", ";;") else tok.op)
        finish(";")
    except _SyntaxError as exc:
        ignored.append(Ignored(filename, lexer.line, f"syntax error: {exc}"))


def _simple(cmd: list[_Word], env: dict[str, str]) -> int | None:
    """One simple command: its assignments (only when nothing else is in it),
    ``export``/``readonly`` assignments, and ``:``'s expansions; status or None."""
    n = 0
    while n < len(cmd) and cmd[n].assign is not None:
        n += 1
    rest = cmd[n:]
    assign: dict[str, str] = {}
    try:
        if not rest:
            scratch = dict(env)
            for w in cmd:
                value = _expand(w.parts, scratch, assign)
                assert w.assign is not None
                scratch[w.assign] = assign[w.assign] = value
            env.update(assign)
            return 0
        verb = rest[0].raw
        if verb in ("export", "readonly") and n == 0:
            for w in rest[1:]:
                if w.assign is not None:
                    env[w.assign] = _expand(w.parts, env, assign)
            return 0
        if verb in (":", "true") and n == 0:
            for w in rest[1:]:
                _expand(w.parts, env, assign)
            return 0
        if verb == "false" and n == 0:
            return 1
    except _Unevaluable:
        env.update(assign)  # ${x:=y} that ran before the failure stays done
        return None
    return None


# ---- rc.conf ------------------------------------------------------------------------


class RcConf(Mapping[str, str]):
    """The variables rc.conf files set, as a read-only mapping of name to value.

    ``files`` lists the files read (as paths on the FreeBSD side, ``/etc/rc.conf``),
    ``ignored`` the statements skipped, ``root`` the directory they were read under,
    and ``prog`` the ``$0`` of rc.subr's warnings.
    """

    def __init__(self, values: Mapping[str, str] | None = None, *, root: str = "/",
                 files: Sequence[str] = (), ignored: Sequence[Ignored] = (),
                 prog: str = "/etc/rc.d/jail") -> None:
        self._values = dict(values or {})
        self.root = root
        self.files = tuple(files)
        self.ignored = tuple(ignored)
        self.prog = prog

    def __getitem__(self, name: str) -> str:
        """The value of variable ``name`` (KeyError when it was never set)."""
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        """The variable names, in the order they were first set."""
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"<RcConf {len(self)} variables from {list(self.files)}>"

    @classmethod
    def parse(cls, text: str, variables: Mapping[str, str] | None = None, *,
              filename: str = "<rc.conf>") -> RcConf:
        """The variables after sourcing ``text`` with ``variables`` already set."""
        env = dict(variables or {})
        ignored: list[Ignored] = []
        _run(text, env, filename, ignored)
        return cls(env, ignored=ignored)

    @classmethod
    def load(cls, root: str = "/", service: str = "jail") -> RcConf:
        """rc.subr's ``load_rc_config SERVICE`` under ``root``: /etc/defaults/rc.conf
        (and /etc/defaults/vendor.conf, which it sources), the files of
        ``rc_conf_files`` (source_rc_confs: each once, twice over the list so that
        a file may add to it), then ``/etc/rc.conf.d/SERVICE`` (or every file in that
        directory) and the same under each ``local_startup`` directory minus its
        ``/rc.d``.  Without /etc/defaults/rc.conf, :data:`DEFAULTS` stand for it
        (rc.subr would read only /etc/rc.conf)."""
        env: dict[str, str] = {}
        files: list[str] = []
        ignored: list[Ignored] = []

        def host(path: str) -> str:
            return os.path.join(root, path.lstrip("/"))

        def source(path: str, nonempty: bool) -> None:
            # rc.subr's dot: a regular non-empty file; source_rc_confs: any readable one.
            h = host(path)
            if not os.path.isfile(h) or (nonempty and os.path.getsize(h) == 0):
                return
            try:
                with open(h, encoding="utf-8", errors="surrogateescape") as f:
                    text = f.read()
            except OSError:
                return
            files.append(path)
            _run(text, env, path, ignored)

        if os.access(host("/etc/defaults/rc.conf"), os.R_OK):
            source("/etc/defaults/rc.conf", True)
            # Sourced at the end of /etc/defaults/rc.conf, inside an `if`.
            if os.access(host("/etc/defaults/vendor.conf"), os.R_OK):
                source("/etc/defaults/vendor.conf", False)
        else:
            env.update(DEFAULTS)
        done: set[str] = set()
        for _ in range(2):
            for path in _fields(env.get("rc_conf_files", "")):
                if path not in done:
                    done.add(path)
                    if os.access(host(path), os.R_OK):
                        source(path, False)
        if service:
            for d in ["/etc", *_fields(env.get("local_startup", ""))]:
                d = d.removesuffix("/rc.d")
                one = f"{d}/rc.conf.d/{service}"
                if os.path.isfile(host(one)):
                    source(one, True)
                elif os.path.isdir(host(one)):
                    for entry in sorted(os.listdir(host(one))):
                        if not entry.startswith(".") and os.path.isfile(host(f"{one}/{entry}")):
                            source(f"{one}/{entry}", True)
        return cls(env, root=root, files=files, ignored=ignored,
                   prog=f"/etc/rc.d/{service}" if service else "/etc/rc.subr")

    def with_values(self, **values: str) -> RcConf:
        """A copy with some variables set (``eval ${rcvar}=YES`` and the like)."""
        return RcConf({**self._values, **values}, root=self.root, files=self.files,
                      ignored=self.ignored, prog=self.prog)

    def yes(self, name: str, warn: Callable[[str], None] | None = None) -> bool:
        """rc.subr's checkyesno: YES, TRUE, ON or 1 (any case) is true; NO, FALSE,
        OFF or 0 false; anything else (unset too) is false after the warning
        ``$NAME is not set properly - see rc.conf(5).``, passed to ``warn``
        (default: standard error, as ``PROG: WARNING: ...``)."""
        return checkyesno(name, self.get(name, ""), warn or self.warn)

    def warn(self, message: str) -> None:
        """rc.subr's warn: ``$0: WARNING: MESSAGE`` on standard error."""
        sys.stderr.write(f"{self.prog}: WARNING: {message}\n")


def checkyesno(name: str, value: str, warn: Callable[[str], None]) -> bool:
    """checkyesno on ``value``, the value of variable ``name``."""
    low = value.lower() if value.isascii() else value
    if low in ("yes", "true", "on", "1"):
        return True
    if low not in ("no", "false", "off", "0"):
        warn(f"${name} is not set properly - see rc.conf(5).")
    return False


# ---- rc.d/jail ----------------------------------------------------------------------


@dataclass(frozen=True)
class JailOptions:
    """What rc.d/jail's parse_options decides for one jail of a list: ``conf``
    the file given to ``jail -f``; with ``text``, the configuration it writes
    there from the jail's ``jail_<jv>_*`` variables (obsolete per-jail setup),
    and ``confwarn`` whether jail_confwarn asks for the obsolescence notice."""

    name: str
    var: str
    conf: str
    hostname: str
    text: str | None = None
    confwarn: bool = False


_USAGE_KEYWORDS = ("start|stop|restart|rcvar|enable|disable|delete|enabled|describe|"
                   "extracommands|config|console|status|status|poll")


class RcJail:
    """FreeBSD's rc.d/jail over a jail(8) given as ``run_jail``.

    ``run_jail(argv)`` runs jail(8) with ``argv`` (its arguments, without the
    program name) and returns its exit status and what it wrote (standard output
    and error together).  ``running()`` lists the running jails as ``jls jid name``
    does, as (jid, name) pairs (default: :func:`jailcore.jails`).  Files are looked
    up under ``conf.root``; the ``.id`` files and the configurations generated from
    ``jail_<name>_*`` variables go to ``run_dir`` (default ``ROOT/var/run``).
    Paths in the argv lists are the files as this process opens them (under the
    root).  Messages go to ``out`` and rc.subr's warnings to ``err``.

    ``vimage`` says whether the kernel has VIMAGE (rc.subr's ``check_kern_features
    vimage``; default: ``kern.features.vimage`` or the ``vnet`` jail parameter
    exists); ``dad_count`` is ``net.inet6.ip6.dad_count`` (default: the sysctl, or
    FreeBSD's default 1); ``clock`` the time in the generated files' first line.
    """

    def __init__(self, conf: RcConf, *,
                 run_jail: Callable[[list[str]], tuple[int, str]],
                 running: Callable[[], list[tuple[int, str]]] | None = None,
                 run_dir: str | None = None, out: TextIO | None = None,
                 err: TextIO | None = None, vimage: bool | None = None,
                 dad_count: int | None = None,
                 clock: Callable[[], datetime.datetime] | None = None) -> None:
        self.conf = conf
        self.run_jail = run_jail
        self.running = running or _jls_jid_name
        self.run_dir = run_dir if run_dir is not None else self._host("/var/run")
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self._vimage = vimage
        self._dad_count = dad_count
        self.clock = clock or datetime.datetime.now
        self._vars = dict(conf)
        self._quiet = False
        self._confwarn = False

    # -- helpers --

    def _host(self, path: str) -> str:
        if self.conf.root in ("", "/") or not path.startswith("/"):
            return path
        return os.path.join(self.conf.root, path.lstrip("/"))

    def _get(self, name: str, default: str = "") -> str:
        return self._vars.get(name) or default

    def _warn(self, message: str) -> None:
        self.err.write(f"{self.conf.prog}: WARNING: {message}\n")

    def _yes(self, name: str, warn: Callable[[str], None] | None = None) -> bool:
        return checkyesno(name, self._vars.get(name, ""), warn or self._warn)

    def _startmsg(self, text: str, newline: bool = True) -> None:
        # rc.subr's startmsg: silent only under rc_quiet with rc_startmsgs off.
        if not self._quiet or self._yes("rc_startmsgs"):
            self.out.write(text + ("\n" if newline else ""))

    def _readable(self, path: str) -> bool:
        return bool(path) and os.access(self._host(path), os.R_OK)

    def _find(self, j: str) -> int | None:
        """``jls -j J jid``: a jid by number when J is digits, else by name."""
        for jid, name in self.running():
            if (j.isascii() and j.isdigit() and jid == int(j)) or name == j:
                return jid
        return None

    def _has_vimage(self) -> bool:
        if self._vimage is None:
            self._vimage = _sysctl_exists("kern.features.vimage") or _sysctl_exists(
                "security.jail.param.vnet")
        return self._vimage

    def _dad(self) -> int:
        if self._dad_count is None:
            self._dad_count = _sysctl_int("net.inet6.ip6.dad_count", 1)
        return self._dad_count

    def _names(self, names: Sequence[str]) -> list[str]:
        return list(names) if names else _fields(self._get("jail_list")) or ["_ALL"]

    # -- parse_options --

    def options(self, name: str, warn: Callable[[str], None] | None = None
                ) -> JailOptions | None:
        """parse_options for the already mangled jail name ``name``: the
        configuration file to use, or ``None`` when the jail is ignored (after a
        warning).  Writes nothing; ``warn`` receives the warnings in order."""
        w = warn or (lambda _m: None)
        j, jv = name, jail_var(name)
        jconf = self._get(f"jail_{jv}_conf", f"/etc/jail.{j}.conf")
        jconfdir = f"/etc/jail.conf.d/{j}.conf"
        rootdir = self._get(f"jail_{jv}_rootdir")
        hostname = self._get(f"jail_{jv}_hostname")
        if not rootdir or not hostname:
            for path in (jconf, jconfdir, self._get("jail_conf")):
                if self._readable(path):
                    return JailOptions(j, jv, self._host(path), hostname)
            w(f"Invalid configuration for {j} (no jail.conf, no hostname, or no path).  "
              f"Jail {j} was ignored.")
            return None
        if not self._get(f"jail_{jv}_ip") and not self._has_vimage():
            w(f"no ipaddress specified and no vimage support.  Jail {j} was ignored.")
            return None
        conf = os.path.join(self.run_dir, f"jail.{j}.conf")
        # ": ${jail_confwarn:=YES}", then checkyesno; jail_warn prints the notice after start.
        confwarn = checkyesno("jail_confwarn", self._get("jail_confwarn", "YES"), w)
        if self._readable(self._get("jail_conf")) or self._readable(jconf):
            if not self._yes("jail_parallel_start", w):
                w(f"{conf} is created and used for jail {j}.")
        return JailOptions(j, jv, conf, hostname, self._legacy_text(j, jv, w), confwarn)

    def _legacy_text(self, j: str, jv: str, w: Callable[[str], None]) -> str:
        lines = [self.clock().strftime("# Generated by rc.d/jail at %Y-%m-%d %H:%M:%S"),
                 f"{j} {{"]

        def var(name: str, default: str = "") -> str:
            return self._get(f"jail_{jv}_{name}") or self._get(f"jail_{name}") or default

        def plain(name: str, param: str, default: str = "") -> None:
            value = var(name, default)
            if value:
                lines.append(f'\t{param} = "{value}";')

        def boolean(name: str, param: str, default: str, invert: bool) -> None:
            on = checkyesno(f"jail_{jv}_{name}", var(name, default), w)
            lines.append(f"\t{param} = {int(on != invert)};")

        def numbered(name: str, param: str) -> None:
            i = 0
            while True:
                value = var(f"{name}{i}")
                if value:
                    lines.append(f'\t{param} += "{value}";')
                elif i != 0:
                    break
                i += 1

        def enabled(name: str) -> bool:
            return checkyesno(f"jail_{jv}_{name}", var(name, "NO"), w)

        # rc.d/jail (freebsd-src @c96d5c97, parse_options): exec, exec_start, exec_stop,
        # ip and ip_multiN are read per jail only, with no jail_X fallback (the spec's
        # section 5 has every variable fall back); exec_stop gets its default only when
        # exec_start has none either.
        exec_ = self._get(f"jail_{jv}_exec")
        exec_start = self._get(f"jail_{jv}_exec_start")
        exec_stop = self._get(f"jail_{jv}_exec_stop")
        if exec_:
            exec_start, exec_stop = exec_, ""
        elif not exec_start:
            exec_start = "/bin/sh /etc/rc"
            exec_stop = exec_stop or "/bin/sh /etc/rc.shutdown jail"
        interface = var("interface")
        ip = self._get(f"jail_{jv}_ip")

        plain("hostname", "host.hostname")
        plain("rootdir", "path")
        if ip:
            plain("interface", "interface")
            dad = self._ips(ip, interface, lines, w)
            n = 0
            while multi := self._get(f"jail_{jv}_ip_multi{n}"):
                dad = self._ips(multi, interface, lines, w) or dad
                n += 1
            if dad:
                # echo joins its three words with spaces: "sleep  N " (rc.d/jail).
                lines.append(f'\texec.start += "sleep  {self._dad() + 1} ";')
            plain("fib", "exec.fib")
            boolean("socket_unixiproute_only", "allow.raw_sockets", "YES", True)
        else:
            lines.append("\tvnet;")
            words = _fields(var("vnet_interface"))
            if words:
                lines.append("\tvnet.interface = " + ", ".join(f'"{x}"' for x in words) + ";")
        lines += ["\texec.clean;", '\texec.system_user = "root";', '\texec.jail_user = "root";']
        for hook in ("prestart", "poststart", "prestop", "poststop"):
            numbered(f"exec_{hook}", f"exec.{hook}")
        lines.append(f'\texec.start += "{exec_start}";')
        numbered("exec_afterstart", "exec.start")
        lines.append(f'\texec.stop = "{exec_stop}";')
        plain("consolelog", "exec.consolelog", f"/var/log/jail_{j}_console.log")
        fstab = var("fstab", f"/etc/fstab.{j}")
        if self._readable(fstab):
            lines.append(f'\tmount.fstab = "{fstab}";')
        if enabled("devfs_enable"):
            lines.append("\tmount.devfs;")
            ruleset = var("devfs_ruleset")
            if ruleset[:1].isdigit() and ruleset[:1].isascii():
                lines.append(f'\tdevfs_ruleset = "{ruleset}";')
            elif ruleset not in ("", "devfsrules_jail"):
                w("devfs_ruleset must be an integer.")
        if enabled("fdescfs_enable"):
            lines.append("\tmount.fdescfs;")
        if enabled("procfs_enable"):
            lines.append("\tmount.procfs;")
        if enabled("mount_enable"):
            lines.append("\tallow.mount;")
        boolean("set_hostname_allow", "allow.set_hostname", "NO", False)
        boolean("sysvipc_allow", "allow.sysvipc", "NO", False)
        plain("enforce_statfs", "enforce_statfs", "2")
        plain("osreldate", "osreldate")
        plain("osrelease", "osrelease")
        for p in _fields(var("parameters")):
            lines.append(f"\t{p.removesuffix(';')};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _ips(self, option: str, default_if: str, lines: list[str],
             w: Callable[[str], None]) -> bool:
        """jail_handle_ips_option; True when an IPv6 address was added."""
        words = [*_fields(option), *_fields(default_if)]  # unquoted $_ip $_interface
        x = words[0] if words else ""
        defif = words[1] if len(words) > 1 else ""
        dad = False
        while x:
            item, _, rest = x.partition(",")
            x = rest
            args = [*_fields(item), *_fields(defif)]  # unquoted $_i $_defif
            kind, iface, addr, mask = self._address(args[0] if args else "",
                                                    args[1] if len(args) > 1 else "", w)
            if not addr:
                continue
            prefix = f"{iface}|" if iface else ""
            if kind == "inet":
                lines.append(f'\tip4.addr += "{prefix}{addr}{mask}";')
            elif kind == "inet6":
                lines.append(f'\tip6.addr += "{prefix}{addr}{mask}";')
                dad = True
        return dad

    @staticmethod
    def _address(item: str, interface: str,
                 w: Callable[[str], None]) -> tuple[str, str, str, str]:
        """jail_extract_address: (type, interface, address, mask)."""
        if not item:
            w("jail_extract_address: called without input")
            return "", "", "", ""
        if "|" in item:
            iface, rest = item.split("|", 1)[0], item.rsplit("|", 1)[1]
        else:
            iface, rest = "", item
        iface = iface or interface
        addr = re.split(r"[/ ]", rest, maxsplit=1)[0]
        mask = rest[len(addr):]
        kind = ""
        if fnmatch.fnmatchcase(addr, "*.*.*.*"):
            kind = "inet"
            if fnmatch.fnmatchcase(mask, "/*.*.*.*"):
                mask = " netmask " + mask[1:]
            mask = mask or "/32"
        elif ":" in addr:
            kind = "inet6"
            mask = mask or "/128"
        else:
            w("jail_extract_address: type not identified")
        return kind, iface, addr, mask

    # -- plans --

    def plan_start(self, names: Sequence[str] = ()) -> list[list[str]]:
        """The jail(8) argument lists ``start`` runs, in order (nothing is run or
        written): ``[flags] -f CONF -c [-p1]`` for all jails, else
        ``[flags] -i -f CONF -c J`` for each jail of the list that has a configuration."""
        names = self._names(names)
        if names[0] == "_ALL":
            return [self._all_start_argv()]
        out = []
        for word in names:
            opts = self.options(jail_name(word))
            if opts is not None:
                out.append(self._start_argv(opts))
        return out

    def plan_stop(self, names: Sequence[str] = ()) -> list[list[str]]:
        """The jail(8) argument lists ``stop`` runs for the jails running now:
        ``[flags] -f CONF -r NAME`` for each (reversed with jail_reverse_stop) when
        all, else ``-q -f CONF -r J`` for each running jail of the list.  Jails
        named here (not from jail_list) keep their order, as on the command line."""
        explicit = bool(names)
        names = self._names(names)
        reverse = not explicit and self._yes("jail_reverse_stop", lambda _m: None)
        if names[0] == "_ALL":
            return [self._all_stop_argv(n) for n in self._all_stop_names(reverse)]
        if reverse:
            names = names[::-1]
        out = []
        for word in names:
            opts = self.options(jail_name(word))
            if opts is not None and self._find(opts.name) is not None:
                out.append(["-q", "-f", opts.conf, "-r", opts.name])
        return out

    def _all_start_argv(self) -> list[str]:
        argv = [*_fields(self._get("jail_flags")), "-f", self._host(self._get("jail_conf")), "-c"]
        if not self._yes("jail_parallel_start"):
            argv.append("-p1")
        return argv

    def _start_argv(self, opts: JailOptions) -> list[str]:
        flags = self._get(f"jail_{opts.var}_flags") or self._get("jail_flags")
        return [*_fields(flags), "-i", "-f", opts.conf, "-c", opts.name]

    def _all_stop_names(self, reverse: bool) -> list[str]:
        names = [name for _jid, name in self.running()]
        return names[::-1] if reverse else names

    def _all_stop_argv(self, name: str) -> list[str]:
        return [*_fields(self._get("jail_flags")), "-f", self._host(self._get("jail_conf")),
                "-r", name]

    # -- commands --

    def service(self, argument: str, names: Sequence[str] = ()) -> int:
        """``service jail ARGUMENT [NAMES...]``: run_rc_command with rc.subr's
        prefixes (``one``, ``force``, ``fast``, ``quiet``) and its ``jail_enable``
        check; the exit status.  Besides the commands below: ``enabled``,
        ``describe``, ``extracommands``, ``rcvar`` and ``poll``; ``console``,
        ``enable``, ``disable`` and ``delete`` raise NotImplementedError."""
        self._vars = {**SCRIPT_DEFAULTS, **self.conf}
        self._quiet = False
        prefix = ""
        arg = argument
        for p in ("fast", "force", "one", "quiet"):
            if arg.startswith(p):
                arg = arg[len(p):]
                if p in ("force", "one"):
                    self._vars["jail_enable"] = "YES"
                if p != "fast":
                    prefix = p
                if p in ("fast", "quiet"):
                    self._quiet = True
                break
        if names:
            self._vars["jail_reverse_stop"] = "no"
        jails = self._names(names)
        try:
            return self._run_rc_command(arg, prefix, jails)
        finally:
            self._vars, self._quiet = dict(self.conf), False

    def _run_rc_command(self, arg: str, prefix: str, jails: list[str]) -> int:
        if arg in ("console", "enable", "disable", "delete"):
            raise NotImplementedError(f"rc.d/jail {arg} (jexec, sysrc) is not modelled here")
        if arg == "enabled":
            return 0 if self._yes("jail_enable") else 1
        if arg == "describe":
            self.out.write("Manage system jails\n")
            return 0
        if arg == "extracommands":
            self.out.write("config console status\n")
            return 0
        if arg == "rcvar":
            enable = self._get("jail_enable")
            self.out.write(f'# jail : Manage system jails\n#\njail_enable="{enable}"\n'
                           '#   (default: "")\n\n')
            return 0
        if arg == "poll":  # nothing to wait for: jail(8) leaves no process behind
            return 0
        if arg not in ("start", "stop", "restart", "status", "config"):
            self.err.write(f"{self.conf.prog}: unknown directive '{arg}'.\n")
            self.err.write(f"Usage: {self.conf.prog} [fast|force|one|quiet]({_USAGE_KEYWORDS})\n")
            return 1
        if arg != "status" and not self._yes("jail_enable"):
            if not self._quiet:
                self.out.write(f"Cannot '{arg}' jail. Set jail_enable to YES in /etc/rc.conf "
                               f"or use 'one{arg}' instead of '{arg}'.\n")
            return 0
        if arg == "start":
            self._confwarn = False
            self._jail_start(jails)
            if self._confwarn:  # start_postcmd jail_warn
                self._warn("Per-jail configuration via jail_* variables is obsolete.  "
                           f"Please consider migrating to {self._get('jail_conf')}.")
            return 0
        if arg == "stop":
            self._jail_stop(jails)
            return 0
        if arg == "status":
            return self._jail_status()
        if arg == "config":
            self._jail_config(jails)
            return 0
        quiet = self._quiet
        saved = dict(self._vars)
        self._run_rc_command("stop", prefix, jails)
        self._vars, self._quiet = dict(saved), quiet
        status = self._run_rc_command("start", prefix, jails)
        self._vars = saved
        return 1 if status and prefix != "force" else status

    def start(self, names: Sequence[str] = (), *, one: bool = False) -> int:
        """``service jail start [NAMES]`` (``onestart`` with ``one``): 0, as rc.d/jail
        returns whatever became of the jails (failures are in the messages)."""
        return self.service("onestart" if one else "start", names)

    def stop(self, names: Sequence[str] = (), *, one: bool = False) -> int:
        """``service jail stop [NAMES]`` (``onestop`` with ``one``)."""
        return self.service("onestop" if one else "stop", names)

    def restart(self, names: Sequence[str] = (), *, one: bool = False) -> int:
        """``service jail restart [NAMES]``: stop, then start."""
        return self.service("onerestart" if one else "restart", names)

    def status(self) -> int:
        """``service jail status``: what ``jls -N`` prints, to ``out``; its status."""
        return self.service("status")

    def config(self, names: Sequence[str] = (), *, one: bool = False) -> int:
        """``service jail config NAMES``: for each, ``J: parameters are in CONF.``
        (writing the configuration generated from per-jail variables)."""
        return self.service("oneconfig" if one else "config", names)

    def _apply_options(self, word: str) -> JailOptions | None:
        # parse_options resets _confwarn each time: jail_warn, after start, speaks
        # for the last jail of the list only (rc.d/jail @c96d5c97).
        self._confwarn = False
        opts = self.options(jail_name(word), self._warn)
        if opts is None:
            return None
        self._confwarn = opts.confwarn
        if opts.text is not None:
            try:
                fd = os.open(opts.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                with os.fdopen(fd, "w") as f:
                    f.write(opts.text)
                os.chmod(opts.conf, 0o644)
                if os.geteuid() == 0:
                    os.chown(opts.conf, 0, 0)  # install -o root -g wheel
            except OSError as exc:
                self.err.write(f"install: {opts.conf}: {exc.strerror}\n")
                return None
        return opts

    def _write_id(self, name: str, jid: int | None) -> None:
        path = os.path.join(self.run_dir, f"jail_{name}.id")
        try:
            with open(path, "w") as f:
                f.write(f"{'' if jid is None else jid}\n")
        except OSError as exc:
            self.err.write(f"{self.conf.prog}: cannot create {path}: {exc.strerror}\n")

    def _remove_id(self, name: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(self.run_dir, f"jail_{name}.id"))

    def _jail_start(self, jails: list[str]) -> None:
        self._startmsg("Starting jails:", newline=False)
        if jails[0] == "_ALL":
            status, output = self.run_jail(self._all_start_argv())
            if status == 0:
                for jid, name in self.running():
                    self._startmsg(f" {name}", newline=False)
                    self._write_id(name, jid)
            else:
                self.out.write(output)
            self._startmsg(".")
            return
        parallel = self._yes("jail_parallel_start")
        started: list[tuple[JailOptions, list[str]]] = []
        for word in jails:
            opts = self._apply_options(word)
            if opts is None:
                continue
            started.append((opts, self._start_argv(opts)))
            if not parallel:
                self._report_start(opts, self.run_jail(started[-1][1]))
        if parallel:
            results: list[tuple[int, str]] = [(1, "")] * len(started)

            def run(i: int, argv: list[str]) -> None:
                results[i] = self.run_jail(argv)

            threads = [threading.Thread(target=run, args=(i, argv))
                       for i, (_o, argv) in enumerate(started)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for (opts, _argv), result in zip(started, results, strict=True):
                self._report_start(opts, result)
        self._startmsg(".")

    def _report_start(self, opts: JailOptions, result: tuple[int, str]) -> None:
        shown = opts.hostname or opts.name
        status, output = result
        if status == 0:
            self._startmsg(f" {shown}", newline=False)
            self._write_id(opts.name, self._find(opts.name))
        else:
            # echo " cannot start jail " "\"NAME\": " -- two words, so two spaces
            # (rc.d/jail @c96d5c97; the spec's section F.1 shows one).
            self._startmsg(f' cannot start jail  "{shown}": ')
            self.out.write(output)

    def _jail_stop(self, jails: list[str]) -> None:
        # Plain echo here, not startmsg: quiet and rc_startmsgs do not silence stop.
        self.out.write("Stopping jails:")
        reverse = self._yes("jail_reverse_stop")
        if jails[0] == "_ALL":
            for name in self._all_stop_names(reverse):
                self.out.write(f" {name}")
                _status, output = self.run_jail(self._all_stop_argv(name))
                if self._find(name) is not None:
                    self.out.write(output)
                else:
                    self._remove_id(name)
            self.out.write(".\n")
            return
        if reverse:
            jails = jails[::-1]
        for word in jails:
            opts = self._apply_options(word)
            if opts is None or self._find(opts.name) is None:
                continue
            self.out.write(f" {opts.hostname or opts.name}")
            _status, output = self.run_jail(["-q", "-f", opts.conf, "-r", opts.name])
            if self._find(opts.name) is not None:
                self.out.write(output)
            else:
                self._remove_id(opts.name)
        self.out.write(".\n")

    def _jail_status(self) -> int:
        from jailcore import cli

        self.out.flush()
        with contextlib.redirect_stdout(self.out):
            return cli.main(["ls", "-N"])

    def _jail_config(self, jails: list[str]) -> None:
        if jails[0] == "_ALL":
            return
        for word in jails:
            opts = self._apply_options(word)
            if opts is not None:
                self.out.write(f"{opts.name}: parameters are in {opts.conf}.\n")


def _jls_jid_name() -> list[tuple[int, str]]:
    from jailcore.jail import jails

    return [(j.jid, str(j.name)) for j in jails(("jid", "name"))]


def _sysctl_exists(name: str) -> bool:
    from jailcore import _backend

    try:
        err, _mib = _backend.sysctlnametomib(name)
    except Exception:
        return False
    return err == 0


def _sysctl_int(name: str, default: int) -> int:
    from jailcore import _backend

    try:
        err, mib = _backend.sysctlnametomib(name)
        if err:
            return default
        err, data = _backend.sysctl(mib, 4)
    except Exception:
        return default
    return default if err else int.from_bytes(data[:4], "little", signed=True)
