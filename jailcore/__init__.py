"""jailcore: FreeBSD jails from Python through their system calls.

On FreeBSD the calls go to the kernel; elsewhere to jailcore's kernel model, a
C implementation of FreeBSD's jail subsystem (see :mod:`jailcore.model`).

>>> import jailcore
>>> web = jailcore.Jail.create(name="web", host__hostname="web.example")  # doctest: +SKIP
"""

from __future__ import annotations

# typing is for the type checker only: importing it (and re, which it
# imports) would be most of what a program pays to import jailcore.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

# Every name is imported from its module the first time it is used (PEP 562),
# so that `import jailcore` costs next to nothing and a program pays only for
# the parts it uses: the system calls and Jail, not spawn, call, jail.conf,
# jail events or the command line unless it uses them.
_EXPORTS = {
    "JailCallError": "jailcore.call",
    "DevfsError": "jailcore.errors",
    "HostError": "jailcore.errors",
    "InterfaceError": "jailcore.errors",
    "JailError": "jailcore.errors",
    "JailExistsError": "jailcore.errors",
    "JailNotFoundError": "jailcore.errors",
    "JailPathError": "jailcore.errors",
    "JailPathNotADirectoryError": "jailcore.errors",
    "JailPathNotFoundError": "jailcore.errors",
    "JailPathPermissionError": "jailcore.errors",
    "JailPermissionError": "jailcore.errors",
    "ModelHostError": "jailcore.errors",
    "MountError": "jailcore.errors",
    "UnknownParameterError": "jailcore.errors",
    "JailFlag": "jailcore.flags",
    "JailSys": "jailcore.flags",
    "Features": "jailcore.jail",
    "Jail": "jailcore.jail",
    "JailDescriptor": "jailcore.jail",
    "Params": "jailcore.jail",
    "features": "jailcore.jail",
    "jail_attach": "jailcore.jail",
    "jail_get": "jailcore.jail",
    "jail_remove": "jailcore.jail",
    "jail_set": "jailcore.jail",
    "jails": "jailcore.jail",
    "JailConf": "jailcore.lifecycle",
    "LifecycleError": "jailcore.lifecycle",
    "ParamSpec": "jailcore.params",
    "describe": "jailcore.params",
    "watch": "jailcore.events",
}

if TYPE_CHECKING:
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
    from jailcore.events import watch
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jailcore' has no attribute {name!r}")
    # __import__ with a fromlist returns the submodule itself (importlib's
    # import_module would cost importlib, and warnings with it).
    value = getattr(__import__(module, fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


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
