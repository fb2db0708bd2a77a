"""jail.conf on a real FreeBSD kernel, as root: the same lifecycle the model
tests run (tests/test_lifecycle.py, tests/test_jailcmd.py), on a scratch
directory, an address on lo0 and a devfs, with host hooks that log their
order; the host is as it was afterwards.  Skipped (visibly) elsewhere."""

from __future__ import annotations

import io
import os
import secrets
import tempfile
from collections.abc import Iterator

import pytest

from jailcore import Jail, conf, jails, mount, net
from jailcore.jailcmd import main as jail_main
from jailcore.lifecycle import JailConf

pytestmark = pytest.mark.kernel

ADDRESS = "192.0.2.231"


@pytest.fixture
def root() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="jailcore-conf-") as d:
        path = os.path.realpath(d)
        os.mkdir(os.path.join(path, "dev"))
        yield path
        while any(m.fspath == f"{path}/dev" for m in mount.mounts()):
            mount.unmount(f"{path}/dev")


def _host() -> tuple[list[tuple[str, list[str]]], list[tuple[str, str]]]:
    return ([(i.name, sorted(str(a) for a in i.addresses)) for i in net.interfaces()],
            [(m.fstype, m.fspath) for m in mount.mounts()])


def _text(name: str, root: str, log: str) -> str:
    return f"""
{name}db {{ path = "{root}"; persist; exec.poststart = "sh -c 'echo db >> {log}'"; }}
{name} {{
    path = "{root}";
    ip4.addr = "lo0|{ADDRESS}/32";
    mount.devfs;
    persist;
    depend = {name}db;
    exec.prestart = "sh -c 'echo prestart $JNAME >> {log}'";
    exec.poststop = "sh -c 'echo poststop >> {log}'";
}}
"""


def test_start_restart_stop(root: str) -> None:
    name = "jc" + secrets.token_hex(3)
    log = os.path.join(root, "..", f"{name}.log")
    before = _host()
    cfg = conf.loads(_text(name, root, log))
    jc = JailConf(cfg, out=io.StringIO(), err=io.StringIO())
    try:
        web = jc.start(name)
        assert web.name == name and web.path == root
        assert ADDRESS in [str(a.ip) for i in net.interfaces() if i.name == "lo0"
                           for a in i.addresses]
        assert ("devfs", f"{root}/dev") in _host()[1]
        again = jc.restart(name)
        assert again.name == name
    finally:
        for n in (name, name + "db"):
            try:
                jc.stop(n)
            except Exception:
                pass
    assert _host() == before
    with open(log) as f:
        assert f.read().split("\n") == ["db", f"prestart {name}", "poststop",
                                        f"prestart {name}", "poststop", ""]
    os.unlink(log)
    assert name not in [j.name for j in jails(("name",))]


def test_the_command_line(root: str) -> None:
    name = "jc" + secrets.token_hex(3)
    path = os.path.join(root, "..", f"{name}.conf")
    with open(path, "w") as f:
        f.write(f'{name} {{ path = "{root}"; persist; mount.devfs; }}\n')
    out, err = io.StringIO(), io.StringIO()
    try:
        assert jail_main(["-f", path, "-c", name], out, err) == 0
        assert (out.getvalue(), err.getvalue()) == (f"{name}: created\n", "")
        assert Jail.get(name).path == root
        assert jail_main(["-f", path, "-c", name], out, err) == 1
        assert err.getvalue() == f'jail: "{name}" already exists\n'
        assert jail_main(["-f", path, "-r", name], out, err) == 0
        assert out.getvalue().endswith(f"{name}: removed\n")
    finally:
        os.unlink(path)
