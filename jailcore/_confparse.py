"""jail.conf(5)'s lexer and parser, as jail(8) reads the file (see :mod:`jailcore.conf`).

The first part of jail(8) in Python (usr.sbin/jail/jaillex.l, jailparse.y and
config.c's include_config; shared/spec/freebsd-jail-userland.md section 1):
:func:`parse` turns a configuration into its sections (jail blocks, wildcard
blocks, and the one global section ``*`` that top-level parameters go to), in
file order, with every statement as written: its name, its operator and its
values, each value the literal text and ``$variable`` references it joins.
:func:`load` reads a file and follows ``.include``; :mod:`jailcore.conf`
merges the sections into jails and substitutes the variables.

>>> [s.name for s in parse('path = "/j/$name"; web { persist; }')]
['*', 'web']

Errors are :class:`ConfigError`, with jail(8)'s text:
``FILE line N: TOKEN: syntax error``, ``FILE: unexpected EOF``,
``FILE line N: unterminated string``...
"""

from __future__ import annotations

import glob
import os
import re
import sys
from dataclasses import dataclass, field

__all__ = ["ConfigError", "Param", "Piece", "Section", "Value", "load", "parse"]

#: jail(8)'s limit on nested .include (config.c).
MAX_INCLUDE_DEPTH = 32


class ConfigError(ValueError):
    """A configuration jail(8) would refuse before doing anything (exit 1);
    ``str()`` is jail(8)'s message."""


@dataclass(frozen=True)
class Piece:
    """Part of a value: literal ``text``, or with ``var`` the name of a
    variable (``$name`` or ``${host.hostname}``) substituted later."""

    text: str
    var: bool = False


@dataclass(frozen=True)
class Value:
    """One string value: the pieces that stood next to each other with no
    space between (``"/var/jail/"$name'.x'`` is one value of three)."""

    pieces: tuple[Piece, ...]

    @property
    def literal(self) -> str | None:
        """The text, or ``None`` when a variable is in it."""
        if any(p.var for p in self.pieces):
            return None
        return "".join(p.text for p in self.pieces)


@dataclass(frozen=True)
class Param:
    """A statement: ``name`` as written (``$x`` for a variable), ``op`` one of
    ``"="``, ``"+="`` or ``""`` (the ``name value`` form, and a bare
    ``name;``), its ``values``, and where it stands."""

    name: str
    op: str
    values: tuple[Value, ...]
    filename: str
    line: int


@dataclass
class Section:
    """A jail block, a wildcard block, or the global section ``*``: its
    ``name`` (nested blocks give ``outer.inner``), its ``params`` in order,
    and where it starts; ``seq`` is its place in the whole configuration,
    includes inline."""

    name: str
    filename: str
    line: int
    seq: int = 0
    params: list[Param] = field(default_factory=list)


# ---- the lexer (jaillex.l) ---------------------------------------------------

_WS = " \t\r\n"
_RESERVED = "{};,="
# Characters of an unquoted atom; $ * + / \\ also join a string, one by one.
_ATOM = re.compile(r"[A-Za-z0-9_!%&()\-.:<>?@\[\]^|~`]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                   "v": "\v"}


@dataclass
class _Token:
    kind: str  # "str" (a string, its pieces), a reserved token, or "other"
    text: str  # as it stood in the file, for messages
    line: int
    pieces: list[Piece] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)  # each joined piece as written
    first: str = ""  # "var" when the string is one variable


def _escape(s: str, i: int, out: list[str]) -> int:
    """Decode the escape at s[i] == '\\\\'; return the index after it."""
    if i + 1 >= len(s):
        out.append("\\")
        return i + 1
    c = s[i + 1]
    if c in _SIMPLE_ESCAPES:
        out.append(_SIMPLE_ESCAPES[c])
        return i + 2
    if c == "\n":  # a continued line
        return i + 2
    if c in "01234567":
        j = i + 1
        while j < len(s) and j < i + 4 and s[j] in "01234567":
            j += 1
        out.append(chr(int(s[i + 1:j], 8) & 0xFF))
        return j
    if c == "x":
        j = i + 2
        while j < len(s) and j < i + 4 and s[j] in "0123456789abcdefABCDEF":
            j += 1
        out.append(chr(int(s[i + 2:j], 16)) if j > i + 2 else "\0")
        return j
    out.append(c)
    return i + 2


