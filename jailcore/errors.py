"""Errors of the jail system calls, carrying both the errno and the kernel's message."""

from __future__ import annotations

import errno as _errno
import os

__all__ = [
    "DevfsError",
    "HostError",
    "InterfaceError",
    "JailError",
    "JailExistsError",
    "JailNotFoundError",
    "JailPathError",
    "JailPathNotADirectoryError",
    "JailPathNotFoundError",
    "JailPathPermissionError",
    "JailPermissionError",
    "ModelHostError",
    "MountError",
    "UnknownParameterError",
    "host_error",
    "jail_error",
    "path_error",
]


class JailError(OSError):
    """A jail system call failed.

    ``errno`` and ``strerror`` are those of :class:`OSError`; ``errmsg`` is the
    kernel's own message (the ``errmsg`` parameter of jail_set(2)/jail_get(2)),
    or ``None`` when the kernel gave none; ``operation`` names the call, such as
    ``"jail_set"``.
    """

    errmsg: str | None
    operation: str

    def __init__(self, errno: int, errmsg: str | None = None, operation: str = "jail") -> None:
        super().__init__(errno, os.strerror(errno))
        self.errmsg = errmsg or None
        self.operation = operation

    def __reduce__(self) -> tuple[object, ...]:
        return (jail_error, (self.errno, self.errmsg, self.operation))

    def __str__(self) -> str:
        code = _errno.errorcode.get(self.errno or 0, str(self.errno))
        return f"{self.operation}: {self.errmsg or self.strerror} [{code}]"


class JailNotFoundError(JailError, FileNotFoundError):
    """ENOENT: no such jail (also a :class:`FileNotFoundError`)."""


class JailExistsError(JailError, FileExistsError):
    """EEXIST: the jail already exists (also a :class:`FileExistsError`)."""


class JailPermissionError(JailError, PermissionError):
    """EPERM or EACCES (also a :class:`PermissionError`)."""


class JailPathError(JailError):
    """The jail's ``path`` could not be looked up: the kernel's namei error
    (ENOENT, ENOTDIR, EACCES, ELOOP, ENAMETOOLONG) at jail_set(2).

    Not a "no such jail" error: the ENOENT form is a :class:`FileNotFoundError`
    and the ENOTDIR form a :class:`NotADirectoryError`, like the ones
    :func:`os.stat` raises, and ``filename`` is the path.  The message reads
    like jail(8)'s: ``path /jails/web: No such file or directory``.
    """

    def __init__(self, errno: int, path: str, operation: str = "jail_set") -> None:
        super().__init__(errno, None, operation)
        self.filename = path

    def __reduce__(self) -> tuple[object, ...]:
        return (path_error, (self.errno, self.filename, self.operation))

    def __str__(self) -> str:
        code = _errno.errorcode.get(self.errno or 0, str(self.errno))
        return f"{self.operation}: path {self.filename}: {self.strerror} [{code}]"


class JailPathNotFoundError(JailPathError, FileNotFoundError):
    """ENOENT: the jail's path does not exist."""


class JailPathNotADirectoryError(JailPathError, NotADirectoryError):
    """ENOTDIR: the jail's path, or a component of it, is not a directory."""


class JailPathPermissionError(JailPathError, PermissionError):
    """EACCES: a directory on the way to the jail's path may not be searched."""


_PATH_BY_ERRNO: dict[int, type[JailPathError]] = {
    _errno.ENOENT: JailPathNotFoundError,
    _errno.ENOTDIR: JailPathNotADirectoryError,
    _errno.EACCES: JailPathPermissionError,
}


def path_error(errno: int, path: str, operation: str = "jail_set") -> JailPathError:
    """The :class:`JailPathError` for a failed lookup of ``path``."""
    return _PATH_BY_ERRNO.get(errno, JailPathError)(errno, path, operation)


class UnknownParameterError(ValueError):
    """A parameter name the kernel does not know (``unknown parameter: NAME``).

    ``name`` is the name as given; ``suggestions`` the closest names the
    kernel knows, spelled the way ``name`` was (dotted, or with ``__`` for a
    keyword), shown in the message as ``did you mean ...?``.  ``note`` says
    more where there is more to say: a jail(8) pseudo-parameter
    (``exec.start``, ``mount.devfs``, ...) is one jail(8) acts on itself and
    never passes to the kernel; a name a module jailcore does not load might
    provide (``mac.portacl.x``: ``mac_portacl``) names that module.
    """

    def __init__(self, name: str, suggestions: tuple[str, ...] = (), note: str = "") -> None:
        self.name = name
        self.suggestions = suggestions
        self.note = note
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"unknown parameter: {self.name}"
        notes = [self.note] if self.note else []
        if self.suggestions:
            notes.append(f"did you mean {' or '.join(self.suggestions)}?")
        return f"{text} ({'; '.join(notes)})" if notes else text

    def as_keyword(self, kwargs: object) -> UnknownParameterError:
        """This error with ``__`` for the dot, when the name came as a keyword of
        ``kwargs``; itself otherwise."""
        kw = self.name.replace(".", "__")
        if not isinstance(kwargs, dict) or kw not in kwargs:
            return self
        return UnknownParameterError(
            kw, tuple(s.replace(".", "__") for s in self.suggestions), self.note)


