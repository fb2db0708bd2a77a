"""How jail(8) runs one of its commands: the exec.* hooks of jail.conf(5).

This is ``run_command`` of FreeBSD's usr.sbin/jail/command.c, and the parts of
``finish_command`` and ``check_path`` that concern one command: how a string
becomes an argument vector (a shell, a direct exec, a background command),
where it runs (the host, or inside the jail), as whom and in which
environment, where its output goes (``exec.consolelog``), and the warnings
jail(8) prints about it.  *When* a command runs, and what a failure means for
the jail, is jailcore.lifecycle's business.

Messages are jail(8)'s without its ``jail: <name>: `` prefix (warnx(3) adds
``jail: ``, jail_warnx the name).  Where a failure happens decides its form,
as in jail(8):

* before anything is forked (``check_path``, opening ``exec.consolelog``):
  :class:`CommandError`, and no process; jail(8) returns -1 there, the
  command counts as failed, and it prints only that message;
* in the child, before the program runs (a user that does not exist,
  ``setfib``, ``jail_attach``, the exec itself): jail(8)'s child prints the
  message and exits 1, and jail(8) then reports ``<cmdline>: failed``.
  :func:`start` returns a :class:`Started` whose ``error`` is the child's
  message and whose status is 1, so that :func:`finish_command` gives both
  lines in jail(8)'s order.  jailcore's spawn helper and
  :class:`subprocess.Popen` report such failures to the parent as an
  exception; they are turned into that form here.

A background command (``"daemon &"``) is not waited for: :func:`start`
returns ``None``.  Should its exec fail, the message jail(8)'s child would
print goes to this process's standard error, with the ``jail: <name>: ``
prefix, since there is nobody to hand it to.

Where this differs from jail(8), and why:

* Login classes: jail(8) applies the user's login class with
  setusercontext(3) (PATH, umask, resource limits, priority...).  In-jail
  commands get that from jailcore-jexec on FreeBSD; host commands run through
  :class:`subprocess.Popen`, which knows no login class: with exec.clean their
  PATH is that of FreeBSD's default class (what jailcore-jexec sets off
  FreeBSD), with exec.system_user alone PATH and umask stay the caller's.
* exec.clean without a user, in the jail: jail(8) looks the current uid up and
  applies only PATH and the class's environment; here the uid is looked up as
  a named user would be (``user=<uid>``), so on FreeBSD the whole class
  applies (the ids do not change: it is this process's uid).
* The cpuset step (a move to the root cpuset before jail_attach, named by
  the spec) is not in either command.c read (freebsd/freebsd-src @1ca35de4,
  and a 2023+ copy with ``mount.devfs: no jail root path defined``), and is
  not done.
* JID/JNAME/JPATH: neither copy of command.c read sets them; the spec's
  jail.8 of December 2025 does (host commands, not with exec.clean, not in
  the jail).  The caller passes them in :attr:`CommandContext.env`; they are
  given to host commands unless clean, including with exec.system_user.
"""

from __future__ import annotations

import errno
import os
import pwd
import re
import stat
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jailcore.errors import JailError

__all__ = [
    "SHELL_CHARS",
    "CommandContext",
    "CommandError",
    "Parsed",
    "Started",
    "check_path",
    "describe_status",
    "finish_command",
    "parse_command",
    "run_note",
    "start",
]

#: The characters that make jail(8) hand a command to ``/bin/sh -c``
#: (the strpbrk set of run_command).
SHELL_CHARS = "!\"$&'()*;<>?[\\]`{|}~"
#: ``_PATH_BSHELL``: the shell of commands with shell characters, and the
#: SHELL of a user whose passwd entry has none.
BSHELL = "/bin/sh"
#: The PATH jail(8) puts in a clean environment before the login class.
CLEAN_PATH = "/bin:/usr/bin"
# strtok's separators in run_command: C's whitespace, nothing else.
_SEPARATORS = re.compile("[ \t\f\v\r\n]+")


class CommandError(Exception):
    """A command that jail(8) refuses before forking; ``str()`` is jail(8)'s
    message without its ``jail: <name>: `` prefix."""


@dataclass(frozen=True)
class Parsed:
    """A command string as jail(8) runs it: ``argv``; ``shell`` when it is
    ``["/bin/sh", "-c", string]``; ``background`` for a string whose first
    shell character is a final ``&`` (exec'd directly in a new session and not
    waited for)."""

    argv: list[str]
    shell: bool = False
    background: bool = False

    @property
    def cmdline(self) -> str:
        """The command as jail(8) names it in its messages: argv joined by spaces."""
        return " ".join(self.argv)


