"""Errors: JailError carries errno and the kernel's errmsg together (spec 2.6).

Each test is named after the mistake it guards against.
"""

from __future__ import annotations

import copy
import errno
import os
import pickle

import pytest

import jailcore
from jailcore import JailError, JailExistsError, JailFlag, JailNotFoundError, JailPermissionError
from jailcore.errors import jail_error


def create(name: str, **extra: object) -> int:
    return jailcore.jail_set({"persist": True, "name": name, **extra}, JailFlag.CREATE)


def test_duplicate_name_is_a_jailexistserror_with_errno_and_errmsg() -> None:
    create("web")
    with pytest.raises(JailExistsError) as info:
        create("web")
    e = info.value
    assert type(e) is JailExistsError
    assert isinstance(e, JailError) and isinstance(e, FileExistsError)
    assert isinstance(e, OSError)
    assert e.errno == errno.EEXIST
    assert e.strerror == os.strerror(errno.EEXIST)
    assert e.errmsg == 'jail "web" already exists'
    assert e.operation == "jail_set"
    assert e.args == (errno.EEXIST, os.strerror(errno.EEXIST))


def test_str_reads_like_the_kernel_and_keeps_the_errno_name() -> None:
    create("web")
    with pytest.raises(JailError) as info:
        create("web")
    assert str(info.value) == 'jail_set: jail "web" already exists [EEXIST]'


def test_a_missing_jail_is_a_filenotfounderror_too() -> None:
    with pytest.raises(FileNotFoundError) as info:
        jailcore.jail_get("nosuch", ["jid"])
    e = info.value
    assert type(e) is JailNotFoundError
    assert (e.errno, e.errmsg, e.operation) == (errno.ENOENT, 'jail "nosuch" not found', "jail_get")
    assert str(e) == 'jail_get: jail "nosuch" not found [ENOENT]'


def test_errmsg_is_none_when_the_kernel_gave_none_not_an_empty_string() -> None:
    jid = create("web")
    with pytest.raises(JailError) as info:
        jailcore.jail_set({"jid": jid, "enforce_statfs": 3}, JailFlag.UPDATE)
    e = info.value
    assert type(e) is JailError
    assert e.errno == errno.EINVAL
    assert e.errmsg is None
    assert e.operation == "jail_set"
    # Without the kernel's message, str() falls back to strerror, errno name kept.
    assert str(e) == "jail_set: Invalid argument [EINVAL]"


def test_enametoolong_without_message_is_a_plain_jailerror() -> None:
    jid = create("a")
    create("a." + "c" * 200)
    with pytest.raises(JailError) as info:
        # Renaming the parent would make the child's full name 301 bytes long.
        jailcore.jail_set({"jid": jid, "name": "p" * 100}, JailFlag.UPDATE)
    e = info.value
    assert type(e) is JailError
    assert (e.errno, e.errmsg) == (errno.ENAMETOOLONG, None)
    assert str(e) == f"jail_set: {os.strerror(errno.ENAMETOOLONG)} [ENAMETOOLONG]"


@pytest.mark.parametrize(
    ("code", "cls", "base"),
    [
        (errno.ENOENT, JailNotFoundError, FileNotFoundError),
        (errno.EEXIST, JailExistsError, FileExistsError),
        (errno.EPERM, JailPermissionError, PermissionError),
        (errno.EACCES, JailPermissionError, PermissionError),
        (errno.EINVAL, JailError, OSError),
        (errno.EAGAIN, JailError, OSError),
        (errno.EADDRINUSE, JailError, OSError),
        (errno.EFBIG, JailError, OSError),
    ],
)
def test_oserror_does_not_map_errno_to_subclasses_so_the_factory_does(
    code: int, cls: type[JailError], base: type[OSError]
) -> None:
    e = jail_error(code, "msg", "jail_set")
    assert type(e) is cls
    assert isinstance(e, base) and isinstance(e, JailError)
    assert (e.errno, e.strerror, e.errmsg, e.operation) == (
        code, os.strerror(code), "msg", "jail_set")
    assert str(e) == f"jail_set: msg [{errno.errorcode[code]}]"


def test_an_empty_errmsg_is_none() -> None:
    assert jail_error(errno.EINVAL, "", "jail_get").errmsg is None
    assert jail_error(errno.EINVAL, None, "jail_get").errmsg is None


