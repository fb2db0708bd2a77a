"""jailcore: FreeBSD jails from Python through their system calls.

On FreeBSD the calls go to the kernel; elsewhere to jailcore's kernel model, a
C implementation of FreeBSD's jail subsystem (see :mod:`jailcore.model`).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