def parse_command(text: str) -> Parsed | None:
    """How jail(8) turns one value of an exec.* parameter into a command.

    ``None`` when there is nothing to run (an empty string, or only
    whitespace): jail(8) skips it.  A string with any of :data:`SHELL_CHARS`
    runs as ``/bin/sh -c TEXT``, unless the first of them is a final ``&``:
    then the ``&`` is dropped and the rest split on whitespace and exec'd
    directly in the background.  Any other string is split on whitespace and
    its first word looked up in PATH (execvp(3)).
    """
    first = next((i for i, ch in enumerate(text) if ch in SHELL_CHARS), None)
    if first is not None and not (text[first] == "&" and first == len(text) - 1):
        return Parsed([BSHELL, "-c", text], shell=True)
    background = first is not None
    words = [w for w in _SEPARATORS.split(text[:-1] if background else text) if w]
    if not words:
        return None
    return Parsed(words, background=background)


@dataclass(frozen=True)
class CommandContext:
    """What jail(8) knows about the jail when it runs one of its commands."""

    jail_name: str
    #: exec.start, command and exec.stop run inside the jail; the others on the host.
    in_jail: bool
    jid: int | None = None
    #: The jail's path (on the host).
    path: str | None = None
    #: exec.jail_user for in-jail commands, exec.system_user for host ones.
    user: str | None = None
    #: exec.system_jail_user: exec.jail_user from the host's databases.
    system_jail_user: bool = False
    #: exec.clean.
    clean: bool = False
    #: exec.consolelog: in-jail commands only.
    consolelog: str | None = None
    #: exec.fib: in-jail commands only.
    fib: int | None = None
    #: Variables added for host commands (JID, JNAME, JPATH): not with
    #: exec.clean, not inside the jail.
    env: Mapping[str, str] = field(default_factory=dict)


class Started:
    """A command that was started (or whose child failed before its program
    ran: ``error`` then holds the message jail(8)'s child prints, and the
    status is 1, as that child's exit status is).

    ``pid`` is the process's, ``None`` when no program ran; ``cmdline`` is
    argv joined by spaces.  :meth:`poll` and :meth:`wait` give the status as
    :class:`subprocess.Popen` does: negative for a signal.
    """

    def __init__(self, cmdline: str, process: subprocess.Popen[Any] | None,
                 error: str | None = None) -> None:
        self.cmdline = cmdline
        self.process = process
        self.error = error
        self.started = time.monotonic()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def poll(self) -> int | None:
        return self.process.poll() if self.process is not None else 1

    def wait(self, timeout: float | None = None) -> int:
        """The status; :class:`subprocess.TimeoutExpired` after ``timeout`` seconds."""
        return self.process.wait(timeout) if self.process is not None else 1

    def __repr__(self) -> str:
        return f"<Started {self.pid} {self.cmdline!r} status={self.poll()}>"


def describe_status(cmdline: str, returncode: int) -> str | None:
    """jail(8)'s warning for a command's exit status (finish_command): ``None``
    for 0, ``"<cmdline>: exited on signal N"`` for a signal, else
    ``"<cmdline>: failed"``."""
    if returncode == 0:
        return None
    if returncode < 0:
        return f"{cmdline}: exited on signal {-returncode}"
    return f"{cmdline}: failed"


def finish_command(started: Started, timeout: float | None = None) -> list[str]:
    """Wait for a command as jail(8) does, and return its warnings in order
    (empty when it succeeded).

    ``timeout`` is exec.timeout in seconds (``None`` or 0: none), counted from
    the start.  On expiry the warning is ``"<cmdline>: timed out"`` and the
    process is left running: jail(8) only stops watching it (clear_procs) and
    never kills it.  Otherwise: the child's own message if it failed before
    its program ran, then :func:`describe_status`'s.
    """
    _reap()
    if timeout:
        left = max(0.0, started.started + timeout - time.monotonic())
        try:
            code = started.wait(left)
        except subprocess.TimeoutExpired:
            if started.process is not None:
                _forgotten.append(started.process)
            return [f"{started.cmdline}: timed out"]
    else:
        code = started.wait()
    out = [started.error] if started.error is not None else []
    status = describe_status(started.cmdline, code)
    if status is not None:
        out.append(status)
    return out


