"""Errors of the jail system calls, carrying both the errno and the kernel's message."""

from __future__ import annotations

import errno as _errno
import os

__all__ = [
    "JailError",
    "JailExistsError",
    "JailNotFoundError",
    "JailPermissionError",
    "jail_error",
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


_BY_ERRNO: dict[int, type[JailError]] = {
    _errno.ENOENT: JailNotFoundError,
    _errno.EEXIST: JailExistsError,
    _errno.EPERM: JailPermissionError,
    _errno.EACCES: JailPermissionError,
}


def jail_error(errno: int, errmsg: str | None = None, operation: str = "jail") -> JailError:
    """The JailError subclass for ``errno``, carrying the kernel's message."""
    return _BY_ERRNO.get(errno, JailError)(errno, errmsg, operation)
