"""The README's examples run as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _taste() -> str:
    text = README.read_text()
    section = text[text.index("## A taste"):]
    m = re.search(r"```python\n(.*?)```", section, re.S)
    assert m is not None
    return m.group(1)


def test_a_taste_runs_as_written_and_prints_what_it_says() -> None:
    code = _taste()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    # What each print prints: its line's comment, or the comment line after it.
    expected = []
    lines = code.splitlines()
    for i, line in enumerate(lines):
        if "print(" not in line:
            continue
        comment = line.partition("#")[2].strip() or lines[i + 1].strip().removeprefix("# ")
        expected.append(comment)
    assert out.getvalue().splitlines() == expected
