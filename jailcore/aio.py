"""Programs inside jails under asyncio, without threads.

:meth:`jailcore.Jail.spawn_async` starts a program with :meth:`jailcore.Jail.spawn`
(jailcore's C spawn helper, unbuffered pipes) and hands its pipes to asyncio's own
pipe transports (:meth:`asyncio.AbstractEventLoop.connect_read_pipe` and
:meth:`~asyncio.AbstractEventLoop.connect_write_pipe`) wrapped in
:class:`asyncio.StreamReader` and :class:`asyncio.StreamWriter`.  The child's exit
is watched by the event loop itself: a pidfd on Linux, a kqueue ``EVFILT_PROC``
``NOTE_EXIT`` filter on FreeBSD (and the other kqueue systems), both registered
with :meth:`~asyncio.AbstractEventLoop.add_reader`; elsewhere, or where those are
refused, a polling coroutine with a bounded interval.  No thread and no SIGCHLD
handler is involved, so a daemon can supervise many jailed processes at once.
"""

from __future__ import annotations

import asyncio
import io
import os
import select
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jailcore.process import process_repr, run_pipes

if TYPE_CHECKING:
    from jailcore.events import JailEvent, PollingWatcher, Watcher
    from jailcore.jail import Jail, JailDescriptor
    from jailcore.process import JailProcess

__all__ = ["AsyncJailProcess", "AsyncWatcher", "run", "spawn", "watch"]

#: The longest pause of the polling fallback between two looks at the child.
POLL_MAX_INTERVAL = 0.05

_TEXT_KEYWORDS = ("text", "universal_newlines", "encoding", "errors")


def _returning(proto: asyncio.StreamReaderProtocol) -> Callable[[], asyncio.StreamReaderProtocol]:
    return lambda: proto


