"""The seam: the one module that imports the compiled extension.

It chooses the backend once, at import: the FreeBSD kernel on FreeBSD, the
kernel model elsewhere.  ``JAILCORE_BACKEND=model`` (or ``kernel``) in the
environment overrides the choice, so that tests on FreeBSD can run on the model.
"""

from __future__ import annotations

import errno
import os

from jailcore import __version__

TYPE_CHECKING = False  # typing is for the type checker only (see jailcore/__init__.py)
if TYPE_CHECKING:
    from typing import Any


def _not_built() -> str:
    """Why jailcore._native is missing, and what to do."""
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(here)
    if not os.path.exists(os.path.join(top, "setup.py")):
        return ("jailcore's extension jailcore._native is not built; install the package "
                "with 'pip install .' (it needs a C compiler)")
    text = (f"this is jailcore's source checkout ({here}), not a built jailcore: "
            "'python -m' and 'python' put the current directory first on sys.path")
    try:
        import importlib.metadata

        dist = importlib.metadata.distribution("jailcore")
        installed = os.path.abspath(str(dist.locate_file("jailcore")))
    except Exception:
        installed = None
    if installed is not None and installed != here:
        return (f"{text}, so the checkout shadows the jailcore installed in {installed}: "
                "run from another directory (cd /tmp), or use the 'jailcore' command")
    return (f"{text}; install jailcore ('pip install .') and run from another directory, "
            "or build it in place ('python setup.py build_ext --inplace')")


try:
    from jailcore._native import ffi, lib
except ImportError as exc:  # pragma: no cover - depends on the build
    raise ImportError(_not_built()) from exc

if lib.jc_version() != ffi.NULL and ffi.string(lib.jc_version()).decode() != __version__:
    raise ImportError(
        f"jailcore._native was built for jailcore {ffi.string(lib.jc_version()).decode()}, "
        f"but this is jailcore {__version__}: rebuild it with 'pip install .'"
    )

# values_plan(), get_call() and values() make a prepared jail_get and its dict
# in C, set_plan() and set_call() encode a prepared jail_set's values and make
# it; they are Python's C API in the same extension (csrc/values.c), added to
# it here.
if lib.jc_values_install() != 0:  # pragma: no cover - only without memory
    raise ImportError("jailcore._native: values(), set_call() and their plans could not be added")
from jailcore._native import get_call as get_call  # noqa: E402  (added just above)
from jailcore._native import set_call as set_call  # noqa: E402
from jailcore._native import set_plan as set_plan  # noqa: E402
from jailcore._native import values as values  # noqa: E402
from jailcore._native import values_plan as values_plan  # noqa: E402

BACKEND_KERNEL: int = lib.JC_BACKEND_KERNEL
BACKEND_MODEL: int = lib.JC_BACKEND_MODEL
HAS_KERNEL: bool = bool(lib.JC_HAS_KERNEL)


def _choose() -> int:
    wanted = os.environ.get("JAILCORE_BACKEND", "").strip().lower()
    if wanted == "model":
        return BACKEND_MODEL
    if wanted == "kernel":
        if not HAS_KERNEL:
            raise ImportError("JAILCORE_BACKEND=kernel, but this system has no FreeBSD jails")
        return BACKEND_KERNEL
    if wanted:
        raise ImportError(f"JAILCORE_BACKEND must be 'kernel' or 'model', not {wanted!r}")
    return BACKEND_KERNEL if HAS_KERNEL else BACKEND_MODEL


BACKEND: int = _choose()
NAME: str = "kernel" if BACKEND == BACKEND_KERNEL else "model"

__all__ = ["BACKEND", "BACKEND_KERNEL", "BACKEND_MODEL", "HAS_KERNEL", "NAME", "ffi", "lib"]


def native() -> tuple[Any, Any]:
    """The extension's ``(ffi, lib)``."""
    return ffi, lib


# ---- syscall-shaped calls: each returns its result and the errno of that call ----
#
# The C side returns -errno for a failed call (csrc/kernel.c): errno travels with
# the result, so a signal handler that makes calls of its own between the call
# and this code cannot replace it.


def _failed(ret: int) -> tuple[int, int]:
    """(-1, errno) of a failed call; on the model, first make sure the failure
    is the call's and not the model's host being unusable (ModelHostError)."""
    if BACKEND == BACKEND_MODEL:
        check_model_host(-ret)
    return -1, -ret


def check_model_host(err: int = 0) -> None:
    """Raise :class:`~jailcore.errors.ModelHostError` when the model's host
    cannot be opened (its state file unusable); no-op otherwise."""
    why = lib.jailmodel_host_error()
    if why != ffi.NULL:
        from jailcore.errors import model_host_error

        path = lib.jailmodel_state_path()
        raise model_host_error(err or ffi.errno or errno.EIO,
                               ffi.string(why).decode(errors="replace"),
                               ffi.string(path).decode() if path != ffi.NULL else None)


