"""Jail.spawn_async and Jail.run_async: jailed processes under asyncio, without threads.

Plain ``asyncio.run`` in synchronous tests (no pytest-asyncio).  On the model;
the kernel-marked test at the end is the twin of the main cases for FreeBSD.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from portable import TRUE, open_fds

import jailcore.model
from jailcore import Jail, JailNotFoundError
from jailcore.aio import AsyncJailProcess
from jailcore.testing import kernel_skip_reason

# No root needed on the model: the user who made its host is a superuser there, and
# these jails have path "/", so attaching needs no chroot(2).

T = TypeVar("T")
PIPE = subprocess.PIPE
SH = "/bin/sh"


def arun(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


KERNEL_MISSING = kernel_skip_reason()
needs_kernel = pytest.mark.skipif(KERNEL_MISSING is not None, reason=str(KERNEL_MISSING))


@pytest.fixture
def jail() -> Iterator[Jail]:
    with Jail.temporary(name=f"aio-{uuid.uuid4().hex[:8]}", path="/") as j:
        yield j


# ---- many at once, no thread ---------------------------------------------------------------


def test_many_jailed_processes_at_once(jail: Jail, monkeypatch: pytest.MonkeyPatch) -> None:
    threads_before = threading.active_count()

    def no_thread(self: threading.Thread) -> None:
        raise AssertionError(f"a thread was started: {self!r}")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    seen_threads: list[int] = []

    async def main() -> tuple[float, list[subprocess.CompletedProcess[Any]]]:
        start = time.monotonic()
        jobs = [
            asyncio.ensure_future(
                jail.run_async([SH, "-c", f"sleep 0.5; echo done {i}"], capture_output=True)
            )
            for i in range(20)
        ]
        await asyncio.sleep(0.1)  # all of them are sleeping now
        seen_threads.append(threading.active_count())
        results = await asyncio.gather(*jobs)
        return time.monotonic() - start, results

    elapsed, results = arun(main())
    assert [r.stdout for r in results] == [f"done {i}\n".encode() for i in range(20)]
    assert all(r.returncode == 0 and r.stderr == b"" for r in results)
    assert seen_threads == [threads_before]
    assert threading.active_count() == threads_before
    # One after the other they would take 20 x 0.5 s; together, about one of them.
    assert 0.5 <= elapsed < 5.0


def test_supervising_with_spawn_async_and_wait(jail: Jail) -> None:
    async def main() -> list[int]:
        procs = [
            await jail.spawn_async([SH, "-c", f"sleep 0.1; exit {i}"]) for i in range(10)
        ]
        return list(await asyncio.gather(*(p.wait() for p in procs)))

    assert arun(main()) == list(range(10))


# ---- the process object ----------------------------------------------------------------------


def test_process_object_like_asyncio(jail: Jail) -> None:
    async def main() -> None:
        proc = await jail.spawn_async(["/bin/cat"], stdin=PIPE, stdout=PIPE)
        assert isinstance(proc, AsyncJailProcess)
        assert proc.pid > 0 and proc.returncode is None
        assert proc.jail == jail
        assert proc.args == ["/bin/cat"]
        assert isinstance(proc.stdin, asyncio.StreamWriter)
        assert isinstance(proc.stdout, asyncio.StreamReader)
        assert proc.stderr is None
        proc.stdin.write(b"line one\n")
        await proc.stdin.drain()
        assert await proc.stdout.readline() == b"line one\n"
        proc.stdin.close()
        assert await proc.stdout.read() == b""
        assert await proc.wait() == 0
        assert proc.returncode == 0
        assert await proc.wait() == 0  # again: the same
        assert str(proc.pid) in repr(proc)

    arun(main())


def test_no_pipes_asked_no_streams(jail: Jail) -> None:
    async def main() -> AsyncJailProcess:
        proc = await jail.spawn_async(TRUE, stdout=subprocess.DEVNULL)
        assert (proc.stdin, proc.stdout, proc.stderr) == (None, None, None)
        await proc.wait()
        return proc

    assert arun(main()).returncode == 0


def test_communicate_with_input(jail: Jail) -> None:
    async def main() -> tuple[Any, Any, int | None]:
        proc = await jail.spawn_async(
            [SH, "-c", "tr a-z A-Z; echo oops >&2; exit 5"], stdin=PIPE, stdout=PIPE, stderr=PIPE
        )
        out, err = await proc.communicate(b"hello jail\n")
        return out, err, proc.returncode

    assert arun(main()) == (b"HELLO JAIL\n", b"oops\n", 5)


def test_communicate_a_lot_both_ways(jail: Jail) -> None:
    data = os.urandom(1 << 20) * 3  # far more than pipes and stream buffers hold

    async def main() -> bytes | None:
        proc = await jail.spawn_async(["/bin/cat"], stdin=PIPE, stdout=PIPE, limit=4096)
        out, _ = await proc.communicate(data)
        return out

    assert arun(main()) == data


def test_communicate_when_the_child_does_not_read(jail: Jail) -> None:
    async def main() -> tuple[Any, int]:
        proc = await jail.spawn_async(["/bin/echo", "no reading"], stdin=PIPE, stdout=PIPE)
        out, _ = await proc.communicate(b"x" * (1 << 20))
        return out, await proc.wait()

    assert arun(main()) == (b"no reading\n", 0)


def test_communicate_input_needs_a_stdin_pipe(jail: Jail) -> None:
    async def main() -> None:
        proc = await jail.spawn_async(TRUE)
        with pytest.raises(ValueError, match="stdin=PIPE"):
            await proc.communicate(b"data")
        await proc.wait()

    arun(main())


def test_text_mode_is_refused_for_spawn_async(jail: Jail) -> None:
    async def main() -> None:
        for kw in ({"text": True}, {"universal_newlines": True}, {"encoding": "utf-8"}):
            with pytest.raises(ValueError, match="bytes only"):
                await jail.spawn_async(TRUE, **kw)
        with pytest.raises(ValueError, match="unbuffered"):
            await jail.spawn_async(TRUE, bufsize=4096)

    arun(main())


def test_spawn_errors_are_those_of_spawn(jail: Jail) -> None:
    async def main() -> None:
        with pytest.raises(FileNotFoundError):
            await jail.spawn_async(["/nonexistent/program"], stdout=PIPE)

    before = open_fds()
    arun(main())
    assert open_fds() == before


def test_setup_failure_kills_and_reaps_the_child(
    jail: Jail, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids: list[int] = []

    async def broken(self: AsyncJailProcess, limit: int) -> None:
        pids.append(self.pid)
        raise RuntimeError("connecting the pipes failed")

    monkeypatch.setattr(AsyncJailProcess, "_connect", broken)
    before = open_fds()
    with pytest.raises(RuntimeError, match="connecting"):
        arun(jail.spawn_async(["/bin/sleep", "30"], stdin=PIPE, stdout=PIPE, stderr=PIPE))
    assert open_fds() == before
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)  # reaped already
    jail.update(persist=False)
    with pytest.raises(JailNotFoundError):
        Jail.get(jail.jid)


# ---- signals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "sig"),
    [("kill", signal.SIGKILL), ("terminate", signal.SIGTERM), ("send_signal", signal.SIGUSR1)],
)
def test_signals(jail: Jail, method: str, sig: int) -> None:
    async def main() -> int:
        proc = await jail.spawn_async(["/bin/sleep", "30"])
        if method == "send_signal":
            proc.send_signal(sig)
        else:
            getattr(proc, method)()
        return await asyncio.wait_for(proc.wait(), 10)

    assert arun(main()) == -sig


def test_signal_after_exit_is_harmless(jail: Jail) -> None:
    async def main() -> int | None:
        proc = await jail.spawn_async(TRUE)
        await proc.wait()
        proc.kill()
        proc.terminate()
        return proc.returncode

    assert arun(main()) == 0


def test_remove_kills_an_async_child(jail: Jail) -> None:
    async def main() -> tuple[int, float]:
        proc = await jail.spawn_async(["/bin/sleep", "30"])
        await asyncio.sleep(0.05)
        start = time.monotonic()
        jail.remove()
        code = await asyncio.wait_for(proc.wait(), 10)
        return code, time.monotonic() - start

    code, took = arun(main())
    assert code == -signal.SIGKILL
    assert took < 5
    with pytest.raises(JailNotFoundError):
        Jail.get(jail.jid)


# ---- run_async --------------------------------------------------------------------------


def test_run_async_completed_process(jail: Jail) -> None:
    r = arun(jail.run_async(["/bin/echo", "hi"], capture_output=True))
    assert isinstance(r, subprocess.CompletedProcess)
    assert (r.args, r.returncode, r.stdout, r.stderr) == (["/bin/echo", "hi"], 0, b"hi\n", b"")


def test_run_async_without_capture(jail: Jail) -> None:
    r = arun(jail.run_async([SH, "-c", "exit 3"]))
    assert (r.returncode, r.stdout, r.stderr) == (3, None, None)


def test_run_async_input(jail: Jail) -> None:
    r = arun(jail.run_async(["/bin/cat"], input=b"fed in\n", capture_output=True))
    assert r.stdout == b"fed in\n"


def test_run_async_text(jail: Jail) -> None:
    r = arun(
        jail.run_async(
            [SH, "-c", "cat; printf 'x\\r\\ny\\n'"], input="é\n", capture_output=True, text=True,
            encoding="utf-8",
        )
    )
    assert r.stdout == "é\nx\ny\n"
    assert r.stderr == ""


def test_run_async_check(jail: Jail) -> None:
    with pytest.raises(subprocess.CalledProcessError) as info:
        arun(jail.run_async([SH, "-c", "echo out; echo err >&2; exit 7"], capture_output=True,
                            check=True))
    e = info.value
    assert (e.returncode, e.stdout, e.stderr) == (7, b"out\n", b"err\n")
    assert e.cmd == [SH, "-c", "echo out; echo err >&2; exit 7"]
    ok = arun(jail.run_async(TRUE, check=True))
    assert ok.returncode == 0


def test_run_async_timeout_kills_and_keeps_the_output(jail: Jail) -> None:
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as info:
        arun(jail.run_async([SH, "-c", "echo early; exec sleep 30"], capture_output=True,
                            timeout=0.5))
    took = time.monotonic() - start
    assert 0.5 <= took < 5
    e = info.value
    assert e.timeout == 0.5
    assert e.stdout == b"early\n"
    assert e.stderr == b""


def test_run_async_argument_errors(jail: Jail) -> None:
    with pytest.raises(ValueError, match="stdin and input"):
        arun(jail.run_async(["/bin/cat"], input=b"x", stdin=PIPE))
    with pytest.raises(ValueError, match="capture_output"):
        arun(jail.run_async(["/bin/cat"], capture_output=True, stdout=PIPE))
    with pytest.raises(TypeError):
        arun(jail.run_async(["/bin/cat"], input="text without text=True"))


def test_cancelled_run_async_kills_the_child(jail: Jail) -> None:
    watched = Jail.create(name=f"{jail.name}.w", path="/")

    async def main() -> None:
        task = asyncio.ensure_future(
            watched.run_async(["/bin/sleep", "30"], capture_output=True)
        )
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    arun(main())
    # The jail persists; with persist cleared it must vanish at once, having no process.
    watched.update(persist=False)
    with pytest.raises(JailNotFoundError):
        Jail.get(watched.jid)


def test_no_descriptor_left_behind(jail: Jail) -> None:
    async def main() -> None:
        for _ in range(10):
            await jail.run_async(["/bin/cat"], input=b"x", capture_output=True)
        proc = await jail.spawn_async(["/bin/sleep", "30"])
        proc.kill()
        await proc.wait()

    arun(main())  # a first loop opens what asyncio keeps for good
    before = open_fds()
    arun(main())
    assert open_fds() == before


def test_polling_fallback(jail: Jail, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a pidfd is refused (old Linux, sandbox), the exit is polled."""

    def refused(pid: int, flags: int = 0) -> int:
        raise PermissionError(1, "refused by the test")

    monkeypatch.setattr(os, "pidfd_open", refused, raising=False)

    async def main() -> list[int]:
        procs = [await jail.spawn_async([SH, "-c", f"sleep 0.1; exit {i}"]) for i in range(5)]
        killed = await jail.spawn_async(["/bin/sleep", "30"])
        killed.kill()
        return [*await asyncio.gather(*(p.wait() for p in procs)), await killed.wait()]

    assert arun(main()) == [0, 1, 2, 3, 4, -signal.SIGKILL]


