"""jail(8)'s lifecycle: create, remove, restart, modify and clean up jails
from a jail.conf, in jail(8)'s order, with no jail(8), ifconfig or mount
subprocess.

jail(8) is a plan run against the host (usr.sbin/jail/jail.c, command.c,
state.c): for each jail a fixed table of steps (``exec.prepare``, the
addresses, the mounts, ``exec.prestart``, the jail itself, ``exec.created``,
``vnet.interface``, ``exec.start``...), each parameter's values in order,
undone in reverse when a step fails; jails wait for the jails they depend on.
:class:`JailConf` runs that plan.  Every step is an :class:`Op`, a value that
prints as the command jail(8) would run for it (``/sbin/ifconfig em0 inet
192.0.2.10/24 alias``), kept in order in :attr:`JailConf.trace`; an
:class:`Executor` applies it: :class:`HostExecutor` through jailcore's system
calls (on FreeBSD the kernel, elsewhere the kernel model), :class:`DryRun`
to nothing, with failures injected where a test wants them.

>>> from jailcore import conf
>>> from jailcore.lifecycle import DryRun, JailConf
>>> jc = JailConf(conf.loads('web { path = "/"; persist; }'), executor=DryRun())
>>> jc.run("c", ["web"])
web: created
0
>>> jc.trace
['jail_set(JAIL_CREATE) name=web path=/ persist']
"""

from __future__ import annotations

import copy
import errno
import ipaddress
import os
import re
import signal
import socket
import stat
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from jailcore.conf import (
    Config,
    ConfiguredJail,
    equalopts,
    is_wildcard,
    quoted_print,
    show_param,
    wildcard_match,
)

__all__ = [
    "CLEAN_STEPS",
    "START_STEPS",
    "STOP_STEPS",
    "AddressOp",
    "DryRun",
    "Executor",
    "HostExecutor",
    "JailConf",
    "LifecycleError",
    "MountOp",
    "Op",
    "StepError",
    "VnetOp",
]

# jail.c's command tables.  "ip4.addr"/"ip6.addr"/"mount.fstab" stand for the
# lists jail(8) derives from them (addresses that name an interface, the
# lines of the fstab files); "jail" is the creation or removal itself.
START_STEPS = ("exec.prepare", "ip4.addr", "ip6.addr", "mount", "mount.fstab", "mount.devfs",
               "mount.fdescfs", "mount.procfs", "exec.prestart", "jail", "exec.created",
               "zfs.dataset", "vnet.interface", "exec.start", "command", "exec.poststart")
STOP_STEPS = ("exec.prestop", "exec.stop", "stop.timeout", "jail", "exec.poststop",
              "mount.procfs", "mount.fdescfs", "mount.devfs", "mount.fstab", "mount", "ip6.addr",
              "ip4.addr", "exec.release")
CLEAN_STEPS = STOP_STEPS[4:]
# Steps a failed creation does not undo (command.c next_command).
_NOT_UNDONE = ("exec.prepare", "exec.prestart", "exec.created", "exec.start", "command",
               "exec.poststart")
# Lists walked last to first when stopping (PF_REV).
_REVERSED = ("mount", "mount.fstab", "ip4.addr", "ip6.addr")
_IN_JAIL = ("exec.start", "command", "exec.stop")
_BOOL_STEPS = ("mount.devfs", "mount.fdescfs", "mount.procfs")
# Steps run once, whatever their parameter's values (command.c's dummystring).
_ONCE = ("jail", "stop.timeout", *_BOOL_STEPS)
DEFAULT_STOP_TIMEOUT = 10
# Parameters jail(8) splits on commas on its command line (jail.c listparams).
LIST_PARAMS = ("ip4.addr", "ip6.addr", "vnet.interface", "zfs.dataset")

_START, _SET, _STOP = 1, 2, 4
_OPS = _START | _SET | _STOP
_RESTART = _START | _STOP
_DEPEND, _WILD, _FAILED, _CLEANUP = 8, 16, 32, 64


def _do_stop(flags: int) -> bool:
    return flags & (_SET | _STOP) == _STOP


