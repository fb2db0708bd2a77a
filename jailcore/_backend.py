"""The seam: the one module that imports the compiled extension.

It chooses the backend once, at import: the FreeBSD kernel on FreeBSD, the
kernel model elsewhere.  ``JAILCORE_BACKEND=model`` (or ``kernel``) in the
environment overrides the choice, so that tests on FreeBSD can run on the model.
"""

from __future__ import annotations

import os
from typing import Any

from jailcore import __version__

try:
    from jailcore._native import ffi, lib
except ImportError as exc:  # pragma: no cover - depends on the build
    raise ImportError(
        "jailcore's extension jailcore._native is not built; install the package with "
        "'pip install .' (it needs a C compiler)"
    ) from exc

if lib.jc_version() != ffi.NULL and ffi.string(lib.jc_version()).decode() != __version__:
    raise ImportError(
        f"jailcore._native was built for jailcore {ffi.string(lib.jc_version()).decode()}, "
        f"but this is jailcore {__version__}: rebuild it with 'pip install .'"
    )

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