class AsyncJailProcess:
    """A process started inside a jail, as :class:`asyncio.subprocess.Process` is.

    Made by :meth:`jailcore.Jail.spawn_async`.  ``stdin`` is an
    :class:`asyncio.StreamWriter`, ``stdout`` and ``stderr`` are
    :class:`asyncio.StreamReader` objects where ``PIPE`` was asked, None otherwise.
    As with asyncio's processes, :meth:`wait` with a pipe nobody reads can block
    forever once the pipe is full: use :meth:`communicate`.
    """

    stdin: asyncio.StreamWriter | None
    stdout: asyncio.StreamReader | None
    stderr: asyncio.StreamReader | None

    def __init__(self, popen: JailProcess, loop: asyncio.AbstractEventLoop) -> None:
        self._popen = popen
        self._loop = loop
        self.stdin = None
        self.stdout = None
        self.stderr = None
        self._exit: asyncio.Future[int] = loop.create_future()
        self._poller: asyncio.Task[None] | None = None
        self._watch_fd = -1
        self._kqueue: Any = None
        self._transports: list[asyncio.BaseTransport] = []

    # -- identity

    @property
    def pid(self) -> int:
        """The process id."""
        return self._popen.pid

    @property
    def args(self) -> Any:
        """The ``args`` given to :meth:`jailcore.Jail.spawn_async`."""
        return self._popen.args

    @property
    def jail(self) -> Jail:
        """The jail the process runs in."""
        return self._popen.jail

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has been reaped (negative: the
        signal that killed it), None before."""
        return self._popen.returncode

    def __repr__(self) -> str:
        return process_repr(type(self).__name__, self.pid, self.jail, self.args,
                            self.returncode)

    # -- setting up

    async def _connect(self, limit: int) -> None:
        loop = self._loop
        popen = self._popen
        if popen.stdin is not None:
            proto = asyncio.StreamReaderProtocol(asyncio.StreamReader(limit=limit))
            transport, _ = await loop.connect_write_pipe(_returning(proto), popen.stdin)
            self._transports.append(transport)
            self.stdin = asyncio.StreamWriter(transport, proto, None, loop)
        for name in ("stdout", "stderr"):
            pipe = getattr(popen, name)
            if pipe is None:
                continue
            reader = asyncio.StreamReader(limit=limit)
            rproto = asyncio.StreamReaderProtocol(reader)
            rtransport, _ = await loop.connect_read_pipe(_returning(rproto), pipe)
            self._transports.append(rtransport)
            setattr(self, name, reader)

    def _watch(self) -> None:
        """Arrange for :attr:`_exit` to be set when the child exits."""
        loop = self._loop
        if sys.platform == "linux":
            try:
                fd = os.pidfd_open(self.pid)
            except OSError:  # before Linux 5.3, or refused by a sandbox
                fd = -1
            if fd >= 0:
                try:
                    loop.add_reader(fd, self._on_exit_event)
                except (NotImplementedError, OSError, ValueError):
                    os.close(fd)
                else:
                    self._watch_fd = fd
                    return
        elif sys.platform != "win32":
            kq = select.kqueue()
            try:
                kq.control(
                    [select.kevent(self.pid, select.KQ_FILTER_PROC,
                                   select.KQ_EV_ADD | select.KQ_EV_ONESHOT,
                                   select.KQ_NOTE_EXIT)],
                    0, 0,
                )
                loop.add_reader(kq.fileno(), self._on_exit_event)
            except (NotImplementedError, OSError, ValueError):
                kq.close()
            else:
                self._kqueue = kq
                self._watch_fd = kq.fileno()
                return
        self._poller = loop.create_task(self._poll())

    def _close_pipes(self) -> None:
        for transport in self._transports:
            transport.close()

    def _stop_watching(self) -> None:
        if self._watch_fd >= 0:
            self._loop.remove_reader(self._watch_fd)
            if self._kqueue is not None:
                self._kqueue.close()
                self._kqueue = None
            else:
                os.close(self._watch_fd)
            self._watch_fd = -1

    def _on_exit_event(self) -> None:
        self._stop_watching()
        code = self._popen.poll()
        if code is None:
            # kqueue reports NOTE_EXIT a moment before the child can be reaped.
            self._poller = self._loop.create_task(self._poll())
        elif not self._exit.done():
            self._exit.set_result(code)

    async def _poll(self) -> None:
        delay = 0.001
        while True:
            code = self._popen.poll()
            if code is not None:
                if not self._exit.done():
                    self._exit.set_result(code)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, POLL_MAX_INTERVAL)

    # -- the asyncio.subprocess.Process interface

    async def wait(self) -> int:
        """Wait for the process to exit; its :attr:`returncode`."""
        return await asyncio.shield(self._exit)

    def send_signal(self, sig: int) -> None:
        """Send signal ``sig``; nothing once the process has been reaped."""
        self._popen.send_signal(sig)

    def terminate(self) -> None:
        """SIGTERM."""
        self._popen.terminate()

    def kill(self) -> None:
        """SIGKILL."""
        self._popen.kill()

    async def _feed_stdin(self, input: bytes | None) -> None:
        assert self.stdin is not None
        try:
            if input:
                self.stdin.write(input)
                await self.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child does not read all of it: as asyncio and subprocess do
        self.stdin.close()
        try:
            await self.stdin.wait_closed()
        except (BrokenPipeError, ConnectionResetError):
            pass

    async def communicate(self, input: bytes | None = None) -> tuple[bytes | None, bytes | None]:
        """Send ``input`` to stdin (then close it), read stdout and stderr to their
        end, wait for the exit; ``(stdout_data, stderr_data)``, None for a stream
        that is not a pipe.  ``input`` needs ``stdin=PIPE``."""
        out = bytearray()
        err = bytearray()
        await self._communicate(input, out, err)
        return (
            bytes(out) if self.stdout is not None else None,
            bytes(err) if self.stderr is not None else None,
        )

    async def _communicate(self, input: bytes | None, out: bytearray, err: bytearray) -> None:
        """communicate() into buffers owned by the caller, so that what was read
        before a timeout or a cancellation is still there."""
        if input is not None and self.stdin is None:
            raise ValueError("input needs stdin=PIPE")
        jobs = []
        if self.stdin is not None:
            jobs.append(self._feed_stdin(input))
        if self.stdout is not None:
            jobs.append(_collect(self.stdout, out))
        if self.stderr is not None:
            jobs.append(_collect(self.stderr, err))
        if jobs:
            await asyncio.gather(*jobs)
        await self.wait()


async def _collect(stream: asyncio.StreamReader, into: bytearray) -> None:
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return
        into += chunk


async def spawn(
    jail: Jail,
    args: Any,
    *,
    stdin: Any = None,
    stdout: Any = None,
    stderr: Any = None,
    limit: int = 2**16,
    **kwargs: Any,
) -> AsyncJailProcess:
    """The body of :meth:`jailcore.Jail.spawn_async`."""
    for name in _TEXT_KEYWORDS:
        if kwargs.get(name):
            raise ValueError(f"{name}: an asyncio process's pipes carry bytes only")
        kwargs.pop(name, None)
    if kwargs.pop("bufsize", 0) not in (0, -1):
        raise ValueError("bufsize: an asyncio process's pipes are unbuffered")
    loop = asyncio.get_running_loop()
    popen = jail.spawn(args, stdin=stdin, stdout=stdout, stderr=stderr, bufsize=0, **kwargs)
    proc = AsyncJailProcess(popen, loop)
    try:
        await proc._connect(limit)
        proc._watch()
    except BaseException:
        proc._close_pipes()
        popen.kill()
        for pipe in (popen.stdin, popen.stdout, popen.stderr):
            if pipe is not None:
                pipe.close()
        popen.wait()
        raise
    return proc


def _decode(data: bytes, encoding: str | None, errors: str | None) -> str:
    """Bytes to text as subprocess's text mode does (universal newlines)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors=errors).read()


