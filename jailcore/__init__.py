"""jailcore: FreeBSD jails from Python through their system calls.

On FreeBSD the calls go to the kernel; elsewhere to jailcore's kernel model, a
C implementation of FreeBSD's jail subsystem (see :mod:`jailcore.model`).

>>> import jailcore
>>> web = jailcore.Jail.create(name="web", host__hostname="web.example")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from jailcore.call import JailCallError
from jailcore.errors import (
    DevfsError,
    HostError,
    InterfaceError,
    JailError,
    JailExistsError,
    JailNotFoundError,
    JailPathError,
    JailPathNotADirectoryError,
    JailPathNotFoundError,
    JailPathPermissionError,
    JailPermissionError,
    ModelHostError,
    MountError,
    UnknownParameterError,
)
from jailcore.flags import JailFlag, JailSys
from jailcore.jail import (
    Features,
    Jail,
    JailDescriptor,
    Params,
    features,
    jail_attach,
    jail_get,
    jail_remove,
    jail_set,
    jails,
)
from jailcore.lifecycle import JailConf, LifecycleError
from jailcore.params import ParamSpec, describe

if TYPE_CHECKING:
    from jailcore.events import watch


def __getattr__(name: str) -> Any:
    # jailcore.watch: jail events are imported the first time they are used.
    if name == "watch":
        from jailcore.events import watch

        return watch
    raise AttributeError(f"module 'jailcore' has no attribute {name!r}")

__all__ = [
    "DevfsError",
    "Features",
    "HostError",
    "InterfaceError",
    "Jail",
    "JailCallError",
    "JailConf",
    "JailDescriptor",
    "JailError",
    "JailExistsError",
    "JailFlag",
    "JailNotFoundError",
    "JailPathError",
    "JailPathNotADirectoryError",
    "JailPathNotFoundError",
    "JailPathPermissionError",
    "JailPermissionError",
    "JailSys",
    "LifecycleError",
    "ModelHostError",
    "MountError",
    "ParamSpec",
    "Params",
    "UnknownParameterError",
    "__version__",
    "describe",
    "features",
    "jail_attach",
    "jail_get",
    "jail_remove",
    "jail_set",
    "jails",
    "watch",
]
