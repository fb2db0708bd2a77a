"""jailcore.net's Python side: jail(8)'s address forms, the errors' kinds and
text, and ``jailcore net ls`` (text shaped like ``ifconfig -a``, and --json)."""

from __future__ import annotations

import errno
import ipaddress
import json
import os

import pytest

import jailcore.net as net
from jailcore.cli import main
from jailcore.errors import HostError, InterfaceError


@pytest.mark.parametrize(
    ("text", "want", "masked"),
    [
        ("192.0.2.10/24", "192.0.2.10/24", True),
        ("192.0.2.10/255.255.255.0", "192.0.2.10/24", True),
        ("192.0.2.10", "192.0.2.10/32", False),
        (" 192.0.2.10/32 ", "192.0.2.10/32", True),
        ("2001:db8::1/64", "2001:db8::1/64", True),
        ("2001:db8::1", "2001:db8::1/128", False),
    ],
)
def test_parse_address_forms(text: str, want: str, masked: bool) -> None:
    iface, given = net.parse_address(text)
    assert (str(iface), given) == (want, masked)


@pytest.mark.parametrize("bad", ["192.0.2.300", "192.0.2.1/33", "192.0.2.1/x",
                                 "2001:db8::1/255.255.0.0", "em0", "192.0.2.1/255.0.255.0"])
def test_parse_address_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match=r"192|2001|em0"):
        net.parse_address(bad)


def test_parse_address_accepts_objects_and_rejects_types() -> None:
    obj = ipaddress.ip_interface("192.0.2.1/24")
    assert net.parse_address(obj) == (obj, True)
    with pytest.raises(TypeError):
        net.parse_address(3)  # type: ignore[arg-type]


def test_bad_interface_names() -> None:
    with pytest.raises(ValueError, match="1 to 15 bytes"):
        net.add_address("x" * 16, "192.0.2.1")
    with pytest.raises(ValueError):
        net.destroy_interface("")
    with pytest.raises(TypeError):
        net.destroy_interface(3)  # type: ignore[arg-type]


def test_error_kind_and_text() -> None:
    with pytest.raises(InterfaceError) as info:
        net.remove_address("em0", "192.0.2.99/24")
    e = info.value
    assert isinstance(e, HostError) and isinstance(e, OSError)
    assert e.errno == errno.EADDRNOTAVAIL
    assert (e.operation, e.target) == ("SIOCDIFADDR", "em0 192.0.2.99")
    reason = os.strerror(errno.EADDRNOTAVAIL)
    assert str(e) == f"SIOCDIFADDR em0 192.0.2.99: {reason} [EADDRNOTAVAIL]"
    with pytest.raises(InterfaceError) as info:
        net.add_address("nope0", "2001:db8::1/64")
    assert (info.value.operation, info.value.target) == ("SIOCAIFADDR_IN6", "nope0 2001:db8::1/64")
    net.create_epair()
    with pytest.raises(FileExistsError) as info2:
        net.create_interface("epair0")
    assert isinstance(info2.value, InterfaceError)
    assert str(info2.value).startswith("SIOCIFCREATE2 epair0: ")


def test_move_to_resolves_jail_names() -> None:
    from jailcore.errors import JailNotFoundError

    with pytest.raises(JailNotFoundError):
        net.move_to("em0", "no-such-jail")
    with pytest.raises(TypeError):
        net.move_to("em0", 1.5)  # type: ignore[arg-type]


def test_cli_text(capsys: pytest.CaptureFixture[str]) -> None:
    net.add_address("em0", "192.0.2.10/24")
    assert main(["net", "ls"]) == 0
    out = capsys.readouterr().out.splitlines()
    mac = net.interfaces()[1].mac
    assert out == [
        "lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> metric 0 mtu 16384",
        "\tinet6 ::1 prefixlen 128",
        "\tinet6 fe80::1%lo0 prefixlen 64 scopeid 0x1",
        "\tinet 127.0.0.1 netmask 0xff000000",
        "em0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500",
        f"\tether {mac}",
        "\tinet 192.0.2.10 netmask 0xffffff00 broadcast 192.0.2.255",
    ]


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    net.add_address("em0", "192.0.2.10/24")
    assert main(["net", "ls", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data] == ["lo0", "em0"]
    assert data[1]["flag_names"] == ["UP", "BROADCAST", "RUNNING", "SIMPLEX", "MULTICAST"]
    assert data[1]["addresses"] == [{"family": "inet", "address": "192.0.2.10",
                                     "prefixlen": 24, "broadcast": "192.0.2.255"}]
    assert data[0]["addresses"][0] == {"family": "inet6", "address": "::1", "prefixlen": 128}
    assert data[0]["vnet"] == 0


def test_cli_jail_option(capsys: pytest.CaptureFixture[str]) -> None:
    from forked import need_root

    from jailcore import Jail

    need_root()
    j = Jail.create(name="v", vnet="new")
    _, b = net.create_epair()
    net.move_to(b, j)
    assert main(["net", "ls", "--json", "--jail", "v"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(d["name"], d["vnet"]) for d in data] == [("lo0", j.jid), (b, j.jid)]
    assert main(["net", "ls"]) == 0
    assert b + ":" not in capsys.readouterr().out


def test_flag_names_are_those_ifconfig_prints() -> None:
    """IFFBITS of ifconfig(8): the kernel's own bits (0x20 KNOWSEPOCH,
    0x10000 CANTCONFIG, 0x200000 DYING) are not named."""
    iface = net.Interface("em0", 1, 0x8863 | 0x10000 | 0x200000, 6, 1500, None)
    assert iface.flag_names == ["UP", "BROADCAST", "RUNNING", "SIMPLEX", "MULTICAST"]
