"""jail.conf(5): what jail(8) makes of a configuration file.

:func:`load` and :func:`loads` read a configuration as jail(8) does
(usr.sbin/jail/config.c ``load_config``): every jail block becomes a
:class:`ConfiguredJail` whose parameters are merged from the global
section, the matching wildcard blocks and its own block, in file order, with
``$variables`` substituted and then dropped.  :func:`dump` writes a
configuration that reads back to the same jails and parameters, and
:meth:`Config.show` prints what ``jail -e SEP`` prints.

>>> from jailcore.conf import dump, loads
>>> cfg = loads('''
... $root = /jails;
... path = "$root/$name";
... mount.devfs;
... web { host.hostname = web.example; ip4.addr = "em0|192.0.2.10/24"; }
... db { mount.nodevfs; }
... ''')
>>> print(cfg.show("|"))
name=web|path=/jails/web|mount.devfs|host.hostname=web.example|ip4.addr=em0|192.0.2.10/24
name=db|path=/jails/db|mount.nodevfs
>>> cfg["db"].boolean("mount.devfs"), cfg["web"]["path"]
(False, '/jails/web')

A problem with one jail (a variable not found, ``name`` set twice) does not
stop the others, as in jail(8): the jail keeps its messages in
:attr:`ConfiguredJail.errors` and the lifecycle refuses to act on it.  A
syntax error is a :class:`ConfigError` for the whole file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from jailcore._confparse import ConfigError, Section, Value
from jailcore._confparse import load as _load_sections
from jailcore._confparse import parse as _parse_sections

__all__ = [
    "BOOL_PARAMS",
    "INT_PARAMS",
    "PSEUDO_PARAMS",
    "Config",
    "ConfigError",
    "ConfiguredJail",
    "Parameter",
    "dump",
    "equalopts",
    "is_pseudo",
    "is_wildcard",
    "load",
    "loads",
    "quoted_print",
    "show_param",
    "strtol",
    "wildcard_match",
]

#: The parameters jail(8) keeps for itself and never passes to the kernel
#: (config.c ``intparams``, those marked PF_INTERNAL).
PSEUDO_PARAMS = (
    "allow.dying", "command", "depend", "exec.clean", "exec.consolelog", "exec.fib",
    "exec.jail_user", "exec.poststart", "exec.poststop", "exec.prepare", "exec.prestart",
    "exec.prestop", "exec.release", "exec.created", "exec.start", "exec.stop",
    "exec.system_jail_user", "exec.system_user", "exec.timeout", "interface", "ip_hostname",
    "mount", "mount.devfs", "mount.fdescfs", "mount.procfs", "mount.fstab", "stop.timeout",
    "vnet.interface", "zfs.dataset",
)
#: Pseudo-parameters whose value is a boolean (PF_BOOL).
BOOL_PARAMS = ("allow.dying", "exec.clean", "exec.system_jail_user", "ip_hostname",
               "mount.devfs", "mount.fdescfs", "mount.procfs")
#: Pseudo-parameters whose value is an integer (PF_INT).
INT_PARAMS = ("exec.fib", "exec.timeout", "stop.timeout")
#: The kernel parameters jail(8) itself looks at (config.c ``intparams``):
#: with the pseudo-parameters, the names a ``$variable`` may not take.
_KNOWN_KERNEL = ("allow.chflags", "allow.mount", "allow.raw_sockets", "allow.set_hostname",
                 "allow.socket_af", "allow.sysvipc", "devfs_ruleset", "host.hostname",
                 "ip4.addr", "ip6.addr", "jid", "name", "path", "persist", "securelevel", "vnet")
#: Parameters that cannot be set twice for a jail (PF_IMMUTABLE).
_IMMUTABLE = ("jid", "name")


def equalopts(a: str, b: str) -> bool:
    """Whether two parameter names are one parameter for jail(8): equal, or
    equal but for a ``no`` before a dotted component (``persist`` and
    ``nopersist``, ``allow.mount`` and ``allow.nomount``), as config.c's
    ``equalopts``."""
    if a == b or (a.startswith("no") and a[2:] == b) or (b.startswith("no") and a == b[2:]):
        return True
    while (dot := a.find(".")) >= 0 and a[:dot + 1] == b[:dot + 1]:
        a, b = a[dot + 1:], b[dot + 1:]
        if (a.startswith("no") and a[2:] == b) or (b.startswith("no") and a == b[2:]):
            return True
    return False


def is_pseudo(name: str) -> bool:
    """Whether ``name`` (or its ``no`` form) is one of jail(8)'s own parameters."""
    return any(equalopts(name, p) for p in PSEUDO_PARAMS)