@pytest.mark.parametrize(
    "err",
    [
        jail_error(errno.EEXIST, 'jail "web" already exists', "jail_set"),
        jail_error(errno.ENOENT, "jail 7 is dying", "jail_get"),
        jail_error(errno.EPERM, None, "jail_remove"),
        jail_error(errno.EINVAL, None, "jail_attach"),
        JailError(errno.EADDRINUSE, "IPv4 addresses clash", "jail_set"),
    ],
)
def test_pickling_and_copying_keep_type_errno_and_errmsg(err: JailError) -> None:
    for clone in (pickle.loads(pickle.dumps(err)), copy.copy(err), copy.deepcopy(err)):
        assert type(clone) is type(err)
        assert (clone.errno, clone.strerror, clone.errmsg, clone.operation) == (
            err.errno, err.strerror, err.errmsg, err.operation)
        assert str(clone) == str(err)


def test_a_real_error_pickles_across_processes() -> None:
    create("web")
    with pytest.raises(JailExistsError) as info:
        create("web")
    clone = pickle.loads(pickle.dumps(info.value))
    assert isinstance(clone, FileExistsError)
    assert str(clone) == 'jail_set: jail "web" already exists [EEXIST]'


def test_errors_carry_the_operation_that_failed() -> None:
    with pytest.raises(JailError) as removing:
        jailcore.jail_remove(42)
    assert removing.value.operation == "jail_remove"
    assert str(removing.value) == "jail_remove: Invalid argument [EINVAL]"
    with pytest.raises(JailError) as attaching:
        jailcore.jail_attach(42)
    assert attaching.value.operation == "jail_attach"
    assert attaching.value.errno == errno.EINVAL


def test_errno_survives_when_caught_as_oserror() -> None:
    try:
        jailcore.jail_get(99, ["jid"])
    except OSError as exc:
        assert exc.errno == errno.ENOENT
        assert isinstance(exc, JailError)
        assert exc.errmsg == "jail 99 not found"
    else:  # pragma: no cover
        pytest.fail("no error")


# ---- errors that point the right way ---------------------------------------------------


@pytest.mark.parametrize(("path", "cls", "base", "code"), [
    ("/nonexistent/web", jailcore.JailPathNotFoundError, FileNotFoundError, errno.ENOENT),
    ("/etc/passwd", jailcore.JailPathNotADirectoryError, NotADirectoryError, errno.ENOTDIR),
    ("/etc/passwd/x", jailcore.JailPathNotADirectoryError, NotADirectoryError, errno.ENOTDIR),
])
def test_a_path_lookup_failure_names_the_path_and_is_no_jail_not_found(
        path: str, cls: type[JailError], base: type[OSError], code: int) -> None:
    """The kernel's namei errors are about the path: not "no such jail"."""
    for call in (lambda: create("web", path=path),                    # the general path
                 lambda: jailcore.Jail.create(name="web", path=path),  # the keyword plan
                 lambda: jailcore.Jail.create({"name": "web", "path": path})):
        with pytest.raises(JailError) as info:
            call()
        e = info.value
        assert type(e) is cls
        assert isinstance(e, base) and isinstance(e, jailcore.JailPathError)
        assert not isinstance(e, JailNotFoundError)
        assert (e.errno, e.errmsg, e.filename, e.operation) == (code, None, path, "jail_set")
        assert str(e) == (f"jail_set: path {path}: {os.strerror(code)} "
                          f"[{errno.errorcode[code]}]")
        again = pickle.loads(pickle.dumps(e))
        assert (type(again), again.errno, again.filename, str(again)) == (
            cls, code, path, str(e))
    assert list(jailcore.jails()) == []


def test_a_path_component_too_long_is_a_path_error() -> None:
    path = "/" + "x" * 300
    with pytest.raises(jailcore.JailPathError) as info:
        jailcore.Jail.create(name="web", path=path)
    assert (type(info.value), info.value.errno, info.value.filename) == (
        jailcore.JailPathError, errno.ENAMETOOLONG, path)


def test_a_pathlike_is_a_path(tmp_path: os.PathLike[str]) -> None:
    import pathlib

    root = pathlib.Path(str(tmp_path))
    web = jailcore.Jail.create(name="web", path=root)
    assert web.path == str(root)
    db = jailcore.Jail.create({"name": "db", "path": os.fsencode(str(root))})
    assert db.path == str(root)


