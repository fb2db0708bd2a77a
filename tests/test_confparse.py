"""jail.conf(5)'s lexer and parser (jailcore._confparse), against the rules of
shared/spec/freebsd-jail-userland.md section 1 and its test cases (section 8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jailcore._confparse import ConfigError, Piece, Section, Value, load, parse


def flat(sections: list[Section]) -> list[tuple[str, list[tuple[str, str, list[str]]]]]:
    """Sections as (name, [(param, op, [value as written, $VAR for a variable])])."""
    def text(v: Value) -> str:
        return "".join("${" + p.text + "}" if p.var else p.text for p in v.pieces)

    return [(s.name, [(p.name, p.op, [text(v) for v in p.values]) for p in s.params])
            for s in sections]


def error(text: str, filename: str = "jail.conf") -> str:
    with pytest.raises(ConfigError) as info:
        parse(text, filename)
    return str(info.value)


def test_sections_in_file_order_and_the_one_global_section() -> None:
    """Case 8's layout: top-level parameters go to one section "*", made where
    the first of them stands; a quoted "*" block is a wildcard block."""
    got = parse('$p = /srv; "*" { path = "$p/$name"; } a {} b {} persist;')
    assert flat(got) == [
        ("*", [("$p", "=", ["/srv"]), ("persist", "", [])]),
        ("*", [("path", "=", ["${p}/${name}"])]),
        ("a", []),
        ("b", []),
    ]
    assert [s.seq for s in got] == [0, 1, 2, 3]


def test_statement_forms() -> None:
    got = parse("a { persist; ip4.addr = 10.0.0.1, 10.0.0.2; ip4.addr += 10.0.0.3; "
                "exec.start \"/bin/sh /etc/rc\"; ip6.addr; ; }")
    assert flat(got) == [("a", [
        ("persist", "", []),
        ("ip4.addr", "=", ["10.0.0.1", "10.0.0.2"]),
        ("ip4.addr", "+=", ["10.0.0.3"]),
        ("exec.start", "", ["/bin/sh /etc/rc"]),
        ("ip6.addr", "", []),
    ])]


def test_nested_blocks_build_dotted_names() -> None:
    """Case 22: a { b { ... } } is jail a.b; nothing of a's is b's."""
    got = parse("a { b { persist; } path = /j/a; }")
    assert flat(got) == [("a", [("path", "=", ["/j/a"])]), ("a.b", [("persist", "", [])])]


def test_adjacent_pieces_make_one_value() -> None:
    got = parse("x = \"/var/jail/\"$name'.x', ${host.hostname}x;")
    assert flat(got)[0][1] == [("x", "=", ["/var/jail/${name}.x", "${host.hostname}x"])]
    (value,) = got[0].params[0].values[:1]
    assert value.pieces == (Piece("/var/jail/"), Piece("name", True), Piece(".x"))
    assert value.literal is None
    assert got[0].params[0].values[1].pieces == (Piece("host.hostname", True), Piece("x"))


def test_quotes_variables_and_escapes() -> None:
    """Cases 16 and 17: no variables in single quotes or after a backslash;
    escapes decoded in every kind of string; backslash-newline joins."""
    got = parse("e = 'echo $HOME'; f = \"echo \\$HOME\"; "
                "h = \"a\\x41\\101\\tb\"; n = \"\\x\"; j = ab\\\ncd; d = \"$5 $\";")
    values = {p.name: [v.literal for v in p.values] for p in got[0].params}
    assert values == {"e": ["echo $HOME"], "f": ["echo $HOME"], "h": ["aAA\tb"],
                      "n": ["\0"], "j": ["abcd"], "d": ["$5 $"]}


def test_comments_start_inside_unquoted_text() -> None:
    """Case 18: the lexer's longest match makes // and # comments even in a
    word, so an unquoted path with // loses the rest of its line."""
    assert error("path = /a//b;\n") == "jail.conf: unexpected EOF"
    assert flat(parse("a { path = /a//b;\n; }")) == [("a", [("path", "=", ["/a"])])]
    assert flat(parse("foo#bar\n;")) == [("*", [("foo", "", [])])]
    assert flat(parse("x = 1; /* a\n comment */ y = 2;"))[0][1][1] == ("y", "=", ["2"])


def test_wildcard_names_must_be_quoted() -> None:
    """foo.* { is foo. then *: a syntax error; "foo.*" and a bare * are fine."""
    assert error("foo.* { persist; }") == "jail.conf line 1: *: syntax error"
    assert [s.name for s in parse('"foo.*" { persist; } * { persist; }')] == ["foo.*", "*"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('x = "open', "jail.conf line 1: unterminated string"),
        ("x = 'open", "jail.conf line 1: unterminated string"),
        ("x = 1;\n/* open", "jail.conf line 2: unterminated comment"),
        ("x = ${open", "jail.conf line 1: unterminated variable"),
        ("a { x = 1 }", "jail.conf line 1: }: syntax error"),
        ("a { x = 1;", "jail.conf: unexpected EOF"),
        ("x = ;", "jail.conf line 1: ;: syntax error"),
        ("}", "jail.conf line 1: }: syntax error"),
        ("a\n{\nx = 1, ;\n}", "jail.conf line 3: ;: syntax error"),
        ("$x { }", "jail.conf line 1: $x: syntax error"),
        ('x"y" = 1;', 'jail.conf line 1: "y": syntax error'),
        ("x = a b;", "jail.conf line 1: b: syntax error"),
    ],
)
def test_errors_with_jail8s_text(text: str, message: str) -> None:
    assert error(text) == message


def test_include_relative_glob_and_missing(tmp_path: Path) -> None:
    """Case 21: relative to the including file; a glob without matches is
    fine; a plain name must exist; no variables."""
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "b.conf").write_text("b { persist; }\n")
    (tmp_path / "conf.d" / "a.conf").write_text("a { persist; }\n")
    main = tmp_path / "jail.conf"
    main.write_text('x = 1;\n.include "conf.d/*.conf";\n.include "none.d/*.conf";\nz { }\n')
    assert [s.name for s in load(str(main))] == ["*", "a", "b", "z"]
    main.write_text('.include "missing.conf";\n')
    with pytest.raises(ConfigError) as info:
        load(str(main))
    assert str(info.value) == f"{tmp_path}/missing.conf: No such file or directory"
    assert error('.include "$x";') == (
        "jail.conf line 1: variables not permitted in '.include' filename")


def test_include_shares_the_global_section(tmp_path: Path) -> None:
    (tmp_path / "extra.conf").write_text("persist;\nc { }\n")
    main = tmp_path / "jail.conf"
    main.write_text('path = /j;\n.include "extra.conf";\n')
    assert flat(load(str(main))) == [
        ("*", [("path", "=", ["/j"]), ("persist", "", [])]), ("c", [])]


def test_include_depth_is_bounded(tmp_path: Path) -> None:
    loop = tmp_path / "loop.conf"
    loop.write_text('.include "loop.conf";\n')
    with pytest.raises(ConfigError) as info:
        load(str(loop))
    assert str(info.value) == "maximum include depth exceeded"