def jail_set(iov: Any, niov: int, flags: int) -> tuple[int, int]:
    ret: int = lib.jc_jail_set(BACKEND, iov, niov, flags)
    return (ret, 0) if ret >= 0 else _failed(ret)


def jail_get(iov: Any, niov: int, flags: int) -> tuple[int, int]:
    ret: int = lib.jc_jail_get(BACKEND, iov, niov, flags)
    return (ret, 0) if ret >= 0 else _failed(ret)


def jail_attach(jid: int) -> tuple[int, int]:
    ret: int = lib.jc_jail_attach(BACKEND, jid)
    return (ret, 0) if ret >= 0 else _failed(ret)


def model_register_self(jid: int) -> str | None:
    """On the model: register this process as attached to jail ``jid``, as
    the spawn helper's parent registers its child, without changing its root;
    the root it must chroot(2) to (jailcore-jexec does).  None on the kernel,
    where jailcore-jexec calls jail_attach(2) itself."""
    if BACKEND != BACKEND_MODEL:
        return None
    root = ffi.new("char[]", lib.JC_ROOT_MAX)
    if lib.jailmodel_attach_pid(os.getpid(), jid, root, lib.JC_ROOT_MAX) == -1:
        err = ffi.errno
        check_model_host(err)
        from jailcore.errors import jail_error

        raise jail_error(err, None, "jail_attach")
    return str(ffi.string(root).decode(errors="surrogateescape"))


def jail_remove(jid: int) -> tuple[int, int]:
    ret: int = lib.jc_jail_remove(BACKEND, jid)
    return (ret, 0) if ret >= 0 else _failed(ret)


def jail_attach_jd(fd: int) -> tuple[int, int]:
    ret: int = lib.jc_jail_attach_jd(BACKEND, fd)
    return (ret, 0) if ret >= 0 else _failed(ret)


def jail_remove_jd(fd: int) -> tuple[int, int]:
    ret: int = lib.jc_jail_remove_jd(BACKEND, fd)
    return (ret, 0) if ret >= 0 else _failed(ret)


def jail_pids(jid: int) -> tuple[int, list[int]]:
    """(errno, pids) of the processes of jail ``jid`` (jc_jail_pids), the
    buffer grown until the list fits."""
    size = 64
    while True:
        buf = ffi.new("int[]", size)
        ret: int = lib.jc_jail_pids(BACKEND, jid, buf, size)
        if ret < 0:
            return _failed(ret)[1], []
        if ret <= size:
            return 0, list(buf[0:ret])
        size = ret + ret // 4 + 16


def has_jaildesc() -> bool:
    return bool(lib.jc_has_jaildesc(BACKEND))


def sysctl(mib: list[int], size: int | None, new: bytes | None = None) -> tuple[int, bytes]:
    """sysctl(3) by MIB into a buffer of ``size`` bytes: (errno, value)."""
    name = ffi.new("int[]", mib)
    oldlen = ffi.new("size_t *", size or 0)
    old = ffi.new("char[]", size) if size else ffi.NULL
    newp = ffi.from_buffer(new) if new is not None else ffi.NULL
    ret: int = lib.jc_sysctl(BACKEND, name, len(mib), old, oldlen, newp, len(new or b""))
    if ret < 0:
        return _failed(ret)[1], b""
    return 0, (ffi.unpack(old, oldlen[0]) if size else b"")


def sysctl_size(mib: list[int]) -> tuple[int, int]:
    """(errno, size) of a sysctl's value."""
    name = ffi.new("int[]", mib)
    oldlen = ffi.new("size_t *", 0)
    ret: int = lib.jc_sysctl(BACKEND, name, len(mib), ffi.NULL, oldlen, ffi.NULL, 0)
    if ret < 0:
        return _failed(ret)[1], 0
    return 0, int(oldlen[0])


def sysctlnametomib(name: str) -> tuple[int, list[int]]:
    """(errno, MIB) of a sysctl name."""
    mib = ffi.new("int[]", 24)
    size = ffi.new("size_t *", 24)
    ret: int = lib.jc_sysctlnametomib(BACKEND, name.encode(), mib, size)
    if ret < 0:
        return _failed(ret)[1], []
    return 0, list(mib[0 : size[0]])


def kldload(name: str) -> tuple[int, int]:
    ret: int = lib.jc_kldload(BACKEND, name.encode())
    return (ret, 0) if ret >= 0 else _failed(ret)
