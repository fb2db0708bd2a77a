"""Every public class, function, method and property carries its own docstring
(what help() and the API reference show)."""

from __future__ import annotations

import enum
import inspect
from types import ModuleType
from typing import Any

import pytest

import jailcore
import jailcore._confparse
import jailcore.aio
import jailcore.conf
import jailcore.devfs
import jailcore.events
import jailcore.lifecycle
import jailcore.model
import jailcore.params
import jailcore.process
import jailcore.rcconf
import jailcore.rctl
import jailcore.testing

MODULES = (
    jailcore,
    jailcore.model,
    jailcore.aio,
    jailcore.params,
    jailcore.testing,
    jailcore.devfs,
    jailcore._confparse,
    jailcore.conf,
    jailcore.lifecycle,
    jailcore.rcconf,
    jailcore.rctl,
    jailcore.events,
)
DUNDERS = ("__getitem__", "__enter__", "__exit__", "__iter__", "__aenter__", "__aexit__")


def _has_doc(obj: Any) -> bool:
    doc = getattr(obj, "__doc__", None)
    return bool(doc and doc.strip())


def _public(module: ModuleType) -> list[tuple[str, Any]]:
    names = getattr(module, "__all__", [n for n in vars(module) if not n.startswith("_")])
    out = []
    for name in names:
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if getattr(obj, "__module__", "").startswith("jailcore"):
                out.append((f"{module.__name__}.{name}", obj))
    return out


def _members(cls: type) -> list[tuple[str, Any]]:
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_") and name not in DUNDERS:
            continue
        if isinstance(value, (classmethod, staticmethod)):
            value = value.__func__
        if isinstance(value, property) or inspect.isfunction(value):
            out.append((f"{cls.__name__}.{name}", value))
    return out


def _everything() -> list[tuple[str, Any]]:
    seen: dict[str, Any] = {}
    for module in MODULES:
        for name, obj in _public(module):
            seen.setdefault(name, obj)
            if inspect.isclass(obj) and not issubclass(obj, enum.Enum):
                for mname, member in _members(obj):
                    seen.setdefault(mname, member)
    seen["Jail.get (a jail's)"] = jailcore.Jail(1).get
    seen["Jail.get (the class's)"] = jailcore.Jail.get
    seen["JailProcess"] = jailcore.process.JailProcess
    return sorted(seen.items())


@pytest.mark.parametrize(("name", "obj"), _everything(), ids=[n for n, _ in _everything()])
def test_public_name_has_a_docstring(name: str, obj: Any) -> None:
    assert _has_doc(obj), f"{name} has no docstring"
