"""The ``jailcore`` command as a user drives it: jls, jail(8) and jexec alike.

Subcommands run in-process through :func:`jailcore.cli.main` (with capsys);
``exec`` replaces its process, as jexec does, so it runs in a subprocess that
shares the test's model host through ``JAILCORE_MODEL_STATE``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import jailcore
from jailcore.cli import main
from jailcore.flags import JailSys
from jailcore.params import all_params, spec
from jailcore.testing import JailHost

ROOT = str(Path(jailcore.__file__).resolve().parents[1])

# As in the rest of the suite: the model grants the privilege to create jails
# from the real euid, and exec -u switches users.
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="needs root: the model takes the privilege to create jails from the real euid")

LS_HEADER = "   JID  IP Address      Hostname                      Path\n"
LS_N_HEADER = " JID             IP Address      Hostname                      Path\n"
LS_V_HEADER = ("   JID  Hostname                      Path\n"
               "        Name                          State\n"
               "        CPUSetID\n"
               "        IP Address(es)\n")


def row(jid: int, ip: str = "", host: str = "", path: str = "/") -> str:
    """A default-mode jls row for values that fit their columns."""
    return f"{jid:>6}  {ip:<15} {host:<29} {path}\n"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``jailcore ARGV`` in-process: (exit status, stdout, stderr)."""
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse: --help, usage errors
        rc = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return rc, out, err


def ok(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    rc, out, err = cli(capsys, *argv)
    assert (rc, err) == (0, ""), (argv, rc, err)
    return out


def json_out(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, object]]:
    doc = json.loads(ok(capsys, *argv))
    assert list(doc) == ["__version", "jail-information"]
    assert doc["__version"] == "3"
    assert list(doc["jail-information"]) == ["jail"]
    jails_ = doc["jail-information"]["jail"]
    assert isinstance(jails_, list)
    return jails_


def sorted_params() -> list[str]:
    """jls's order for ``all``: names without a dot, then the dotted ones, each
    alphabetical (strcmp)."""
    names = list(all_params())
    return sorted(n for n in names if "." not in n) + sorted(n for n in names if "." in n)


def cpuset(name: str) -> int:
    return int(jailcore.Jail.get(name).get("cpuset.id")["cpuset.id"])


@pytest.fixture
def short_dir() -> Iterator[str]:
    """A directory with a short path (jls truncates paths at 74 characters)."""
    d = tempfile.mkdtemp(prefix="jc", dir="/tmp")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- ls: the default columns ---------------------------------------------------------


def test_ls_empty_host_prints_the_header_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert ok(capsys, "ls") == LS_HEADER
    assert json_out(capsys, "ls", "--json") == []


def test_ls_case_39_text_and_json(capsys: pytest.CaptureFixture[str], short_dir: str) -> None:
    ok(capsys, "create", "foo", f"path={short_dir}", "host.hostname=foo", "ip4.addr=10.0.0.5")
    assert ok(capsys, "ls") == (
        LS_HEADER + f"     1  10.0.0.5        foo                           {short_dir}\n")
    out = ok(capsys, "ls", "--json")
    compact = json.dumps(json.loads(out), separators=(",", ":"))
    assert compact.replace(json.dumps(short_dir), '"/j"') == (
        '{"__version":"3","jail-information":{"jail":'
        '[{"jid":1,"ipv4":"10.0.0.5","hostname":"foo","path":"/j"}]}}')


