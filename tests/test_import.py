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
