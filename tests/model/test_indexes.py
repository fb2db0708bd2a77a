"""The model's indexes (issue 18, item 4): the children lists, the index of
full names and the count of address lists of two or more.  They must give
the answers the scans over every jail gave, keep doing so through renames,
removals and a process that maps the host anew (which validates them), and
be rolled back with the rest of a change that fails."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from forked import in_child

import jailcore
import jailcore.model
from jailcore import Jail, JailError, JailFlag


def names_of_every_jail() -> list[str]:
    return [j.name for j in jailcore.jails()]


def test_lookups_by_name_through_renames_of_an_ancestor() -> None:
    top = Jail.create(name="top", path="/", children__max=100)
    mid = Jail.create(name="top.mid", path="/", children__max=50)
    leaves = [Jail.create(name=f"top.mid.l{i}", path="/") for i in range(40)]
    assert Jail.get("top.mid.l7").jid == leaves[7].jid
    top.update(name="renamed")
    # Every descendant's full name changed, and is found by it.
    assert Jail.get("renamed.mid.l7").jid == leaves[7].jid
    assert Jail.get("renamed.mid").jid == mid.jid
    with pytest.raises(JailError) as exc:
        Jail.get("top.mid.l7")
    assert (exc.value.errno, exc.value.errmsg) == (errno.ENOENT, 'jail "top.mid.l7" not found')
    # A name taken back by a new jail is that jail's.
    again = Jail.create(name="top", path="/")
    assert Jail.get("top").jid == again.jid
    assert Jail.get("renamed").jid == top.jid


def test_a_new_jail_is_refused_a_name_an_alive_jail_has() -> None:
    Jail.create(name="a", path="/", children__max=5)
    Jail.create(name="a.b", path="/")
    with pytest.raises(JailError) as exc:
        Jail.create(name="a.b", path="/")
    assert (exc.value.errno, exc.value.errmsg) == (errno.EEXIST, 'jail "a.b" already exists')
    # The same last component under another parent is another name.
    Jail.create(name="c", path="/", children__max=5)
    assert Jail.create(name="c.b", path="/").name == "c.b"


def test_removal_takes_every_descendant_and_only_them() -> None:
    a = Jail.create(name="a", path="/", children__max=100)
    for i in range(30):
        Jail.create(name=f"a.k{i}", path="/", children__max=1)
        Jail.create(name=f"a.k{i}.g", path="/")
    others = [Jail.create(name=f"o{i}", path="/") for i in range(5)]
    a.remove()
    assert sorted(names_of_every_jail()) == sorted(o.name for o in others)
    # The names are free again, parents before children.
    Jail.create(name="a", path="/", children__max=1)
    assert Jail.create(name="a.k3", path="/").name == "a.k3"


def test_a_settings_change_reaches_every_descendant() -> None:
    top = Jail.create(name="top", path="/", children__max=10)
    Jail.create(name="top.a", path="/", children__max=5)
    deep = Jail.create(name="top.a.b", path="/")
    top.update(securelevel=2, enforce_statfs=2)
    assert deep.get("securelevel", "enforce_statfs") == {"securelevel": 2, "enforce_statfs": 2}
    # children.max: each level below may have one less.
    top.update(children__max=1)
    assert deep.get("children.max")["children.max"] == 0


def test_the_count_of_address_lists_follows_updates_and_removals() -> None:
    """One address clashes only with a list of two or more: the model counts
    those lists and looks at none when there are none.  The count must drop
    when such a list shrinks or its jail goes."""
    multi = Jail.create(name="m", path="/", ip4__addr=["192.0.2.1", "192.0.2.2"])
    with pytest.raises(JailError) as exc:
        Jail.create(name="x", path="/", ip4__addr="192.0.2.2")
    assert (exc.value.errno, exc.value.errmsg) == (errno.EADDRINUSE, "IPv4 addresses clash")
    multi.update(ip4__addr="192.0.2.1")  # down to one: single addresses may share
    assert Jail.create(name="x", path="/", ip4__addr="192.0.2.1").name == "x"
    multi.update(ip4__addr=["192.0.2.7", "192.0.2.5"])
    with pytest.raises(JailError):
        Jail.create(name="y", path="/", ip4__addr="192.0.2.5")
    multi.remove()
    assert Jail.create(name="y", path="/", ip4__addr="192.0.2.5").name == "y"


def test_a_host_of_thousands_of_jails_maps_anew_in_another_process(tmp_path: Path) -> None:
    """Another process maps the file, which checks every list and the name
    index, and finds the jails by name."""
    state = tmp_path / "host"

    def fill() -> int:
        jailcore.model.use_state_file(state)
        for i in range(50):
            # ip4=inherit: the children may have addresses of their own.
            Jail.create(name=f"p{i}", path="/", children__max=40, ip4="inherit")
            for k in range(40):
                Jail.create(name=f"p{i}.c{k}", path="/", ip4__addr=f"10.{i}.{k}.1")
        Jail.get("p7").remove()
        Jail.get("p8").update(name="q8")
        return sum(1 for _ in jailcore.jails(()))

    assert in_child(fill) == 50 * 41 - 41
    code = (
        "import jailcore, jailcore.model\n"
        f"jailcore.model.use_state_file({str(state)!r})\n"
        "print(jailcore.Jail.get('q8.c39').name, jailcore.Jail.get('p49.c0').jid,\n"
        "      sum(1 for _ in jailcore.jails(())))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd="/", env=_env(), check=True).stdout.split()
    assert out[0] == "q8.c39" and out[2] == str(50 * 41 - 41)


def test_a_create_that_fails_late_leaves_the_lists_as_they_were() -> None:
    """A create whose attach fails (FreeBSD refuses it while the process holds
    a directory open) takes the new jail away again: the name is free and
    the parent has no such child."""
    parent = Jail.create(name="p", path="/", children__max=1)

    def create_and_attach() -> tuple[int, str | None]:
        fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
        try:
            jailcore.jail_set({"name": "p.c", "path": "/", "persist": True},
                              JailFlag.CREATE | JailFlag.ATTACH)
        except JailError as exc:
            return exc.errno, exc.errmsg
        finally:
            os.close(fd)
        return 0, None

    err, msg = in_child(create_and_attach)
    assert err == errno.EPERM and msg is not None and msg.startswith("attach failed")
    assert parent.get("children.cur")["children.cur"] == 0
    with pytest.raises(JailError) as exc:
        Jail.get("p.c")
    assert exc.value.errno == errno.ENOENT
    assert Jail.create(name="p.c", path="/").name == "p.c"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(jailcore.__file__).resolve().parents[1])
    env.pop("JAILCORE_MODEL_STATE", None)
    return env