def run_note(ctx: CommandContext, cmdline: str) -> str:
    """What ``jail -v`` prints before a command (without the ``<name>: `` prefix)."""
    user = f" as {ctx.user}" if ctx.user else ""
    return f"run command{' in jail' if ctx.in_jail else ''}{user}: {cmdline}"


def check_path(param: str, jail_path: str, path: str, *, may_be_missing: bool = False) -> None:
    """jail(8)'s check of a mount point or of exec.consolelog (command.c
    check_path): ``path`` must be absolute, and each of its components below
    ``jail_path`` (all of them when the jail has no path: pass ``""``) must
    exist and not be a symbolic link; none is followed.  With
    ``may_be_missing`` (exec.consolelog, a file) the last component may not
    exist yet.  Above the jail's path nothing is checked: that is where the
    jail's processes cannot plant a link.  :class:`CommandError` otherwise.
    """
    if not path.startswith("/"):
        raise CommandError(f"{param}: {path}: not an absolute pathname")
    # As command.c: the path must go on past the jail's with a '/'; so with
    # path "/" only a path starting "//" is checked.
    if not (path.startswith(jail_path) and path[len(jail_path):len(jail_path) + 1] == "/"):
        return
    pos = len(jail_path)
    while True:
        nxt = path.find("/", pos + 1)
        component = path if nxt < 0 else path[:nxt]
        try:
            st = os.lstat(component)
        except OSError as e:
            if e.errno == errno.ENOENT and may_be_missing and nxt < 0:
                return
            raise CommandError(f"{param}: {component}: {_strerror(e)}") from None
        if stat.S_ISLNK(st.st_mode):
            raise CommandError(f"{param}: {component} is a symbolic link")
        if nxt < 0:
            return
        pos = nxt


def start(command: Parsed | Sequence[str], ctx: CommandContext) -> Started | None:
    """Start one command as jail(8)'s run_command does.

    ``command`` is what :func:`parse_command` gave, or an argument vector to
    exec directly (the ``command`` of a jail made on the command line).  The
    result is a :class:`Started` to pass to :func:`finish_command`, or
    ``None`` for a background command (started in a new session and
    forgotten).  :class:`CommandError` when jail(8) would refuse before
    forking (exec.consolelog's path or its open).
    """
    parsed = command if isinstance(command, Parsed) else Parsed(list(command))
    if not parsed.argv:
        raise ValueError("nothing to run: the argument vector is empty")
    _reap()
    consfd = -1
    if ctx.in_jail and ctx.consolelog is not None:
        check_path("exec.consolelog", ctx.path or "", ctx.consolelog, may_be_missing=True)
        try:
            # DEFFILEMODE, less the umask, as open(2) applies it.
            consfd = os.open(ctx.consolelog, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                             0o666)
        except OSError as e:
            raise CommandError(f"open {ctx.consolelog}: {_strerror(e)}") from None
    try:
        if ctx.in_jail:
            started = _start_in_jail(parsed, ctx, consfd)
        else:
            started = _start_on_host(parsed, ctx)
    finally:
        if consfd >= 0:
            os.close(consfd)
    if not parsed.background:
        return started
    if started.process is not None:
        _forgotten.append(started.process)
    elif started.error is not None:
        # Nobody waits for a background command: its child's message is all.
        sys.stderr.write(f"jail: {ctx.jail_name}: {started.error}\n")
        sys.stderr.flush()
    return None


# Processes jail(8) stopped watching (background commands, timed out ones):
# kept here, and reaped once they end, so that they do not linger as zombies.
_forgotten: list[subprocess.Popen[Any]] = []


def _reap() -> None:
    _forgotten[:] = [p for p in _forgotten if p.poll() is None]


def _strerror(e: OSError) -> str:
    return os.strerror(e.errno) if e.errno else str(e)