def test_ls_truncates_and_pads_columns(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    long_path = tmp_path / ("p" * 90)
    long_path.mkdir()
    host = "h" * 28 + "-tail-that-is-cut"
    ok(capsys, "create", "a", f"path={long_path}", f"host.hostname={host}",
       "ip4.addr=192.168.100.200,10.1.1.1")
    ok(capsys, "create", "b", "host.hostname=b.example", "ip6.addr=2001:db8::1")
    out = ok(capsys, "ls")
    assert out == (LS_HEADER
                   + f"     1  192.168.100.200 {host[:29]} {str(long_path)[:74]}\n"
                   + row(2, "", "b.example"))
    assert len(str(long_path)) > 74
    # JSON carries the whole values: only the text columns are cut.
    assert json_out(capsys, "ls", "--json") == [
        {"jid": 1, "ipv4": "192.168.100.200", "hostname": host, "path": str(long_path)},
        {"jid": 2, "ipv4": "", "hostname": "b.example", "path": "/"},
    ]


def test_ls_jid_column_is_six_wide(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "big", "jid=123456", "host.hostname=x")
    ok(capsys, "create", "small", "jid=42")
    assert ok(capsys, "ls") == LS_HEADER + row(42) + row(123456, "", "x")


def test_ls_names_instead_of_jids(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "web", "host.hostname=web.example", "ip4.addr=10.0.0.1")
    ok(capsys, "create", "averyveryverylongname", "host.hostname=x")
    assert ok(capsys, "ls", "-N") == (
        LS_N_HEADER
        + " web             10.0.0.1        web.example                   /\n"
        + " averyveryverylongname                 x                             /\n")
    assert json_out(capsys, "ls", "-N", "--json") == [
        {"name": "web", "ipv4": "10.0.0.1", "hostname": "web.example", "path": "/"},
        {"name": "averyveryverylongname", "ipv4": "", "hostname": "x", "path": "/"},
    ]


# ---- ls -v ---------------------------------------------------------------------------


def test_ls_verbose(capsys: pytest.CaptureFixture[str], short_dir: str) -> None:
    ok(capsys, "create", "web", f"path={short_dir}", "host.hostname=web.example",
       "ip4.addr=10.0.0.1,10.0.0.2", "ip6.addr=2001:db8::1")
    ok(capsys, "create", "plain")
    c1, c2 = cpuset("web"), cpuset("plain")
    assert ok(capsys, "ls", "-v") == (
        LS_V_HEADER
        + f"     1  web.example                   {short_dir}\n"
        + "        web                           ACTIVE\n"
        + f"        {c1}\n"
        + "        10.0.0.1\n"
        + "        10.0.0.2\n"
        + "        2001:db8::1\n"
        + "     2                                /\n"
        + "        plain                         ACTIVE\n"
        + f"        {c2}\n")
    objs = json_out(capsys, "ls", "-v", "--json")
    assert objs == [
        {"jid": 1, "hostname": "web.example", "path": short_dir, "name": "web",
         "state": "ACTIVE", "cpusetid": c1, "ipv4_addrs": ["10.0.0.1", "10.0.0.2"],
         "ipv6_addrs": ["2001:db8::1"]},
        {"jid": 2, "hostname": "", "path": "/", "name": "plain", "state": "ACTIVE",
         "cpusetid": c2, "ipv4_addrs": [], "ipv6_addrs": []},
    ]
    assert list(objs[0]) == ["jid", "hostname", "path", "name", "state", "cpusetid",
                             "ipv4_addrs", "ipv6_addrs"]


def test_ls_dying_jails_only_with_d(capsys: pytest.CaptureFixture[str],
                                    jail_host: JailHost) -> None:
    ok(capsys, "create", "alive", "host.hostname=alive")
    ok(capsys, "create", "ghost", "host.hostname=ghost")
    jail_host.hold(2)
    assert ok(capsys, "rm", "ghost") == "ghost: removed\n"
    c1 = cpuset("alive")
    alive = ("     1  alive                         /\n"
             "        alive                         ACTIVE\n"
             f"        {c1}\n")
    assert ok(capsys, "ls", "-v") == LS_V_HEADER + alive
    out = ok(capsys, "ls", "-v", "-d")
    assert out.startswith(LS_V_HEADER + alive)
    lines = out[len(LS_V_HEADER + alive):].splitlines()
    assert lines[:2] == ["     2  ghost                         /",
                         "        ghost                         DYING"]
    assert lines[2].startswith("        ") and lines[2].strip().isdigit()
    assert len(lines) == 3
    assert ok(capsys, "ls", "-a") == ok(capsys, "ls", "-d")
    assert [o["state"] for o in json_out(capsys, "ls", "-v", "-d", "--json")] == ["ACTIVE",
                                                                                   "DYING"]
    assert ok(capsys, "ls") == LS_HEADER + row(1, "", "alive")
    # name=value: dying and its "no" form
    assert ok(capsys, "ls", "-n", "-d", "dying", "nodying") == ("nodying nodying\n"
                                                               "dying dying\n")
    # jls --libxo: a "nobool" parameter reports true under its own name either way
    assert json_out(capsys, "ls", "-n", "-d", "--json", "dying", "nodying") == [
        {"dying": False, "nodying": True}, {"dying": True, "nodying": True}]
    rc, out, err = cli(capsys, "ls", "-j", "ghost")
    assert (rc, err) == (1, 'jailcore ls: jail "ghost" is dying\n')
    assert ok(capsys, "ls", "-d", "-j", "ghost", "-n", "name", "dying") == "name=ghost dying\n"
    jail_host.release(2)


# ---- ls: parameters ------------------------------------------------------------------


def test_ls_name_value_pairs(capsys: pytest.CaptureFixture[str], short_dir: str) -> None:
    ok(capsys, "create", "foo", f"path={short_dir}", "host.hostname=foo", "ip4.addr=10.0.0.5",
       "allow.raw_sockets")
    out = ok(capsys, "ls", "-n")
    assert out.count("\n") == 1
    words = out.split()
    names = sorted_params()
    assert len(words) == len(names)
    for word, name in zip(words, names, strict=True):
        shown = word.partition("=")[0]
        assert shown == name or shown == _no(name), (word, name)
    for expected in ("jid=1", "name=foo", f"path={short_dir}", "persist", "nodying",
                     "securelevel=-1", "host=new", "vnet=inherit", "allow.raw_sockets",
                     "allow.nomount", "host.hostname=foo", 'host.domainname=""',
                     "ip4.addr=10.0.0.5", "ip6.addr=", "children.max=0"):
        assert expected in words, expected
    # -n with no parameter named means all of them; "all" says it explicitly
    assert ok(capsys, "ls", "-n", "all") == out
    assert ok(capsys, "ls", "-n", "-j", "foo") == out
    # case 40
    assert ok(capsys, "ls", "-n", "-j", "foo", "persist") == "persist\n"
    assert json_out(capsys, "ls", "-n", "--json", "-j", "foo", "persist") == [
        {"persist": True}]
    assert ok(capsys, "ls", "-n", "-j", "foo", "allow.mount", "allow.nomount") == (
        "allow.nomount allow.nomount\n")


def _no(name: str) -> str:
    head, dot, last = name.rpartition(".")
    return f"{head}{dot}no{last}"


def test_ls_named_parameters_without_n(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "foo", "host.hostname=foo", "ip4.addr=10.0.0.5,10.0.0.6",
       "securelevel=2")
    assert ok(capsys, "ls", "name", "persist", "securelevel", "ip4.addr", "ip6.addr",
              "host.domainname") == 'foo true 2 10.0.0.5,10.0.0.6 - ""\n'
    assert ok(capsys, "ls", "-j", "1", "jid", "name") == "1 foo\n"
    assert ok(capsys, "ls", "all") == ok(capsys, "ls", "-j", "foo", *sorted_params())


def test_ls_quoting(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "foo", "host.hostname=my host", "host.domainname=it's",
       'osrelease=say "hi"')
    params = ("host.hostname", "host.domainname", "osrelease", "meta", "ip6.addr")
    assert ok(capsys, "ls", "-j", "foo", *params) == """my host it's say "hi" "" -\n"""
    assert ok(capsys, "ls", "-q", "-j", "foo", *params) == (
        '''"my host" "it's" 'say "hi"' "" ""\n''')
    assert ok(capsys, "ls", "-n", "-j", "foo", *params) == (
        '''host.hostname=my host host.domainname=it's osrelease=say "hi" meta="" '''
        "ip6.addr=\n")
    assert ok(capsys, "ls", "-nq", "-j", "foo", *params) == (
        '''host.hostname="my host" host.domainname="it's" osrelease='say "hi"' meta="" '''
        'ip6.addr=""\n')
    # the default columns do not quote
    assert ok(capsys, "ls", "-q") == LS_HEADER + row(1, "", "my host")


def test_ls_header_line(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "foo", "host.hostname=foo")
    assert ok(capsys, "ls", "-h", "name", "persist", "host.hostname") == (
        "name persist host.hostname\nfoo true foo\n")
    out = ok(capsys, "ls", "-h")
    header, values = out.splitlines()
    assert header.split() == sorted_params()
    assert values == ok(capsys, "ls", "all").rstrip("\n")
    assert len(values.split()) == len(sorted_params())


def test_ls_settable_only(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "own", "host.hostname=own host", "ip4.addr=10.0.0.5")
    ok(capsys, "create", "shared", "host=inherit")
    own, shared = (ok(capsys, "ls", "-s", "-j", j) for j in ("own", "shared"))
    read_only = {"dying", "nodying", "parent", "children.cur", "cpuset.id"}
    for line in (own, shared):
        words = line.split()
        assert not read_only & {w.partition("=")[0] for w in words}
        assert "persist" in words and "name=" + line.split("name=")[1].split()[0] in words
    assert 'host.hostname="own host"' in own and "host=new" in own
    assert "host=inherit" in shared
    assert not [w for w in shared.split() if w.startswith("host.")]
    # ip4 reads back "disable" for an address-restricted jail (kernel spec §5.4), so
    # jls -s leaves its addresses out
    assert "ip4=disable" in own and "ip4.addr" not in own
    assert ok(capsys, "ls", "-s", "-j", "own", "name", "host.hostname", "dying") == (
        'name=own host.hostname="own host"\n')
    assert ok(capsys, "ls", "-s", "-j", "shared", "host.hostname") == "\n"
    objs = json_out(capsys, "ls", "-s", "--json", "name", "host.hostname", "dying")
    assert objs == [{"name": "own", "host.hostname": "own host"}, {"name": "shared"}]
    # the options override each other as in jls: the last of -v/-n/-s/-h wins
    assert ok(capsys, "ls", "-s", "-v", "-j", "own").startswith(LS_V_HEADER)
    assert ok(capsys, "ls", "-v", "-n", "-j", "own", "name") == "name=own\n"


def test_ls_one_jail(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "a", "host.hostname=a")
    ok(capsys, "create", "b", "host.hostname=b")
    row_b = row(2, "", "b")
    assert ok(capsys, "ls", "-j", "2") == LS_HEADER + row_b
    assert ok(capsys, "ls", "-j", "b") == LS_HEADER + row_b
    assert json_out(capsys, "ls", "--json", "-j", "b") == [
        {"jid": 2, "ipv4": "", "hostname": "b", "path": "/"}]
    for missing, message in (("x", 'jail "x" not found'), ("7", "jail 7 not found")):
        rc, _, err = cli(capsys, "ls", "-j", missing)
        assert (rc, err) == (1, f"jailcore ls: {message}\n")
    rc, out, err = cli(capsys, "ls", "nosuch")
    assert (rc, out, err) == (1, "", "jailcore ls: unknown parameter: nosuch\n")


def test_ls_json_name_value_objects(capsys: pytest.CaptureFixture[str], short_dir: str) -> None:
    ok(capsys, "create", "foo", f"path={short_dir}", "host.hostname=foo", "ip4.addr=10.0.0.5",
       "securelevel=1")
    (obj,) = json_out(capsys, "ls", "-n", "--json")
    assert list(obj) == sorted_params()
    expect = {
        "jid": "1", "name": "foo", "path": short_dir, "persist": True, "dying": False,
        "securelevel": "1", "children.max": "0", "host": "new", "vnet": "inherit",
        "ip4": "disable", "host.hostname": "foo", "host.domainname": "",
        "ip4.addr": ["10.0.0.5"], "ip6.addr": [], "allow.mount": False,
        "allow.set_hostname": True, "cpuset.id": str(cpuset("foo")),
    }
    assert {k: obj[k] for k in expect} == expect
    assert json_out(capsys, "ls", "-n", "--json", "all") == [obj]
    assert json_out(capsys, "ls", "-n", "--json", "-j", "foo", "jid", "ip4.addr", "persist") == [
        {"jid": "1", "ip4.addr": ["10.0.0.5"], "persist": True}]


def test_ls_meta_keys(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "w", "meta.k=v", "meta.s=a b", "env.E=1")
    assert ok(capsys, "ls", "-n", "-j", "w", "meta.k", "meta.none", "env.E") == (
        "meta.k=v meta.none= env.E=1\n")
    assert ok(capsys, "ls", "-nq", "-j", "w", "meta.s", "meta.none") == (
        'meta.s="a b" meta.none=""\n')
    assert ok(capsys, "ls", "-j", "w", "meta.k", "meta.none") == "v -\n"
    assert json_out(capsys, "ls", "-n", "--json", "-j", "w", "meta", "meta.k") == [
        {"meta": "s=a b\nk=v", "meta.k": "v"}]  # a new key goes first
    # an empty value removes the key
    assert ok(capsys, "set", "w", "meta.k=") == "w: updated\n"
    assert ok(capsys, "ls", "-n", "-j", "w", "meta", "meta.k") == "meta=s=a b meta.k=\n"


# ---- create --------------------------------------------------------------------------


def test_create_reads_back(capsys: pytest.CaptureFixture[str], short_dir: str) -> None:
    assert ok(capsys, "create", "web", f"path={short_dir}", "host.hostname=web.example",
              "ip4.addr=10.0.0.1,10.0.0.2", "ip6.addr=2001:db8::1,::1", "securelevel=2",
              "children.max=3", "allow.raw_sockets", "allow.mount=false",
              "allow.set_hostname=0", "allow.sysvipc=TRUE", "enforce_statfs=1",
              ) == "web: created\n"
    got = jailcore.Jail.get("web").get(
        "path", "host.hostname", "ip4.addr", "ip6.addr", "securelevel", "children.max",
        "allow.raw_sockets", "allow.mount", "allow.set_hostname", "allow.sysvipc",
        "enforce_statfs", "persist")
    assert got == {
        "path": short_dir, "host.hostname": "web.example",
        "ip4.addr": (ipaddress.IPv4Address("10.0.0.1"), ipaddress.IPv4Address("10.0.0.2")),
        "ip6.addr": (ipaddress.IPv6Address("2001:db8::1"), ipaddress.IPv6Address("::1")),
        "securelevel": 2, "children.max": 3, "allow.raw_sockets": True,
        "allow.mount": False, "allow.set_hostname": False, "allow.sysvipc": True,
        "enforce_statfs": 1, "persist": True,
    }


@pytest.mark.parametrize(("words", "expect"), [
    (["allow.mount"], True),
    (["allow.nomount"], False),
    (["allow.mount=false"], False),
    (["allow.mount=true"], True),
    (["allow.nomount=false"], True),
    (["allow.nomount=true"], False),
    (["allow.mount=7"], True),
    (["allow.mount=0"], False),
    (["allow.mount", "allow.nomount"], False),  # the last one wins
])
def test_create_booleans(capsys: pytest.CaptureFixture[str], words: list[str],
                         expect: bool) -> None:
    ok(capsys, "create", "b", *words)
    assert jailcore.Jail.get("b").get("allow.mount") == {"allow.mount": expect}


@pytest.mark.parametrize("word", ["ip4.addr=", "ip4.addr=-"])
def test_create_empty_address_list(capsys: pytest.CaptureFixture[str], word: str) -> None:
    ok(capsys, "create", "e", word, "ip6.addr=-")
    assert jailcore.Jail.get("e").get("ip4.addr", "ip6.addr") == {"ip4.addr": (),
                                                                  "ip6.addr": ()}


def test_create_jailsys_words(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "a", "host=inherit", "ip4=inherit", "ip6=disable")
    assert jailcore.Jail.get("a").get("host", "ip4", "ip6") == {
        "host": JailSys.INHERIT, "ip4": JailSys.INHERIT, "ip6": JailSys.DISABLE}
    ok(capsys, "create", "b", "host=inherit", "ip4=disable")
    assert jailcore.Jail.get("b").get("host", "ip4") == {"host": JailSys.INHERIT,
                                                         "ip4": JailSys.DISABLE}
    # an empty value, or the name alone, is "new"; so is 1
    ok(capsys, "create", "c", "host=")
    ok(capsys, "create", "d", "host")
    ok(capsys, "create", "e", "host=inherit", "host=1")
    for name in "cde":
        assert jailcore.Jail.get(name).get("host") == {"host": JailSys.NEW}


def test_create_nopersist_is_refused_by_the_kernel(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, "create", "web", "nopersist")
    assert (rc, out, err) == (1, "", "jailcore create: new jail must persist or attach\n")
    assert list(jailcore.jails()) == []


@pytest.mark.parametrize(("words", "message"), [
    (["securelevel=x"], 'securelevel: non-integer value "x"'),
    (["children.max=3x"], 'children.max: non-integer value "3x"'),
    (["persist=maybe"], 'persist: unknown boolean value "maybe"'),
    (["allow.nomount=yes"], 'allow.nomount: unknown boolean value "yes"'),
    (["host=maybe"], 'host: unknown jailsys value "maybe"'),
    (["ip4.addr=10.0.0.1,1.2.3"], "ip4.addr: not an IPv4 address: 1.2.3"),
    (["ip6.addr=10.0.0.1"], "ip6.addr: not an IPv6 address: 10.0.0.1"),
    (["bogus=1"], "unknown parameter: bogus"),
    (["allow.nobogus"], "unknown parameter: allow.nobogus"),
    (["jid=-3"], "negative jid"),
])
def test_create_value_errors(capsys: pytest.CaptureFixture[str], words: list[str],
                             message: str) -> None:
    rc, out, err = cli(capsys, "create", "web", *words)
    assert (rc, out, err) == (1, "", f"jailcore create: {message}\n")
    assert list(jailcore.jails()) == []


def test_create_twice(capsys: pytest.CaptureFixture[str]) -> None:
    assert ok(capsys, "create", "web") == "web: created\n"
    rc, out, err = cli(capsys, "create", "web")
    assert (rc, out, err) == (1, "", 'jailcore create: jail "web" already exists\n')
    assert [j.name for j in jailcore.jails()] == ["web"]


def test_create_name_only_as_the_first_argument(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, "create", "web", "name=other")
    assert rc == 1 and out == "" and err.startswith("jailcore create: name: ")
    assert list(jailcore.jails()) == []


def test_create_child(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "web", "children.max=1")
    assert ok(capsys, "create", "web.db") == "web.db: created\n"
    assert jailcore.Jail.get("web.db").get("parent") == {"parent": 1}
    rc, _, err = cli(capsys, "create", "nosuch.db")
    assert (rc, err) == (1, 'jailcore create: jail "nosuch" not found\n')


# ---- create, as jail(8) spells it -------------------------------------------------------


def test_create_in_jail8s_own_spelling(capsys: pytest.CaptureFixture[str]) -> None:
    """`jail -c name=web path=/ persist`: no first word without "=", the name a parameter."""
    assert ok(capsys, "create", "name=web", "path=/", "persist",
              "host.hostname=web.example") == "web: created\n"
    assert jailcore.Jail.get("web").get("path", "persist", "host.hostname") == {
        "path": "/", "persist": True, "host.hostname": "web.example"}
    # the name once as the first word and once as name=: the same name is fine
    assert ok(capsys, "create", "db", "name=db") == "db: created\n"
    rc, out, err = cli(capsys, "create", "db2", "name=other")
    assert (rc, out, err) == (1, "", "jailcore create: name: given twice (db2 and other)\n")


def test_create_unnamed_prints_nothing_and_i_prints_the_jid(
        capsys: pytest.CaptureFixture[str]) -> None:
    """jail(8) names an unnamed jail by its jid and reports it only with -i."""
    assert ok(capsys, "create", "host.hostname=anon") == ""
    assert [(j.jid, j.name) for j in jailcore.jails()] == [(1, "1")]
    assert ok(capsys, "create", "-i", "name=web") == "2\n"
    assert ok(capsys, "create", "-q", "quiet") == ""
    assert [j.name for j in jailcore.jails()] == ["1", "web", "quiet"]


@pytest.mark.parametrize(("argv", "usage"), [
    (["ls", "-x"],
     "usage: jailcore ls [-dhNnqsv] [-j jail] [-u resource,...] [--json] [param ...]\n"),
    (["create", "--bogus", "web"], "usage: jailcore create [-iq] [name] param=value ...\n"),
    (["model", "reset", "-f"],
     "usage: jailcore model reset | path | version [14|15] | racct [on|off|absent]\n"),
])
def test_an_unknown_option_prints_its_subcommands_usage(
        capsys: pytest.CaptureFixture[str], argv: list[str], usage: str) -> None:
    rc, out, err = cli(capsys, *argv)
    bad = next(a for a in argv if a.startswith("-"))
    assert (rc, out, err) == (1, "", f"{usage}jailcore {argv[0]}: unrecognized arguments: "
                                     f"{bad}\n")
    assert list(jailcore.jails()) == []


def test_help_says_where_jails_live(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = cli(capsys, "--help")
    assert rc == 0
    flat = " ".join(out.split())
    assert ("by default they live in your own host, /tmp/jailcore-UID/host, until "
            "`jailcore model reset` empties it.") in flat
    assert "JAILCORE_MODEL_STATE=:private: one that ends with the command" in flat


@pytest.mark.parametrize(("words", "message"), [
    (["hostname=web"], "unknown parameter: hostname (did you mean host.hostname?)"),
    (["securlevel=1"], "unknown parameter: securlevel (did you mean securelevel?)"),
    (["exec.start=/bin/sh /etc/rc"],
     "unknown parameter: exec.start (a jail(8) pseudo-parameter: jail(8) acts on it itself "
     "and never passes it to the kernel; jailcore will handle it in its jail.conf lifecycle, "
     "not in jail_set)"),
    (["mount.devfs"],
     "unknown parameter: mount.devfs (a jail(8) pseudo-parameter: jail(8) acts on it itself "
     "and never passes it to the kernel; jailcore will handle it in its jail.conf lifecycle, "
     "not in jail_set)"),
    (["ip4.addr=em0|192.0.2.10"],
     "ip4.addr: em0|192.0.2.10: the interface|address form is jail(8)'s, which adds the "
     "address to the interface itself; the kernel's parameter takes addresses only"),
    (["path=/nonexistent/web"], "path /nonexistent/web: No such file or directory"),
    (["path=/etc/passwd"], "path /etc/passwd: Not a directory"),
])
def test_create_errors_point_the_right_way(capsys: pytest.CaptureFixture[str],
                                           words: list[str], message: str) -> None:
    rc, out, err = cli(capsys, "create", "web", *words)
    assert (rc, out, err) == (1, "", f"jailcore create: {message}\n")
    assert list(jailcore.jails()) == []


# ---- set, rm -------------------------------------------------------------------------


def test_set_by_name_and_jid(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "web", "host.hostname=old")
    assert ok(capsys, "set", "web", "host.hostname=new", "allow.nomount=false") == (
        "web: updated\n")
    assert ok(capsys, "set", "1", "securelevel=3", "ip4.addr=10.0.0.9") == "1: updated\n"
    assert jailcore.Jail.get("web").get(
        "host.hostname", "allow.mount", "securelevel", "ip4.addr") == {
        "host.hostname": "new", "allow.mount": True, "securelevel": 3,
        "ip4.addr": (ipaddress.IPv4Address("10.0.0.9"),)}


def test_set_errors_in_the_kernels_words(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "web", "securelevel=2")
    cases = [
        (["web", "path=/tmp"], "path cannot be changed after creation"),
        (["nosuch", "persist"], 'jail "nosuch" not found'),
        (["9", "persist"], "jail 9 not found"),
        (["web", "securelevel=x"], 'securelevel: non-integer value "x"'),
        (["web", "bogus=1"], "unknown parameter: bogus"),
    ]
    for argv, message in cases:
        rc, out, err = cli(capsys, "set", *argv)
        assert (rc, out, err) == (1, "", f"jailcore set: {message}\n"), argv
    assert jailcore.Jail.get("web").get("path", "securelevel") == {"path": "/",
                                                                   "securelevel": 2}


def test_set_nopersist_lets_an_empty_jail_go(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "web")
    assert ok(capsys, "set", "web", "nopersist") == "web: updated\n"
    assert list(jailcore.jails()) == []


def test_rm(capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("a", "b", "c", "d"):
        ok(capsys, "create", name)
    assert ok(capsys, "rm", "a", "2") == "a: removed\n2: removed\n"
    rc, out, err = cli(capsys, "rm", "c", "nosuch", "d")
    assert (rc, out, err) == (1, "c: removed\nd: removed\n",
                              'jailcore rm: jail "nosuch" not found\n')
    assert list(jailcore.jails()) == []


def test_rm_parent_takes_the_child(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "web", "children.max=1")
    ok(capsys, "create", "web.db")
    assert ok(capsys, "rm", "web") == "web: removed\n"
    assert list(jailcore.jails()) == []


# ---- exec: jexec ---------------------------------------------------------------------


def jexec(*args: str, env: dict[str, str] | None = None, input: str | None = None,
          cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m jailcore exec ARGS`` on the test's model host."""
    e = dict(os.environ if env is None else env)
    e["JAILCORE_MODEL_STATE"] = os.environ["JAILCORE_MODEL_STATE"]
    e["PYTHONPATH"] = ROOT
    # Not from the project's root: `python -m` puts the current directory first on
    # sys.path, where the sources' jailcore/ would shadow the jailcore under test.
    return subprocess.run([sys.executable, "-m", "jailcore", "exec", *args], env=e,
                          input=input, capture_output=True, text=True, timeout=60,
                          cwd=cwd if cwd is not None else "/", check=False)


@pytest.fixture
def slash() -> jailcore.Jail:
    """A jail rooted at /, so the host's programs are there."""
    return jailcore.Jail.create(name="r", path="/")


def test_exec_runs_the_command(slash: jailcore.Jail) -> None:
    done = jexec("r", "/bin/echo", "hello", "a b")
    assert (done.returncode, done.stdout, done.stderr) == (0, "hello a b\n", "")
    done = jexec("1", "echo", "by jid")  # a jid, and the command found on PATH
    assert (done.returncode, done.stdout, done.stderr) == (0, "by jid\n", "")


def test_exec_propagates_the_exit_status(slash: jailcore.Jail) -> None:
    done = jexec("r", "sh", "-c", "exit 3")
    assert (done.returncode, done.stdout, done.stderr) == (3, "", "")


def test_exec_options_after_the_jail_belong_to_the_command(slash: jailcore.Jail) -> None:
    done = jexec("r", "sh", "-c", 'echo "$0" "$1"', "-l", "-d")
    assert (done.returncode, done.stdout) == (0, "-l -d\n")


def test_exec_working_directory(slash: jailcore.Jail, tmp_path: Path) -> None:
    assert jexec("r", "pwd", cwd=tmp_path).stdout == "/\n"  # the jail's root
    where = os.path.realpath(tmp_path)
    done = jexec("-d", where, "r", "pwd")
    assert (done.returncode, done.stdout, done.stderr) == (0, where + "\n", "")
    done = jexec("-d", "/nonexistent", "r", "pwd")
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", "jailcore exec: chdir: /nonexistent: No such file or directory\n")


def test_exec_login_environment(slash: jailcore.Jail, tmp_path: Path) -> None:
    me = pwd.getpwuid(os.getuid())
    base = {k: v for k, v in os.environ.items() if k != "TERM"}
    expect = {
        "PATH": f"/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:{me.pw_dir}/bin",
        "USER": me.pw_name, "HOME": me.pw_dir, "SHELL": me.pw_shell or "/bin/sh",
    }
    done = jexec("-l", "r", "/usr/bin/env", env={**base, "TERM": "vt220", "FOO": "bar"})
    assert (done.returncode, done.stderr) == (0, "")
    assert dict(ln.split("=", 1) for ln in done.stdout.splitlines()) == {**expect,
                                                                         "TERM": "vt220"}
    done = jexec("-l", "r", "/usr/bin/env", env={**base, "FOO": "bar"})
    assert dict(ln.split("=", 1) for ln in done.stdout.splitlines()) == expect
    # -l starts in the user's home, unless -d says otherwise
    assert jexec("-l", "r", "/bin/pwd").stdout == me.pw_dir + "\n"
    where = os.path.realpath(tmp_path)
    assert jexec("-l", "-d", where, "r", "/bin/pwd").stdout == where + "\n"
    # without -l the environment is passed on
    done = jexec("r", "/usr/bin/env", env={**base, "FOO": "bar"})
    assert "FOO=bar" in done.stdout.splitlines()


def test_exec_host_user(slash: jailcore.Jail) -> None:
    nobody = pwd.getpwnam("nobody")
    ident = subprocess.run(["id", "nobody"], capture_output=True, text=True,
                           check=True).stdout
    done = jexec("-u", "nobody", "r", "id")
    assert (done.returncode, done.stdout, done.stderr) == (0, ident, "")
    done = jexec("-u", "nobody", "r", "/usr/bin/env", env={**os.environ, "FOO": "bar"})
    env = dict(ln.split("=", 1) for ln in done.stdout.splitlines())
    assert (env["USER"], env["HOME"], env["SHELL"], env["FOO"]) == (
        "nobody", nobody.pw_dir, nobody.pw_shell, "bar")
    assert jexec("-u", "nobody", "r", "pwd").stdout == "/\n"
    done = jexec("-u", "nosuchuser", "r", "id")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("jailcore exec: ") and "nosuchuser" in done.stderr


def test_exec_jail_user_looked_up_inside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(
        "# the jail's own users\nalice:*:1001:1001:Alice:/home/alice:/bin/sh\n")
    (root / "etc" / "group").write_text("alice:*:1001:\nstaff:*:20:alice\n")
    jailcore.Jail.create(name="w", path=str(root))
    # alice exists in the jail (not on the host); the jail has no /usr/bin/id
    done = jexec("-U", "alice", "w", "/usr/bin/id")
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", "jailcore exec: execvp: /usr/bin/id: No such file or directory\n")
    done = jexec("-U", "bob", "w", "/usr/bin/id")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("jailcore exec: ") and "bob" in done.stderr


def test_exec_u_and_U_exclude_each_other(slash: jailcore.Jail) -> None:
    done = jexec("-u", "nobody", "-U", "root", "r", "id")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "jailcore exec: -u and -U exclude each other\n"


def test_exec_missing_jail(slash: jailcore.Jail) -> None:
    done = jexec("nosuch", "/bin/echo", "x")
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", 'jailcore exec: jail "nosuch" not found\n')
    done = jexec("99", "/bin/echo", "x")
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", "jailcore exec: jail 99 not found\n")


def test_exec_missing_program(slash: jailcore.Jail) -> None:
    done = jexec("r", "/nonexistent/prog")
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", "jailcore exec: execvp: /nonexistent/prog: No such file or directory\n")


def test_exec_without_a_command_runs_an_interactive_shell(slash: jailcore.Jail) -> None:
    done = jexec("r", env={**os.environ, "SHELL": "/bin/sh"}, input="echo inside\nexit 4\n")
    assert (done.returncode, done.stdout) == (4, "inside\n")


def test_exec_usage(slash: jailcore.Jail) -> None:
    done = jexec()
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(
        "usage: jailcore exec [-l] [-u user | -U user] [-d dir] jail [command ...]\n")
    done = jexec("--help")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith(
        "usage: jailcore exec [-l] [-u user | -U user] [-d dir] jail [command ...]\n")


# ---- params --------------------------------------------------------------------------


def test_params_lists_every_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    lines = ok(capsys, "params").splitlines()
    names = sorted_params()
    assert [ln.split()[0] for ln in lines] == names
    width = max(len(n) for n in names)
    for ln, name in zip(lines, names, strict=True):
        assert ln[:width + 2] == name.ljust(width) + "  "
        _, fmt, access, *meaning = ln.split()
        assert fmt == spec(name).fmt, ln
        assert access in ("writable", "create-only", "read-only"), ln
        assert meaning, ln
    by_name = {ln.split()[0]: ln.split(None, 3)[1:] for ln in lines}
    assert by_name["persist"] == ["B", "writable", "Jail stays without processes"]
    assert by_name["path"][:2] == ["A", "create-only"]
    assert by_name["dying"][:2] == ["B", "read-only"]
    assert by_name["host"][:2] == ["E,jailsys", "writable"]
    assert by_name["ip4.addr"][1] == "writable"


def test_params_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert ok(capsys, "params", "persist", "path", "jid") == (
        "persist  B  writable     Jail stays without processes\n"
        "path     A  create-only  Root directory of the jail\n"
        "jid      I  create-only  Jail identifier\n")
    rc, out, err = cli(capsys, "params", "persist", "nosuch")
    assert (rc, out, err) == (1, "", "jailcore params: unknown parameter: nosuch\n")


# ---- help and usage ------------------------------------------------------------------


@pytest.mark.parametrize("sub", ["ls", "create", "set", "rm", "exec", "params", "tour"])
def test_help_everywhere(capsys: pytest.CaptureFixture[str], sub: str) -> None:
    rc, out, err = cli(capsys, sub, "--help")
    assert (rc, err) == (0, "")
    assert out.startswith(f"usage: jailcore {sub}")


def test_top_level_help(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, "--help")
    assert (rc, err) == (0, "")
    assert out.startswith("usage: jailcore ")
    for sub in ("ls", "create", "set", "rm", "exec", "params", "tour"):
        assert sub in out


def test_ls_h_is_the_header_not_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert ok(capsys, "ls", "-h", "name") == "name\n"


@pytest.mark.parametrize("argv", [
    [], ["nosuch"], ["ls", "-x"], ["ls", "-j"], ["create"], ["set", "web"], ["set"], ["rm"],
    ["exec", "-z", "r"], ["tour", "extra"],
])
def test_usage_errors_exit_1(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    rc, out, err = cli(capsys, *argv)
    assert (rc, out) == (1, "")
    assert err.startswith("usage: jailcore")
    assert err.splitlines()[-1].startswith("jailcore")


# ---- tour ----------------------------------------------------------------------------


def test_tour(capsys: pytest.CaptureFixture[str], tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rc, out, err = cli(capsys, "tour")
    assert (rc, err) == (0, "")
    assert "kernel model" in out.splitlines()[0]
    steps = [ln for ln in out.splitlines() if ln[:1].isdigit()]
    assert [s.split(".")[0] for s in steps] == [str(n) for n in range(1, 8)]
    assert out.rstrip().endswith("done: 0 jails left behind")
    assert list(jailcore.jails()) == []
    assert list(jailcore.jails(dying=True)) == []
    assert os.getcwd() == str(tmp_path)  # the caller's working directory is left alone


# ---- python -m jailcore --------------------------------------------------------------


def test_closed_pipe_ends_quietly() -> None:
    """`jailcore params | head -1`: the reader goes away; no error message."""
    r, w = os.pipe()
    os.close(r)
    try:
        done = subprocess.run([sys.executable, "-m", "jailcore", "params"], stdout=w,
                              stderr=subprocess.PIPE, text=True, timeout=60, check=False,
                              env={**os.environ, "PYTHONPATH": ROOT}, cwd="/")
    finally:
        os.close(w)
    assert (done.returncode, done.stderr) == (1, "")


def test_python_m_jailcore(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "create", "web", "host.hostname=web.example", "ip4.addr=10.0.0.1")
    env = {**os.environ, "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, "-m", "jailcore", "ls"], env=env, cwd="/",
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == LS_HEADER + row(1, "10.0.0.1", "web.example")
    done = subprocess.run([sys.executable, "-m", "jailcore", "rm", "web", "nosuch"], env=env,
                          cwd="/", capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "web: removed\n", 'jailcore rm: jail "nosuch" not found\n')
    assert list(jailcore.jails()) == []


def test_python_m_jailcore_in_a_checkout_says_it_shadows(tmp_path: Path) -> None:
    """From a source tree without the built parts, the error says what happened
    (the current directory comes first on sys.path), not that jailcore is missing."""
    checkout = tmp_path / "checkout"
    shutil.copytree(Path(ROOT) / "jailcore", checkout / "jailcore",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    (checkout / "setup.py").write_text("# a jailcore source tree\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-m", "jailcore", "ls"], env=env, cwd=checkout,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    here = checkout / "jailcore"
    assert last.startswith(f"ImportError: this is jailcore's source checkout ({here}), not a "
                           "built jailcore: 'python -m' and 'python' put the current "
                           "directory first on sys.path")
    # The installed jailcore as that process finds it (not this test process,
    # whose sys.path may hold a source tree's egg-info).
    found = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m, os\n"
         "try:\n"
         "    print(os.path.abspath(str(m.distribution('jailcore').locate_file('jailcore'))))\n"
         "except m.PackageNotFoundError:\n"
         "    print('')\n"], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60, check=True)
    installed = found.stdout.strip() or None
    if installed is not None:
        assert last.endswith(f", so the checkout shadows the jailcore installed in "
                             f"{installed}: run from another directory (cd /tmp), or use "
                             "the 'jailcore' command")
    else:
        assert last.endswith("; install jailcore ('pip install .') and run from another "
                             "directory, or build it in place ('python setup.py build_ext "
                             "--inplace')")


def test_only_ascii_digits_make_a_jid(capsys: pytest.CaptureFixture[str]) -> None:
    """As jexec's strtoul(3): "١٢" (Arabic-Indic digits) and "²" are names."""
    for _ in range(12):
        ok(capsys, "create", "-q", "host.hostname=x")
    ok(capsys, "create", "\u0661\u0662")
    assert ok(capsys, "ls", "-j", "12", "jid", "name") == "12 12\n"
    assert ok(capsys, "ls", "-j", "\u0661\u0662", "jid", "name") == "13 \u0661\u0662\n"
    rc, out, err = cli(capsys, "set", "\u00b2", "persist")
    assert (rc, out, err) == (1, "", 'jailcore set: jail "\u00b2" not found\n')
    assert ok(capsys, "rm", "\u0661\u0662") == "\u0661\u0662: removed\n"
    assert [j.jid for j in jailcore.jails()] == list(range(1, 13))
    rc, out, err = cli(capsys, "create", "x", "ip6.addr=fe80::1%em0")
    assert (rc, out, err) == (1, "", "jailcore create: ip6.addr: not an IPv6 address: "
                                     "fe80::1%em0\n")