def is_wildcard(name: str) -> bool:
    """Whether a block name is a wildcard: some ``*`` is a whole dotted
    component (``*``, ``foo.*``, ``*.bar``; not ``foo*``)."""
    return "*" in name.split(".")


def wildcard_match(jail: str, wild: str) -> bool:
    """Whether jail name ``jail`` matches wildcard ``wild``: a ``*`` that is
    not last matches one component, a last ``*`` one or more."""
    jparts, wparts = jail.split("."), wild.split(".")
    for k, w in enumerate(wparts):
        if k == len(wparts) - 1:
            rest = jparts[k:]
            return (w == "*" and len(rest) >= 1) or rest == [w]
        if k >= len(jparts) - 1 or (w != "*" and w != jparts[k]):
            return False
    return False  # pragma: no cover - the loop always returns


@dataclass
class Parameter:
    """One parameter of a configured jail: its ``name`` as last written
    (``allow.nomount`` after ``allow.mount; allow.nomount;``) and its
    ``values``, each a string (an empty list for a bare ``name;``)."""

    name: str
    values: list[str]
    pseudo: bool = False
    implicit: bool = False  # the name or jid a block's name implies

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, {self.values!r})"


@dataclass
class _Draft:
    """A parameter while merging: values with their variables unresolved
    (each value its literal text and ``(position, name)`` references, as
    config.c keeps them), flags, and the generation of substitution."""

    name: str
    values: list[tuple[str, list[tuple[int, str]]]]
    var: bool = False
    implicit: bool = False
    gen: int = 0
    bad: bool = False


def _draft_values(values: Iterable[Value]) -> list[tuple[str, list[tuple[int, str]]]]:
    out = []
    for value in values:
        text, refs = "", []
        for piece in value.pieces:
            if piece.var:
                refs.append((len(text), piece.text))
            else:
                text += piece.text
        out.append((text, refs))
    return out