class ModelHostError(OSError):
    """The kernel model's host cannot be used: its state file could not be
    made or opened, is not a state file of this model, or is unsafe (see
    :doc:`model`).  ``errno`` and ``strerror`` say why, ``filename`` is the
    state file."""

    def __str__(self) -> str:
        return f"jailcore's model host {self.filename}: {self.strerror}"


def model_host_error(errno: int, text: str, path: str | None) -> ModelHostError:
    """The ModelHostError for the model's reason ``text`` ("FILE: why")."""
    if path and text.startswith(path + ": "):
        text = text[len(path) + 2 :]
    elif not path:
        path, _, text = text.partition(": ")
    return ModelHostError(errno, text, path)


_BY_ERRNO: dict[int, type[JailError]] = {
    _errno.ENOENT: JailNotFoundError,
    _errno.EEXIST: JailExistsError,
    _errno.EPERM: JailPermissionError,
    _errno.EACCES: JailPermissionError,
}


def jail_error(errno: int, errmsg: str | None = None, operation: str = "jail") -> JailError:
    """The JailError subclass for ``errno``, carrying the kernel's message."""
    return _BY_ERRNO.get(errno, JailError)(errno, errmsg, operation)


class HostError(OSError):
    """A host-side call failed: an interface ioctl, nmount(2) or unmount(2),
    a devfs ruleset ioctl.  A sibling of :class:`JailError`.

    ``errno`` and ``strerror`` are those of :class:`OSError`; ``operation``
    names the call as FreeBSD's tools report it (``"SIOCAIFADDR"``,
    ``"nmount"``, ``"DEVFSIO_RADD"``); ``target`` names what it was about:
    the interface and address, or the mount point; ``errmsg`` is the kernel's
    own text where the call gives one (nmount's ``errmsg``), else ``None``.
    """

    errmsg: str | None
    operation: str
    target: str

    def __init__(self, errno: int, operation: str, target: str, errmsg: str | None = None) -> None:
        super().__init__(errno, os.strerror(errno))
        self.operation = operation
        self.target = target
        self.errmsg = errmsg or None

    def __reduce__(self) -> tuple[object, ...]:
        cls = type(self).__dict__.get("_host_class", type(self))
        return (host_error, (cls, self.errno, self.operation, self.target, self.errmsg))

    def __str__(self) -> str:
        code = _errno.errorcode.get(self.errno or 0, str(self.errno))
        where = f"{self.operation} {self.target}" if self.target else self.operation
        return f"{where}: {self.errmsg or self.strerror} [{code}]"


class InterfaceError(HostError):
    """An interface call failed (address, clone, rename, vnet move)."""


class MountError(HostError):
    """nmount(2), unmount(2) or getfsstat(2) failed."""


class DevfsError(HostError):
    """A DEVFSIO ruleset ioctl failed."""


_HOST_MIXINS: dict[int, type[OSError]] = {
    _errno.ENOENT: FileNotFoundError,
    _errno.EEXIST: FileExistsError,
    _errno.EPERM: PermissionError,
    _errno.EACCES: PermissionError,
}
_HOST_CLASSES: dict[tuple[type[HostError], type[OSError]], type[HostError]] = {}


def host_error(
    cls: type[HostError], errno: int, operation: str, target: str, errmsg: str | None = None
) -> HostError:
    """An instance of ``cls`` (:class:`InterfaceError`, :class:`MountError`,
    :class:`DevfsError`) that is also the builtin OSError subclass Python
    gives ``errno`` (:class:`PermissionError` for EPERM, ...)."""
    mixin = _HOST_MIXINS.get(errno)
    kind: type[HostError] = cls
    if mixin is not None:
        kind = _HOST_CLASSES.get((cls, mixin)) or _HOST_CLASSES.setdefault(
            (cls, mixin), type(cls.__name__, (cls, mixin), {"__module__": cls.__module__,
                                                           "__doc__": cls.__doc__,
                                                           "_host_class": cls})
        )
    return kind(errno, operation, target, errmsg)
