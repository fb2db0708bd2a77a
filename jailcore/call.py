"""Python code inside a jail: :meth:`jailcore.Jail.call` and :class:`JailCallError`.

The callable runs in a forked child that attaches to the jail, so the calling
process stays where it is (attaching is one-way).  The child sends back, through
a pipe, a small header of plain strings (what happened, the type name, a short
message, the formatted traceback) followed by the pickled result or exception;
the header alone lets the parent report a result or an exception that cannot
travel, by its type name and message.  The report is framed by its length and
the parent reads that much and no more, so the call returns when the callable
does, even if the callable forked a long-lived process (which holds the pipe
too); only the child reports, never a process the callable forked.
"""

from __future__ import annotations

import os
import pickle
import select
import signal as _signal
import struct
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

if TYPE_CHECKING:
    from jailcore.jail import Jail

__all__ = ["JailCallError", "call_in_jail"]

R = TypeVar("R")

# Exit statuses of the child; they matter only when no complete report arrives.
_SENT = 0
_NOT_SENT = 70  # EX_SOFTWARE: writing the report failed (the parent went away)


class JailCallError(ChildProcessError):
    """:meth:`jailcore.Jail.call` could not bring back a result or an exception.

    Either the child died without reporting (killed by a signal, for instance by
    ``remove()`` of the jail, or it exited on its own, through ``os._exit`` or
    ``sys.exit``), or what it reported cannot travel (a result or exception that
    cannot be pickled in the child or unpickled here).

    ``signal`` is the signal that killed the child, or None; ``returncode`` is
    its status as :class:`subprocess.Popen` gives it (negative for a signal),
    or None if it was not known.  When the callable's result or exception could
    not travel, ``remote_type`` is its type's qualified name and
    ``remote_message`` its ``repr`` (a result) or ``str`` (an exception); for an
    exception, ``__cause__`` carries the child's traceback as well.
    """

    signal: int | None
    returncode: int | None
    remote_type: str | None
    remote_message: str | None

    def __init__(
        self,
        message: str,
        *,
        signal: int | None = None,
        returncode: int | None = None,
        remote_type: str | None = None,
        remote_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.signal = signal
        self.returncode = returncode
        self.remote_type = remote_type
        self.remote_message = remote_message

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class _RemoteTraceback(Exception):
    """The ``__cause__`` of an exception re-raised from a child: its ``str`` is
    the traceback the child formatted (as :mod:`concurrent.futures` does)."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return self.tb


def _type_name(obj: object) -> str:
    t = type(obj)
    mod = getattr(t, "__module__", None)
    qual = getattr(t, "__qualname__", t.__name__)
    return qual if mod in (None, "builtins") else f"{mod}.{qual}"


def _func_name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    return str(name) if name else repr(func)


def _safe_str(obj: object) -> str:
    try:
        return str(obj)
    except Exception:
        return f"<str() of a {_type_name(obj)} failed>"


def _safe_repr(obj: object) -> str:
    import reprlib

    try:
        return reprlib.repr(obj)
    except Exception:
        return f"<repr() of a {_type_name(obj)} failed>"


def _format_tb(exc: BaseException) -> str:
    import traceback

    try:
        return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:
        return f"{_type_name(exc)}: {_safe_str(exc)} (its traceback could not be formatted)\n"


def _pickle(obj: object) -> tuple[bytes | None, str | None]:
    """The pickle of ``obj``, or None and why not."""
    try:
        return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL), None
    except BaseException as exc:
        return None, f"could not be pickled ({_type_name(exc)}: {_safe_str(exc)})"


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass


_ready = False


def _import_what_the_child_needs() -> None:
    """Import, here before forking, all that the child's report may need.

    After attaching, the child's root is the jail's, which may hold no Python
    at all: an import there fails.  So the modules that formatting, repr and
    pickling import lazily are imported now, once per process, and exercised
    once on an exception so that what they import on first use is loaded too.
    """
    global _ready
    if _ready:
        return
    import reprlib  # noqa: F401  (used by _safe_repr)
    import traceback  # noqa: F401  (used by _format_tb)

    try:
        raise _RemoteTraceback("warm-up")
    except _RemoteTraceback as exc:
        _format_tb(exc)
        _safe_repr(exc)
        _pickle(exc)
        pickle.loads(pickle.dumps(("err", "t", "m", "tb", None), pickle.HIGHEST_PROTOCOL))
    _ready = True


def _close_directories() -> None:
    """Close the child's directory descriptors (copies of this process's):
    FreeBSD refuses to attach a process that holds one (pwd_chroot_chdir)."""
    from jailcore.jail import _open_directories

    for fd in _open_directories():
        os.close(fd)


def _child(jail: Jail, func: Callable[..., Any], args: Any, kwargs: Any, w: int) -> int:
    """The forked child's whole life; returns its exit status."""
    me = os.getpid()
    try:
        _close_directories()
        jail.attach()
        result = func(*args, **kwargs)
    except SystemExit as exc:
        if os.getpid() != me:
            return 0  # a process the callable forked: only the child reports

        # The callable asked the child to exit: it does, and reports nothing.
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        print(_safe_str(code), file=sys.stderr)
        return 1
    except BaseException as exc:
        if os.getpid() != me:
            return 1
        body, problem = _pickle(exc)
        header: tuple[Any, ...] = ("err", _type_name(exc), _safe_str(exc), _format_tb(exc), problem)
    else:
        if os.getpid() != me:
            return 0
        body, problem = _pickle(result)
        header = ("ok", _type_name(result), _safe_repr(result), None, problem)
    data = pickle.dumps(header, pickle.HIGHEST_PROTOCOL)
    if body is not None:
        data += body
    # Framed by its length: the parent reads the report and no more, so a
    # process the callable forked, which holds the pipe too, neither delays
    # nor corrupts it.
    data = _FRAME.pack(len(data)) + data
    try:
        with open(w, "wb", closefd=False) as f:
            f.write(data)
    except BaseException:
        return _NOT_SENT
    return _SENT