class _Lexer:
    def __init__(self, text: str, filename: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.filename = filename

    def error(self, what: str, line: int | None = None) -> ConfigError:
        return ConfigError(f"{self.filename} line {line or self.line}: {what}")

    def _skip(self) -> bool:
        """Skip whitespace and comments; whether any was skipped."""
        s, start = self.s, self.i
        while self.i < len(s):
            c = s[self.i]
            if c in _WS:
                self.line += c == "\n"
                self.i += 1
            elif c == "#" or s.startswith("//", self.i):
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            elif s.startswith("/*", self.i):
                end = s.find("*/", self.i + 2)
                if end < 0:
                    raise self.error("unterminated comment")
                self.line += s.count("\n", self.i, end)
                self.i = end + 2
            else:
                break
        return self.i > start

    def _variable(self, in_double: bool) -> Piece | None:
        """A variable at s[i] == '$', or None when it is a literal '$'."""
        s, i = self.s, self.i
        if s.startswith("${", i):
            stop = "\n{}" + ('"' if in_double else "")
            j = i + 2
            while j < len(s) and s[j] not in stop:
                j += 1
            if j >= len(s) or s[j] != "}":
                raise self.error("unterminated variable")
            self.i = j + 1
            return Piece(s[i + 2:j], True)
        m = _NAME.match(s, i + 1)
        if m is None:
            return None
        self.i = m.end()
        return Piece(m.group(), True)

    def _quoted(self, quote: str) -> list[Piece]:
        s, line = self.s, self.line
        self.i += 1
        pieces: list[Piece] = []
        text: list[str] = []
        while True:
            if self.i >= len(s):
                raise self.error("unterminated string", line)
            c = s[self.i]
            if c == quote:
                self.i += 1
                break
            if c == "\\":
                self.line += s.startswith("\\\n", self.i)
                self.i = _escape(s, self.i, text)
            elif c == "$" and quote == '"':
                var = self._variable(True)
                if var is None:
                    text.append("$")
                    self.i += 1
                else:
                    if text:
                        pieces.append(Piece("".join(text)))
                        text = []
                    pieces.append(var)
            else:
                self.line += c == "\n"
                text.append(c)
                self.i += 1
        if text or not pieces:
            pieces.append(Piece("".join(text)))
        return pieces

    def _piece(self) -> list[Piece] | None:
        """The string piece at the current position, or None."""
        s, i = self.s, self.i
        c = s[i]
        if c in "'\"":
            return self._quoted(c)
        if c == "$":
            var = self._variable(False)
            if var is not None:
                return [var]
            self.i += 1
            return [Piece("$")]
        if c == "\\":
            out: list[str] = []
            self.line += s.startswith("\\\n", i)
            self.i = _escape(s, i, out)
            return [Piece("".join(out))]
        if c in "*/" or (c == "+" and not s.startswith("+=", i)):
            self.i += 1
            return [Piece(c)]
        m = _ATOM.match(s, i)
        if m is None:
            return None
        # A comment starts even inside an atom (the longest match of the
        # lexer is the comment's): "foo#bar" is "foo" and a comment.
        text = m.group()
        cut = min((p for p in (text.find("#"),) if p >= 0), default=len(text))
        self.i = i + cut
        return [Piece(text[:cut])]

    def tokens(self) -> list[_Token]:
        out: list[_Token] = []
        s = self.s
        while True:
            self._skip()
            if self.i >= len(s):
                return out
            start, line = self.i, self.line
            if s.startswith("+=", self.i):
                self.i += 2
                out.append(_Token("+=", "+=", line))
                continue
            if s[self.i] in _RESERVED:
                self.i += 1
                out.append(_Token(s[start], s[start], line))
                continue
            tok = _Token("str", "", line)
            while self.i < len(s):
                if s[self.i] in _WS or s[self.i] in _RESERVED or s.startswith(("+=", "//", "/*"),
                                                                              self.i):
                    break
                before = self.i
                pieces = self._piece()
                if pieces is None:
                    break
                if before == start and s[before] == "$" and pieces[0].var:
                    tok.first = "var"
                tok.pieces.extend(pieces)
                tok.raws.append(s[before:self.i])
                if self.i < len(s) and s[self.i] == "#":
                    break
            if not tok.pieces:
                self.i += 1
                out.append(_Token("other", s[start], line))
                continue
            tok.text = s[start:self.i]
            out.append(tok)


# ---- the parser (jailparse.y) ---------------------------------------------------


def _value(tok: _Token) -> Value:
    merged: list[Piece] = []
    for p in tok.pieces:
        if merged and not p.var and not merged[-1].var:
            merged[-1] = Piece(merged[-1].text + p.text)
        else:
            merged.append(p)
    return Value(tuple(merged))


@dataclass
class _State:
    """What every file of one configuration adds to: the sections, and the
    one global section that top-level parameters go to (made where the first
    of them stands)."""

    sections: list[Section] = field(default_factory=list)
    top: Section | None = None

    def add(self, sec: Section) -> Section:
        sec.seq = len(self.sections)
        self.sections.append(sec)
        return sec


class _Parser:
    def __init__(self, state: _State, depth: int, text: str, filename: str) -> None:
        self.state = state
        self.depth = depth
        self.filename = filename
        self.toks = _Lexer(text, filename).tokens()
        self.k = 0

    def run(self) -> None:
        self._conf(None, "")
        if self.k < len(self.toks):
            raise self._syntax()

    def _peek(self, ahead: int = 0) -> _Token | None:
        k = self.k + ahead
        return self.toks[k] if k < len(self.toks) else None

    def _syntax(self, tok: _Token | None = None, text: str | None = None) -> ConfigError:
        tok = tok or self._peek()
        if tok is None:
            return ConfigError(f"{self.filename}: unexpected EOF")
        return ConfigError(f"{self.filename} line {tok.line}: {text or tok.text}: syntax error")

    def _conf(self, owner: Section | None, prefix: str) -> None:
        """Statements and blocks up to a "}" or the end; ``owner`` None at
        the top level."""
        while (tok := self._peek()) is not None and tok.kind != "}":
            if tok.kind == ";":
                self.k += 1
            elif tok.kind == "str" and (nxt := self._peek(1)) is not None and nxt.kind == "{":
                self._block(prefix)
            else:
                self._param(owner)

    def _single(self, tok: _Token) -> str:
        """A name: one string or one variable, nothing joined to it."""
        if len(tok.raws) != 1:
            raise self._syntax(tok, tok.raws[1])
        if tok.first == "var":
            return "$" + tok.pieces[0].text
        return "".join(p.text for p in tok.pieces)

    def _block(self, prefix: str) -> None:
        tok = self.toks[self.k]
        if tok.first == "var":
            raise self._syntax(tok)
        sec = self.state.add(Section(prefix + self._single(tok), self.filename, tok.line))
        self.k += 2
        self._conf(sec, sec.name + ".")
        end = self._peek()
        if end is None or end.kind != "}":
            raise self._syntax()
        self.k += 1

    def _param(self, owner: Section | None) -> None:
        tok = self._peek()
        if tok is None or tok.kind != "str":
            raise self._syntax()
        name = self._single(tok)
        self.k += 1
        op, values = "", []
        nxt = self._peek()
        if nxt is not None and nxt.kind in ("=", "+="):
            op = nxt.kind
            self.k += 1
            values = self._values()
        elif nxt is not None and nxt.kind == "str":
            values = self._values()
        end = self._peek()
        if end is None or end.kind != ";":
            raise self._syntax()
        self.k += 1
        param = Param(name, op, tuple(values), self.filename, tok.line)
        if name == ".include" and op == "" and values:
            self._include(param)
            return
        if owner is None:
            if self.state.top is None:
                self.state.top = self.state.add(Section("*", self.filename, tok.line))
            owner = self.state.top
        owner.params.append(param)

    def _values(self) -> list[Value]:
        values = []
        while True:
            tok = self._peek()
            if tok is None or tok.kind != "str":
                raise self._syntax()
            values.append(_value(tok))
            self.k += 1
            sep = self._peek()
            if sep is None or sep.kind != ",":
                return values
            self.k += 1

    def _include(self, param: Param) -> None:
        for value in param.values:
            pattern = value.literal
            if pattern is None:
                raise ConfigError(f"{param.filename} line {param.line}: "
                                  "variables not permitted in '.include' filename")
            if not os.path.isabs(pattern) and self.filename not in ("STDIN", "<string>"):
                pattern = os.path.join(os.path.dirname(self.filename), pattern)
            # glob(3) with GLOB_NOCHECK: a pattern with magic gives its
            # matches, none at all being fine; a plain name must exist.
            files = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
            for path in files:
                _read(path, self.state, self.depth + 1)


def _read(path: str, state: _State, depth: int) -> None:
    if depth > MAX_INCLUDE_DEPTH:
        raise ConfigError("maximum include depth exceeded")
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    _Parser(state, depth, text, path).run()


def parse(text: str, filename: str = "<string>") -> list[Section]:
    """The sections of a jail.conf text, in file order.  ``.include`` is
    followed relative to ``filename``'s directory."""
    state = _State()
    _Parser(state, 0, text, filename).run()
    return state.sections


def load(path: str = "/etc/jail.conf") -> list[Section]:
    """The sections of a jail.conf file, ``.include`` followed; ``-`` reads
    the standard input, named ``STDIN`` in messages, as ``jail -f -`` does."""
    state = _State()
    if path == "-":
        _Parser(state, 0, sys.stdin.read(), "STDIN").run()
    else:
        _read(path, state, 0)
    return state.sections
