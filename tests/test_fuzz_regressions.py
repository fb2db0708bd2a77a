"""Regressions for what the fuzz harnesses (fuzz/) found in the Python layer.

Each test is named after the bug: the input the harness reduced it to, and
the outcome the encoders must give (TypeError, ValueError or JailError with a
message, never another exception type and never a silently different call).
"""

from __future__ import annotations

import pytest

import jailcore
from jailcore import _iov, params

# ---- key_pair raised struct.error for a jid that is not a C int ---------------


@pytest.mark.parametrize(
    "key",
    [2**31, -(2**31) - 1, 2**64, {"lastjid": 2**31}, {"jid": -(2**40)}, {"desc": 2**33}],
)
def test_key_pair_out_of_range_int_is_value_error_not_struct_error(key: object) -> None:
    with pytest.raises(ValueError, match="out of range for a C int"):
        _iov.key_pair(key)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [{"lastjid": float("inf")}, {"desc": float("-inf")}])
def test_key_pair_infinite_number_is_value_error_not_overflow_error(key: object) -> None:
    with pytest.raises(ValueError, match="not a C int"):
        _iov.key_pair(key)  # type: ignore[arg-type]


def test_key_pair_c_int_bounds_still_encode() -> None:
    assert _iov.key_pair(2**31 - 1) == ("jid", (2**31 - 1).to_bytes(4, "little", signed=True))
    assert _iov.key_pair({"lastjid": -(2**31)})[0] == "lastjid"


def test_jail_get_by_huge_jid_is_value_error() -> None:
    with pytest.raises(ValueError):
        jailcore.jail_get(2**40, ["name"])


# ---- a jail name key with a NUL read another jail --------------------------------


@pytest.mark.parametrize("key", ["web\0x", {"name": "web\0"}])
def test_key_pair_name_with_nul_is_value_error_not_truncated(key: object) -> None:
    with pytest.raises(ValueError, match="NUL"):
        _iov.key_pair(key)  # type: ignore[arg-type]


def test_lookup_by_name_with_nul_does_not_find_the_prefix_jail() -> None:
    jailcore.Jail.create(name="web")
    with pytest.raises(ValueError, match="NUL"):
        jailcore.jail_get("web\0evil", ["jid"])
    with pytest.raises(ValueError, match="NUL"):
        jailcore.Jail.get("web\0evil")


# ---- a parameter name with a NUL was taken as its prefix ---------------------------


@pytest.mark.parametrize("name", ["persist\0junk", "host.hostname\0", "meta.a\0b", "nopersist\0"])
def test_spec_name_with_nul_is_unknown_not_its_prefix(name: str) -> None:
    with pytest.raises(ValueError, match="unknown parameter"):
        params.spec(name)


def test_create_with_nul_in_a_parameter_name_sets_nothing() -> None:
    with pytest.raises(ValueError, match="unknown parameter"):
        jailcore.Jail.create({"name": "a", "host.hostname\0x": "evil"})
    with pytest.raises(ValueError, match="unknown parameter"):
        _iov.encode_params({"persist\0junk": True}, creating=True)
    assert [j.name for j in jailcore.jails()] == []