class StepError(Exception):
    """A step failed; ``str()`` is jail(8)'s message after "jail: NAME: "
    (``false: failed``); ``detail`` what the program jail(8) would have run
    for the step (ifconfig(8), mount(8)) printed before it, if anything."""

    def __init__(self, message: str, detail: str | None = None,
                 strerror: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail
        self.strerror = strerror


class LifecycleError(Exception):
    """A :class:`JailConf` operation failed: ``messages`` are what jail(8)
    printed on standard error for it, ``jail`` the jail's name, ``step``
    the step that failed (``exec.prestart``), when one did."""

    def __init__(self, jail: str, messages: Sequence[str], step: str | None = None) -> None:
        self.jail = jail
        self.messages = list(messages)
        self.step = step
        text = "; ".join(self.messages) or f'{jail}: failed'
        super().__init__(f"{jail}: {step}: {text}" if step else text)


# ---- the operations ------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One step of the plan: ``step`` the parameter it comes from (``jail``
    for the creation and removal), ``down`` whether it undoes, ``argv`` the
    command jail(8) runs for it (for the built-in steps, the ifconfig(8),
    mount(8) or umount(8) command whose effect the executor makes with
    system calls), ``text`` the value it was made from."""

    step: str
    down: bool
    argv: tuple[str, ...]
    text: str = ""

    def __str__(self) -> str:
        return " ".join(self.argv)


@dataclass(frozen=True)
class CreateOp(Op):
    """``jail_set(JAIL_CREATE)``: ``params`` the kernel parameters as
    ``(name, text)`` (text None: a flag), in order."""

    params: tuple[tuple[str, str | None], ...] = ()

    def __str__(self) -> str:
        return "jail_set(JAIL_CREATE)" + "".join(
            f" {n}" if v is None else f" {n}={quoted_print(v)}" for n, v in self.params)


@dataclass(frozen=True)
class RemoveOp(Op):
    """``jail_remove(jid)``."""

    jid: int = 0

    def __str__(self) -> str:
        return f"jail_remove({self.jid})"


@dataclass(frozen=True)
class TermOp(Op):
    """stop.timeout: SIGTERM to the jail's processes, then wait up to
    ``timeout`` seconds for them."""

    jid: int = 0
    timeout: int = DEFAULT_STOP_TIMEOUT

    def __str__(self) -> str:
        return f"stop.timeout: SIGTERM to jail {self.jid}, wait {self.timeout} s"


@dataclass(frozen=True)
class AddressOp(Op):
    """An interface address: ``iface``, ``address`` as jail.conf gives it
    (``192.0.2.10``, ``192.0.2.10/24``, ``192.0.2.10/255.255.255.0``) and the
    extra ifconfig words after it."""

    iface: str = ""
    address: str = ""
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class VnetOp(Op):
    """``vnet.interface``: move ``iface`` into jail ``target`` (a jid or a
    name), or with ``down`` take it back."""

    iface: str = ""
    target: str = ""


@dataclass(frozen=True)
class MountOp(Op):
    """A mount (``fstype``, ``source``, ``options`` as mount(8)'s ``-o``) on
    ``path``, or with ``down`` the unmount of ``path``."""

    fstype: str = ""
    source: str = "."
    path: str = ""
    options: str = ""


@dataclass(frozen=True)
class HookOp(Op):
    """An ``exec.*`` or ``command`` value: run on the host, or inside the
    jail (``in_jail``), as ``user``."""

    in_jail: bool = False
    user: str | None = None
    background: bool = False


# ---- executors --------------------------------------------------------------------


class Running:
    """A hook command started by an executor: ``poll()`` gives its exit
    status once it is done (None before), as :class:`subprocess.Popen`'s
    (negative: killed by that signal); ``error`` is the message of a child
    that failed before its program ran (jail(8)'s child prints it)."""

    error: str | None = None

    def poll(self) -> int | None:
        raise NotImplementedError

    def forget(self) -> None:
        """Stop watching it (exec.timeout: jail(8) does not kill it)."""


class _Done(Running):
    def __init__(self, status: int) -> None:
        self.status = status

    def poll(self) -> int | None:
        return self.status


class Executor:
    """What applies a plan's operations.  ``apply`` makes a built-in step's
    effect or raises :class:`StepError`; ``start`` starts a hook command and
    returns it running (None: a background command, not waited for);
    ``processes`` lists a jail's processes and ``signal`` sends them one
    (stop.timeout)."""

    def apply(self, op: Op, job: Job) -> int:
        """Apply ``op``; a creation returns the new jid."""
        raise NotImplementedError

    def start(self, op: HookOp, job: Job) -> Running | None:
        """Start hook ``op``; None for a background command, not waited for."""
        raise NotImplementedError

    def processes(self, jid: int) -> list[int]:
        """The pids of the processes in jail ``jid``."""
        return []

    def terminate(self, pids: list[int]) -> list[int]:
        """SIGTERM to ``pids``; the ones it reached."""
        return []

    def running_jid(self, key: int | str, dying: bool = False) -> int:
        """The jid of a running jail (by jid or name), -1 when there is none."""
        return -1

    def running_jails(self) -> list[tuple[int, str]]:
        """``(jid, name)`` of every running jail."""
        return []

    def get_params(self, jid: int, names: Sequence[str]) -> dict[str, Any]:
        """The current values of ``names`` (for ``-m``'s create-only check)."""
        return {}

    def update(self, values: dict[str, Any]) -> None:
        """``jail_set(JAIL_UPDATE)`` with ``values`` (``jid`` among them)."""

    def check_path(self, param: str, jail_path: str, path: str, isfile: bool,
                   umount_type: str | None) -> None:
        """command.c's check_path of a mount point or of exec.consolelog;
        StepError with its message."""

    def check_root(self, path: str) -> str | None:
        """jail.c create_jail's check of ``path``: its message, or None."""
        return None


class DryRun(Executor):
    """An executor that changes nothing: every step succeeds, except those
    for which ``fail(op)`` is true (then StepError ``"failed"`` or, for a
    hook, exit status 1), and creations give jids from 1 up.  It keeps the
    jails it "made", so that a later run in the same object sees them."""

    def __init__(self, fail: Callable[[Op], bool] | None = None) -> None:
        self.fail = fail or (lambda op: False)
        self.jails: dict[int, str] = {}
        self.next_jid = 1

    def apply(self, op: Op, job: Job) -> int:
        """Nothing, or the injected failure; a creation gives the next jid."""
        if self.fail(op):
            raise StepError(f"{op}: failed")
        if isinstance(op, CreateOp):
            jid = self.next_jid
            self.next_jid += 1
            self.jails[jid] = job.name or str(jid)
            return jid
        if isinstance(op, RemoveOp):
            self.jails.pop(op.jid, None)
        return 0

    def start(self, op: HookOp, job: Job) -> Running | None:
        """A command that is done at once: status 0, or 1 when it is to fail."""
        return _Done(1 if self.fail(op) else 0)

    def running_jid(self, key: int | str, dying: bool = False) -> int:
        """The jid of a jail this dry run made and did not remove."""
        for jid, name in self.jails.items():
            if key in (jid, name):
                return jid
        return -1

    def running_jails(self) -> list[tuple[int, str]]:
        """The jails this dry run made and did not remove."""
        return sorted(self.jails.items())

    def update(self, values: dict[str, Any]) -> None:
        """Nothing, or the injected failure."""
        if self.fail(Op("jail", False, ("jail_set(JAIL_UPDATE)",))):
            raise StepError("jail_set: failed")


class HostExecutor(Executor):
    """Applies a plan to the host through jailcore's system calls: interface
    addresses with SIOCAIFADDR/SIOCDIFADDR (:mod:`jailcore.net`), vnet moves
    with SIOCSIFVNET, mounts with nmount(2) and unmount(2)
    (:mod:`jailcore.mount`), the jail with jail_set(2) and jail_remove(2),
    hooks as processes (inside the jail through jailcore's spawn helper)."""

    def apply(self, op: Op, job: Job) -> int:
        """The step through jailcore's system calls; StepError with the
        message ifconfig(8), mount(8) or the kernel would give."""
        from jailcore import mount, net
        from jailcore.errors import HostError, JailError
        from jailcore.jail import jail_remove, jail_set

        try:
            if isinstance(op, CreateOp):
                return jail_set(job.kernel_values(), 1)
            if isinstance(op, RemoveOp):
                jail_remove(op.jid)
                return 0
            if isinstance(op, AddressOp):
                if op.down:
                    net.remove_address(op.iface, op.address)
                else:
                    net.add_address(op.iface, op.address, _broadcast(op))
                return 0
            if isinstance(op, VnetOp):
                key: int | str = int(op.target) if op.target.isdigit() else op.target
                if op.down:
                    net.reclaim(op.iface, key)
                else:
                    net.move_to(op.iface, key)
                return 0
            if isinstance(op, MountOp):
                if op.down:
                    mount.unmount(op.path)
                else:
                    mount.mount(op.fstype, op.path, op.source, options=_mount_options(op))
                return 0
            raise StepError(f"{op}: not a step of this executor")
        except JailError as exc:
            if isinstance(op, RemoveOp):
                if exc.errno == errno.EPERM:
                    raise StepError(f"jail_remove: {exc.strerror}") from None
                return 0
            raise StepError(exc.errmsg or f"jail_set: {exc.strerror}") from None
        except (HostError, OSError, ValueError) as exc:
            # What ifconfig(8) or mount(8) would have said, then jail(8)'s line.
            raise StepError(f"{op}: failed", _tool_message(op, exc)) from None

    def start(self, op: HookOp, job: Job) -> Running | None:
        """The command as jail(8) runs it (:mod:`jailcore._command`)."""
        from jailcore import _command

        ctx = job.command_context(op)
        try:
            started = _command.start(_command.Parsed(list(op.argv), background=op.background),
                                     ctx)
        except _command.CommandError as exc:
            raise StepError(str(exc)) from None
        if started is None:
            return None
        return _Started(started)

    def processes(self, jid: int) -> list[int]:
        """The jail's processes (:meth:`jailcore.Jail.processes`)."""
        from jailcore.jail import Jail

        try:
            return Jail(jid).processes()
        except OSError:
            return []

    def terminate(self, pids: list[int]) -> list[int]:
        """SIGTERM to each of ``pids``; those it reached."""
        sent = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
                sent.append(pid)
            except OSError:
                pass
        return sent

    def running_jid(self, key: int | str, dying: bool = False) -> int:
        """The jid by jail_get(2), -1 when there is none."""
        from jailcore.errors import JailError
        from jailcore.flags import JailFlag
        from jailcore.jail import jail_get

        try:
            return int(jail_get(key, ["jid"], JailFlag.DYING if dying else 0)["jid"])
        except JailError:
            return -1

    def running_jails(self) -> list[tuple[int, str]]:
        """Every jail the caller can see."""
        from jailcore.jail import jails

        return [(j.jid, j.name) for j in jails(("name",))]

    def get_params(self, jid: int, names: Sequence[str]) -> dict[str, Any]:
        """The values by jail_get(2)."""
        from jailcore.jail import jail_get

        return jail_get(jid, list(names))

    def update(self, values: dict[str, Any]) -> None:
        """jail_set(2) with JAIL_UPDATE; StepError with libjail's message."""
        from jailcore.errors import JailError
        from jailcore.jail import jail_set

        try:
            jail_set(values, 2)
        except JailError as exc:
            raise StepError(exc.errmsg or f"jail_set: {exc.strerror}",
                            strerror=exc.strerror) from None

    def check_path(self, param: str, jail_path: str, path: str, isfile: bool,
                   umount_type: str | None) -> None:
        """The path's components below the jail's, by lstat (no link
        followed); before an unmount, that a file system of that type is
        mounted there, from the mount table."""
        from jailcore import _command, mount

        try:
            _command.check_path(param, jail_path, path, may_be_missing=isfile)
        except _command.CommandError as exc:
            raise StepError(str(exc)) from None
        if umount_type is not None:
            found = [m for m in mount.mounts() if _canon(m.fspath) == _canon(path)]
            if not found:
                raise StepError(f"{param}: {path}: not a mount point")
            if found[-1].fstype != umount_type:
                raise StepError(f"{param}: {path}: not a {umount_type} mount")

    def check_root(self, path: str) -> str | None:
        """stat(2) of the jail's path: missing, or not a directory."""
        try:
            st = os.stat(path)
        except OSError as exc:
            return f"path {path}: {exc.strerror}"
        if not stat.S_ISDIR(st.st_mode):
            return f"path {path}: {os.strerror(errno.ENOTDIR)}"
        return None


class _Started(Running):
    def __init__(self, started: Any) -> None:
        self.started = started
        self.error = started.error

    def poll(self) -> int | None:
        status: int | None = self.started.poll()
        return status

    def forget(self) -> None:
        from jailcore import _command

        if self.started.process is not None:
            _command._forgotten.append(self.started.process)


def _broadcast(op: AddressOp) -> str | None:
    """The ``broadcast ADDR`` among an address's extra ifconfig words, the
    one extra made by system call (SIOCAIFADDR's broadcast address); any
    other word is refused rather than dropped."""
    words = list(op.extras)
    if not words:
        return None
    if len(words) == 2 and words[0] == "broadcast":
        return words[1]
    raise StepError(f"{op}: failed",
                    f"jailcore: {' '.join(words)}: of ifconfig's address options only "
                    "broadcast is made by system call")


def _mount_options(op: MountOp) -> dict[str, object]:
    """mount(8)'s ``-o`` list as nmount options (``rw`` is the default)."""
    options: dict[str, object] = {}
    for word in op.options.split(","):
        name, eq, value = word.partition("=")
        if name and name != "rw":
            options[name] = value if eq else True
    return options


def _tool_message(op: Op, exc: BaseException) -> str:
    """What the program jail(8) runs for ``op`` would have printed: ifconfig(8)
    names a missing interface, mount(8) the mount point and nmount's errmsg."""
    tool = os.path.basename(op.argv[0])
    if not isinstance(exc, OSError):
        return f"{tool}: {exc}"
    err = exc.errno or 0
    text = getattr(exc, "errmsg", None) or exc.strerror or os.strerror(err)
    if tool == "ifconfig":
        if err == errno.ENXIO:
            return f"ifconfig: interface {op.argv[1]} does not exist"
        return f"ifconfig: ioctl ({getattr(exc, 'operation', '') or 'SIOCAIFADDR'}): {text}"
    return f"{tool}: {op.argv[-1]}: {text}"


# ---- one jail's run -----------------------------------------------------------------


@dataclass
class _Edge:
    src: Job  # the jail that depends
    dst: Job  # the jail depended upon
    light: bool = False
    seen: bool = False


@dataclass
class Job:
    """One jail in a run: its configuration, what is asked of it (jail.c's
    JF_* flags), its jid (0: not looked up yet, -1: not running), where it
    stands in its step table, and its dependency edges."""

    conf: ConfiguredJail
    name: str | None
    flags: int = 0
    jid: int = 0
    steps: tuple[str, ...] = ()
    pos: int = -1  # index into steps; -1: not begun
    values: list[str] = field(default_factory=list)
    vpos: int = -1
    persist: bool = False  # persist added for the creation
    deps_out: list[_Edge] = field(default_factory=list)  # this jail depends on
    deps_in: list[_Edge] = field(default_factory=list)  # these depend on this jail
    ndeps: int = 0
    prepared: bool = False
    rdtun_done: bool = False
    internal: dict[str, list[str]] = field(default_factory=dict)
    kernel: list[tuple[str, list[str]]] = field(default_factory=list)
    waiting: list[Running] = field(default_factory=list)
    deadline: float = 0.0
    comline: str = ""
    failed_step: str | None = None
    queue: str = ""
    sleeping: bool = False  # waiting on its commands (JF_SLEEPQ)
    timed_out: bool = False  # JF_TIMEOUT
    status: int = 0  # the exit status of its last command
    child_error: str | None = None
    from_runq: bool = False  # JF_FROM_RUNQ

    def kernel_values(self) -> dict[str, Any]:
        """The kernel parameters as jail_set(2) takes them, typed by their
        sysctl descriptions as libjail's jailparam_import does."""
        values: dict[str, Any] = {}
        if self.persist:
            values["persist"] = True
        for name, vals in self.kernel:
            if self.persist and equalopts(name, "persist"):
                continue
            values.update(_import(name, vals))
        return values

    def command_context(self, op: HookOp) -> Any:
        from jailcore import _command

        c = self.conf
        in_jail = op.in_jail
        clean = c.boolean("exec.clean")
        env: dict[str, str] = {}
        jid = c.string("jid")
        if not in_jail and not clean and jid is not None:
            # JID, JNAME and JPATH for host commands (jail(8), 2025), from the
            # jid jail(8) keeps as a parameter once it knows it: exec.poststop
            # and exec.release still see it after the removal.
            env = {"JID": jid, "JNAME": self.name or c.string("name") or "",
                   "JPATH": c.string("path") or ""}
        return _command.CommandContext(
            jail_name=self.name or "",
            in_jail=in_jail,
            jid=self.jid if self.jid > 0 else None,
            path=c.string("path"),
            user=c.string("exec.jail_user" if in_jail else "exec.system_user"),
            system_jail_user=c.boolean("exec.system_jail_user"),
            clean=clean,
            consolelog=c.string("exec.consolelog") if in_jail else None,
            fib=c.integer("exec.fib") if in_jail else None,
            env=env,
        )


def _import(name: str, vals: list[str]) -> dict[str, Any]:
    """libjail's jailparam_import of one parameter: no value a flag (a
    boolean true, or the ``no`` form false), one value or a scalar the last
    value, an array the values joined by commas."""
    from jailcore.cli import CommandError, import_value
    from jailcore.params import Kind, spec

    try:
        s = spec(name)
    except (ValueError, KeyError):
        raise StepError(f"unknown parameter: {name}") from None
    if not vals:
        text = None
    elif s.is_array:
        text = ",".join(vals)
    else:
        text = vals[-1]
    try:
        value = import_value(s, text)
    except CommandError as exc:
        raise StepError(str(exc)) from None
    if s.kind is Kind.BOOL and s.nobool:
        return {s.base: not value}
    return {name: value}


# ---- the run ------------------------------------------------------------------------


class JailConf:
    """jail(8) on a configuration: ``run("c", ["web"])`` is ``jail -c web``.

    ``config`` is a :class:`jailcore.conf.Config` (None: a run on
    command-line jails, or ``-R`` on running ones).  ``verbose`` is -1 (``-q``),
    0 or 1 (``-v``); ``parallel`` jail(8)'s ``-p`` (0: no limit on commands
    running at once); ``print_jid`` its ``-i``; ``jid_file`` a file ``-J``
    writes.  Notes go to ``out``, warnings to ``err``, as jail(8)'s stdout
    and stderr, each line of ``err`` starting ``jail: ``.  ``trace`` lists
    the operations in the order they were made.

    :meth:`start`, :meth:`stop`, :meth:`restart` and :meth:`modify` are
    the Python face: they return the :class:`jailcore.Jail` made or changed
    and raise :class:`LifecycleError` naming the failed step.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        executor: Executor | None = None,
        verbose: int = 0,
        parallel: int = 0,
        print_jid: bool = False,
        jid_file: str | None = None,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
        prog: str = "jail",
        oldcl: bool = False,
        allow_dying: bool = False,
    ) -> None:
        self.config = config
        self.executor = executor or HostExecutor()
        self.verbose = verbose
        self.parallel = parallel
        self.print_jid = print_jid
        self.jid_file = jid_file
        self.out = out
        self.err = err
        self.prog = prog
        self.trace: list[str] = []
        self.separator = "\t"
        self.note_remove = False
        self._running_commands = 0
        self.oldcl = oldcl
        self.allow_dying = allow_dying
        self._dying_warned = False

    # -- the Python face

    def _one(self, ops: str, name: str) -> Job:
        if self.config is None or name not in self.config:
            raise LifecycleError(name, [f'"{name}" not found'])
        log: list[str] = []
        status = self.run(ops, [name], _log=log)
        job = self._jobs_by_name.get(name)
        if status != 0:
            step = job.failed_step if job is not None else None
            raise LifecycleError(name, [m.split(": ", 1)[1] if m.startswith(f"{name}: ") else m
                                        for m in log], step)
        assert job is not None
        return job

    def start(self, name: str) -> Any:
        """``jail -c NAME``: create the jail (and those it depends on);
        return it as a :class:`jailcore.Jail`."""
        from jailcore.jail import Jail

        return Jail(self._one("c", name).jid)

    def stop(self, name: str) -> None:
        """``jail -r NAME``: remove the jail (and those depending on it)."""
        self._one("r", name)

    def restart(self, name: str) -> Any:
        """``jail -rc NAME``: remove it, then create it again."""
        from jailcore.jail import Jail

        return Jail(self._one("rc", name).jid)

    def modify(self, name: str, *, restart: bool = False) -> Any:
        """``jail -m NAME`` (with ``restart``, ``-mr``): change the running
        jail's parameters to the configuration's."""
        from jailcore.jail import Jail

        return Jail(self._one("mr" if restart else "m", name).jid)

    # -- jail(8)

    def _note(self, job: Job | None, text: str) -> None:
        line = f"{job.name}: {text}" if job is not None and job.name else text
        print(line, file=self.out or sys.stdout, flush=True)

    def _warn(self, job: Job | None, text: str) -> None:
        line = f"{job.name}: {text}" if job is not None and job.name else text
        self._log.append(line)
        print(f"{self.prog}: {line}", file=self.err or sys.stderr, flush=True)

    def _fail(self, job: Job) -> None:
        job.flags |= _FAILED
        self._requeue(job, "ready", head=True)

    def run(self, ops: str, targets: Sequence[str] = (), *, docf: bool = True,
            _log: list[str] | None = None) -> int:
        """Run jail(8)'s operation ``ops`` (letters of ``c``, ``m``, ``r``,
        ``C``; ``R`` for ``-R``) on ``targets`` (jail names, a wildcard, or
        none: every configured jail); the exit status jail(8) would give."""
        self._log = _log if _log is not None else []
        self._running_commands = 0
        self.note_remove = False
        flags = 0
        rflag = "R" in ops
        for letter in ops:
            flags |= {"c": _START, "m": _SET, "r": _STOP, "R": _STOP, "C": _CLEANUP}[letter]
        self._jobs: list[Job] = []
        self._queues: dict[str, deque[Job]] = {
            "cfjails": deque(), "ready": deque(), "depend": deque(), "runnable": deque(),
            "sleeping": deque()}
        # Each run starts from the configuration as read, as each jail(8)
        # does: what a run adds (the jid it found) stays with the run.
        config = copy.deepcopy(self.config)
        for cj in config or ():
            job = Job(cj, cj.name or None)
            for e in cj.errors:
                self._warn(job, e)
            if cj.errors:
                job.flags |= _FAILED
            self._add(job)
        self._jobs_by_name = {j.name: j for j in self._jobs if j.name is not None}
        if flags & _OPS == _STOP:
            self.note_remove = docf or len(targets) > 1 or (
                bool(targets) and is_wildcard(targets[0]))
        self._dep_setup(docf)
        error = 0
        if flags & _OPS == _STOP:
            for t in targets:
                if self._start_state(t, docf, flags, rflag) < 0:
                    error = 1
        elif self._start_state(targets[0] if targets else None, docf, flags, False) < 0:
            return 1
        jfp = open(self.jid_file, "w", buffering=1) if self.jid_file else None
        try:
            while (turn := self._next_jail()) is not None:
                if self._step(turn, jfp):
                    error = 1
        finally:
            if jfp is not None:
                jfp.close()
        if any(j.flags & _FAILED for j in self._jobs):
            error = 1
        return error

    # -- queues (state.c)

    def _add(self, job: Job) -> None:
        self._jobs.append(job)
        job.queue = "cfjails"
        self._queues["cfjails"].append(job)

    def _requeue(self, job: Job, queue: str, head: bool = False) -> None:
        if job.queue == queue and not head:
            return
        self._queues[job.queue].remove(job)
        if head:
            self._queues[queue].appendleft(job)
        else:
            self._queues[queue].append(job)
        job.queue = queue

    def _find(self, name: str) -> Job | None:
        return self._jobs_by_name.get(name)

    def _dep_setup(self, docf: bool) -> None:
        if not docf:
            first = self._jobs[0] if self._jobs else None
            if first is not None:
                for dep in first.conf.values("depend"):
                    if self.executor.running_jid(dep) < 0:
                        self._warn(None, f'depends on nonexistent jail "{dep}"')
                        first.flags |= _FAILED
            return
        deps = ldeps = 0
        for job in self._jobs:
            if job.flags & _FAILED:
                continue
            for dep in job.conf.values("depend"):
                target = self._find(dep)
                if target is None:
                    self._warn(job, f'depends on undefined jail "{dep}"')
                    job.flags |= _FAILED
                else:
                    deps += 1
                    self._dep_add(job, target, False)
            if job.name and "." in job.name:
                parent = self._find(job.name.rsplit(".", 1)[0])
                if parent is not None:
                    ldeps += 1
                    self._dep_add(job, parent, True)
        if deps and (deps > 1 or ldeps):
            self._find_loops()

    def _dep_add(self, src: Job, dst: Job, light: bool) -> None:
        edge = _Edge(src, dst, light)
        src.deps_out.append(edge)
        dst.deps_in.append(edge)

    def _find_loops(self) -> None:
        """state.c's loop search: release the jails without dependencies,
        then each remaining one in turn is a loop."""
        self._start_state(None, False, 0, False)
        q = self._queues
        while q["ready"]:
            job = q["ready"][0]
            self._requeue(job, "cfjails")
            self._dep_done(job, nofail=True)
        while q["depend"]:
            job = q["depend"][0]
            self._warn(job, "dependency loop")
            job.flags |= _FAILED
            while True:
                self._requeue(job, "cfjails")
                self._dep_done(job, nofail=True)
                if not q["ready"]:
                    break
                job = q["ready"][0]
        for job in self._jobs:
            for e in job.deps_out:
                e.seen = False

    def _dep_reset(self, job: Job) -> None:
        job.ndeps = len(job.deps_in if _do_stop(job.flags) else job.deps_out)

    def _dep_check(self, job: Job) -> bool:
        """Whether ``job`` must wait for others (state.c dep_check); pulls
        the jails it needs into the run."""
        if job.ndeps == 0:
            return False
        rev = _do_stop(job.flags)
        edges = job.deps_in if rev else job.deps_out
        waiting = 0
        bits = {0: 0, 1: 1, 2: 1, 3: 2, 4: 1, 5: 2, 6: 2, 7: 3}
        for e in edges:
            if e.seen:
                continue
            other = e.src if rev else e.dst
            if other.flags & _FAILED:
                if not job.flags & (_DEPEND | _FAILED) and self.verbose >= 0:
                    self._warn(job, "skipped")
                job.flags |= _FAILED
                continue
            reset = False
            if bits[other.flags & _OPS] <= 1:
                if not other.flags & _OPS:
                    reset = True
                    other.flags |= _DEPEND
                    self._requeue(other, "ready")
                op = job.flags & _OPS
                if op == _START:
                    other.flags |= _START
                elif op == _SET:
                    if not other.flags & _OPS:
                        other.flags |= _SET
                    elif other.flags & _STOP:
                        other.flags |= _START
                elif op in (_STOP, _RESTART):
                    if not other.flags & _STOP:
                        reset = True
                    other.flags |= _STOP
                    if other.flags & _SET:
                        other.flags ^= _START | _SET
            if reset:
                self._dep_reset(other)
            if not (e.light and (other.jid < 0 if rev else other.jid > 0)):
                waiting += 1
        if waiting == 0:
            return False
        self._requeue(job, "depend")
        return True

    def _dep_done(self, job: Job, *, light: bool = False, nofail: bool = False) -> None:
        rev = _do_stop(job.flags)
        for e in (job.deps_out if rev else job.deps_in):
            if e.seen or (light and not e.light):
                continue
            e.seen = True
            other = e.dst if rev else e.src
            if (not nofail and job.flags & _FAILED
                    and job.flags & (_OPS | _DEPEND) != (_SET | _DEPEND)):
                if not other.flags & (_DEPEND | _FAILED) and self.verbose >= 0:
                    self._warn(other, "skipped")
                other.flags |= _FAILED
            other.ndeps -= 1
            if other.ndeps == 0 and other.queue == "depend":
                self._requeue(other, "ready")

    def _start_state(self, target: str | None, docf: bool, state: int, running: bool) -> int:
        if target is None or (not docf and state & _OPS != _STOP) or (
                not running and target == "*"):
            for job in list(self._jobs):
                job.flags = (job.flags & _FAILED) | state | (_WILD if docf else 0)
                self._dep_reset(job)
                self._requeue(job, "depend" if job.ndeps else "ready")
        elif is_wildcard(target):
            if running:
                for jid, name in self.executor.running_jails():
                    if wildcard_match(name, target):
                        job = self._running_job(name, jid)
                        job.flags = (job.flags & _FAILED) | state | _WILD
                        self._dep_reset(job)
                        self._requeue(job, "ready")
            else:
                for job in list(self._jobs):
                    if job.name and wildcard_match(job.name, target):
                        job.flags = (job.flags & _FAILED) | state | _WILD
                        self._dep_reset(job)
                        self._requeue(job, "ready")
        else:
            job2 = self._find(target)
            if job2 is None and state & _OPS == _STOP:
                jid = self.executor.running_jid(_key(target), dying=True)
                if jid > 0:
                    name = self._running_name(jid) or target
                    job2 = self._find(name) or self._running_job(name, jid)
            if job2 is None:
                self._warn(None, f'"{target}" not found')
                return -1
            job2.flags = (job2.flags & _FAILED) | state
            self._dep_reset(job2)
            self._requeue(job2, "ready")
        return 0

    def _running_name(self, jid: int) -> str | None:
        for j, name in self.executor.running_jails():
            if j == jid:
                return name
        return None

    def _running_job(self, name: str, jid: int) -> Job:
        from jailcore.conf import ConfiguredJail, Parameter

        cj = ConfiguredJail(name, [Parameter("name", [name], implicit=True)])
        job = Job(cj, name, jid=jid)
        self._add(job)
        self._jobs_by_name[name] = job
        return job

    def _next_jail(self) -> Job | None:
        q = self._queues
        job = self._next_proc(nonblock=bool(q["ready"]))
        if job is None and q["ready"]:
            job = q["ready"][0]
            if _do_stop(job.flags) and not _do_stop(q["ready"][-1].flags):
                # Stops go first (state.c next_jail), the last one queued.
                for cand in reversed(q["ready"]):
                    if _do_stop(cand.flags):
                        job = cand
                        break
        if job is not None:
            self._requeue(job, "cfjails")
        return job

    def _next_proc(self, nonblock: bool) -> Job | None:
        """A sleeping jail whose commands ended or whose deadline passed."""
        delay = 0.002
        while self._queues["sleeping"]:
            now = time.monotonic()
            for job in list(self._queues["sleeping"]):
                job.waiting = [r for r in job.waiting if not _finished(job, r)]
                if not job.waiting:
                    return job
                if job.deadline and now >= job.deadline:
                    for r in job.waiting:
                        r.forget()
                    job.waiting = []
                    job.timed_out = True
                    return job
            if nonblock:
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return None

    # -- one jail's turn (jail.c main loop)

    def _step(self, job: Job, jfp: IO[str] | None) -> bool:
        if job.flags & _FAILED:
            if job.pos < 0 or not job.steps:
                self._dep_done(job)
                return True
        if not job.prepared:
            job.prepared = True
            if self.allow_dying:
                job.conf.set("allow.dying", [], append=True)
            if self._check_params(job) < 0:
                return True
            if job.flags & (_START | _SET) and self._import_params(job) < 0:
                return True
        if job.conf.find("allow.dying") is not None and not self._dying_warned:
            print(f"{self.prog}: the 'allow.dying' parameter and '-d' flag are deprecated "
                  "and have no effect.", file=self.err or sys.stderr, flush=True)
            self._dying_warned = True
        if job.jid == 0:
            self._running_jid(job)
        if self._finish_command(job):
            return False
        op = job.flags & _OPS
        if op == _START | _SET:
            job.flags = (job.flags & ~_OPS) | (
                (job.flags & _CLEANUP) | _START if job.jid < 0 else _SET)
        elif op == _SET | _STOP:
            if job.jid < 0 and not job.flags & _CLEANUP:
                self._quoted_warn(job, "not found", "no jail specified")
                self._fail(job)
                return True
            job.flags = (job.flags & ~_OPS) | (_RESTART if self._rdtun(job, False) else _SET)
            if job.flags & _OPS == _RESTART:
                self._dep_reset(job)
        elif op == _START | _SET | _STOP:
            new = _START if job.jid < 0 else (_RESTART if self._rdtun(job, False) else _SET)
            job.flags = (job.flags & ~_OPS) | new
            if new == _RESTART:
                self._dep_reset(job)
        op = job.flags & _OPS
        if op == _START:
            if job.pos < 0:
                if job.jid > 0 and not job.flags & (_DEPEND | _WILD):
                    self._quoted_warn(job, "already exists", None)
                    self._fail(job)
                    return True
                if self._dep_check(job):
                    return False
                if job.jid > 0:
                    self._create_done(job, jfp)
                    return False
                job.steps, job.pos, job.values, job.vpos = START_STEPS, -1, [], -1
            if self._next_command(job):
                return False
            self._create_done(job, jfp)
            return bool(job.flags & _FAILED)
        if op == _SET:
            if job.jid < 0 and not job.flags & _DEPEND:
                self._quoted_warn(job, "not found", "no jail specified")
                self._fail(job)
                return True
            if self._dep_check(job):
                return False
            if not job.flags & _DEPEND:
                if self._rdtun(job, True) < 0 or self._update(job) < 0:
                    return True
                if self.verbose >= 0 and (job.name or self.verbose > 0):
                    self._note(job, "updated")
            self._dep_done(job)
            return False
        if op in (_STOP, _RESTART):
            if job.pos < 0 or not job.steps:
                if self._dep_check(job):
                    return False
                if job.flags & _CLEANUP:
                    job.steps = CLEAN_STEPS if job.jid < 0 else STOP_STEPS
                elif job.jid < 0:
                    if not job.flags & (_DEPEND | _WILD):
                        if self.verbose >= 0:
                            self._quoted_warn(job, "not found", None)
                        else:
                            self._log.append(f'"{job.name}" not found')
                        job.flags |= _FAILED
                    return self._remove_done(job)
                else:
                    job.steps = STOP_STEPS
                job.pos, job.values, job.vpos = -1, [], -1
            elif job.flags & _FAILED and job.jid > 0:
                return self._remove_done(job)
            if self._next_command(job):
                return False
            return self._remove_done(job)
        return False

    def _create_done(self, job: Job, jfp: IO[str] | None) -> None:
        self._clear_persist(job)
        if jfp is not None:
            jfp.write(self._jail_line(job) + "\n")
        self._dep_done(job)

    def _remove_done(self, job: Job) -> bool:
        self._dep_done(job)
        if job.flags & (_START | _FAILED) == _START:
            # The creation half of a restart.  jail.c requeues the jail on
            # its dependency count, to wait for jails that may not be in the
            # run at all (a restart of web that depends on a running db would
            # end with web removed and never made again); here it goes back
            # as ready with its dependencies unseen, so that its dependency
            # check pulls them in and counts the running ones as done.
            job.steps, job.pos, job.vpos = (), -1, -1
            job.flags &= ~(_STOP | _CLEANUP)
            for e in job.deps_out:
                e.seen = False
            self._dep_reset(job)
            self._requeue(job, "ready")
        return bool(job.flags & _FAILED)

    def _quoted_warn(self, job: Job, with_name: str, without: str | None) -> None:
        shown = job.name or job.conf.string("jid") or job.conf.string("name")
        text = f'"{shown}" {with_name}' if shown else (without or "")
        self._log.append(text)
        print(f"{self.prog}: {text}", file=self.err or sys.stderr, flush=True)

    def _jail_line(self, job: Job) -> str:
        """The ``-J`` line of a jail (jail.c print_jail)."""
        c = job.conf
        if self.oldcl:
            addrs = ",".join(c.values("ip4.addr") + c.values("ip6.addr"))
            return self.separator.join([
                str(job.jid), ",".join(quoted_print(v) for v in c.values("path")),
                ",".join(quoted_print(v) for v in c.values("host.hostname")), addrs,
                " ".join(quoted_print(v) for v in c.values("command"))])
        return self.separator.join(
            [f"jid={job.jid}"] + [show_param(p) for p in c.params if p.name != "jid"])

    def _running_jid(self, job: Job) -> None:
        c = job.conf
        jid_text = c.string("jid")
        if jid_text is not None:
            try:
                key: int | str = int(jid_text)
            except ValueError:
                job.jid = -1
                return
            if key == 0:
                job.jid = -1
                return
        elif c.string("name") is not None:
            key = c.string("name") or ""
        else:
            job.jid = -1
            return
        job.jid = self.executor.running_jid(key)
        if job.jid > 0 and jid_text is None:
            job.conf.set("jid", [str(job.jid)], append=True)

    # -- parameters (config.c check_intparams, import_params)

    def _check_params(self, job: Job) -> int:
        c = job.conf
        error = 0
        for msg in c.check():
            self._warn(job, msg)
            error = -1
        if (job.flags & _OPS != _STOP or c.find("interface")) and c.boolean("ip_hostname"):
            host = c.string("host.hostname")
            if host:
                try:
                    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
                    for info in infos:
                        fam = "ip4.addr" if info[0] == socket.AF_INET else "ip6.addr"
                        c.set(fam, [str(info[4][0])], append=True)
                except socket.gaierror as exc:
                    self._warn(job, f"host.hostname {host}: {exc.strerror}")
                    error = -1
        defif = c.string("interface") is not None
        for fam in ("ip4.addr", "ip6.addr"):
            p = c.find(fam)
            if p is None:
                continue
            stripped = []
            for value in p.values:
                if "|" in value or defif:
                    job.internal.setdefault(fam, []).append(value)
                addr = value.split("|", 1)[1] if "|" in value else value
                addr = addr.split("/", 1)[0].split(" ", 1)[0]
                stripped.append(addr)
            p.values[:] = stripped
        for fstab in c.values("mount.fstab"):
            if not fstab:
                continue
            try:
                with open(fstab, encoding="utf-8", errors="surrogateescape") as f:
                    for line in f:
                        line = line.split("#", 1)[0].rstrip("\n")
                        job.internal.setdefault("mount.fstab", []).append(line)
            except OSError as exc:
                self._warn(job, f"mount.fstab: {fstab}: {exc.strerror}")
                error = -1
        if error:
            self._fail(job)
        return error

    def _import_params(self, job: Job) -> int:
        job.kernel = [(p.name, list(p.values)) for p in job.conf.params if not p.pseudo]
        error = 0
        for name, vals in job.kernel:
            try:
                _import(name, vals)
            except StepError as exc:
                self._warn(job, str(exc))
                error = -1
        if error:
            self._fail(job)
        return error

    def _rdtun(self, job: Job, fail: bool) -> int:
        """Whether the configuration changes a create-only parameter of the
        running jail (jail.c rdtun_params); with ``fail`` an error."""
        from jailcore.params import spec

        if job.rdtun_done:
            return 0
        job.rdtun_done = True
        create_only = []
        for name, vals in job.kernel:
            try:
                s = spec(name)
            except (ValueError, KeyError):
                continue
            if name != "jid" and s.settable_at_create and not s.writable:
                create_only.append((name, vals))
        if not create_only:
            return 0
        try:
            current = self.executor.get_params(job.jid, [n for n, _ in create_only])
        except OSError:
            return 0
        for name, vals in create_only:
            wanted = _import(name, vals)
            key = next(iter(wanted))
            if key in current and current[key] != wanted[key]:
                if fail:
                    self._warn(job, f"{name} cannot be changed after creation")
                    self._fail(job)
                    return -1
                return 1
        return 0

    def _update(self, job: Job) -> int:
        from jailcore.params import spec

        values: dict[str, Any] = {"jid": job.jid}
        shown = [f"jid={job.jid}"]
        for name, vals in job.kernel:
            s = spec(name)
            if s.settable_at_create and not s.writable:
                continue
            values.update(_import(name, vals))
            shown.append(name if not vals else f"{name}={quoted_print(','.join(vals))}")
        if len(values) == 1:
            return 0
        self.trace.append("jail_set(JAIL_UPDATE) " + " ".join(shown))
        try:
            self.executor.update(values)
        except StepError as exc:
            text = str(exc)
            if self.verbose > 0:
                self._note(job, "jail_set(JAIL_UPDATE) " + " ".join(shown) + f": {text}")
            self._warn(job, text)
            self._fail(job)
            return -1
        if self.verbose > 0:
            self._note(job, "jail_set(JAIL_UPDATE) " + " ".join(shown))
        return job.jid

    def _clear_persist(self, job: Job) -> None:
        if not job.persist:
            return
        job.persist = False
        self.trace.append(f"jail_set(JAIL_UPDATE) jid={job.jid} nopersist")
        err = ""
        try:
            self.executor.update({"jid": job.jid, "persist": False})
        except StepError as exc:
            err = f": {exc.strerror or exc}"  # jail.c prints strerror(errno)
        if self.verbose > 0:
            self._note(job, f"jail_set(JAIL_UPDATE) jid={job.jid} nopersist{err}")

    # -- the steps (command.c next_command, run_command, finish_command)

    def _finish_command(self, job: Job) -> bool:
        """After a jail's commands ended: report a failure or a timeout."""
        if not job.sleeping:
            return False
        job.sleeping = False
        timed_out, job.timed_out = job.timed_out, False
        status, job.status = job.status, 0
        child_error, job.child_error = job.child_error, None
        if job.steps and job.steps[job.pos] == "stop.timeout":
            if timed_out and self.verbose > 0:
                self._note(job, "timed out")
            return False
        self._slots_free()
        if timed_out:
            self._warn(job, f"{job.comline}: timed out")
            job.failed_step = job.steps[job.pos]
            self._fail(job)
            return True
        if status:
            if child_error:
                self._warn(job, child_error)
            if status < 0:
                self._warn(job, f"{job.comline}: exited on signal {-status}")
            else:
                self._warn(job, f"{job.comline}: failed")
            job.failed_step = job.steps[job.pos]
            self._fail(job)
            return True
        return False

    def _slots_free(self) -> None:
        self._running_commands -= 1
        if self._queues["runnable"]:
            job = self._queues["runnable"][0]
            job.from_runq = True
            self._requeue(job, "ready")

    def _next_command(self, job: Job) -> bool:
        """Run the jail's next steps; True when it must wait (a command
        running, or no slot for one)."""
        if self.parallel and self._running_commands >= self.parallel:
            self._requeue(job, "runnable", head=job.from_runq)
            return True
        job.from_runq = False
        create_failed = job.flags & (_STOP | _FAILED) == _FAILED
        stopping = bool(job.flags & _STOP)
        while True:
            if job.vpos < 0 or not self._advance_value(job, create_failed, stopping):
                # The next (or, undoing a failed creation, the previous) step.
                while True:
                    job.pos += -1 if create_failed else 1
                    if job.pos < 0 or job.pos >= len(job.steps):
                        return False
                    step = job.steps[job.pos]
                    vals = self._step_values(job, step)
                    if vals is None:
                        continue
                    job.values = vals
                    rev = create_failed or (stopping and step in _REVERSED)
                    job.vpos = len(vals) - 1 if rev else 0
                    if not vals:
                        continue
                    break
            step = job.steps[job.pos]
            value = job.values[job.vpos]
            if value == "" and step not in _ONCE:
                continue
            if create_failed and step in _NOT_UNDONE:
                continue
            r = self._run_command(job, step, value)
            if r < 0:
                job.failed_step = job.failed_step or step
                self._fail(job)
                return True
            if r > 0:
                return True

    def _advance_value(self, job: Job, create_failed: bool, stopping: bool) -> bool:
        step = job.steps[job.pos]
        if step in _ONCE or (
                step == "command" and job.name is None):
            job.vpos = -1
            return False
        rev = create_failed or (stopping and step in _REVERSED)
        job.vpos += -1 if rev else 1
        if 0 <= job.vpos < len(job.values):
            return True
        job.vpos = -1
        return False

    def _step_values(self, job: Job, step: str) -> list[str] | None:
        c = job.conf
        if step in _BOOL_STEPS:
            return [""] if c.boolean(step) else None
        if step in ("jail", "stop.timeout"):
            return [""]
        if step in ("ip4.addr", "ip6.addr", "mount.fstab"):
            return job.internal.get(step)
        p = c.find(step)
        if p is None:
            return None
        if step == "command" and job.name is None:
            # An unnamed jail's command is one argument vector (command.c).
            return [" ".join(p.values)] if p.values else None
        return list(p.values)

    def _run_command(self, job: Job, step: str, value: str) -> int:
        down = bool(job.flags & (_STOP | _FAILED))
        if step == "stop.timeout":
            return self._term_procs(job)
        if step == "jail":
            if down:
                op: Op = RemoveOp("jail", True, ("jail_remove",), jid=job.jid)
                self.trace.append(str(op))
                try:
                    self.executor.apply(op, job)
                except StepError as exc:
                    self._warn(job, str(exc))
                    return -1
                if self.verbose > 0 or (self.verbose == 0 and (
                        self.note_remove if job.flags & _STOP else job.name is not None)):
                    self._note(job, "removed")
                job.jid = -1
                if job.flags & _STOP:
                    self._dep_done(job, light=True)
                else:
                    job.persist = False
                return 0
            if self._create(job) < 0:
                return -1
            if self.print_jid:
                print(job.jid, file=self.out or sys.stdout, flush=True)
            if self.verbose >= 0 and (job.name or self.verbose > 0):
                self._note(job, "created")
            self._dep_done(job, light=True)
            return 0
        try:
            built = self._build(job, step, value, down)
        except StepError as exc:
            self._warn(job, str(exc))
            return -1
        if built is None:
            return 0
        if isinstance(built, HookOp):
            return self._start_hook(job, built)
        self.trace.append(str(built))
        if self.verbose > 0:
            self._note(job, f"run command: {built}")
        try:
            self.executor.apply(built, job)
        except StepError as exc:
            if exc.detail:
                print(exc.detail, file=self.err or sys.stderr, flush=True)
            self._warn(job, str(exc))
            return -1
        return 0

    def _build(self, job: Job, step: str, value: str, down: bool) -> Op | None:
        c = job.conf
        if step in ("ip4.addr", "ip6.addr"):
            return _alias_op(job, step, value, down)
        if step == "vnet.interface":
            target = c.string("jid") or c.string("name") or ""
            return VnetOp(step, down,
                          ("/sbin/ifconfig", value, "-vnet" if down else "vnet", target), value,
                          iface=value, target=target)
        if step in ("mount", "mount.fstab"):
            fields = value.split()
            if not fields:
                return None
            fields = fields[:4]
            for k in range(min(2, len(fields))):
                try:
                    fields[k] = _strunvis(fields[k])
                except ValueError:
                    raise StepError(f"{step}: {value}: fstab parse error") from None
            if len(fields) < 3:
                raise StepError(f"{step}: {value}: missing information")
            self._check_path(job, step, fields[1], False, fields[2] if down else None)
            if down:
                return MountOp(step, True, ("/sbin/umount", "-t", fields[2], fields[1]), value,
                               fstype=fields[2], path=fields[1])
            opts = fields[3] if len(fields) == 4 else ""
            return MountOp(step, False, ("/sbin/mount", "-t", fields[2],
                                         *(("-o", opts) if opts else ()), fields[0], fields[1]),
                           value, fstype=fields[2], source=fields[0], path=fields[1],
                           options=opts)
        if step in _BOOL_STEPS:
            fstype = step.split(".")[1]
            path = c.string("path")
            if path is None:
                raise StepError(f"{step}: no jail root path defined")
            where = f"{path}/dev" if fstype == "devfs" else (
                f"{path}/dev/fd" if fstype == "fdescfs" else f"{path}/proc")
            self._check_path(job, step, where, False, fstype if down else None)
            if down:
                return MountOp(step, True, ("/sbin/umount", where), fstype=fstype, path=where)
            if fstype == "devfs":
                ruleset = c.string("devfs_ruleset") or "4"  # devfsrules_jail
                return MountOp(step, False, ("/sbin/mount", "-t", "devfs",
                                             f"-oruleset={ruleset}", ".", where),
                               fstype=fstype, path=where, options=f"ruleset={ruleset}")
            return MountOp(step, False, ("/sbin/mount", "-t", fstype, ".", where),
                           fstype=fstype, path=where)
        if step == "zfs.dataset":
            jid = c.string("jid") or c.string("name") or ""
            snippet = (f"if [ $(/sbin/zfs get -H -o value jailed {value}) = on ]; then "
                       f"/sbin/zfs jail {jid} {value} || echo error, attaching {value} to jail "
                       f"{jid} failed; else echo error, you need to set jailed=on for dataset "
                       f"{value}; fi")
            return HookOp(step, down, ("/bin/sh", "-c", snippet), value)
        in_jail = step in _IN_JAIL
        user = c.string("exec.jail_user" if in_jail else "exec.system_user")
        if step == "command" and job.name is None:
            return HookOp(step, down, tuple(c.values("command")), "", in_jail=True, user=user)
        from jailcore import _command

        parsed = _command.parse_command(value)
        if parsed is None:
            return None
        return HookOp(step, down, tuple(parsed.argv), value, in_jail=in_jail, user=user,
                      background=parsed.background)

    def _check_path(self, job: Job, param: str, path: str, isfile: bool,
                    umount_type: str | None) -> None:
        self.executor.check_path(param, job.conf.string("path") or "", path, isfile,
                                 umount_type)

    def _start_hook(self, job: Job, op: HookOp) -> int:
        self.trace.append(f"{op.step}: {op}" + (" (in jail)" if op.in_jail else ""))
        job.comline = str(op)
        if self.verbose > 0:
            self._note(job, f"run command{' in jail' if op.in_jail else ''}"
                            f"{' as ' + op.user if op.user else ''}: {op}")
        timeout = job.conf.integer("exec.timeout") or 0
        try:
            running = self.executor.start(op, job)
        except StepError as exc:
            self._warn(job, str(exc))
            return -1
        if running is None:
            return 0
        job.waiting = [running]
        job.deadline = time.monotonic() + timeout if timeout else 0.0
        job.sleeping = True
        self._running_commands += 1
        self._requeue(job, "sleeping")
        return 1

    def _term_procs(self, job: Job) -> int:
        timeout = job.conf.integer("stop.timeout")
        if timeout is None:
            timeout = DEFAULT_STOP_TIMEOUT
        elif timeout == 0:
            return 0
        op = TermOp("stop.timeout", True, ("stop.timeout",), jid=job.jid, timeout=timeout)
        self.trace.append(str(op))
        sent = self.executor.terminate(self.executor.processes(job.jid))
        if sent and self.verbose > 0:
            self._note(job, "sent SIGTERM to: " + " ".join(map(str, sent)))
        if not sent:
            return 0
        job.waiting = [_PidWatch(self.executor, job.jid, sent)]
        job.deadline = time.monotonic() + timeout
        job.sleeping = True
        self._requeue(job, "sleeping")
        return 1

    def _create(self, job: Job) -> int:
        c = job.conf
        path = c.string("path")
        if path is not None:
            if job.name is not None and not path.startswith("/"):
                self._warn(job, f"path {path}: not an absolute pathname")
                return -1
            problem = self.executor.check_root(path)
            if problem is not None:
                self._warn(job, problem)
                return -1
        dopersist = not c.boolean("persist") and any(
            c.find(p) is not None for p in ("exec.start", "command", "exec.poststart"))
        job.persist = dopersist
        params: list[tuple[str, str | None]] = [("persist", None)] if dopersist else []
        for name, vals in job.kernel:
            if dopersist and equalopts(name, "persist"):
                continue
            params.append((name, ",".join(vals) if vals else None))
        op = CreateOp("jail", False, ("jail_set(JAIL_CREATE)",), params=tuple(params))
        self.trace.append(str(op))
        try:
            job.jid = self.executor.apply(op, job)
        except StepError as exc:
            if self.verbose > 0:
                self._note(job, f"{op}: {exc}")
            self._warn(job, str(exc))
            job.persist = False
            job.jid = -1
            return -1
        if self.verbose > 0:
            self._note(job, str(op))
        # The jid, for the steps that name the jail by it (vnet.interface,
        # zfs.dataset, JID in the hooks' environment).  jail.c adds it only
        # when the jail had none, so after the removal half of a restart its
        # later steps would name the old jid; here it is always the new one.
        found = job.conf.find("jid")
        if found is None:
            job.conf.set("jid", [str(job.jid)], append=True)
        else:
            found.values[:] = [str(job.jid)]
        return job.jid


class _PidWatch(Running):
    """stop.timeout's wait: done when none of the signalled processes is
    still in the jail."""

    def __init__(self, executor: Executor, jid: int, pids: list[int]) -> None:
        self.executor, self.jid, self.pids = executor, jid, set(pids)

    def poll(self) -> int | None:
        alive = self.pids & set(self.executor.processes(self.jid))
        return None if alive else 0


def _finished(job: Job, r: Running) -> bool:
    status = r.poll()
    if status is None:
        return False
    if status and not job.status:
        job.status = status
        job.child_error = r.error
    return True


def _canon(path: str) -> str:
    """A path with its repeated slashes as one, as the kernel's lookup reads it."""
    return re.sub("/+", "/", path)


def _key(text: str) -> int | str:
    try:
        n = int(text, 10)
    except ValueError:
        return text
    return n if n != 0 and str(n) == text.strip() else text


def _alias_op(job: Job, step: str, value: str, down: bool) -> AddressOp:
    """command.c's ifconfig command for an address entry
    ``[iface|]addr[/mask][ extra...]``."""
    head, _, extra = value.partition(" ")
    extras = extra.split() if extra.strip() else []
    if "|" in head:
        iface, addr = head.split("|", 1)
    else:
        iface, addr = job.conf.string("interface") or "", head
    if step == "ip4.addr":
        base, slash, mask = addr.partition("/")
        if not slash:
            argv = [iface, "inet", addr, "netmask", "255.255.255.255"]
        elif "." in mask:
            argv = [iface, "inet", base, "netmask", mask]
        else:
            argv = [iface, "inet", addr]
    else:
        argv = [iface, "inet6", addr] + ([] if "/" in addr else ["prefixlen", "128"])
    if not down:
        argv += extras
    argv.append("-alias" if down else "alias")
    _check_address(addr.split("/", 1)[0], step)
    return AddressOp(step, down, ("/sbin/ifconfig", *argv), value, iface=iface, address=addr,
                     extras=() if down else tuple(extras))


def _check_address(addr: str, step: str) -> None:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        raise StepError(f"{step}: {addr}: not an address") from None
    if (ip.version == 4) != (step == "ip4.addr"):
        raise StepError(f"{step}: {addr}: not an IPv{4 if step == 'ip4.addr' else 6} address")


def _strunvis(text: str) -> str:
    """strunvis(3) of an fstab field: ``\\040`` and the other backslash
    escapes back to their characters."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(text):
            raise ValueError(text)
        n = text[i + 1]
        if n in "01234567":
            j = i + 1
            while j < len(text) and j < i + 4 and text[j] in "01234567":
                j += 1
            out.append(chr(int(text[i + 1:j], 8)))
            i = j
            continue
        simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "a": "\a", "v": "\v",
                  "f": "\f", "s": " ", "E": "\033", "\\": "\\"}
        if n in simple:
            out.append(simple[n])
            i += 2
            continue
        out.append(n)
        i += 2
    return "".join(out)


def command_line_config(args: Iterable[str]) -> Config:
    """The one jail of jail(8)'s command line (``name=web path=/ command=...``):
    values in append mode, the list parameters split on commas, everything
    after ``command`` its values."""
    from jailcore.conf import ConfiguredJail

    cj = ConfiguredJail("")
    words = list(args)
    i = 0
    while i < len(words):
        word = words[i]
        if word == "command" or word.startswith("command="):
            rest = ([word[8:]] if word.startswith("command=") else []) + words[i + 1:]
            cj.set("command", rest, append=True)
            break
        name, eq, value = word.partition("=")
        if eq and name in LIST_PARAMS:
            cj.set(name, value.split(","), append=True)
        elif eq:
            cj.set(name, [value], append=True)
        else:
            cj.set(name, [], append=True)
        i += 1
    return Config([cj])