@dataclass
class ConfiguredJail:
    """A jail as jail(8) sees it after reading the configuration: its
    ``name`` (the block's), its :class:`Parameter` list in order, and the
    ``errors`` that make jail(8) skip it (each as jail(8) prints it after
    "jail: NAME: ")."""

    name: str
    params: list[Parameter] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    filename: str = ""
    line: int = 0

    def __repr__(self) -> str:
        shown = " ".join(show_param(p) for p in self.params[:6])
        more = " ..." if len(self.params) > 6 else ""
        return f"<ConfiguredJail {self.name!r}: {shown}{more}>"

    def find(self, name: str) -> Parameter | None:
        """The parameter that is ``name`` for jail(8) (``no`` forms included)."""
        for p in self.params:
            if equalopts(p.name, name):
                return p
        return None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def __getitem__(self, name: str) -> str:
        """The last value of parameter ``name`` (KeyError when it is not set
        or has no value)."""
        value = self.string(name)
        if value is None:
            raise KeyError(name)
        return value

    def values(self, name: str) -> list[str]:
        """Every value of ``name``, in order (empty when it is not set)."""
        p = self.find(name)
        return list(p.values) if p is not None else []

    def string(self, name: str) -> str | None:
        """The last value of ``name``, as config.c's ``string_param``."""
        p = self.find(name)
        return p.values[-1] if p is not None and p.values else None

    def boolean(self, name: str) -> bool:
        """Whether boolean ``name`` is set and true, as config.c's
        ``bool_param``: no value, or a last value ``true`` or a non-zero
        number, is true; a ``no`` before the last component inverts it."""
        p = self.find(name)
        if p is None:
            return False
        last = p.name.rsplit(".", 1)[-1]
        truth = not p.values or p.values[-1].lower() == "true" or strtol(p.values[-1]) != 0
        return truth != last.startswith("no")

    def integer(self, name: str) -> int | None:
        """The integer value of ``name`` (``strtol`` of its last value), or None."""
        p = self.find(name)
        if p is None or not p.values:
            return None
        return strtol(p.values[-1])

    @property
    def kernel_params(self) -> list[Parameter]:
        """The parameters jail(8) passes to the kernel, in order."""
        return [p for p in self.params if not p.pseudo]

    @property
    def pseudo_params(self) -> list[Parameter]:
        """jail(8)'s own parameters (``exec.*``, ``mount.*``, ``depend``...)."""
        return [p for p in self.params if p.pseudo]

    def set(self, name: str, values: Iterable[str] = (), *, append: bool = False) -> None:
        """Set ``name`` as the command line or config.c's ``add_param`` does:
        replace its values (or with ``append`` add to them; an empty
        ``values`` always empties it), the name taking the new spelling.
        ``jid`` and ``name`` once set are refused (an entry in ``errors``)."""
        new = list(values)
        p = self.find(name)
        if p is None:
            self.params.append(Parameter(name, new, pseudo=is_pseudo(name)))
            return
        if p.name in _IMMUTABLE:
            self.errors.append(f'cannot redefine parameter "{p.name}".')
            return
        p.name = name
        p.implicit = False
        if append and new:
            p.values.extend(new)
        else:
            p.values[:] = new

    def check(self) -> list[str]:
        """jail(8)'s check of boolean and integer values (config.c
        ``check_intparams``), as messages: ``persist: unknown boolean value
        "maybe"``, ``stop.timeout: non-integer value "3x"``."""
        out = []
        for p in self.params:
            if not p.values:
                continue
            val = p.values[-1]
            if any(equalopts(p.name, b) for b in BOOL_PARAMS):
                if val.lower() not in ("true", "false") and not _is_number(val):
                    out.append(f'{p.name}: unknown boolean value "{val}"')
            elif any(equalopts(p.name, i) for i in INT_PARAMS):
                if not _is_number(val):
                    out.append(f'{p.name}: non-integer value "{val}"')
        return out

    def show(self, sep: str = "\t") -> str:
        """This jail as one line of ``jail -e SEP``."""
        return sep.join(show_param(p) for p in self.params if p.name != "jid")


_STRTOL = re.compile(r"\s*([+-]?)(\d+)")


def strtol(text: str) -> int:
    """strtol(3) in base 10: the leading number, 0 when there is none."""
    m = _STRTOL.match(text)
    if m is None:
        return 0
    return int(m.group(2)) * (-1 if m.group(1) == "-" else 1)


def _is_number(text: str) -> bool:
    """Whether ``strtol`` consumes all of ``text`` and at least one digit
    (an empty string is not a number, as config.c's ``ep == val`` says)."""
    m = _STRTOL.match(text)
    return m is not None and m.end() == len(text)


def quoted_print(value: str) -> str:
    """A value as jail(8)'s ``quoted_print`` writes it (``-e``, ``-J``, ``-v``)."""
    qc = ('"' if not value or "'" in value else "'" if '"' in value
          else '"' if " " in value or "\t" in value else "")
    body = "".join("\\" + c if c == "\\" or (qc and c == qc) else c for c in value)
    return f"{qc}{body}{qc}"


def show_param(p: Parameter) -> str:
    """``name=value,...`` (or ``name`` without a value), as jail(8)'s print_param."""
    if not p.values:
        return p.name
    return p.name + "=" + ",".join(quoted_print(v) for v in p.values)


