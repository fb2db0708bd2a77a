"""Running programs inside jails, without jexec and without Python between fork and exec.

:class:`JailProcess` is a :class:`subprocess.Popen` whose child is started by
jailcore's C spawn helper: fork, close the descriptors the program will not get
(FreeBSD refuses to attach a process holding an open directory descriptor),
attach to the jail, change directory, reset signals, arrange file
descriptors, exec.  When a user or a login environment is asked for
(``user=``, ``host_user=``, ``login=``: jexec's ``-U``, ``-u``, ``-l``), the
child executes ``jailcore-jexec`` instead, before attaching: a small program
of jailcore's that, as a fresh single-threaded process, may do what the
forked child of a threaded process may not (getpwnam, initgroups, the login
class), in jexec(8)'s order, then runs the program (see :doc:`/jexec`).
Everything else (pipes, ``communicate``, ``wait``, timeouts, text mode) is
Popen's own, so it behaves as subprocess users expect.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jailcore import _backend
from jailcore.errors import jail_error

if TYPE_CHECKING:
    from jailcore.jail import Jail

__all__ = ["JEXEC", "LOGIN_PATH", "JailProcess", "UserRequest", "run_pipes", "run_to_completion"]

#: PATH of ``login=True`` off FreeBSD, where there are no login classes: that of
#: FreeBSD's default class (``~/bin`` expanded); jailcore-jexec sets it.
LOGIN_PATH = "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:{home}/bin"
#: Where a program without a slash is looked for when the environment has no PATH
#: (execvp(3)'s default on FreeBSD).
DEFAULT_PATH = "/usr/bin:/bin"

_STEPS = {
    1: "pipe",
    2: "fork",
    3: "jail_attach",
    4: "chdir",
    5: "setgroups",
    6: "setgid",
    7: "setuid",
    8: "sigprocmask",
    9: "file descriptors",
    10: "execve",
    11: "getpwnam",
    12: "login_getpwclass",
    13: "setusercontext",
    14: "setenv",
    15: "chdir",
    16: "execve",
    17: "setfib",
    18: "setsid",
}
_STEP_GETPWNAM, _STEP_HOMEDIR, _STEP_HELPER = 11, 15, 16

#: The program the spawn helper runs, in place of the user's, when a user or a
#: login environment is asked for: it looks the user up as jexec(8) does
#: (csrc/jexec.c), then runs the user's program.
JEXEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jailcore-jexec")

Args = str | bytes | os.PathLike[str] | Sequence[str | bytes | os.PathLike[str]]


@dataclass(frozen=True)
class UserRequest:
    """Which user jailcore-jexec looks up, as jexec's options say it: ``mode``
    ``U`` (``name`` in the jail's databases, after attaching), ``u`` (in the
    host's, before), ``l`` (the real uid's entry in the host's); ``name`` is
    ``#UID`` for a user given by number."""

    mode: str
    name: str
    login: bool

    @classmethod
    def of(cls, user: str | int | None, host_user: str | int | None,
           login: bool) -> UserRequest | None:
        if user is not None and host_user is not None:
            raise ValueError("user and host_user exclude each other (jexec's -U and -u)")
        for given, mode in ((user, "U"), (host_user, "u")):
            if given is None:
                continue
            if isinstance(given, bool) or not isinstance(given, (str, int)):
                raise TypeError(f"a user is a name or a uid, not {type(given).__name__}")
            name = f"#{given}" if isinstance(given, int) else given
            if isinstance(given, int) and not 0 <= given < 2**32:
                raise ValueError(f"uid out of range: {given}")
            if "\0" in name:
                raise ValueError(f"embedded NUL in user {name!r}")
            if isinstance(given, str) and given.startswith("#"):
                # jailcore-jexec reads "#UID" as a number; no user is named so.
                raise ValueError(f"not a user name: {given!r}")
            return cls(mode, name, login)
        return cls("l", "", True) if login else None

    def shown(self) -> str:
        return self.name[1:] if self.name.startswith("#") else self.name


def base_environment(login: bool) -> dict[str, str]:
    """The environment jailcore-jexec starts from when none is given: this
    process's, or with jexec's -l only TERM of it (jailcore-jexec then sets
    PATH, USER, HOME and SHELL)."""
    if login:
        return {k: v for k, v in os.environ.items() if k == "TERM"}
    return dict(os.environ)


def _fsencode(value: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> bytes:
    return os.fsencode(value)


def process_repr(kind: str, pid: int, jail: Jail, args: Any, returncode: int | None) -> str:
    """``<JailProcess 1726 in jail 1 'web' args=['sleep', '5'] returncode=None>``,
    the repr of both kinds of jailed process (from what they know: no call)."""
    name = jail._values.get("name")
    named = f" {name!r}" if isinstance(name, str) and name != str(jail.jid) else ""
    return (f"<{kind} {pid} in jail {jail.jid}{named} args={args!r} "
            f"returncode={returncode}>")


class JailProcess(subprocess.Popen[Any]):
    """A process started inside a jail; a :class:`subprocess.Popen` in every other way.

    Made by :meth:`jailcore.Jail.spawn`.  ``jail`` is the jail it runs in.
    """

    jail: Jail

    def __repr__(self) -> str:
        return process_repr(type(self).__name__, self.pid, self.jail, self.args,
                            self.returncode)

    def __init__(
        self,
        jail: Jail,
        args: Args,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        user: str | int | None = None,
        host_user: str | int | None = None,
        login: bool = False,
        fib: int | None = None,
        **popen_kwargs: Any,
    ) -> None:
        if fib is not None and (isinstance(fib, bool) or not isinstance(fib, int)):
            raise TypeError(f"a fib is an int, not {type(fib).__name__}")
        self._jc_setsid = bool(popen_kwargs.pop("start_new_session", False))
        for forbidden in ("preexec_fn", "shell", "group", "extra_groups", "umask",
                          "process_group", "restore_signals"):
            if popen_kwargs.get(forbidden) not in (None, False, -1):
                raise TypeError(f"{forbidden} is not supported inside a jail")
            popen_kwargs.pop(forbidden, None)
        self.jail = jail
        self._jc_user = UserRequest.of(user, host_user, login)
        self._jc_keepenv = env is not None
        self._jc_fib = fib
        if cwd is not None:
            self._jc_cwd: bytes | None = _fsencode(cwd)
            if b"\0" in self._jc_cwd:
                raise ValueError(f"embedded NUL in cwd {self._jc_cwd!r}")
        else:
            self._jc_cwd = None
        base = dict(env) if env is not None else base_environment(login)
        super().__init__(args, env=base, **popen_kwargs)

    def _execute_child(
        self, args: Any, executable: Any, preexec_fn: Any, close_fds: bool,
        pass_fds: Sequence[int], cwd: Any, env: Mapping[str, str] | None,
        startupinfo: Any, creationflags: Any, shell: bool,
        p2cread: int, p2cwrite: int, c2pread: int, c2pwrite: int,
        errread: int, errwrite: int, *rest: Any,
    ) -> None:
        try:
            if isinstance(args, (str, bytes, os.PathLike)):
                args = [args]
            argv = [_fsencode(a) for a in args]
            if not argv:
                raise ValueError("args is empty: there is no program to run")
            program = _fsencode(executable) if executable is not None else argv[0]
            envb = {_fsencode(k): _fsencode(v) for k, v in (env or {}).items()}
            if any(b"=" in k for k in envb):
                raise ValueError("illegal environment variable name")  # as subprocess says
            if any(fd < 0 for fd in pass_fds):
                raise ValueError("bad value(s) in fds_to_keep")  # as subprocess says
            self._spawn(program, argv, envb, close_fds, sorted(set(pass_fds)),
                        p2cread, c2pwrite, errwrite)
        finally:
            if p2cread != -1 and p2cwrite != -1 and p2cread != getattr(self, "_devnull", None):
                os.close(p2cread)
            if c2pwrite != -1 and c2pread != -1 and c2pwrite != getattr(self, "_devnull", None):
                os.close(c2pwrite)
            if errwrite != -1 and errread != -1 and errwrite != getattr(self, "_devnull", None):
                os.close(errwrite)
            if hasattr(self, "_devnull"):
                os.close(self._devnull)
            self._closed_child_pipe_fds = True

    def _spawn(self, program: bytes, argv: list[bytes], env: dict[bytes, bytes],
               close_fds: bool, keep: list[int], fd_in: int, fd_out: int, fd_err: int) -> None:
        ffi, lib = _backend.ffi, _backend.lib
        who = self._jc_user
        if b"/" in program or who is not None:
            # jailcore-jexec looks a program without a slash up itself, in
            # the PATH the login class may have set.
            paths = [program]
        else:
            search = env.get(b"PATH", DEFAULT_PATH.encode())
            paths = [os.path.join(d or b".", program) for d in search.split(b":")]
        keepalive: list[Any] = []

        def cstrings(items: list[bytes], buffers: tuple[int, ...] = ()) -> Any:
            """A NULL-terminated char *[]; the items at `buffers` are room for
            the child to write in (all NULs), the others must hold none."""
            arr = ffi.new("char *[]", len(items) + 1)
            for i, item in enumerate(items):
                if b"\0" in item and i not in buffers:
                    raise ValueError(f"embedded NUL in {item!r}")
                c = ffi.new("char[]", item)
                keepalive.append(c)
                arr[i] = c
            return arr

        s = ffi.new("struct jc_spawn *")
        s.backend = _backend.BACKEND
        s.jid = self.jail.jid
        c_paths = cstrings(paths)
        c_argv = cstrings(argv)
        c_env = cstrings([k + b"=" + v for k, v in env.items()])
        s.paths, s.argv, s.envp = c_paths, c_argv, c_env
        c_cwd = ffi.new("char[]", self._jc_cwd) if self._jc_cwd is not None else ffi.NULL
        s.cwd = c_cwd
        if who is not None:
            model = _backend.NAME == "model"
            flags = ("l" if who.login else "") + ("e" if self._jc_keepenv else "") + (
                "c" if self._jc_cwd is not None else "")
            helper_argv = cstrings([
                os.fsencode(JEXEC), b"\0" * 12, b"\0" * (lib.JC_ROOT_MAX - 1),
                b"0" if model else str(self.jail.jid).encode(), who.mode.encode(),
                os.fsencode(who.name), flags.encode(), self._jc_cwd or b"", program, *argv,
            ], buffers=(1, 2))
            c_helper = ffi.new("char[]", os.fsencode(JEXEC))
            s.helper = c_helper
            s.helper_argv = helper_argv
        s.fd_in, s.fd_out, s.fd_err = fd_in, fd_out, fd_err
        c_keep = ffi.new("int[]", keep or [0])
        s.keep = c_keep
        s.nkeep = len(keep)
        s.close_fds = 1 if close_fds else 0
        fib = self._jc_fib
        if fib is not None and not 0 <= fib < 2**31:
            # What setfib(2) answers for a number no routing table has.
            raise self._failure(17, errno.EINVAL, program)
        s.fib = -1 if fib is None else fib
        s.new_session = 1 if self._jc_setsid else 0
        s.maxfd = max(os.sysconf("SC_OPEN_MAX"), 256)
        _refuse_directories([(fd_in, 0, "stdin"), (fd_out, 1, "stdout"), (fd_err, 2, "stderr")]
                            + [(fd, fd, "pass_fds") for fd in keep])
        e = ffi.new("struct jc_spawn_error *")
        pid = lib.jc_spawn(s, e)
        if pid == -1:
            raise self._failure(e.step, e.err, program, ffi.string(e.detail))
        self.pid = pid
        self._child_created = True

    def _failure(self, step: int, err: int, program: bytes, detail: bytes = b"") -> OSError:
        name = _STEPS.get(step, "spawn")
        who = self._jc_user
        if step == _STEP_GETPWNAM and who is not None:
            where = "in the jail" if who.mode == "U" else "on the host"
            shown = who.shown() if who.mode != "l" else f"uid {os.getuid()}"
            text = (f"no such user {where}: {shown}" if err == errno.ENOENT else
                    f"{shown} {where}: {os.strerror(err)}")
            return jail_error(err, text, "getpwnam")
        if name == "jail_attach":
            if err == errno.EAGAIN:
                # The model refused the jail a new process, as fork(2) does
                # when a maxproc rule (racct) or the process table is full.
                return jail_error(err, "no new process: the jail's maxproc limit (rctl) or "
                                  "the process table is reached", "fork")
            return jail_error(err, None, "jail_attach")
        if step == _STEP_HELPER:
            return OSError(err, f"{os.path.basename(JEXEC)}: {os.strerror(err)}", JEXEC)
        if name == "execve":
            return OSError(err, os.strerror(err), os.fsdecode(program))
        if step == _STEP_HOMEDIR:
            return OSError(err, f"chdir: {os.strerror(err)}", os.fsdecode(detail))
        if name == "chdir" and self._jc_cwd is not None:
            return OSError(err, f"chdir: {os.strerror(err)}", os.fsdecode(self._jc_cwd))
        return OSError(err, f"{name}: {os.strerror(err)}")



def _refuse_directories(fds: list[tuple[int, int, str]]) -> None:
    """Refuse, before forking, a directory among the descriptors the child keeps
    across the attach (each ``(given, inherited, what)``, the inherited one when
    ``given`` is -1): FreeBSD would refuse the attach with a bare EPERM.  The
    child closes every other directory descriptor itself."""
    from jailcore.jail import ATTACH_RULE

    for given, inherited, what in fds:
        fd = inherited if given == -1 else given
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISDIR(mode):
            raise jail_error(
                errno.EPERM,
                f"{ATTACH_RULE}, and descriptor {fd} ({what}) is a directory: "
                "it cannot be passed into a jail",
                "jail_attach",
            )


def run_pipes(input: Any, capture_output: bool, kwargs: dict[str, Any]) -> None:
    """Set in ``kwargs`` the pipes that :func:`subprocess.run`'s ``input`` and
    ``capture_output`` ask for, refusing them together with explicit ones as it does."""
    if input is not None:
        if kwargs.get("stdin") is not None:
            raise ValueError("stdin and input arguments may not both be used.")
        kwargs["stdin"] = subprocess.PIPE
    if capture_output:
        if kwargs.get("stdout") is not None or kwargs.get("stderr") is not None:
            raise ValueError("stdout and stderr arguments may not be used with capture_output.")
        kwargs["stdout"] = subprocess.PIPE
        kwargs["stderr"] = subprocess.PIPE


def run_to_completion(
    spawn: Callable[..., JailProcess],
    *,
    input: Any,
    capture_output: bool,
    check: bool,
    timeout: float | None,
    kwargs: dict[str, Any],
) -> subprocess.CompletedProcess[Any]:
    """What :func:`subprocess.run` does after choosing the program: the pipes that
    ``input`` and ``capture_output`` ask for, ``communicate``, the timeout, the
    check.  ``spawn(**popen_kwargs)`` starts the process."""
    run_pipes(input, capture_output, kwargs)
    with spawn(**kwargs) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            # As subprocess.run does on POSIX: communicate() already put the output
            # so far into the exception; a grandchild that keeps the pipes open
            # must not hold the caller past its timeout.
            proc.kill()
            proc.wait()
            raise
        except BaseException:
            proc.kill()
            raise
        code = proc.poll()
        assert code is not None
        if check and code:
            raise subprocess.CalledProcessError(code, proc.args, output=out, stderr=err)
    return subprocess.CompletedProcess(proc.args, code, out, err)
