"""The jail as a Python object, the iteration over jails, descriptors and features."""

from __future__ import annotations

import errno
import os
import time

from jailcore import _backend, _iov
from jailcore._iov import (
    JAIL_AT_DESC,
    JAIL_ATTACH,
    JAIL_CREATE,
    JAIL_DYING,
    JAIL_GET_DESC,
    JAIL_OWN_DESC,
    JAIL_SYS_INHERIT,
    JAIL_SYS_NEW,
    JAIL_UPDATE,
    JAIL_USE_DESC,
)
from jailcore.errors import JailError, JailNotFoundError, UnknownParameterError, jail_error
from jailcore.params import KEYVALUE, READ_ONLY, all_params, is_mapping, spec

TYPE_CHECKING = False  # typing is for the type checker only (see jailcore/__init__.py)
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from contextlib import AbstractContextManager
    from typing import Any, ParamSpec, TypeVar, overload

    import jailcore.rctl
    from jailcore.aio import AsyncJailProcess
    from jailcore.events import Watcher
    from jailcore.flags import JailFlag
    from jailcore.process import JailProcess

    _P = ParamSpec("_P")
    _R = TypeVar("_R")


__all__ = [
    "DEFAULT_LIST_PARAMS",
    "Features",
    "Jail",
    "JailDescriptor",
    "Params",
    "features",
    "jail_attach",
    "jail_get",
    "jail_remove",
    "jail_set",
    "jails",
]

#: What :func:`jails` reads of each jail unless told otherwise (``jid`` always).
DEFAULT_LIST_PARAMS: tuple[str, ...] = ("name", "path", "host.hostname")

# Read-only or derived values that a saved jail must not carry (jls -s drops
# the read-only ones too).
_NOT_SAVED = frozenset({"jid", "dying", "nodying", "parent", "children.cur", "cpuset.id"})


