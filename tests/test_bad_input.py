"""Every row of the bad-input table (tests/bad_input.py, docs/bad-input.rst) as a test.

Each row's code runs on a fresh model host with the jail ``web``; the test
checks exactly what the table says the user gets: the exception's type (by
name, not a subclass), its errno and its message, or for a call through the
C ABI the return value -1, errno and the errmsg text.
"""

from __future__ import annotations

import ast
import errno
import importlib.util
import subprocess
from pathlib import Path
from typing import Any

import modelabi
import pytest
from bad_input import ROWS, Row

import jailcore
from jailcore import (
    Jail,
    JailDescriptor,
    JailFlag,
    describe,
    jail_attach,
    jail_get,
    jail_remove,
    jail_set,
    jails,
)

DOCS = Path(__file__).resolve().parent.parent / "docs"


def namespace(web: Jail) -> dict[str, Any]:
    return {
        "jailcore": jailcore, "Jail": Jail, "JailDescriptor": JailDescriptor,
        "JailFlag": JailFlag, "jail_set": jail_set, "jail_get": jail_get,
        "jail_attach": jail_attach, "jail_remove": jail_remove, "describe": describe,
        "jails": jails, "web": web, "abi": modelabi, "I": modelabi.I, "Buf": modelabi.Buf,
        "Null": modelabi.Null, "IP4": modelabi.IP4, "IP6": modelabi.IP6,
    }


def run(code: str, ns: dict[str, Any]) -> Any:
    """Run a row's code; the value of its last expression."""
    tree = ast.parse(code)
    last = tree.body[-1]
    assert isinstance(last, ast.Expr), code
    exec(compile(ast.Module(tree.body[:-1], type_ignores=[]), "<row>", "exec"), ns)
    return eval(compile(ast.Expression(last.value), "<row>", "eval"), ns)


def test_row_ids_are_unique() -> None:
    ids = [r.id for r in ROWS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_input(row: Row) -> None:
    web = Jail.create(name="web")
    assert web.jid == 1  # the C-ABI rows name it as jid 1
    ns = namespace(web)
    if row.raises is None:
        result = run(row.code, ns)
        if isinstance(result, subprocess.Popen):
            result.wait()
        if row.errno is None:
            return  # accepted
        assert isinstance(result, modelabi.Result)
        assert result.ret == -1
        assert errno.errorcode[result.errno] == row.errno
        if any(n == b"errmsg" for n in result.names):
            assert (result.errmsg or "") == row.message  # a NULL errmsg reads as b""
        else:
            assert row.message == ""
        return
    with pytest.raises(Exception) as info:
        result = run(row.code, ns)
        if isinstance(result, subprocess.Popen):
            result.wait()
    exc = info.value
    assert type(exc).__name__ == row.raises, repr(exc)
    if row.errno is None:
        assert not isinstance(exc, OSError) or exc.errno is None, repr(exc)
    else:
        assert isinstance(exc, OSError)
        assert exc.errno is not None and errno.errorcode[exc.errno] == row.errno
    assert str(exc) == row.message


def test_the_docs_render_every_row() -> None:
    """docs/bad-input.rst includes the table that docs/_ext/jailcore_badinput.py
    writes from ROWS: every row is in it, with its code and outcome."""
    spec = importlib.util.spec_from_file_location(
        "jailcore_badinput", DOCS / "_ext" / "jailcore_badinput.py")
    assert spec is not None and spec.loader is not None
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    text = ext.render()
    for row in ROWS:
        assert f"``{row.code}``" in text, row.id
    assert ext.OUTPUT.as_posix() in (DOCS / "bad-input.rst").read_text()
