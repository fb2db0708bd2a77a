"""REPL comfort: attribute access and completion on .params, help() on parameter names,
and the issue's "Done when" REPL session as one test."""

from __future__ import annotations

import contextlib
import errno
import io
import ipaddress
import pydoc
import rlcompleter
from pathlib import Path

import pytest

import jailcore
from jailcore import Jail, JailExistsError, JailNotFoundError, Params

# ---- the REPL scenario -----------------------------------------------------------


def test_done_when_repl_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jailcore import _backend

    gets = []
    real_get = _backend.jail_get

    def counting_get(*args: object) -> tuple[int, int]:
        gets.append(args)
        return real_get(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_backend, "jail_get", counting_get)

    # create a jail with a name, a path, a hostname, two IPv4 and one IPv6 address
    web = jailcore.Jail.create(
        name="web",
        path=str(tmp_path),
        host__hostname="web.example",
        ip4__addr=["192.0.2.10", "192.0.2.11"],
        ip6__addr=["2001:db8::10"],
    )
    assert repr(web) == f"<Jail 1 'web' path='{tmp_path}'>"

    # read every parameter back with one call
    del gets[:]
    params = web.params
    assert len(gets) == 1
    assert params["name"] == "web"
    assert params["path"] == str(tmp_path)
    assert params["host.hostname"] == "web.example"
    assert params["ip4.addr"] == (
        ipaddress.IPv4Address("192.0.2.10"),
        ipaddress.IPv4Address("192.0.2.11"),
    )
    assert params["ip6.addr"] == (ipaddress.IPv6Address("2001:db8::10"),)
    assert params["persist"] is True
    assert set(params) == set(jailcore.params.all_params())

    # update the hostname
    web.update(host__hostname="www.example")
    assert web.get("host.hostname") == {"host.hostname": "www.example"}
    assert Jail.get("web").params.host__hostname == "www.example"

    # make a child jail
    web.update(children__max=1)
    db = jailcore.Jail.create(name="web.db", host__hostname="db.example")
    assert db.name == "web.db"
    assert db.parent == web.jid
    assert web.children() == [db]

    # list jails
    listed = list(jailcore.jails())
    assert listed == [web, db]
    assert [(j.jid, j.name) for j in listed] == [(1, "web"), (2, "web.db")]
    assert [repr(j) for j in listed] == [
        f"<Jail 1 'web' path='{tmp_path}'>",
        "<Jail 2 'web.db' path='/'>",
    ]

    # remove the parent and see the child gone
    web.remove()
    assert list(jailcore.jails()) == []
    with pytest.raises(JailNotFoundError) as gone:
        Jail.get("web.db")
    assert gone.value.errmsg == 'jail "web.db" not found'

    # a JailExistsError whose errmsg is the kernel's on a duplicate name
    jailcore.Jail.create(name="web")
    with pytest.raises(JailExistsError) as dup:
        jailcore.Jail.create(name="web")
    assert dup.value.errno == errno.EEXIST
    assert dup.value.errmsg == 'jail "web" already exists'
    assert str(dup.value) == 'jail_set: jail "web" already exists [EEXIST]'


# ---- Params: attribute access and completion ---------------------------------------------


@pytest.fixture
def params() -> Params:
    return Jail.create(name="web", host__hostname="web.example", allow__raw_sockets=True).params


def test_dir_lists_parameter_names_with_double_underscores(params: Params) -> None:
    names = dir(params)
    for attr in (
        "host__hostname",
        "allow__raw_sockets",
        "children__max",
        "ip4__addr",
        "name",
        "jid",
        "persist",
        "allow__mount",
        "allow__mount__devfs",
    ):
        assert attr in names, attr
    assert not [n for n in names if "." in n]
    assert "keys" in names and "items" in names  # still a dict
    assert names == sorted(names)


def test_attribute_access(params: Params) -> None:
    assert params.host__hostname == "web.example"
    assert params.allow__raw_sockets is True
    assert params.name == "web"
    assert params.children__max == 0
    assert params.host__hostname == params["host.hostname"]


def test_unknown_attribute_is_attribute_error(params: Params) -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = params.no_such_thing
    assert not hasattr(params, "host__nothing")
    assert getattr(params, "host__nothing", "default") == "default"


def test_params_is_still_a_plain_dict(params: Params) -> None:
    assert isinstance(params, dict)
    assert params["host.hostname"] == "web.example"
    assert dict(params)["name"] == "web"
    # dict methods win over parameter names
    assert callable(params.keys)


