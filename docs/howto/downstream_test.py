"""Tests of a downstream project, written with jailcore's pytest plugin."""

import subprocess
import sys

import pytest

import jailcore


def test_create_and_list(jail_host):
    jailcore.Jail.create(name="web", host__hostname="web.example")
    assert [j.name for j in jailcore.jails()] == ["web"]


def test_every_test_starts_from_an_empty_host(jail_host):
    assert list(jailcore.jails()) == []


def test_a_subprocess_sees_the_same_host(jail_host):
    jailcore.Jail.create(name="web")
    code = "import jailcore; print([j.name for j in jailcore.jails()])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out == "['web']\n"


def test_on_freebsd_14(jail_host):
    jail_host.set_version(14)
    assert not jailcore.features.jail_descriptors
    with pytest.raises(ValueError, match="unknown parameter: meta"):
        jailcore.Jail.create(name="web", meta={"owner": "ops"})


def test_a_module_parameter(jail_host):
    jail_host.kldload("nullfs")
    web = jailcore.Jail.create(name="web", allow__mount=True, allow__mount__nullfs=True)
    assert web.get("allow.mount.nullfs") == {"allow.mount.nullfs": True}


def test_a_dying_jail(jail_host):
    web = jailcore.Jail.create(name="web")
    jail_host.hold(web.jid)
    web.remove()
    assert web.dying
    assert list(jailcore.jails()) == []
    assert [j.name for j in jailcore.jails(dying=True)] == ["web"]
    jail_host.release(web.jid)
    assert list(jailcore.jails(dying=True)) == []


@pytest.mark.kernel
def test_on_the_real_kernel():
    assert jailcore.features.backend == "kernel"


def test_also_on_the_real_kernel(freebsd_kernel):
    with jailcore.Jail.temporary(name="jailcore-test") as jail:
        assert jail.name == "jailcore-test"
