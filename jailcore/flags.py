"""The flags of jail_set(2) and jail_get(2), and the "jailsys" values."""

from __future__ import annotations

import enum

__all__ = ["JailFlag", "JailSys"]


class JailFlag(enum.IntFlag):
    """Flags of ``jail_set(2)`` and ``jail_get(2)``, named as in ``<sys/jail.h>``."""

    CREATE = 0x01  #: create a jail if it does not exist
    UPDATE = 0x02  #: modify an existing jail
    ATTACH = 0x04  #: attach the calling process after the create or update
    DYING = 0x08  #: allow jail_get of a dying jail
    USE_DESC = 0x10  #: FreeBSD 15: the jail is the one the ``desc`` descriptor refers to
    AT_DESC = 0x20  #: FreeBSD 15: look up or create relative to the ``desc`` jail
    GET_DESC = 0x40  #: FreeBSD 15: return a new descriptor in ``desc``
    OWN_DESC = 0x80  #: FreeBSD 15: return an owning descriptor (closing it removes the jail)


class JailSys(enum.IntEnum):
    """Values of the jailsys parameters (``host``, ``vnet``, ``ip4``, ``ip6``, ``sysvmsg``...)."""

    DISABLE = 0
    NEW = 1
    INHERIT = 2

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: JailSys | int | str) -> JailSys:
        """A JailSys from itself, 0/1/2, or ``"disable"``/``"new"``/``"inherit"``.

        As in libjail, the empty string means ``new`` and names are case-insensitive.
        """
        if isinstance(value, JailSys):
            return value
        if isinstance(value, bool):
            raise TypeError(f"a jailsys value is disable, new or inherit, not {value!r}")
        if isinstance(value, int):
            try:
                return cls(value)
            except ValueError:
                raise ValueError(f"jailsys value out of range: {value}") from None
        if isinstance(value, str):
            text = value.strip().lower()
            if text == "":
                return cls.NEW
            for member in cls:
                if member.name.lower() == text:
                    return member
            raise ValueError(f"unknown jailsys value: {value!r} (disable, new or inherit)")
        raise TypeError(f"a jailsys value is disable, new or inherit, not {type(value).__name__}")