class Config:
    """A read configuration: its jails (wildcard blocks left out), in file order.

    ``cfg["web"]`` is a :class:`ConfiguredJail`; iteration gives them all.
    """

    def __init__(self, jails: Iterable[ConfiguredJail] = ()) -> None:
        self.jails: list[ConfiguredJail] = list(jails)

    def __repr__(self) -> str:
        return f"<Config: {', '.join(j.name for j in self.jails) or 'no jails'}>"

    def __iter__(self) -> Iterator[ConfiguredJail]:
        """The jails, in file order."""
        return iter(self.jails)

    def __len__(self) -> int:
        return len(self.jails)

    def __contains__(self, name: object) -> bool:
        return any(j.name == name for j in self.jails)

    def __getitem__(self, name: str) -> ConfiguredJail:
        """The jail named ``name`` (its block's name)."""
        for j in self.jails:
            if j.name == name:
                return j
        raise KeyError(name)

    def names(self) -> list[str]:
        """The jails' names, in file order."""
        return [j.name for j in self.jails]

    @property
    def errors(self) -> list[str]:
        """Every jail's errors, as jail(8) prints them (``NAME: message``)."""
        return [f"{j.name}: {e}" for j in self.jails for e in j.errors]

    def show(self, sep: str = "\t") -> str:
        """What ``jail -f FILE -e SEP`` prints: one line per jail, without
        the trailing newline."""
        return "\n".join(j.show(sep) for j in self.jails)

    def dump(self) -> str:
        """The configuration as jail.conf text (:func:`dump`)."""
        return dump(self)


def _merge(sections: list[Section]) -> Config:
    """config.c ``load_config``: wildcard records apart, each jail's
    parameters from the records in file order, then the substitution."""
    wild = [s for s in sections if is_wildcard(s.name)]
    jails = []
    for sec in sections:
        if is_wildcard(sec.name):
            continue
        j = ConfiguredJail(sec.name, filename=sec.filename, line=sec.line)
        drafts: list[_Draft] = []
        numeric = _is_number(sec.name) and strtol(sec.name) != 0
        implied = "jid" if numeric else "name"
        drafts.append(_Draft(implied, [(sec.name, [])], implicit=True))
        did_self = False
        for w in wild:
            if sec.seq < w.seq and not did_self:
                _add_all(j, drafts, sec)
                did_self = True
            if wildcard_match(sec.name, w.name):
                _add_all(j, drafts, w)
        if not did_self:
            _add_all(j, drafts, sec)
        if not any(equalopts(d.name, "name") and not d.var for d in drafts):
            drafts.append(_Draft("name", [(sec.name, [])], implicit=True))
        _substitute(j, drafts)
        j.params = [Parameter(d.name, [text for text, _ in d.values], pseudo=is_pseudo(d.name),
                              implicit=d.implicit)
                    for d in drafts if not d.var]
        jails.append(j)
    return Config(jails)


def _add_all(j: ConfiguredJail, drafts: list[_Draft], sec: Section) -> None:
    for stmt in sec.params:
        var = stmt.name.startswith("$")
        name = stmt.name[1:] if var else stmt.name
        _add(j, drafts, name, _draft_values(stmt.values), var=var, append=stmt.op == "+=")


def _add(j: ConfiguredJail, drafts: list[_Draft], name: str,
         values: list[tuple[str, list[tuple[int, str]]]], *, var: bool, append: bool) -> None:
    """config.c ``add_param`` for a statement of the file."""
    found = next((d for d in drafts if equalopts(d.name, name)), None)
    if found is not None:
        if found.var != var:
            j.errors.append(f'variable "${name}" cannot have the same name as a parameter.')
            return
        if not found.var and found.name in _IMMUTABLE:
            j.errors.append(f'cannot redefine parameter "{found.name}".')
            return
        found.name = name
        found.implicit = False
        if not append or not values:
            found.values = []
        found.values.extend(values)
        return
    if var and any(equalopts(name, p) for p in PSEUDO_PARAMS + _KNOWN_KERNEL):
        j.errors.append(f'variable "${name}" cannot have the same name as a parameter.')
        return
    drafts.append(_Draft(name, list(values), var=var))


