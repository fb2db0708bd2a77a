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


def test_a_removed_jail_is_started_again_within_a_second(tmp_path: Path) -> None:
    sup_mod = _module()
    lines: list[str] = []

    async def main() -> tuple[float, list[str]]:
        sup = sup_mod.Supervisor(conf.loads(CONF), ["web", "db"], lines.append)
        ready = asyncio.Event()
        task = asyncio.create_task(sup.run(ready))
        await asyncio.wait_for(ready.wait(), 10)
        web = jailcore.Jail.get("web")
        # Another process removes it, as an admin's jail -r would.
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        done = await loop.run_in_executor(None, lambda: subprocess.run(
            [sys.executable, "-m", "jailcore", "rm", "web"], cwd="/",
            env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, check=False))
        assert done.returncode == 0, done.stderr
        while True:
            await asyncio.sleep(0.01)
            try:
                again = jailcore.Jail.get("web")
            except jailcore.JailNotFoundError:
                continue
            if again.jid != web.jid:
                break
            assert time.monotonic() - start < 10
        took = time.monotonic() - start
        task.cancel()
        return took, [str(again.jid), again["host.hostname"]]

    took, (jid, hostname) = asyncio.run(main())
    # Measured from the start of the other process (a Python start-up) to
    # the new jail: the restart itself follows the event at once.
    assert took < 1.0 + _startup_allowance()
    assert hostname == "web.example"
    assert lines[:2] == [f"web: started (jid {lines[0].split('jid ')[1][:-1]})",
                         f"db: started (jid {lines[1].split('jid ')[1][:-1]})"]
    assert lines[2].startswith("web: removed (jid ") and lines[2].endswith("starting it again")
    assert lines[3] == f"web: started (jid {jid})"


def _startup_allowance() -> float:
    """How long a Python that imports jailcore takes to start here."""
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "import jailcore"], cwd="/",
                   env={**os.environ, "PYTHONPATH": ROOT}, check=True)
    return time.monotonic() - start


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