def test_an_unknown_keyword_is_named_as_it_was_spelled() -> None:
    with pytest.raises(jailcore.UnknownParameterError) as info:
        jailcore.Jail.create(name="web", host__hostnam="www")
    e = info.value
    assert (e.name, e.suggestions) == ("host__hostnam", ("host__hostname", "host__hostid"))
    assert str(e) == ("unknown parameter: host__hostnam (did you mean host__hostname or "
                      "host__hostid?)")
    assert isinstance(e, ValueError)
    web = jailcore.Jail.create(name="web")
    with pytest.raises(jailcore.UnknownParameterError, match=r"^unknown parameter: "
                       r"hostname \(did you mean host__hostname\?\)$"):
        web.update(hostname="www")
    with pytest.raises(jailcore.UnknownParameterError, match=r"^unknown parameter: "
                       r"hostname \(did you mean host\.hostname\?\)$"):
        web.update({"hostname": "www"})
    with pytest.raises(jailcore.UnknownParameterError, match=r"^unknown parameter: "
                       r"securlevel \(did you mean securelevel\?\)$"):
        jailcore.jail_set({"name": "db", "securlevel": 1, "persist": True}, JailFlag.CREATE)
    with pytest.raises(jailcore.UnknownParameterError, match=r"did you mean host__hostname"):
        with jailcore.Jail.temporary(name="tmp", host__hostnme="x"):
            pass
    assert [j.name for j in jailcore.jails()] == ["web"]


@pytest.mark.parametrize("name", ["exec.start", "exec.poststop", "exec.clean", "command",
                                  "mount", "mount.devfs", "mount.fstab", "interface",
                                  "vnet.interface", "depend", "ip_hostname", "stop.timeout"])
def test_jail8s_pseudo_parameters_are_named_as_such(name: str) -> None:
    with pytest.raises(jailcore.UnknownParameterError) as info:
        jailcore.Jail.create({"name": "web", name: "x"})
    e = info.value
    assert (e.name, e.suggestions) == (name, ())
    assert str(e) == (f"unknown parameter: {name} (a jail(8) pseudo-parameter: jail(8) acts "
                      "on it itself and never passes it to the kernel; jailcore will handle "
                      "it in its jail.conf lifecycle, not in jail_set)")


def test_no_suggestion_for_a_name_like_nothing() -> None:
    with pytest.raises(jailcore.UnknownParameterError) as info:
        jailcore.Jail.create({"name": "web", "qqqqzzzz": 1})
    assert (info.value.suggestions, str(info.value)) == ((), "unknown parameter: qqqqzzzz")


# ---- host-side errors (interfaces, mounts, devfs rulesets) ----


@pytest.mark.parametrize(
    ("err", "builtin"),
    [
        (errno.EPERM, PermissionError),
        (errno.EACCES, PermissionError),
        (errno.ENOENT, FileNotFoundError),
        (errno.EEXIST, FileExistsError),
    ],
)
@pytest.mark.parametrize("cls", [jailcore.InterfaceError, jailcore.MountError, jailcore.DevfsError])
def test_host_error_is_also_the_builtin_for_its_errno(
    cls: type[jailcore.HostError], err: int, builtin: type[OSError]
) -> None:
    from jailcore.errors import host_error

    exc = host_error(cls, err, "nmount", "/jails/web/dev")
    assert isinstance(exc, cls) and isinstance(exc, jailcore.HostError)
    assert isinstance(exc, builtin)
    assert not isinstance(exc, jailcore.JailError)
    assert (exc.errno, exc.operation, exc.target, exc.errmsg) == (
        err, "nmount", "/jails/web/dev", None)
    # The same class each time, so that except clauses and pickling agree.
    assert type(host_error(cls, err, "x", "y")) is type(exc)


def test_host_error_text_names_the_call_the_target_and_the_errno() -> None:
    from jailcore.errors import host_error

    exc = host_error(jailcore.MountError, errno.EINVAL, "nmount", "/jails/web/dev",
                     "invalid ruleset specification")
    assert str(exc) == "nmount /jails/web/dev: invalid ruleset specification [EINVAL]"
    assert type(exc) is jailcore.MountError
    exc = host_error(jailcore.InterfaceError, errno.EADDRNOTAVAIL, "SIOCDIFADDR",
                     "em0 192.0.2.10")
    assert str(exc) == "SIOCDIFADDR em0 192.0.2.10: Cannot assign requested address [EADDRNOTAVAIL]"
    assert str(host_error(jailcore.DevfsError, errno.EPERM, "DEVFSIO_SUSE", "")) == (
        "DEVFSIO_SUSE: Operation not permitted [EPERM]"
    )


def test_host_error_pickles_to_the_same_kind() -> None:
    from jailcore.errors import host_error

    exc = host_error(jailcore.MountError, errno.EPERM, "unmount", "/mnt", "busy")
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc)
    assert (back.errno, back.operation, back.target, back.errmsg) == (
        errno.EPERM, "unmount", "/mnt", "busy")
    assert isinstance(back, PermissionError) and isinstance(back, jailcore.MountError)