_FRAME = struct.Struct("!Q")


def _read_report(r: int, pid: int) -> tuple[bytes, int]:
    """The child's report (its frame's contents; what came of it when the
    child sent only part of one) and its wait status.  Reads the frame and
    stops: the pipe may stay open in processes the callable forked, long after
    the child is gone.  Closes ``r``."""
    buf = b""
    need: int | None = None
    exited = False
    poller = select.poll()  # not select(): the pipe's descriptor may be above FD_SETSIZE
    poller.register(r, select.POLLIN)
    try:
        while need is None or len(buf) < need:
            if need is None and len(buf) >= _FRAME.size:
                need = _FRAME.size + _FRAME.unpack_from(buf)[0]
                continue
            if poller.poll(50):
                chunk = os.read(r, 1 << 16)
                if not chunk:
                    break  # every writer is gone
                buf += chunk
            elif exited:
                break  # the child is gone and nothing more came
            else:
                # Whether the child has exited, leaving it to be reaped below.
                exited = os.waitid(os.P_PID, pid,
                                   os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    finally:
        os.close(r)
    status = os.waitpid(pid, 0)[1]
    return buf[_FRAME.size : need], status


def _describe_status(status: int) -> tuple[str, int | None, int]:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            name = _signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}", -code, code
    return f"exited with status {code}", None, code


def _raise_remote(exc: BaseException, tb: str, jid: int, pid: int, fname: str) -> NoReturn:
    exc.__cause__ = _RemoteTraceback(f'\n"""\n{tb}"""')
    if sys.version_info >= (3, 11):
        exc.add_note(
            f"Raised by {fname} in jail {jid} (child process {pid} of Jail.call); "
            "its traceback there is this exception's cause."
        )
    raise exc


def call_in_jail(jail: Jail, func: Callable[..., R], args: Any, kwargs: Any) -> R:
    """The body of :meth:`jailcore.Jail.call`."""
    if not callable(func):
        raise TypeError(f"Jail.call needs a callable, not {func!r}")
    fname = _func_name(func)
    _import_what_the_child_needs()
    _flush_stdio()  # or the child would write this process's buffered output again
    r, w = os.pipe()
    try:
        pid = os.fork()
    except BaseException:
        os.close(r)
        os.close(w)
        raise
    if pid == 0:  # pragma: no cover - the child; its outcome is what the tests check
        status = 1
        try:
            os.close(r)
            status = _child(jail, func, args, kwargs, w)
            _flush_stdio()
        finally:
            os._exit(status)
    os.close(w)
    try:
        data, wstatus = _read_report(r, pid)
    except BaseException:
        # Interrupted (KeyboardInterrupt, say): the child must not outlive the call.
        try:
            os.kill(pid, _signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        raise
    how, sig, code = _describe_status(wstatus)

    import io

    stream = io.BytesIO(data)

    def died() -> JailCallError:
        if not data:
            what = f"Jail.call: the child running {fname} in jail {jail.jid} {how} without a result"
        else:
            what = (
                f"Jail.call: the child running {fname} in jail {jail.jid} {how} "
                f"after an incomplete report ({len(data)} bytes)"
            )
        return JailCallError(what, signal=sig, returncode=code)

    try:
        header = pickle.load(stream)
        kind, tname, message, tb, problem = header
    except Exception:
        raise died() from None

    value: Any = None
    if problem is None:
        try:
            value = pickle.load(stream)
        except Exception as exc:
            if code != _SENT:  # cut short: the child did not finish its report
                raise died() from None
            problem = f"could not be unpickled here ({_type_name(exc)}: {exc})"
    if problem is None and kind == "err" and not isinstance(value, BaseException):
        problem = f"arrived as a {_type_name(value)}, not an exception"
    if problem is None:
        if kind == "ok":
            return value  # type: ignore[no-any-return]
        _raise_remote(value, tb, jail.jid, pid, fname)
    if kind == "ok":
        err = JailCallError(
            f"Jail.call: {fname} returned {message} (a {tname}), which {problem}",
            returncode=code, remote_type=tname, remote_message=message,
        )
        raise err
    err = JailCallError(
        f"Jail.call: {fname} raised {tname}: {message} -- the exception {problem}",
        returncode=code, remote_type=tname, remote_message=message,
    )
    err.__cause__ = _RemoteTraceback(f'\n"""\n{tb}"""')
    raise err