def test_the_process_counts_in_the_jail(jail: Jail) -> None:
    """A jail without persist lives while its async child runs, and dies with it."""
    j = Jail.create(name=f"{jail.name}.c", path="/")

    async def main() -> None:
        proc = await j.spawn_async(["/bin/sleep", "0.3"])
        j.update(persist=False)
        assert Jail.get(j.jid) == j  # held by its process
        assert await proc.wait() == 0

    arun(main())
    with pytest.raises(JailNotFoundError):
        Jail.get(j.jid)
    assert jailcore.model.current_jid() == 0


# ---- kernel twin ------------------------------------------------------------------------


@pytest.mark.kernel
@needs_kernel
def test_kernel_run_async_and_remove() -> None:
    with Jail.temporary(name=f"jc-aio-{uuid.uuid4().hex[:8]}", path="/") as j:

        async def main() -> tuple[list[bytes], int]:
            runs = await asyncio.gather(
                *(j.run_async(["/bin/echo", str(i)], capture_output=True) for i in range(5))
            )
            proc = await j.spawn_async(["/bin/sleep", "30"])
            j.remove()
            return [r.stdout for r in runs], await asyncio.wait_for(proc.wait(), 10)

        outs, code = arun(main())
        assert outs == [f"{i}\n".encode() for i in range(5)]
        assert code == -signal.SIGKILL