def _substitute(j: ConfiguredJail, drafts: list[_Draft]) -> None:
    """config.c's substitution, over the merged list in order.  A reference
    to a parameter that holds references itself resolves that one first,
    moved in before this one (so that ``jail -e`` shows it there); a
    reference back to a parameter of the same round is a loop.  A failed
    reference marks the round's parameters bad and is dropped; the others
    go on, as in config.c."""
    gen = 0
    k = 0
    while k < len(drafts):
        p = drafts[k]
        gen += 1
        p.gen = gen
        while (first := _resolve(j, drafts, p, gen)) is not None:
            first.gen = gen
            drafts.remove(first)
            drafts.insert(drafts.index(p), first)
            p = first
        k = drafts.index(p) + 1


def _resolve(j: ConfiguredJail, drafts: list[_Draft], p: _Draft, gen: int) -> _Draft | None:
    """Substitute the references of ``p``; return a parameter that must be
    resolved before it, or None when ``p`` is done."""
    i = 0
    while i < len(p.values):
        text, refs = p.values[i]
        while refs:
            pos, vname = refs[0]
            vp = next((d for d in drafts if d.name == vname), None)
            error = None
            if vp is None or not vp.values:
                error = f'{p.name}: variable "{vname}" not found'
            elif vp.bad:
                error = ""
            elif vp.gen == gen:
                error = f"{vname}: variable loop"
            elif any(r for _, r in vp.values):
                p.values[i] = (text, refs)
                return vp
            elif len(vp.values) > 1 and (text or len(refs) > 1):
                error = f"{p.name}: array cannot be substituted inline"
            if error is not None:
                if error:
                    j.errors.append(error)
                for d in drafts:
                    d.bad = d.bad or d.gen == gen
                refs = refs[1:]
                continue
            assert vp is not None
            value = vp.values[0][0]
            text = text[:pos] + value + text[pos:]
            refs = [(q + len(value), n) for q, n in refs[1:]]
            for extra, _ in vp.values[1:]:
                p.values[i] = (text, refs)
                i += 1
                p.values.insert(i, (extra, []))
                text, refs = extra, []
        p.values[i] = (text, refs)
        i += 1
    return None


def loads(text: str, filename: str = "<string>") -> Config:
    """Read a configuration from ``text`` (``filename`` names it in messages
    and anchors relative ``.include`` names)."""
    return _merge(_parse_sections(text, filename))


def load(path: str = "/etc/jail.conf") -> Config:
    """Read the configuration file ``path`` (``-``: the standard input)."""
    return _merge(_load_sections(path))


# What may stand unquoted: atom characters, and "/" where it starts no comment.
_PLAIN = re.compile(r"[A-Za-z0-9_!%&()\-.:<>?@\[\]^|~/]+")
_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\v": "\\v", "\\": "\\\\", '"': '\\"', "$": "\\$"}


def _conf_string(text: str) -> str:
    """``text`` as a jail.conf string that reads back as exactly ``text``."""
    if _PLAIN.fullmatch(text) and "//" not in text:
        return text
    out = []
    for c in text:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\{ord(c):03o}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def dump(config: Config | Iterable[ConfiguredJail]) -> str:
    """jail.conf text for ``config``: one block per jail with its merged
    parameters (variables substituted, wildcards applied), so that reading it
    back gives the same jails with the same parameters in the same order.

    >>> from jailcore.conf import dump, loads
    >>> print(dump(loads('path = "/j/$name"; a { persist; }')), end="")
    a {
        path = /j/a;
        persist;
    }
    """
    lines = []
    for j in config:
        lines.append(f"{_conf_string(j.name)} {{")
        for p in j.params:
            if p.implicit:
                continue
            name = _conf_string(p.name)
            if p.values:
                lines.append(f"    {name} = {', '.join(_conf_string(v) for v in p.values)};")
            else:
                lines.append(f"    {name};")
        lines.append("}")
    return "\n".join(lines) + ("\n" if lines else "")