def test_ipython_key_completions(params: Params) -> None:
    keys = params._ipython_key_completions_()
    assert keys == list(params)
    assert "host.hostname" in keys
    assert "allow.raw_sockets" in keys


def test_rlcompleter_completes_parameter_attributes(params: Params) -> None:
    completer = rlcompleter.Completer({"p": params})
    found = []
    state = 0
    while (c := completer.complete("p.host__", state)) is not None:
        found.append(c)
        state += 1
    assert "p.host__hostname" in found
    assert "p.host__domainname" in found


# ---- describe and help() ------------------------------------------------------------------


def test_params_describe_gives_format_access_and_meaning() -> None:
    text = Params.describe("host.hostname")
    assert text.startswith("host.hostname: ")
    assert "string of at most 255 bytes" in text
    assert "writable" in text
    assert "'A'" in text  # the sysctl format
    assert "Host name of the jail" in text  # the kernel's description


@pytest.mark.parametrize(
    ("name", "access", "fmt"),
    [
        ("path", "create-only", "'A'"),
        ("parent", "read-only", "'I'"),
        ("persist", "writable", "'B'"),
        ("ip4.addr", "writable", "'S,in_addr,a'"),
        ("vnet", "create-only", "'E,jailsys'"),
        ("children.max", "writable", "'I'"),
    ],
)
def test_params_describe_for_kinds(name: str, access: str, fmt: str) -> None:
    text = Params.describe(name)
    assert text.startswith(f"{name}: ")
    assert f"; {access};" in text
    assert fmt in text
    assert len(text.split("\n", 1)) == 2  # the meaning follows


def test_params_describe_of_a_no_form() -> None:
    text = Params.describe("nopersist")
    assert "boolean" in text
    assert "the negation of persist" in text


def test_params_describe_on_an_instance(params: Params) -> None:
    assert params.describe("host.hostname") == Params.describe("host.hostname")


def test_describe_unknown_is_value_error() -> None:
    with pytest.raises(ValueError, match="unknown parameter: nosuch"):
        Params.describe("nosuch")


def test_help_on_describe_via_render_doc() -> None:
    text = pydoc.render_doc(jailcore.describe("host.hostname"), renderer=pydoc.plaintext)
    assert "host.hostname: string of at most 255 bytes; writable; sysctl format 'A'" in text
    assert "Host name of the jail" in text


def test_help_on_describe_printed() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        help(jailcore.describe("path"))
    text = out.getvalue()
    assert "path: string of at most 1023 bytes; create-only; sysctl format 'A'" in text
    assert "Root directory of the jail" in text


def test_describe_is_still_the_parameters_spec() -> None:
    d = jailcore.describe("host.hostname")
    assert isinstance(d, jailcore.ParamSpec)
    assert d.name == "host.hostname"
    assert d.fmt == "A"
    assert d.size == 256


def test_the_two_kinds_of_process_say_which_they_are() -> None:
    """A JailProcess and an AsyncJailProcess each name their class, pid, jail,
    args and return code, in one shape (Popen's own repr named neither pid nor jail)."""
    import asyncio
    import sys

    web = Jail.get(Jail.create(name="web").jid)  # looked up: its name is known
    p = web.spawn([sys.executable, "-c", "pass"])
    assert repr(p) == (f"<JailProcess {p.pid} in jail {web.jid} 'web' "
                       f"args=[{sys.executable!r}, '-c', 'pass'] returncode=None>")
    p.wait()
    assert repr(p).endswith(" returncode=0>")
    anon = Jail.create()  # its name unknown until read: not shown, and not read for a repr
    q = anon.spawn([sys.executable, "-c", "raise SystemExit(3)"])
    q.wait()
    assert repr(q) == (f"<JailProcess {q.pid} in jail {anon.jid} "
                       f"args=[{sys.executable!r}, '-c', 'raise SystemExit(3)'] returncode=3>")

    async def main() -> tuple[str, str]:
        a = await web.spawn_async([sys.executable, "-c", "pass"])
        before = repr(a)
        await a.wait()
        return before, repr(a)

    before, after = asyncio.run(main())
    assert before.startswith("<AsyncJailProcess ")
    assert before.endswith(f" in jail {web.jid} 'web' args=[{sys.executable!r}, '-c', "
                           "'pass'] returncode=None>")
    assert after.endswith(" returncode=0>")