def _start_on_host(parsed: Parsed, ctx: CommandContext) -> Started:
    cmdline = parsed.cmdline
    env = dict(os.environ)
    cwd: str | None = None
    ids: dict[str, Any] = {}
    if ctx.clean or ctx.user is not None:
        # The user (exec.system_user, else this process's uid) from the host's
        # databases; jail(8) does this in the child, whose failure is reported
        # as the child's message and status 1.
        try:
            pw = pwd.getpwnam(ctx.user) if ctx.user is not None else pwd.getpwuid(os.getuid())
        except KeyError:
            return Started(cmdline, None, f"{ctx.user}: no such user" if ctx.user is not None
                           else f"unknown uid {os.getuid()}")
        if ctx.clean:
            env = _clean_environment(pw)
            cwd = pw.pw_dir
        else:
            # JID, JNAME and JPATH go with the caller's environment, not with a clean one.
            env.update(ctx.env)
        env.update(USER=pw.pw_name, HOME=pw.pw_dir, SHELL=pw.pw_shell or BSHELL)
        if ctx.user is not None:
            # initgroups, setgid, then setusercontext's setuid.
            ids = {"user": pw.pw_uid, "group": pw.pw_gid,
                   "extra_groups": os.getgrouplist(pw.pw_name, pw.pw_gid)}
    else:
        env.update(ctx.env)
    try:
        proc = subprocess.Popen(parsed.argv, env=env, cwd=cwd, close_fds=True,
                                start_new_session=parsed.background, **ids)
    except OSError as e:
        if cwd is not None and e.filename == cwd:
            return Started(cmdline, None, f"chdir {cwd}: {_strerror(e)}")
        if ids and e.filename is None:
            # Popen failed before the exec: the groups or the ids.
            return Started(cmdline, None, f"setusercontext {ctx.user}: {_strerror(e)}")
        return Started(cmdline, None, f"exec {parsed.argv[0]}: {_strerror(e)}")
    return Started(cmdline, proc)


def _clean_environment(pw: pwd.struct_passwd) -> dict[str, str]:
    """exec.clean: nothing of the caller's but TERM; PATH as the login class
    sets it.  jail(8) puts ``/bin:/usr/bin`` and lets setusercontext(3) put the
    class's path; off FreeBSD there are no login classes, and this is the path
    of FreeBSD's default class (as jailcore-jexec gives in-jail commands)."""
    from jailcore.process import LOGIN_PATH

    env: dict[str, str] = {"PATH": LOGIN_PATH.format(home=pw.pw_dir)}
    if "TERM" in os.environ:
        env["TERM"] = os.environ["TERM"]
    return env


def _start_in_jail(parsed: Parsed, ctx: CommandContext, consfd: int) -> Started:
    from jailcore.jail import Jail

    if ctx.jid is None:
        raise ValueError(f"{ctx.jail_name}: an in-jail command needs the jail's jid")
    cmdline = parsed.cmdline
    kwargs: dict[str, Any] = {"close_fds": True, "fib": ctx.fib,
                              "start_new_session": parsed.background}
    who: str | None = ctx.user
    if ctx.user is not None:
        # exec.jail_user: from the jail's own databases after attaching, or
        # with exec.system_jail_user from the host's before.
        kwargs["host_user" if ctx.system_jail_user else "user"] = ctx.user
    elif ctx.clean:
        # No user but a clean environment: this process's uid, looked up as
        # the user would be (get_user_info with no name: getpwuid(getuid())).
        if not ctx.system_jail_user:
            kwargs["user"] = os.getuid()
    if ctx.clean:
        # exec.clean is jexec -l's environment: TERM kept, PATH, USER, HOME,
        # SHELL set, the user's home the working directory.
        kwargs["login"] = True
    if consfd >= 0:
        kwargs["stdout"] = kwargs["stderr"] = consfd
    try:
        proc = Jail(ctx.jid).spawn(parsed.argv, **kwargs)
    except OSError as e:
        return Started(cmdline, None, _child_message(e, parsed.argv[0], who))
    return Started(cmdline, proc)


def _child_message(e: OSError, program: str, user: str | None) -> str:
    """The message jail(8)'s child prints for a failure that jailcore's spawn
    helper reported to this process as ``e``."""
    text = _strerror(e)
    if isinstance(e, JailError):
        if e.operation == "getpwnam":
            if e.errno == errno.ENOENT:
                return f"{user}: no such user" if user is not None else f"unknown uid {os.getuid()}"
            return f"getpwnam{' ' + user if user is not None else ''}: {text}"
        return f"{e.operation}: {text}"
    detail = e.strerror or ""
    if e.filename == program and detail == text:
        return f"exec {program}: {text}"
    if detail.startswith("chdir: ") and e.filename is not None:
        return f"chdir {e.filename}: {text}"
    # "setfib: Invalid argument", "setgid: ...": the step and its error.
    return detail or text
