"""Control of jailcore's kernel model.

The model is a C implementation of FreeBSD's jail subsystem behind the same
system-call ABI as the kernel (``jail_set(2)``, ``jail_get(2)``,
``jail_attach(2)``, ``jail_remove(2)``, the FreeBSD 15 descriptor calls,
``sysctl(3)`` and ``kldload(2)``).  Its host lives in shared memory, so a forked
child sees the jails its parent made.

Which host a process uses:

* by default the user's own, kept in the state file ``/tmp/jailcore-UID/host``
  (:func:`default_state_path`): jails outlive the process that made them, as on
  FreeBSD they outlive the command, until :func:`reset` (``jailcore model
  reset``) empties the host; the directory is made with mode 0700 and refused
  when it is not the user's own;
* the state file that the environment variable ``JAILCORE_MODEL_STATE`` names
  (or :func:`use_state_file` opens), shared by every process that names it;
* ``JAILCORE_MODEL_STATE=:private:`` (or ``use_state_file(None)``): a host in
  anonymous memory, private to this process and its children, gone with them.

jailcore's pytest plugin gives every test a fresh host of its own.  A host that
cannot be used raises :class:`~jailcore.errors.ModelHostError` naming the file.

The functions here have no FreeBSD counterpart: they reset the host, choose
the FreeBSD release whose semantics it follows and whether its kernel has
RACCT/RCTL (:func:`set_racct`), load and unload its modules, and hold
references that keep a removed jail dying.
"""

from __future__ import annotations

import os

from jailcore import params as _params
from jailcore._backend import check_model_host, ffi, lib
from jailcore.errors import model_host_error

__all__ = [
    "MODULES",
    "current_jid",
    "default_state_path",
    "hold",
    "kldfind",
    "kldload",
    "kldunload",
    "library_path",
    "loaded_modules",
    "racct",
    "release",
    "reset",
    "set_racct",
    "set_version",
    "state_path",
    "use_state_file",
    "version",
]

#: The model's loadable modules, by kldload(2) file name.
MODULES: tuple[str, ...] = (
    "sysvmsg",
    "sysvsem",
    "sysvshm",
    "fdescfs",
    "nullfs",
    "procfs",
    "tmpfs",
    "zfs",
)


def _check(ret: int, what: str, arg: object = None) -> int:
    if ret == -1:
        err = ffi.errno
        check_model_host(err)
        raise OSError(err, os.strerror(err), arg) if arg is not None else OSError(
            err, f"{what}: {os.strerror(err)}"
        )
    return ret


def library_path() -> str:
    """The shared object that exports the model's ``jailmodel_*`` C symbols.

    It is ``libjailmodel.so`` beside jailcore's extension, which links to it, so a
    C program or :mod:`ctypes` that loads it in a jailcore process drives the same
    host as jailcore (declarations: ``csrc/model/jailmodel.h`` in the sources).
    """
    from jailcore import _native

    assert _native.__file__ is not None
    return os.path.join(os.path.dirname(os.path.abspath(_native.__file__)), "libjailmodel.so")


def reset() -> None:
    """Return the host to a fresh one: no jails, FreeBSD 15 semantics, no
    module loaded, no rctl rule, RACCT as ``JAILCORE_MODEL_RACCT`` says.

    This empties the host this process uses, which other processes may share
    (the user's default host, or the state file of ``JAILCORE_MODEL_STATE``).
    Only the host's superuser (root or its creator) outside any jail may:
    others get ``PermissionError`` (EPERM), the host unchanged.
    """
    ret = lib.jailmodel_reset()
    check_model_host()
    _check(ret, "reset")
    _params.clear_cache()


def set_version(major: int) -> None:
    """Follow the semantics of FreeBSD ``major`` (14 or 15); the host must have no jail."""
    _check(lib.jailmodel_set_version(int(major)), "set_version")
    _params.clear_cache()


