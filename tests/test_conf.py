"""jail.conf(5) as jail(8) reads it (jailcore.conf): merging, variables,
booleans, ``jail -e`` and the emitter; the cases of userland spec section 8
that belong to the configuration (8 to 22)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jailcore import conf
from jailcore.conf import ConfigError, dump, equalopts, load, loads, wildcard_match


def shown(text: str, sep: str = "|") -> list[str]:
    return loads(text).show(sep).split("\n")


def test_case8_global_variable_in_a_wildcard_block() -> None:
    assert shown('$p = /srv; "*" { path = "$p/$name"; } a {} b {}') == [
        "name=a|path=/srv/a", "name=b|path=/srv/b"]


@pytest.mark.parametrize(("text", "path"), [
    ("path=/x; a { path=/y; } * { path=/z; }", "/z"),   # a later wildcard wins
    ("* { path=/z; } a { path=/y; }", "/y"),            # an earlier one loses
    ("path=/x; a { path=/y; }", "/y"),                   # the global section is earlier
    ("a { path=/y; } path=/x;", "/x"),                   # ...unless it comes after
])
def test_case9_precedence_by_file_order(text: str, path: str) -> None:
    assert loads(text)["a"]["path"] == path


def test_case10_numeric_block_name_gives_jid_and_explicit_name() -> None:
    j = loads("5309 { name = basejail; persist; }")["5309"]
    assert [(p.name, p.values) for p in j.params] == [
        ("jid", ["5309"]), ("name", ["basejail"]), ("persist", [])]
    assert j.show("|") == "name=basejail|persist"  # -e leaves jid out


def test_case11_name_backfilled_for_a_numeric_block() -> None:
    j = loads('5309 { host.hostname = "${name}"; persist; }')["5309"]
    assert j["host.hostname"] == "5309"
    assert [p.name for p in j.params] == ["jid", "host.hostname", "persist", "name"]


def test_case12_name_cannot_be_redefined() -> None:
    cfg = loads("a { name = b; } c { persist; }")
    assert cfg["a"].errors == ['cannot redefine parameter "name".']
    assert cfg.errors == ['a: cannot redefine parameter "name".']
    assert cfg["c"].errors == []


def test_case13_variable_not_found() -> None:
    assert loads('a { path = "$nope"; }')["a"].errors == ['path: variable "nope" not found']
    # An empty list is "not found" too; an empty string is a value.
    assert loads('a { $e; path = "/x$e"; }')["a"].errors == ['path: variable "e" not found']
    assert loads('a { $e = ""; path = "/x$e"; }')["a"]["path"] == "/x"


def test_case14_variable_loop() -> None:
    j = loads('a { $x = "$y"; $y = "$x"; path = $x; }')["a"]
    assert j.errors == ["x: variable loop"]


def test_a_referenced_parameter_is_resolved_first_and_moved_before() -> None:
    j = loads('a { path = "$x/$y"; $y = "$x"; $x = q; }')["a"]
    assert j["path"] == "q/q" and j.errors == []
    # config.c moves $y before path; the variables are then dropped.
    assert [p.name for p in j.params] == ["name", "path"]


def test_case15_arrays() -> None:
    j = loads("$l = 1.1.1.1, 2.2.2.2; a { ip4.addr = $l; }")["a"]
    assert j.values("ip4.addr") == ["1.1.1.1", "2.2.2.2"]
    j = loads('$l = 1.1.1.1, 2.2.2.2; a { path = "/x$l"; }')["a"]
    assert j.errors == ["path: array cannot be substituted inline"]


def test_case16_single_quotes_keep_dollar() -> None:
    j = loads("a { exec.start = 'echo $HOME'; exec.stop = \"echo \\$HOME\"; }")["a"]
    assert j["exec.start"] == "echo $HOME"
    assert j["exec.stop"] == "echo $HOME"


def test_case17_escapes() -> None:
    assert loads('a { host.hostname = "a\\x41\\101\\tb"; }')["a"]["host.hostname"] == "aAA\tb"
    assert loads('a { host.hostname = "ab\\\ncd"; }')["a"]["host.hostname"] == "abcd"


def test_case18_comment_inside_an_unquoted_path() -> None:
    with pytest.raises(ConfigError) as exc:
        loads("a { path = /a//b; }", "x.conf")
    assert str(exc.value) == "x.conf: unexpected EOF"
    with pytest.raises(ConfigError) as exc:
        loads("a {\n  path = /a//b;\n}\n", "x.conf")
    assert str(exc.value) == "x.conf line 3: }: syntax error"


def test_case19_booleans() -> None:
    j = loads("a { allow.mount; allow.nomount; mount.nodevfs; exec.clean = 0; }")["a"]
    assert [p.name for p in j.params] == ["name", "allow.nomount", "mount.nodevfs", "exec.clean"]
    assert j.boolean("allow.mount") is False
    assert j.boolean("mount.devfs") is False
    assert j.boolean("exec.clean") is False
    assert loads("a { allow.nomount = false; }")["a"].boolean("allow.mount") is True
    assert loads("a { mount.devfs = 7; }")["a"].boolean("mount.devfs") is True
    assert loads("a { mount.devfs = TRUE; }")["a"].boolean("mount.devfs") is True
    assert loads("a { }")["a"].boolean("mount.devfs") is False
    bad = loads("a { mount.devfs = maybe; exec.clean = yes; }")["a"]
    assert bad.check() == ['mount.devfs: unknown boolean value "maybe"',
                           'exec.clean: unknown boolean value "yes"']


def test_case20_integers() -> None:
    assert loads("a { stop.timeout = 3x; }")["a"].check() == [
        'stop.timeout: non-integer value "3x"']
    assert loads('a { exec.timeout = ""; }')["a"].check() == [
        'exec.timeout: non-integer value ""']
    j = loads("a { stop.timeout = 30; exec.fib = -1; }")["a"]
    assert j.check() == [] and j.integer("stop.timeout") == 30 and j.integer("exec.fib") == -1


def test_case21_include(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "b.conf").write_text("b { persist; }\n")
    (tmp_path / "conf.d" / "a.conf").write_text("a { persist; }\n")
    main = tmp_path / "jail.conf"
    main.write_text('path = "/j/$name";\n.include "conf.d/*.conf";\nc { persist; }\n'
                    '.include "none/*.conf";\n')
    cfg = load(str(main))
    assert cfg.names() == ["a", "b", "c"]
    assert cfg["b"]["path"] == "/j/b"
    main.write_text('.include "missing.conf";\n')
    with pytest.raises(ConfigError) as exc:
        load(str(main))
    assert str(exc.value) == f"{tmp_path}/missing.conf: No such file or directory"
    main.write_text('.include "$x";\n')
    with pytest.raises(ConfigError) as exc:
        load(str(main))
    assert str(exc.value) == f"{main} line 1: variables not permitted in '.include' filename"


def test_case22_nested_blocks_build_the_name_only() -> None:
    cfg = loads("a { path = /a; b { persist; } }")
    assert cfg.names() == ["a", "a.b"]
    assert "path" not in cfg["a.b"]


def test_wildcards() -> None:
    assert wildcard_match("foo.bar", "foo.*") and wildcard_match("foo.bar.baz", "foo.*")
    assert not wildcard_match("foo", "foo.*")
    assert wildcard_match("a.x.c", "a.*.c") and not wildcard_match("a.x.y.c", "a.*.c")
    assert wildcard_match("web", "*") and not wildcard_match("foo", "foo*")
    assert conf.is_wildcard("*.bar") and not conf.is_wildcard("foo*")
    cfg = loads('"foo.*" { path = "/f/$name"; } foo.bar {} foo {}')
    assert cfg.names() == ["foo.bar", "foo"]
    assert cfg["foo.bar"]["path"] == "/f/foo.bar" and "path" not in cfg["foo"]


def test_equalopts() -> None:
    assert equalopts("persist", "nopersist") and equalopts("allow.nomount", "allow.mount")
    assert equalopts("allow.mount.nodevfs", "allow.mount.devfs")
    assert not equalopts("allow.mount", "allow.mounts")
    assert not equalopts("a.nob", "c.b")


def test_append_replace_and_clear() -> None:
    j = loads("ip4.addr = 1.1.1.1; a { ip4.addr += 2.2.2.2; } b { ip4.addr; }")
    assert j["a"].values("ip4.addr") == ["1.1.1.1", "2.2.2.2"]
    assert j["b"].values("ip4.addr") == [] and "ip4.addr" in j["b"]
    assert j["b"].show() == "name=b\tip4.addr"


def test_variables_and_parameters_do_not_share_names() -> None:
    assert loads("a { $persist = 1; }")["a"].errors == [
        'variable "$persist" cannot have the same name as a parameter.']
    assert loads("a { $x = 1; x = 2; }")["a"].errors == [
        'variable "$x" cannot have the same name as a parameter.']
    assert loads("a { $x = 1; path = /$x; }")["a"]["path"] == "/1"


def test_kernel_and_pseudo_parameters_apart() -> None:
    j = loads("a { path = /j; mount.devfs; exec.start = 'sh /etc/rc'; persist; depend = b; }"
              " b {}")["a"]
    assert [p.name for p in j.kernel_params] == ["name", "path", "persist"]
    assert [p.name for p in j.pseudo_params] == ["mount.devfs", "exec.start", "depend"]


def test_show_quoting_as_quoted_print() -> None:
    j = loads("""a { exec.start = ""; x = "it's"; y = 'say "hi"'; z = "a b"; w = 'c\\\\d'; }""")
    assert j["a"].show("|") == (
        """name=a|exec.start=""|x="it's"|y='say "hi"'|z="a b"|w=c\\\\d""")


ROUND_TRIP = [
    '$p = /srv; "*" { path = "$p/$name"; exec.start = "/bin/sh /etc/rc"; } a {} b { persist; }',
    "5309 { name = basejail; persist; } 42 { host.hostname = ${name}; }",
    'a { exec.start = "echo \\"$$HOME\\"", \'x y\', ""; ip4.addr = "em0|10.0.0.5/24"; }',
    'a { host.hostname = "tab\\there\\nnl\\001"; mount.nodevfs; allow.nomount; b { c {} } }',
    '"foo.*" { path = /f; } foo.bar {} "odd name" { persist; } x { y = "#no comment"; }',
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_dump_round_trip(text: str) -> None:
    first = loads(text)
    again = loads(dump(first))
    assert [(j.name, [(p.name, p.values) for p in j.params]) for j in again] == [
        (j.name, [(p.name, p.values) for p in j.params]) for j in first]
    assert dump(again) == dump(first)


def test_dump_text() -> None:
    assert dump(loads('path = "/j/$name"; web { ip4.addr = 1.1.1.1, "2.2.2.2"; x = "a b"; }')) == (
        "web {\n    path = /j/web;\n    ip4.addr = 1.1.1.1, 2.2.2.2;\n"
        '    x = "a b";\n}\n')
