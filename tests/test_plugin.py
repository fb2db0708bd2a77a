"""jailcore's pytest plugin, as a downstream project uses it."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import pytest

import jailcore
import jailcore.model

DOWNSTREAM = """
import os
import jailcore

def test_first(jail_host):
    assert list(jailcore.jails()) == []
    jailcore.Jail.create(name="web")
    assert [j.name for j in jailcore.jails()] == ["web"]
    assert os.environ["JAILCORE_MODEL_STATE"] == str(jail_host.state_file)

def test_second_starts_fresh(jail_host):
    assert list(jailcore.jails()) == []
    assert jailcore.Jail.create(name="web").jid == 1

def test_versions(jail_host):
    jail_host.set_version(14)
    assert jailcore.model.version() == 14

def test_after_version_switch_fresh_15(jail_host):
    assert jailcore.model.version() == 15

def test_real_kernel(freebsd_kernel):
    raise AssertionError("must not run off FreeBSD")
"""


def plugin_args(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run the child pytest against the jailcore under test: installed, its entry
    point loads the plugin; built in place, name it and put it on the path."""
    monkeypatch.setenv("PYTHONPATH", str(Path(jailcore.__file__).resolve().parents[1]))
    installed = any(ep.value == "jailcore.testing"
                    for ep in importlib.metadata.entry_points(group="pytest11"))
    return ["-rs"] if installed else ["-p", "jailcore.testing", "-rs"]


def test_downstream_project_gets_a_fresh_host_per_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_downstream=DOWNSTREAM.replace(
        "import jailcore\n", "import jailcore\nimport jailcore.model\n", 1))
    result = pytester.runpytest_subprocess(*plugin_args(monkeypatch))
    result.assert_outcomes(passed=4, skipped=1)
    result.stdout.fnmatch_lines(["*needs a real FreeBSD kernel as root*"])


def test_kernel_marker_skips_visibly(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_k="""
import pytest

@pytest.mark.kernel
def test_needs_freebsd():
    raise AssertionError("must not run off FreeBSD")
""")
    result = pytester.runpytest_subprocess(*plugin_args(monkeypatch), "--strict-markers")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED*needs a real FreeBSD kernel*"])


def test_this_suite_runs_on_the_plugins_host(jail_host: object) -> None:
    path = jailcore.model.state_path()
    assert path is not None and os.environ["JAILCORE_MODEL_STATE"] == path
    assert list(jailcore.jails()) == []


def test_suite_conftest_leaves_kernel_tests_off_the_model(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The autouse fixture of this suite's tests/conftest.py gives every test a model
    host except those marked ``kernel``: on FreeBSD with the kernel backend,
    jail_host would skip them (it needs the model), so the kernel twins spread
    across the suite would never run.  Run here without the plugin's skipping of
    kernel tests (-p no:jailcore), so that the kernel-marked test runs."""
    tests = Path(__file__).resolve().parent
    pytester.makeconftest((tests / "conftest.py").read_text())
    pytester.makepyfile(test_twins="""
import pytest

@pytest.mark.kernel
def test_kernel_twin(request):
    assert "jail_host" not in request.fixturenames
    assert request.getfixturevalue("fresh_model_host") is None

def test_on_the_model(request):
    assert "jail_host" in request.fixturenames
    host = request.getfixturevalue("fresh_model_host")
    assert host is request.getfixturevalue("jail_host")
""")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(Path(jailcore.__file__).resolve().parents[1]), str(tests)]))
    result = pytester.runpytest_subprocess("-p", "no:jailcore", "-rs")
    result.assert_outcomes(passed=2)
