"""examples/supervisor.py (issue 17): it keeps the jails of a jail.conf
running, and restarts one that another process removes within a second."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import jailcore
from jailcore import conf

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "supervisor.py"
ROOT = str(Path(jailcore.__file__).resolve().parents[1])


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("supervisor_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CONF = """
web { path = "/"; host.hostname = "web.example"; persist; }
db { path = "/"; persist; }
"""


def test_a_removed_jail_is_started_again_within_a_second() -> None:
    sup_mod = _module()
    lines: list[str] = []

    async def main() -> tuple[float, int, str]:
        sup = sup_mod.Supervisor(conf.loads(CONF), ["web", "db"], lines.append)
        ready = asyncio.Event()
        task = asyncio.create_task(sup.run(ready))
        await asyncio.wait_for(ready.wait(), 10)
        web = jailcore.Jail.get("web")
        start = time.monotonic()
        web.remove()
        while True:
            await asyncio.sleep(0.005)
            try:
                again = jailcore.Jail.get("web")
            except jailcore.JailNotFoundError:
                assert time.monotonic() - start < 10
                continue
            if again.jid != web.jid:
                break
        took = time.monotonic() - start
        task.cancel()
        return took, again.jid, again["host.hostname"]

    took, jid, hostname = asyncio.run(main())
    assert took < 1.0
    assert hostname == "web.example"
    assert [line.split(" (jid")[0] for line in lines] == [
        "web: started", "db: started", "web: removed", "web: started"]
    assert lines[3] == f"web: started (jid {jid})"


def test_a_jail_removed_by_another_process() -> None:
    sup_mod = _module()
    lines: list[str] = []

    async def main() -> int:
        sup = sup_mod.Supervisor(conf.loads(CONF), ["web"], lines.append)
        ready = asyncio.Event()
        task = asyncio.create_task(sup.run(ready))
        await asyncio.wait_for(ready.wait(), 10)
        old = jailcore.Jail.get("web").jid
        done = await asyncio.get_running_loop().run_in_executor(None, lambda: subprocess.run(
            [sys.executable, "-m", "jailcore", "rm", "web"], cwd="/",
            env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, check=False))
        assert done.returncode == 0, done.stderr
        for _ in range(1000):
            await asyncio.sleep(0.01)
            if len(lines) == 3:
                break
        task.cancel()
        return old

    old = asyncio.run(main())
    assert lines[1] == f"web: removed (jid {old}); starting it again"
    assert lines[2].startswith("web: started (jid ")


def test_the_example_runs_as_a_program(tmp_path: Path) -> None:
    path = tmp_path / "jail.conf"
    path.write_text(CONF)
    proc = subprocess.Popen([sys.executable, str(EXAMPLE), str(path), "web"], cwd="/",
                            env={**os.environ, "PYTHONPATH": ROOT},
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("web: started (jid ")
        jailcore.Jail.get("web").remove()
        assert proc.stdout.readline().startswith("web: removed (jid ")
        assert proc.stdout.readline().startswith("web: started (jid ")
        assert jailcore.Jail.get("web")["host.hostname"] == "web.example"
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_example_is_on_the_public_api() -> None:
    text = EXAMPLE.read_text()
    assert "jailcore._" not in text and "from jailcore._" not in text