def version() -> int:
    """The FreeBSD major release whose semantics the model follows."""
    v = int(lib.jailmodel_version())
    check_model_host()
    return v


def set_racct(enable: bool | None) -> None:
    """Boot the host's kernel with resource accounting and limits (RACCT and
    RCTL) on (True), present but off (False: GENERIC's default,
    ``kern.racct.enable=0``), or built without them (None: no kern.racct
    sysctls).  Either way but True, every rctl(2) call fails with ENOSYS.

    ``kern.racct.enable`` is a loader tunable, read-only once the kernel runs,
    so this is a reboot: the host must have no jail (OSError EBUSY), the
    rules go, and only the host's superuser outside any jail may
    (PermissionError).  A host starts as ``JAILCORE_MODEL_RACCT`` says
    (``1``, ``0`` or ``absent``; off when unset) when it is created or reset.
    """
    mode = {True: 1, False: 0, None: -1}[enable]
    _check(lib.jailmodel_set_racct(mode), "set_racct")


def racct() -> bool | None:
    """Whether the host's kernel has RACCT/RCTL enabled (True), present but
    disabled (False), or not built in (None): see :func:`set_racct`."""
    mode = ffi.new("int *")
    _check(lib.jailmodel_racct(mode), "racct")
    return {1: True, 0: False}.get(int(mode[0]))


def kldload(name: str) -> int:
    """Load one of :data:`MODULES` into the model, as kldload(2); returns its file id."""
    fileid = _check(lib.jailmodel_kldload(name.encode()), "kldload", name)
    _params.clear_cache()
    return fileid


def kldfind(name: str) -> int:
    """The file id of a loaded module, as kldfind(2); OSError(ENOENT) if not loaded."""
    return _check(lib.jailmodel_kldfind(name.encode()), "kldfind", name)


def kldunload(name_or_fileid: str | int) -> None:
    """Unload a module by name or file id: its jail parameters vanish."""
    fileid = kldfind(name_or_fileid) if isinstance(name_or_fileid, str) else name_or_fileid
    _check(lib.jailmodel_kldunload(int(fileid)), "kldunload", name_or_fileid)
    _params.clear_cache()


def loaded_modules() -> list[str]:
    """The names of the modules loaded now."""
    return [m for m in MODULES if lib.jailmodel_kldfind(m.encode()) != -1]


def hold(jid: int) -> None:
    """Hold a lingering reference on jail ``jid``: once removed it stays dying, not freed."""
    _check(lib.jailmodel_hold(int(jid)), "hold", jid)


def release(jid: int) -> None:
    """Release a reference taken with :func:`hold`; a dying jail with none left is freed."""
    _check(lib.jailmodel_release(int(jid)), "release", jid)


def use_state_file(path: str | os.PathLike[str] | None) -> None:
    """Switch this process to the host kept in ``path`` (created when absent).

    ``None`` switches to a fresh host private to this process and its children.
    A file that cannot be used raises :class:`~jailcore.errors.ModelHostError`
    with the reason, and the process keeps the host it had.
    """
    p = None if path is None else os.fsdecode(path)
    if lib.jailmodel_open(ffi.NULL if p is None else os.fsencode(p)) == -1:
        err = ffi.errno
        why = lib.jailmodel_open_error()
        text = ffi.string(why).decode(errors="replace") if why != ffi.NULL else ""
        raise model_host_error(err, text or os.strerror(err), p)
    _params.clear_cache()


def state_path() -> str | None:
    """The state file of the current host, or ``None`` for a private one.

    Before the process has made a call, the file of the host it will use.
    """
    p = lib.jailmodel_state_path()
    return None if p == ffi.NULL else ffi.string(p).decode()


def default_state_path() -> str:
    """The user's default host: ``/tmp/jailcore-UID/host``, UID the effective uid."""
    return str(ffi.string(lib.jailmodel_default_state_path()).decode())


def current_jid() -> int:
    """The jid of the model jail this process is attached to (0: the host)."""
    return int(lib.jailmodel_current_jid())