def _params(params: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted parameters from a mapping and keywords, where ``__`` stands for ``.``."""
    if params is None:  # keywords only: no name can come twice unless two spell it
        out = {k.replace("__", "."): v for k, v in kwargs.items()}
        if len(out) == len(kwargs):
            return out
    out = {}
    if params is not None:
        if not is_mapping(params):
            raise TypeError(f"parameters are a mapping of names to values, not {params!r}")
        for k, v in params.items():
            if not isinstance(k, str):
                raise TypeError(f"a parameter name is a str, not {k!r}")
            out[k] = v
    for k, v in kwargs.items():
        name = k.replace("__", ".")
        if name in out:
            raise TypeError(f"parameter {name!r} given twice")
        out[name] = v
    return out


def _c_int(value: Any, what: str) -> int:
    """``value`` as a C int (a jid, flags): TypeError, naming ``what``, for what
    is not an integer (a bool, a float, a str: never truncated or parsed),
    ValueError for one out of range."""
    if type(value) is not int:
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise TypeError(f"{what}: expected an int, not {type(value).__name__}")
        value = int(value.__index__())
    if not -(2**31) <= value < 2**31:
        raise ValueError(f"{what}: {value} is out of range for a C int")
    return int(value)


def _remove_quietly(jail: Jail) -> None:
    """Remove ``jail``; one already gone is fine."""
    try:
        jail.remove()
    except JailError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOENT):
            raise


# ---- the functional layer: the system calls, typed --------------------------------


def jail_set(params: Mapping[str, Any], flags: JailFlag | int = JAIL_CREATE) -> int:
    """jail_set(2): create or update a jail from dotted ``params`` (a mapping of
    names to values; anything else is a TypeError); returns its jid.

    Booleans are sent by name (``False`` as the ``no`` form); every value is
    encoded by the type the kernel gives the parameter.

    With ``JailFlag.ATTACH`` the calling process attaches, which FreeBSD
    refuses while it holds an open directory descriptor (EPERM, ``attach
    failed``, and a jail the call was creating is removed); the error's
    ``errmsg`` then goes on to say so and names them, as :func:`jail_attach`'s.
    """
    flags = _c_int(flags, "flags")
    try:
        return _iov.jail_set(params, flags)
    except JailError as exc:
        if not flags & JAIL_ATTACH or exc.errmsg != "attach failed":
            raise
        why = _attach_error(exc.errno or 0, exc.operation).errmsg
        if why is None:
            raise
        raise jail_error(exc.errno or 0, f"attach failed: {why}", exc.operation) from None


def jail_get(
    key: int | str | Mapping[str, Any], names: Any, flags: JailFlag | int = 0
) -> dict[str, Any]:
    """jail_get(2): the values of ``names`` for the jail ``key`` (a jid, a name,
    or ``{"lastjid": n}``), all in one call."""
    if isinstance(names, str):
        names = [names]
    return _iov.jail_get(key, names, _c_int(flags, "flags"))[1]


def _open_directories() -> list[int]:
    """This process's open descriptors that are directories, lowest first."""
    ffi, lib = _backend.ffi, _backend.lib
    maxfd = max(os.sysconf("SC_OPEN_MAX"), 256)
    size = 16
    while True:
        out = ffi.new("int[]", size)
        n: int = lib.jc_dir_fds(out, size, maxfd)
        if n <= size:
            return [out[i] for i in range(n)]
        size = n


#: Why FreeBSD refused, in the errmsg of the EPERM that says so.
ATTACH_RULE = (
    "FreeBSD refuses to attach a process that holds an open directory descriptor"
)


def _attach_error(err: int, operation: str) -> JailError:
    """The error of a failed attach of this process: with EPERM while it holds
    directory descriptors, an errmsg that says so and names them."""
    errmsg = None
    if err == errno.EPERM:
        dirs = _open_directories()
        if dirs:
            which = ", ".join(map(str, dirs))
            errmsg = (
                f"{ATTACH_RULE}, and this one holds {which}: close "
                f"{'it' if len(dirs) == 1 else 'them'} first, or attach a child with "
                "Jail.call or Jail.spawn, which close theirs"
            )
    return jail_error(err, errmsg, operation)


def jail_attach(jid: int) -> None:
    """jail_attach(2): move this process into jail ``jid``.  There is no way back.

    FreeBSD refuses (EPERM) while the process holds an open directory
    descriptor (an :func:`os.open` of a directory, a running :func:`os.scandir`,
    a ``dir_fd``); this function closes nothing of the caller's, and its
    :class:`~jailcore.JailPermissionError` then names those descriptors in
    ``errmsg``.  :meth:`Jail.call` and :meth:`Jail.spawn` attach a child that
    closes them first.
    """
    ret, err = _backend.jail_attach(_c_int(jid, "jid"))
    if ret == -1:
        raise _attach_error(err, "jail_attach")


def jail_remove(jid: int) -> None:
    """jail_remove(2): remove jail ``jid`` and its descendants, killing their processes."""
    ret, err = _backend.jail_remove(_c_int(jid, "jid"))
    if ret == -1:
        raise jail_error(err, None, "jail_remove")


# ---- features ---------------------------------------------------------------------


class Features:
    """What the running kernel (or the model) offers; read live on each access."""

    @property
    def backend(self) -> str:
        """``"kernel"`` (FreeBSD) or ``"model"`` (jailcore's kernel model)."""
        return _backend.NAME

    @property
    def jail_descriptors(self) -> bool:
        """Jail descriptors (FreeBSD 15): JAIL_*_DESC, jail_attach_jd, jail_remove_jd."""
        return _backend.has_jaildesc()

    @property
    def osreldate(self) -> int:
        """kern.osreldate of the running kernel."""
        err, mib = _backend.sysctlnametomib("kern.osreldate")
        if err:
            return 0
        err, data = _backend.sysctl(mib, 4)
        return 0 if err else int.from_bytes(data[:4], "little", signed=True)

    def __repr__(self) -> str:
        return (
            f"<jailcore features backend={self.backend!r} "
            f"jail_descriptors={self.jail_descriptors} osreldate={self.osreldate}>"
        )


features = Features()


def _need_descriptors(operation: str) -> None:
    if not features.jail_descriptors:
        raise JailError(
            errno.ENOSYS, "jail descriptors need FreeBSD 15 or newer", operation
        )


# ---- parameter dictionaries for the REPL -----------------------------------------------


if TYPE_CHECKING:
    _ParamsBase = dict[str, Any]
else:
    _ParamsBase = dict  # the same class, without typing at run time


class Params(_ParamsBase):
    """A dict of parameter values that also reads as attributes (``host__hostname``
    for ``host.hostname``) and completes parameter names in a REPL."""

    def __getattr__(self, attr: str) -> Any:
        name = attr.replace("__", ".")
        try:
            return self[name]
        except KeyError:
            raise AttributeError(attr) from None

    def __dir__(self) -> list[str]:
        return sorted({*dir(dict), *(k.replace(".", "__") for k in self)})

    def _ipython_key_completions_(self) -> list[str]:
        return list(self)

    @staticmethod
    def describe(name: str) -> str:
        """The format, access and meaning of parameter ``name``."""
        return spec(name).describe()


# ---- Jail ----------------------------------------------------------------------------


class _ClassOrInstance:
    """``Jail.get``: on the class, find a jail; on a jail, read parameters.

    ``Jail.get(name_or_jid)`` returns the jail with that jid or name (a string
    of digits is a jid, as for jexec); ``jail.get(*names)`` returns a dict of
    those parameters' values, read in one jail_get(2).
    """

    if TYPE_CHECKING:  # its two forms, for the type checker

        @overload
        def __get__(self, obj: None, objtype: type[Jail]) -> Callable[[int | str], Jail]: ...

        @overload
        def __get__(
            self, obj: Jail, objtype: type[Jail] | None = None
        ) -> Callable[..., dict[str, Any]]: ...

    def __get__(self, obj: Jail | None, objtype: type[Jail] | None = None) -> Any:
        if obj is None:
            assert objtype is not None
            return objtype._lookup
        return obj._get_values


class Jail:
    """A jail, known by its jid.

    Parameter values read by :meth:`get`, :func:`jails` or the properties are
    kept as of that read; :meth:`refresh` reads them again.
    """

    __slots__ = ("__weakref__", "_jid", "_values")

    def __init__(self, jid: int, values: Mapping[str, Any] | None = None) -> None:
        self._jid = jid if type(jid) is int and -(2**31) <= jid < 2**31 else _c_int(jid, "jid")
        self._values: dict[str, Any] = dict(values) if values else {}

    @classmethod
    def _read(cls, jid: int, values: dict[str, Any]) -> Jail:
        """A Jail for what jail_get(2) just returned: the jid is the kernel's and
        the dict is new, so neither is checked nor copied."""
        jail = cls.__new__(cls)
        jail._jid = jid
        jail._values = values
        return jail

    # -- finding and making jails

    @classmethod
    def create(cls, params: Mapping[str, Any] | None = None, /, *,
               limits: Iterable[jailcore.rctl.Rule | str] = (), **kwargs: Any) -> Jail:
        """Create a jail.  ``params`` has dotted names; as keywords, ``__`` is the dot
        (``host__hostname="web"``).  ``persist`` defaults to True: the kernel
        refuses a new jail that neither persists nor has a process attached.

        ``limits`` are rctl rules for the new jail, added once it exists:
        rctl(8) texts with or without the ``jail:NAME:`` subject
        (``"maxproc:deny=5"``, ``"memoryuse:deny=1g"``) or
        :class:`~jailcore.rctl.Rule` objects.  When one is refused, the rules
        added so far and the jail are removed and the error
        (:class:`~jailcore.rctl.RctlError`) raised."""
        if limits:
            return cls._create_limited(params, list(limits), kwargs)
        try:
            if params is None:
                jid = _iov.create_from_keywords(kwargs)
                if jid is not None:
                    return cls(jid)
            p = _params(params, kwargs)
            if "persist" not in p and "nopersist" not in p:
                p["persist"] = True
            return cls(_iov.jail_set(p, JAIL_CREATE))
        except UnknownParameterError as exc:
            raise exc.as_keyword(kwargs) from None

    @classmethod
    def _create_limited(cls, params: Mapping[str, Any] | None,
                        limits: list[jailcore.rctl.Rule | str],
                        kwargs: dict[str, Any]) -> Jail:
        from jailcore import rctl as _rctl

        jail = cls.create(params, **kwargs)
        added: list[jailcore.rctl.Rule] = []
        try:
            for rule in _rctl.jail_rules(jail.name, limits):
                added.append(_rctl.add(rule))
        except BaseException:
            for rule in added:
                _rctl.remove(rule, missing_ok=True)
            _remove_quietly(jail)
            raise
        return jail

    @classmethod
    def _lookup(cls, name_or_jid: int | str) -> Jail:
        """``Jail.get(name_or_jid)``: the jail with that jid or name (a string of
        digits is a jid, as for jexec); JailNotFoundError when there is none."""
        key: int | str = name_or_jid
        if isinstance(key, str) and key.isascii() and key.isdigit():  # "١٢" is a name
            key = int(key)
        jid, values = _iov.jail_get(key, ["name", "path"], 0)
        return cls._read(jid, values)

    @classmethod
    def temporary(
        cls, params: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> AbstractContextManager[Jail]:
        """A jail removed when the ``with`` block ends, also when it raises::

            with Jail.temporary(name="scratch", path="/") as jail:
                ...

        The jail is created when the block is entered.  Where jail descriptors
        exist it is created with an owning one, so even a process that dies
        without cleaning up leaves no jail behind.
        """
        p = _params(params, kwargs)
        if "persist" not in p and "nopersist" not in p:
            p["persist"] = True
        return _Temporary(cls, p, kwargs)

    # -- identity

    @property
    def jid(self) -> int:
        """The jail's id (jls's JID), fixed for its life."""
        return self._jid

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Jail) and other._jid == self._jid

    def __hash__(self) -> int:
        return hash(("Jail", self._jid))

    def __repr__(self) -> str:
        try:
            if "name" not in self._values or "path" not in self._values:
                self._fetch(["name", "path"])
            return f"<Jail {self._jid} {self._values['name']!r} path={self._values['path']!r}>"
        except Exception:
            return f"<Jail {self._jid}>"

    # -- reading

    def _fetch(self, names: list[str], flags: int = 0) -> dict[str, Any]:
        _, values = _iov.jail_get(self._jid, names, flags)
        self._values.update(values)
        return values

    def _cached(self, name: str) -> Any:
        if name not in self._values:
            self._fetch([name], JAIL_DYING)
        return self._values[name]

    def __getitem__(self, name: str) -> Any:
        """A parameter's value: the one this object carries (read by :func:`jails`,
        :meth:`get` or a property), else read now and kept."""
        if name not in self._values:
            self._fetch([name])
        return self._values[name]

    @property
    def values(self) -> dict[str, Any]:
        """The parameter values this object carries, as of when they were read."""
        return dict(self._values)

    @property
    def name(self) -> str:
        """The jail's name, relative to this process's jail."""
        return str(self._cached("name"))

    @property
    def path(self) -> str:
        """The jail's root directory, as jail_get(2) reports it to this process:
        relative to this process's own jail's path ("/" when equal)."""
        return str(self._cached("path"))

    @property
    def parent(self) -> int:
        """The parent's jid; 0 when the parent is this process's own jail (the host)."""
        return int(self._cached("parent"))

    @property
    def dying(self) -> bool:
        """Whether the jail is dying (read now, not cached)."""
        try:
            return bool(self._fetch(["dying"], JAIL_DYING)["dying"])
        except JailNotFoundError:
            return True

    def _get_values(self, *names: str) -> dict[str, Any]:
        """``jail.get(*names)``: the values of the parameters ``names`` (dotted,
        as jail(8) spells them), read in one jail_get(2), as a dict."""
        # get_jid, without its frame: this is the hot path of reading.
        plan = _iov.jid_plans.get(names)
        if plan is None:
            _, values = _iov.get_jid(self._jid, names)
        else:
            try:
                _, values = plan.call(self._jid, 0)
            except JailError as exc:
                _, values = _iov.get_again(plan, exc, self._jid, names, 0)
        self._values.update(values)
        return values

    get = _ClassOrInstance()

    @property
    def params(self) -> Params:
        """Every parameter the kernel offers, read in one call."""
        return Params(self._fetch(list(all_params())))

    def refresh(self) -> Jail:
        """Read every value this object holds again (one call)."""
        self._fetch(list(self._values) or ["name", "path"])
        return self

    def children(self) -> list[Jail]:
        """The jails whose parent is this jail."""
        return [j for j in jails(("parent", "name", "path")) if j._values["parent"] == self._jid]

    def descendants(self) -> list[Jail]:
        """This jail's subtree: its children, their children and so on, in jid order."""
        every = list(jails(("parent", "name", "path")))
        parent_of = {j.jid: j._values["parent"] for j in every}
        out = []
        for j in every:
            p = parent_of.get(j.jid, 0)
            while p not in (0, self._jid):
                p = parent_of.get(p, 0)
            if p == self._jid:
                out.append(j)
        return out

    # -- changing

    def update(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Jail:
        """Change parameters of the jail (jail_set(2) with JAIL_UPDATE)."""
        if params is None:
            # Keywords alone: a plan by spelling (looked up here first, the
            # common case, without a call), the jid packed as the C int it is.
            keys = tuple(kwargs)
            plan = _iov.update_plans.get(keys) or _iov.update_plan(keys)
            if plan is not None and plan.call(
                    kwargs.values(), JAIL_UPDATE, (_iov.pack_jid(self._jid),)) is not None:
                if self._values:  # forget what the change made stale
                    for name in plan.stale:
                        self._values.pop(name, None)
                return self
        p = _params(params, kwargs)
        if "jid" in p:
            raise TypeError("jid: a jail's jid cannot be changed")
        try:
            _iov.jail_set({"jid": self._jid, **p}, JAIL_UPDATE)
        except UnknownParameterError as exc:
            raise exc.as_keyword(kwargs) from None
        if self._values:  # forget what the change made stale
            for name in p:
                self._values.pop(name, None)
                self._values.pop(spec(name).base, None)
        return self

    def remove(self) -> None:
        """Remove the jail and its descendants: jail_remove(2), at once.

        Every process in them gets SIGKILL, immediately and without waiting for
        it to exit; the jail stays dying until they are gone.  This is not
        ``jail -r``, which first runs ``exec.prestop`` and ``exec.stop`` inside
        the jail and sends SIGTERM, waiting ``stop.timeout`` seconds (10 by
        default) before the removal: :meth:`stop` does the SIGTERM and the
        wait, and a service that must shut down through its rc script has to
        be stopped (:meth:`run` it) before either call.
        """
        ret, err = _backend.jail_remove(self._jid)
        if ret == -1:
            raise jail_error(err, None, "jail_remove")

    def processes(self) -> list[int]:
        """The process IDs of the jail's processes, sorted: those that
        ``jail -r`` would send SIGTERM, the processes whose ``ki_jid`` is this
        jail's in the kernel's process table (``kern.proc.proc``).

        Only the jail's own processes, not those of its child jails.  A
        process that has exited but is not yet reaped by its parent (a zombie)
        is not listed.  From inside a jail, only the processes of this
        process's own jail and its descendants are visible: any other jail,
        like a jail that no longer exists, has none.
        """
        err, pids = _backend.jail_pids(self._jid)
        if err:
            raise jail_error(err, None, "kern.proc.proc")
        return sorted(pids)

    @property
    def limits(self) -> list[jailcore.rctl.Rule]:
        """The resource limit rules of this jail (``rctl jail:NAME``), in
        the kernel's order: rules name a jail by its name, so they include
        rules added before the jail existed."""
        from jailcore import rctl as _rctl

        return _rctl.rules(f"jail:{self.name}:")

    def limit(self, resource: str, action: str, amount: int | str,
              per: str | None = None) -> jailcore.rctl.Rule:
        """Add a rule for this jail (``rctl -a jail:NAME:RESOURCE:ACTION=AMOUNT[/PER]``):
        ``jail.limit("memoryuse", "deny", "1g")``.  ``amount`` takes
        expand_number(3)'s suffixes; the rule as the kernel keeps it."""
        from jailcore import rctl as _rctl

        text = f"jail:{self.name}:{resource}:{action}={amount}"
        return _rctl.add(text if per is None else f"{text}/{per}")

    def usage(self) -> jailcore.rctl.Usage:
        """The jail's resource usage (``rctl -u jail:NAME``), its child
        jails' included: resource name to amount, in the kernel's units
        (``jail.usage()["maxproc"]`` counts its processes)."""
        from jailcore import rctl as _rctl

        return _rctl.usage(f"jail:{self.name}")

    def watch(self, events: int = 0xF0000000, *, children: bool = False) -> Watcher:
        """A :class:`~jailcore.events.Watcher` of this jail's events
        (``EVFILT_JAIL``; FreeBSD 15): created children, changes, attaches,
        its removal; with ``children`` the jails below it too."""
        from jailcore.events import watcher

        return watcher(self, events, children=children)

    def stop(self, timeout: float = 10) -> list[int]:
        """Stop the jail as ``jail -r`` does, then remove it.

        Each of the jail's :meth:`processes` gets SIGTERM; the call waits up to
        ``timeout`` seconds (jail(8)'s ``stop.timeout``, 10 by default) for
        them to exit, then removes the jail with jail_remove(2)
        (:meth:`remove`), whose SIGKILL ends whatever is left, in the jail and
        in its descendants.  A process counts as gone once it has exited,
        while its parent may still have to reap it (a :class:`JailProcess`
        this process spawned keeps its exit status for its ``wait``).  With
        ``timeout=0`` no SIGTERM is sent and the jail is removed at once
        (``stop.timeout=0``).

        Returns the processes that were still running when the removal was
        made, the ones its SIGKILL ended, sorted (empty when every process
        exited on SIGTERM).  Only the jail's own processes get SIGTERM, as in
        jail(8), which stops each child jail before its parent; the
        processes of child jails are ended by the removal.  This runs neither
        ``exec.prestop`` nor ``exec.stop``: :meth:`run` the jail's rc scripts
        first if they are needed.
        """
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout: expected a number of seconds, not {type(timeout).__name__}")
        if not timeout >= 0:
            raise ValueError(f"timeout: must be 0 or more seconds, not {timeout!r}")
        left = self.processes()
        if timeout > 0 and left:
            import signal  # here, not at import: most programs never stop a jail

            signalled = []
            for pid in left:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                signalled.append(pid)
            left = self._wait_gone(signalled, timeout)
        self.remove()
        return left

    def _wait_gone(self, pids: list[int], timeout: float) -> list[int]:
        """Wait up to ``timeout`` seconds until none of ``pids`` is one of the
        jail's running processes; those that still are, sorted."""
        deadline = time.monotonic() + timeout
        wanted = set(pids)
        pause = 0.005
        while True:
            left = [p for p in self.processes() if p in wanted]
            now = time.monotonic()
            if not left or now >= deadline:
                return left
            time.sleep(min(pause, deadline - now))
            pause = min(pause * 2, 0.1)

    def attach(self) -> None:
        """Move this process into the jail.  One way: a process cannot leave a
        jail, and no jailcore API takes it back out.  To work inside the jail and
        carry on outside it, use :meth:`call` or :meth:`spawn`, which attach a
        child (see :doc:`security`).

        As :func:`jail_attach`: refused with :class:`~jailcore.JailPermissionError`
        (EPERM, ``errmsg`` naming them) while this process holds an open
        directory descriptor, which FreeBSD does not allow into a jail."""
        jail_attach(self._jid)

    # -- running programs inside

    def spawn(
        self,
        args: Any,
        *,
        stdin: Any = None,
        stdout: Any = None,
        stderr: Any = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        user: str | int | None = None,
        host_user: str | int | None = None,
        login: bool = False,
        close_fds: bool = True,
        pass_fds: Any = (),
        fib: int | None = None,
        **popen_kwargs: Any,
    ) -> JailProcess:
        """Start ``args`` inside the jail, as :class:`subprocess.Popen` would.

        ``user`` is looked up in the jail's own ``etc/passwd`` and ``etc/group``,
        ``host_user`` in the host's (jexec's ``-U`` and ``-u``); ``login=True``
        gives the clean environment of ``jexec -l`` and starts in the user's home.
        The working directory is the jail's root unless ``cwd`` (a path inside
        the jail) says otherwise.  No shell is involved.

        The child closes, before it attaches, every descriptor the program will
        not get (with ``close_fds=False``, every directory among them): FreeBSD
        refuses to attach a process that holds an open directory descriptor, so
        the directories this process holds are no obstacle and stay open here.
        A directory in ``pass_fds`` (or as ``stdin``, ``stdout``, ``stderr``)
        cannot go into a jail: :class:`~jailcore.JailPermissionError` (EPERM),
        before anything is forked.

        ``fib`` is the routing table (FIB) the program uses, set with setfib(2)
        in the child before it attaches, as jail(8) does for ``exec.fib``; a
        number the system has no table for fails with EINVAL (``OSError``
        whose ``strerror`` is ``"setfib: Invalid argument"``).  The model has
        FIB 0 alone, like a FreeBSD with ``net.fibs=1``.  ``None`` keeps this
        process's.
        """
        from jailcore.process import JailProcess  # subprocess only when it is used

        return JailProcess(
            self, args, stdin=stdin, stdout=stdout, stderr=stderr, env=env, cwd=cwd,
            user=user, host_user=host_user, login=login, close_fds=close_fds,
            pass_fds=pass_fds, fib=fib, **popen_kwargs,
        )

    def run(
        self,
        args: Any,
        *,
        input: Any = None,
        capture_output: bool = False,
        check: bool = False,
        timeout: float | None = None,
        text: bool = False,
        **kwargs: Any,
    ) -> subprocess.CompletedProcess[Any]:
        """Run ``args`` inside the jail and wait, as :func:`subprocess.run` does:
        a :class:`subprocess.CompletedProcess`, :class:`subprocess.CalledProcessError`
        with ``check``, :class:`subprocess.TimeoutExpired` after ``timeout``."""
        from jailcore.process import run_to_completion

        return run_to_completion(
            lambda **kw: self.spawn(args, text=text, **kw),
            input=input, capture_output=capture_output, check=check, timeout=timeout,
            kwargs=kwargs,
        )

    def call(self, func: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """Run ``func(*args, **kwargs)`` in a forked child attached to the jail.

        The result comes back pickled over a pipe.  An exception raised by
        ``func`` (or by the attach, such as :class:`JailError` EINVAL for a dying
        jail) is raised here again, its ``__cause__`` an exception whose ``str``
        is the child's traceback (as :mod:`concurrent.futures` does), with a note
        saying where it came from on Python 3.11 and newer.  A child that dies
        without reporting (a signal, ``os._exit``, ``sys.exit``, ``remove()`` of
        the jail) raises :class:`~jailcore.call.JailCallError`, which also
        reports a result or exception that cannot be pickled, by type name and
        message.  This process is not attached and its state is not touched.

        The child is a copy of this process made by :func:`os.fork` (all its
        memory and descriptors, only the calling thread), and its report is
        unpickled here: call into jails whose processes you trust not to
        tamper with it, and mind what fork means in a threaded program.  Output
        the child buffered on stdout and stderr is flushed before it exits.

        Before attaching, the child closes its copies of this process's
        directory descriptors (FreeBSD refuses to attach a process that holds
        one); its other descriptors stay open, and this process's are not
        touched.  What the child's report needs (pickling, formatting the
        traceback) is imported here before forking, so the jail's root need
        not hold a Python at all.
        """
        from jailcore.call import call_in_jail

        return call_in_jail(self, func, args, kwargs)

    async def spawn_async(
        self,
        args: Any,
        *,
        stdin: Any = None,
        stdout: Any = None,
        stderr: Any = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        user: str | int | None = None,
        host_user: str | int | None = None,
        login: bool = False,
        close_fds: bool = True,
        pass_fds: Any = (),
        limit: int = 2**16,
        **popen_kwargs: Any,
    ) -> AsyncJailProcess:
        """:meth:`spawn` for asyncio: an :class:`~jailcore.aio.AsyncJailProcess`,
        used as :class:`asyncio.subprocess.Process` is (``await proc.wait()``,
        ``await proc.communicate(input)``, stream pipes).

        The keywords are those of :meth:`spawn`; ``limit`` is the buffer limit of
        the :class:`asyncio.StreamReader` objects, as for
        :func:`asyncio.create_subprocess_exec`.  Pipes carry bytes (no text
        mode).  The exit is watched by the event loop (pidfd or kqueue), with
        no thread.
        """
        from jailcore import aio

        return await aio.spawn(
            self, args, stdin=stdin, stdout=stdout, stderr=stderr, env=env, cwd=cwd,
            user=user, host_user=host_user, login=login, close_fds=close_fds,
            pass_fds=pass_fds, limit=limit, **popen_kwargs,
        )

    async def run_async(
        self,
        args: Any,
        *,
        input: Any = None,
        capture_output: bool = False,
        check: bool = False,
        timeout: float | None = None,
        text: bool = False,
        encoding: str | None = None,
        errors: str | None = None,
        **kwargs: Any,
    ) -> subprocess.CompletedProcess[Any]:
        """:meth:`run` for asyncio: run ``args`` inside the jail and wait without
        blocking the event loop; a :class:`subprocess.CompletedProcess`,
        :class:`subprocess.CalledProcessError` with ``check``,
        :class:`subprocess.TimeoutExpired` (the child killed, the output read so
        far attached) after ``timeout`` seconds.  ``text``, ``encoding`` and
        ``errors`` decode the output and encode ``input`` as :meth:`run` does.
        Cancelled, it kills the child.  Other keywords are :meth:`spawn_async`'s.
        """
        from jailcore import aio

        return await aio.run(
            self, args, input=input, capture_output=capture_output, check=check,
            timeout=timeout, text=text, encoding=encoding, errors=errors, **kwargs,
        )

    # -- a jail for one command (jail -c ... command=...)

    @classmethod
    def spawn_ephemeral(
        cls, args: Any, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> JailProcess:
        """Create a jail from ``params`` for the command ``args`` alone, as
        ``jail -c ... command=...`` does: the jail lives exactly as long as its
        processes and vanishes when the last one has exited and been reaped.

        The jail is created persistent, the command spawned into it
        (``kwargs`` are :meth:`spawn`'s), then ``persist`` is cleared.  If the
        spawn fails the jail is removed and the error raised.  ``params`` has
        dotted names as for :meth:`create` and may not set ``persist``.  The
        returned :class:`~jailcore.process.JailProcess` has the jail as ``jail``.
        """
        p = _params(params, {})
        for name in ("persist", "nopersist"):
            if name in p:
                raise ValueError(
                    f"{name}: a jail for one command does not persist; it lives as "
                    "long as its processes"
                )
        p["persist"] = True
        jail = cls(jail_set(p, JAIL_CREATE))
        try:
            proc = jail.spawn(args, **kwargs)
        except BaseException:
            _remove_quietly(jail)
            raise
        try:
            jail.update(persist=False)
        except BaseException:
            _remove_quietly(jail)  # kills the command
            proc.wait()
            raise
        return proc

    @classmethod
    def run_ephemeral(
        cls,
        args: Any,
        params: Mapping[str, Any] | None = None,
        *,
        input: Any = None,
        capture_output: bool = False,
        check: bool = False,
        timeout: float | None = None,
        text: bool = False,
        **kwargs: Any,
    ) -> subprocess.CompletedProcess[Any]:
        """:meth:`run` in a jail made for the command by :meth:`spawn_ephemeral`:
        when this returns, the command has been reaped and the jail is gone
        (unless a process the command left behind still runs in it).  On a
        timeout the command is killed, as :meth:`run` does."""
        from jailcore.process import run_to_completion

        return run_to_completion(
            lambda **kw: cls.spawn_ephemeral(args, params, text=text, **kw),
            input=input, capture_output=capture_output, check=check, timeout=timeout,
            kwargs=kwargs,
        )

    # -- exporting

    def to_dict(self, *names: str) -> dict[str, Any]:
        """Parameter values as ``jls --libxo json -n`` shows them (every parameter
        unless ``names`` are given): JSON-serialisable, keyed by parameter name."""
        wanted = list(names) or list(all_params())
        values = self._fetch(wanted)
        return {n: spec(n).export(values[n]) for n in wanted}

    def save(self) -> dict[str, Any]:
        """The jail's creatable parameters: what :meth:`create` needs to make it
        again, without read-only or derived values (jid, dying, parent,
        children.cur, cpuset.id) or values it inherits."""
        values = self.params
        out: dict[str, Any] = {}
        for name, value in values.items():
            s = spec(name)
            if name in _NOT_SAVED or s._access is READ_ONLY or s.nobool:
                continue
            out[name] = value
        if out.get("vnet") == JAIL_SYS_NEW:
            for fam in ("ip4", "ip6"):
                out.pop(fam, None)
                out.pop(f"{fam}.addr", None)
        elif out.get("vnet") == JAIL_SYS_INHERIT:
            # The default of a new jail; sent explicitly, even as "inherit", the
            # kernel refuses it together with any IP parameter (EINVAL "vnet jails
            # cannot have IP address restrictions").
            del out["vnet"]
        for fam in ("ip4", "ip6"):
            if out.get(fam) == JAIL_SYS_INHERIT:
                out.pop(f"{fam}.addr", None)
            elif not out.get(f"{fam}.addr"):
                out.pop(f"{fam}.addr", None)
        if out.get("host") == JAIL_SYS_INHERIT:
            for k in ("host.hostname", "host.domainname", "host.hostuuid", "host.hostid"):
                out.pop(k, None)
        for k in [k for k, v in out.items() if spec(k)._kind is KEYVALUE and not v]:
            del out[k]
        return out


class _Temporary:
    """The context manager :meth:`Jail.temporary` returns.  A class rather
    than contextlib's decorator: importing contextlib, with the functools and
    collections it imports, takes about as long as a whole first use of
    jailcore."""

    __slots__ = ("_cls", "_desc", "_jail", "_keywords", "_params")

    def __init__(self, cls: type[Jail], params: dict[str, Any],
                 keywords: dict[str, Any]) -> None:
        self._cls, self._params, self._keywords = cls, params, keywords
        self._jail: Jail | None = None
        self._desc: JailDescriptor | None = None

    def __enter__(self) -> Jail:
        if self._jail is not None:
            raise RuntimeError("Jail.temporary(): a temporary jail is entered once")
        try:
            if features.jail_descriptors:
                self._desc = JailDescriptor._create(self._params, owning=True)
                self._jail = self._cls(self._desc.jid)
            else:
                self._jail = self._cls(jail_set(self._params, JAIL_CREATE))
        except UnknownParameterError as exc:
            raise exc.as_keyword(self._keywords) from None
        return self._jail

    def __exit__(self, *exc_info: object) -> None:
        jail, desc = self._jail, self._desc
        if jail is None:
            return
        try:
            jail.remove()
        except JailError as exc:
            # Already gone (removed in the body, or with its parent): fine.
            if exc.errno not in (errno.EINVAL, errno.ENOENT):
                raise
        finally:
            if desc is not None:
                desc.close()


def jails(
    params: tuple[str, ...] | list[str] = DEFAULT_LIST_PARAMS, *, dying: bool = False
) -> Iterator[Jail]:
    """Every jail this process can see, in jid order, as :class:`Jail` objects
    carrying ``params`` (one jail_get(2) per jail, with all of them in it)."""
    names = ("jid", *[n for n in params if n != "jid"])
    flags = JAIL_DYING if dying else 0
    new = object.__new__
    for jid, values in _iov.iterate(names, int(flags)):
        jail = new(Jail)  # as Jail._read: the kernel's jid, a new dict
        jail._jid = jid
        jail._values = values
        yield jail


# ---- descriptors (FreeBSD 15) -----------------------------------------------------


class JailDescriptor:
    """A jail descriptor: a file descriptor that names a jail (FreeBSD 15).

    An *owning* descriptor removes its jail when the last copy of it is closed.
    Use it as a context manager, or :meth:`close` it.
    """

    __slots__ = ("_fd", "_jid", "owning")

    def __init__(self, fd: int, owning: bool = False, jid: int | None = None) -> None:
        self._fd = fd
        self.owning = owning
        self._jid = jid

    @classmethod
    def open(cls, jail: Jail | int | str, *, owning: bool = False) -> JailDescriptor:
        """A new descriptor for an existing jail (jail_get(2) with JAIL_GET_DESC, or
        JAIL_OWN_DESC when ``owning``)."""
        _need_descriptors("jail_get")
        key: int | str = jail.jid if isinstance(jail, Jail) else jail
        b = _iov.IovecBuilder()
        kname, kdata = _iov.key_pair(key)
        b.add(kname, kdata)
        di = b.add_buffer("desc", 4)
        flags = JAIL_OWN_DESC if owning else JAIL_GET_DESC
        jid, _, _ = b.call("jail_get", flags)
        fd = int.from_bytes(b.value(di, 4), "little", signed=True)
        return cls(fd, owning, jid)

    @classmethod
    def _create(cls, params: Mapping[str, Any], *, owning: bool) -> JailDescriptor:
        _need_descriptors("jail_set")
        b = _iov.encode_params(params, creating=True)
        di = b.add_buffer("desc", 4)
        flag = JAIL_OWN_DESC if owning else JAIL_GET_DESC
        jid, _, _ = b.call("jail_set", JAIL_CREATE | flag)
        fd = int.from_bytes(b.value(di, 4), "little", signed=True)
        return cls(fd, owning, jid)

    @classmethod
    def create(
        cls, params: Mapping[str, Any] | None = None, /, *, owning: bool = True, **kwargs: Any
    ) -> JailDescriptor:
        """Create a jail and return a descriptor for it (owning by default: closing
        it removes the jail).  ``persist`` defaults to True as in :meth:`Jail.create`."""
        p = _params(params, kwargs)
        if "persist" not in p and "nopersist" not in p:
            p["persist"] = True
        try:
            return cls._create(p, owning=owning)
        except UnknownParameterError as exc:
            raise exc.as_keyword(kwargs) from None

    # -- the descriptor

    def fileno(self) -> int:
        """The descriptor's number; ValueError once it is closed."""
        if self._fd < 0:
            raise ValueError("I/O operation on a closed jail descriptor")
        return self._fd

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._fd < 0

    def close(self) -> None:
        """Close the descriptor; closing the last copy of an owning one removes the jail."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self) -> JailDescriptor:
        """The descriptor itself; leaving the ``with`` block closes it."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the descriptor (an owning one removes its jail)."""
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except OSError:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._fd < 0 else f"fd={self._fd}"
        return f"<JailDescriptor {state} jid={self._jid} owning={self.owning}>"

    # -- the jail behind it

    def _desc(self) -> bytes:
        return self.fileno().to_bytes(4, "little", signed=True)

    @property
    def jid(self) -> int:
        """The jid of the descriptor's jail (read once, through the descriptor)."""
        if self._jid is None:
            self._jid = self.jail().jid
        return self._jid

    def get(self, *names: str) -> dict[str, Any]:
        """Values of the descriptor's jail (jail_get(2) with JAIL_USE_DESC)."""
        _need_descriptors("jail_get")
        return _iov.jail_get({"desc": self.fileno()}, list(names), JAIL_USE_DESC)[1]

    def jail(self) -> Jail:
        """The :class:`Jail` this descriptor names."""
        _need_descriptors("jail_get")
        jid, values = _iov.jail_get(
            {"desc": self.fileno()}, ["name", "path"], JAIL_USE_DESC
        )
        self._jid = jid
        return Jail(jid, values)

    def update(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        """Change the jail's parameters through the descriptor (JAIL_USE_DESC)."""
        _need_descriptors("jail_set")
        try:
            b = _iov.encode_params(_params(params, kwargs), creating=False)
        except UnknownParameterError as exc:
            raise exc.as_keyword(kwargs) from None
        b.add("desc", self._desc())
        b.call("jail_set", JAIL_UPDATE | JAIL_USE_DESC)

    def create_child(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Jail:
        """Create a jail under the descriptor's jail (JAIL_AT_DESC); its name is
        relative to that jail."""
        _need_descriptors("jail_set")
        p = _params(params, kwargs)
        if "persist" not in p and "nopersist" not in p:
            p["persist"] = True
        try:
            b = _iov.encode_params(p, creating=True)
        except UnknownParameterError as exc:
            raise exc.as_keyword(kwargs) from None
        b.add("desc", self._desc())
        jid, _, _ = b.call("jail_set", JAIL_CREATE | JAIL_AT_DESC)
        return Jail(jid)

    def watch(self, events: int = 0xF0000000) -> Watcher:
        """A :class:`~jailcore.events.Watcher` of the jail this descriptor
        names (``EVFILT_JAILDESC``; FreeBSD 15).  A descriptor of a jail that
        is gone reports its removal at once.  Stop watching
        (:meth:`~jailcore.events.Watcher.close`) before closing the
        descriptor."""
        from jailcore.events import watcher

        return watcher(self, events)

    def attach(self) -> None:
        """jail_attach_jd(2): move this process into the jail.  One way: a process
        cannot leave a jail, and no jailcore API takes it back out (see
        :doc:`security`).  Refused as :func:`jail_attach` is while this process
        holds an open directory descriptor."""
        _need_descriptors("jail_attach_jd")
        ret, err = _backend.jail_attach_jd(self.fileno())
        if ret == -1:
            raise _attach_error(err, "jail_attach_jd")

    def remove(self) -> None:
        """jail_remove_jd(2): remove the jail."""
        _need_descriptors("jail_remove_jd")
        ret, err = _backend.jail_remove_jd(self.fileno())
        if ret == -1:
            raise jail_error(err, None, "jail_remove_jd")
