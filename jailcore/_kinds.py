"""The enum types of :class:`~jailcore.params.ParamSpec`'s ``kind`` and
``access``, public as :class:`jailcore.params.Kind` and
:class:`jailcore.params.Access`.

A ParamSpec keeps their members' values (``"int"``, ``"writable"``), and this
module is imported only when one of the types is used: importing ``enum``
(with the ``functools`` and ``collections`` it imports) costs more than the
rest of a first use of jailcore.
"""

from __future__ import annotations

import enum

__all__ = ["Access", "Kind"]


class Kind(enum.Enum):
    """How a parameter's value is encoded."""

    __module__ = "jailcore.params"

    INT = "int"
    UINT = "uint"
    LONG = "long"
    ULONG = "ulong"
    INT64 = "int64"
    UINT64 = "uint64"
    BOOL = "bool"
    JAILSYS = "jailsys"
    STRING = "string"
    KEYVALUE = "keyvalue"  # meta, env: key=value lines
    KEY = "key"  # one key of meta or env: meta.KEY
    IPV4 = "ipv4"  # array of struct in_addr
    IPV6 = "ipv6"  # array of struct in6_addr
    OPAQUE = "opaque"


class Access(enum.Enum):
    """When a parameter may be set."""

    __module__ = "jailcore.params"

    WRITABLE = "writable"  # any time (CTLFLAG_RW)
    CREATE_ONLY = "create-only"  # only when the jail is created (CTLFLAG_RDTUN)
    READ_ONLY = "read-only"  # never (CTLFLAG_RD)
