"""What ``import jailcore`` costs (issue 18): no submodule until a name is
used, and the core (Jail and the system calls) without what only spawn,
call, jail.conf, events or the command line need."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import jailcore

ROOT = str(Path(jailcore.__file__).resolve().parents[1])


def modules_after(code: str) -> list[str]:
    probe = (f"{code}\nimport json, sys\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.startswith('jailcore') "
             "or m in ('cffi', '_cffi_backend'))))")
    out = subprocess.run([sys.executable, "-c", probe], cwd="/", capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONPATH": ROOT}).stdout
    return list(json.loads(out))


def test_import_jailcore_imports_nothing_else() -> None:
    assert modules_after("import jailcore") == ["jailcore"]


def test_the_core_leaves_the_rest_alone() -> None:
    loaded = set(modules_after("from jailcore import Jail, jails, jail_set"))
    assert {"jailcore.jail", "jailcore._iov", "jailcore._backend"} <= loaded
    for heavy in ("jailcore.call", "jailcore.process", "jailcore.aio", "jailcore.lifecycle",
                  "jailcore.conf", "jailcore._confparse", "jailcore.cli", "jailcore.jailcmd",
                  "jailcore.rcconf", "jailcore.rctl", "jailcore.events", "jailcore._command",
                  "jailcore.devfs", "jailcore.net", "jailcore.mount", "jailcore.tour"):
        assert heavy not in loaded, heavy


def test_every_name_is_there() -> None:
    for name in jailcore.__all__:
        assert getattr(jailcore, name) is not None
        assert name in dir(jailcore)
    assert jailcore.Jail.__module__ == "jailcore.jail"
    with pytest.raises(AttributeError, match="module 'jailcore' has no attribute 'nosuch'"):
        jailcore.nosuch  # noqa: B018


# ---- what a first use imports from the standard library ----------------------------
#
# These cost more than jailcore's core together (docs/performance.rst, B6): enum
# with the functools and collections it imports, ipaddress (functools again),
# contextlib, importlib with warnings, typing with re.  A program pays for each
# only when it uses what needs it.
DEFERRED = {"enum", "functools", "collections", "collections.abc", "contextlib",
            "ipaddress", "importlib", "warnings", "typing", "re", "dataclasses", "inspect",
            "threading", "signal", "subprocess", "jailcore.flags", "jailcore._kinds"}


def imported_by(code: str) -> set[str]:
    """The modules ``code`` adds to a new interpreter's (on the test's model host)."""
    probe = ("import sys\nbefore = set(sys.modules)\n"
             f"{code}\n"
             "added = sorted(set(sys.modules) - before)\n"
             "import json\nprint(json.dumps(added))")
    out = subprocess.run([sys.executable, "-c", probe], cwd="/", capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_a_first_use_imports_none_of_the_costly_modules() -> None:
    added = imported_by("from jailcore import Jail, jails, jail_set, jail_get, JailError")
    assert "jailcore.jail" in added
    assert added & DEFERRED == set()


def test_calls_that_need_neither_enum_nor_ipaddress_import_neither() -> None:
    """Creating, reading, listing, updating and removing jails, by the names jls
    shows by default and other numbers, strings and booleans, and writing
    addresses as text (packed by inet_pton in C): no enum type and no address
    object is needed.  (Jail.params reads every parameter, jailsys values
    and addresses among them: its first use imports both.)"""
    added = imported_by(
        "from jailcore import Jail, jails, jail_set, jail_get, JailNotFoundError\n"
        "jid = jail_set({'name': 'web', 'path': '/', 'persist': True})\n"
        "web = Jail.create(name='db', host__hostname='db.example', persist=True)\n"
        "assert Jail.get('web').jid == jid\n"
        "assert web.get('host.hostname') == {'host.hostname': 'db.example'}\n"
        "assert [j.name for j in jails()] == ['web', 'db']\n"
        "new = web.update(host__hostname='db2').get('host.hostname')\n"
        "assert new == {'host.hostname': 'db2'}\n"
        "assert jail_get(jid, ['persist', 'children.max']) == "
        "{'persist': True, 'children.max': 0}\n"
        "net = Jail.create(name='net', ip4__addr='192.0.2.1', persist=True)\n"
        "net.update(ip4__addr=['192.0.2.2', '192.0.2.3']); net.remove()\n"
        "with Jail.temporary(name='tmp') as tmp:\n"
        "    assert Jail.get('tmp') == tmp\n"
        "web.remove(); Jail.get('web').remove()\n"
        "try:\n"
        "    Jail.get('web')\n"
        "except JailNotFoundError:\n"
        "    pass\n")
    assert added & DEFERRED == set()


def test_a_jailsys_value_or_an_address_imports_what_it_is_made_of() -> None:
    added = imported_by(
        "import ipaddress, jailcore\n"
        "from jailcore import Jail\n"
        "j = Jail.create(name='a', vnet='new', persist=True)\n"
        "v = j.params['vnet']\n"
        "assert type(v) is jailcore.JailSys and v is jailcore.JailSys.NEW, v\n"
        "k = Jail.create(name='b', ip4__addr='192.0.2.1', persist=True)\n"
        "assert k.params['ip4.addr'] == (ipaddress.IPv4Address('192.0.2.1'),)\n"
        "assert type(k.params['ip4.addr'][0]) is ipaddress.IPv4Address\n")
    assert {"jailcore.flags", "enum", "ipaddress"} <= added
    assert "jailcore._kinds" not in added  # ParamSpec.kind was not asked for