def _encode(text: str, encoding: str | None, errors: str | None) -> bytes:
    buf = io.BytesIO()
    w = io.TextIOWrapper(buf, encoding=encoding, errors=errors, write_through=True)
    w.write(text)
    w.flush()
    w.detach()
    return buf.getvalue()


async def run(
    jail: Jail,
    args: Any,
    *,
    input: Any = None,
    capture_output: bool = False,
    check: bool = False,
    timeout: float | None = None,
    text: bool = False,
    encoding: str | None = None,
    errors: str | None = None,
    **kwargs: Any,
) -> subprocess.CompletedProcess[Any]:
    """The body of :meth:`jailcore.Jail.run_async`."""
    text_mode = bool(text or encoding or errors or kwargs.pop("universal_newlines", False))
    run_pipes(input, capture_output, kwargs)
    if input is not None:
        if text_mode:
            if not isinstance(input, str):
                raise TypeError(f"input is text in text mode, not {type(input).__name__}")
            input = _encode(input, encoding, errors)
        elif isinstance(input, str):
            raise TypeError("input is bytes unless text=True")
        else:
            input = bytes(input)
    proc = await spawn(jail, args, **kwargs)
    out = bytearray()
    err = bytearray()

    def outputs() -> tuple[Any, Any]:
        o: Any = bytes(out) if proc.stdout is not None else None
        e: Any = bytes(err) if proc.stderr is not None else None
        if text_mode:
            o = None if o is None else _decode(o, encoding, errors)
            e = None if e is None else _decode(e, encoding, errors)
        return o, e

    job = asyncio.ensure_future(proc._communicate(input, out, err))
    try:
        await asyncio.wait_for(asyncio.shield(job), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await job  # the pipes end with the child (as subprocess.run reads them again)
        o, e = outputs()
        assert timeout is not None
        raise subprocess.TimeoutExpired(proc.args, timeout, output=o, stderr=e) from None
    except BaseException:
        proc.kill()
        job.cancel()
        proc._close_pipes()
        await proc.wait()
        raise
    code = proc.returncode
    assert code is not None
    o, e = outputs()
    if check and code:
        raise subprocess.CalledProcessError(code, proc.args, output=o, stderr=e)
    return subprocess.CompletedProcess(proc.args, code, o, e)


# ---- jail events ------------------------------------------------------------------


class AsyncWatcher:
    """A jail :class:`~jailcore.events.Watcher` for asyncio: ``async for event
    in watcher`` waits on the kqueue's descriptor with the event loop's
    :meth:`~asyncio.AbstractEventLoop.add_reader`, so it never blocks the
    loop.  Made by :func:`watch`; ``async with`` closes it."""

    def __init__(self, watcher: Watcher | PollingWatcher) -> None:
        self.watcher = watcher
        self._pending: list[JailEvent] = []

    async def _readable(self) -> None:
        from jailcore.events import PollingWatcher

        if isinstance(self.watcher, PollingWatcher):
            await asyncio.sleep(self.watcher.interval)
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        fd = self.watcher.fileno()

        def ready() -> None:
            if not fut.done():
                fut.set_result(None)

        loop.add_reader(fd, ready)
        try:
            await fut
        finally:
            loop.remove_reader(fd)

    async def read(self, timeout: float | None = None) -> list[JailEvent]:
        """The events pending, waiting up to ``timeout`` seconds for one
        (None: as long as it takes); [] when none came."""
        if self._pending:
            out, self._pending = self._pending, []
            return out
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while True:
            events = self.watcher.read(0)
            if events:
                return events
            if deadline is None:
                await self._readable()
                continue
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return []
            try:
                await asyncio.wait_for(self._readable(), left)
            except asyncio.TimeoutError:
                return []

    def __aiter__(self) -> AsyncWatcher:
        return self

    async def __anext__(self) -> JailEvent:
        while not self._pending:
            self._pending = await self.read()
        return self._pending.pop(0)

    def close(self) -> None:
        """Close the watcher's kqueue."""
        self.watcher.close()

    async def __aenter__(self) -> AsyncWatcher:
        """The watcher itself."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the watcher's kqueue."""
        self.close()


async def watch(jail: Jail | JailDescriptor | int | None = None, events: int = 0xF0000000, *,
                children: bool | None = None, fallback: str = "error",
                interval: float = 1.0) -> AsyncWatcher:
    """:func:`jailcore.watch` for asyncio: ``async with await
    jailcore.aio.watch() as w: async for event in w: ...``."""
    from jailcore.events import watch as sync_watch

    return AsyncWatcher(sync_watch(jail, events, children=children, fallback=fallback,
                                   interval=interval))
