"""jailcore.devfs: devfs.rules(5) parsing and emitting, the default rulesets,
and the entries a devfs mount with a ruleset shows."""

from __future__ import annotations

import dataclasses

import pytest

from jailcore import devfs
from jailcore.devfs import (
    DEFAULT_RULESETS,
    DevfsRulesError,
    Device,
    Entry,
    Rule,
    Ruleset,
    emit_rules,
    parse_rules,
    visible,
)

# The device list of the host spec (C.6), with the directories pts and fd.
DEVICES = [
    "null", "zero", "random", "urandom", "crypto",
    "pts", "pts/0", "ptmx", "fd", "fd/0", "stdin", "stdout", "stderr",
    "fuse", "zfs", "pf", "bpf0", "mem", "kmem", "ada0", "console", "ttyv0",
]  # fmt: skip
BASIC = {"null", "zero", "random", "urandom", "crypto"}
LOGIN = {"pts", "pts/0", "ptmx", "fd", "fd/0", "stdin", "stdout", "stderr"}


def one(text: str) -> Ruleset:
    (rs,) = parse_rules(text)
    return rs


# --- the default rulesets -------------------------------------------------------


def test_default_rulesets_are_freebsds_five() -> None:
    assert [(rs.number, rs.name, len(rs)) for rs in DEFAULT_RULESETS] == [
        (1, "devfsrules_hide_all", 1),
        (2, "devfsrules_unhide_basic", 5),
        (3, "devfsrules_unhide_login", 40),
        (4, "devfsrules_jail", 5),
        (5, "devfsrules_jail_vnet", 5),
    ]
    hide_all, basic, login, jail, vnet = DEFAULT_RULESETS
    assert hide_all.rules == (Rule(100, hide=True),)
    assert [r.path for r in basic] == ["null", "zero", "crypto", "random", "urandom"]
    assert all(r.unhide and not r.hide for r in (*basic, *login))
    paths = [r.path for r in login]
    assert paths[:2] == ["ptyp*", "ptyq*"]
    assert len([p for p in paths if p and p.startswith(("pty", "tty"))]) == 32
    assert paths[32:] == ["ptmx", "pts", "pts/*", "fd", "fd/*", "stdin", "stdout", "stderr"]
    assert jail.rules == (
        Rule(100, include=1),
        Rule(200, include=2),
        Rule(300, include=3),
        Rule(400, path="fuse", unhide=True),
        Rule(500, path="zfs", unhide=True),
    )
    assert vnet.rules == (
        Rule(100, include=1),
        Rule(200, include=2),
        Rule(300, include=3),
        Rule(400, include=4),
        Rule(500, path="pf", unhide=True),
    )


def test_default_rulesets_round_trip() -> None:
    text = emit_rules(DEFAULT_RULESETS)
    assert parse_rules(text) == list(DEFAULT_RULESETS)
    assert "[devfsrules_jail=4]\nadd include $devfsrules_hide_all\n" in text
    assert "add path 'ptyp*' unhide\n" in text
    assert "add path null unhide\n" in text
    assert parse_rules(devfs.DEFAULT_RULES) == list(DEFAULT_RULESETS)


# --- parsing --------------------------------------------------------------------


def test_parse_numbers_conditions_and_actions() -> None:
    rs = one(
        "[custom=10]\n"
        "add 150 path 'bpf*' unhide\n"
        "add type disk type tty path 'da*' mode 0660 group operator user 0\n"
        "add 20 hide unhide\n"
        "add include 4\n"
        "add 65535 user root group 5 mode 4755\n"
    )
    assert rs.number == 10 and rs.name == "custom"
    assert rs.rules == (
        Rule(20, hide=True, unhide=True),
        Rule(150, path="bpf*", unhide=True),
        Rule(
            250, path="da*", types=frozenset({"disk", "tty"}), mode=0o660, group="operator", user=0
        ),
        Rule(350, include=4),
        Rule(65535, user="root", group=5, mode=0o4755),
    )


def test_parse_comments_blanks_quotes_and_continuation() -> None:
    text = (
        "# a comment\n"
        "\n"
        "   [one=1]   # trailing text after the header\n"
        "  add path null unhide   # a comment after a rule\n"
        "add path \"pts/*\" \\\n"
        "    unhide\n"
        "add path ab\\*c hide\n"
        "add path 'with space' hide\n"
        "[two=2]\n"
        "add include $one\n"
        "add include ${one}\n"
        'add include "$one"\n'
        "add path x hide"  # no final newline
    )
    one_, two = parse_rules(text, filename="rules")
    assert one_.rules == (
        Rule(100, path="null", unhide=True),
        Rule(200, path="pts/*", unhide=True),
        Rule(300, path="ab*c", hide=True),
        Rule(400, path="with space", hide=True),
    )
    assert two.rules == (
        Rule(100, include=1),
        Rule(200, include=1),
        Rule(300, include=1),
        Rule(400, path="x", hide=True),
    )


def test_a_hash_starts_a_comment_only_at_the_start_of_a_word() -> None:
    # rc.subr leaves comments to the shell's eval (see the note in devfs.py)
    rs = one("[a=1]\nadd path 'a#b' hide\nadd path c#d hide #e\n")
    assert rs.rules == (Rule(100, path="a#b", hide=True), Rule(200, path="c#d", hide=True))
    with pytest.raises(DevfsRulesError, match=r"^f:2: unknown argument: hide#$"):
        parse_rules("[a=1]\nadd path e hide# f\n", filename="f")


def test_a_header_again_starts_the_ruleset_over() -> None:
    # rc.subr runs `devfs rule -s N delset` at each header
    sets = parse_rules("[a=1]\nadd hide\n[b=2]\nadd include $a\n[again=1]\nadd path null unhide\n")
    assert [(rs.number, rs.name, rs.rules) for rs in sets] == [
        (2, "b", (Rule(100, include=1),)),
        (1, "again", (Rule(100, path="null", unhide=True),)),
    ]


def test_parse_empty_text() -> None:
    assert parse_rules("") == []
    assert parse_rules("# nothing\n\n") == []
    assert parse_rules("[empty=9]\n") == [Ruleset(9, "empty")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("add hide\n", "rule outside any ruleset: no [name=number] header before 'add'"),
        ("[a=1]\nfrobnicate\n", "unknown command: frobnicate"),
        ("[a=1]\ndel 100\n", "unsupported command in a rules file: del (only add is)"),
        ("[a=1]\nadd\n", "unexpected end of rulespec"),
        ("[a=1]\nadd path null vanish\n", "unknown argument: vanish"),
        ("[a=1]\nadd hide type disk\n", "unknown argument: type"),
        ("[a=1]\nadd type floppy hide\n", "unknown type: floppy"),
        ("[a=1]\nadd path\n", "expecting argument for path"),
        ("[a=1]\nadd type\n", "expecting argument for type"),
        ("[a=1]\nadd hide user\n", "expecting argument for user"),
        ("[a=1]\nadd hide group\n", "expecting argument for group"),
        ("[a=1]\nadd hide mode\n", "expecting argument for mode"),
        ("[a=1]\nadd include\n", "expecting argument for include"),
        ("[a=1]\nadd include $nosuch\n", "unknown ruleset name: $nosuch"),
        ("[a=1]\nadd include ${nosuch}\n", "unknown ruleset name: $nosuch"),
        ("[a=1]\nadd include 70000\n", "error converting to number: 70000"),
        ("[a=1]\nadd include four\n", "error converting to number: four"),
        ("[a=1]\nadd include 0\n", "include 0: ruleset 0 cannot be included"),
        ("[a=1]\nadd 70000 hide\n", "unknown argument: 70000"),
        ("[a=1]\nadd hide mode 0999\n", "invalid mode: 0999"),
        ("[a=1]\nadd hide mode 17777\n", "invalid mode: 17777"),
        (
            "[a=1]\nadd hide mode u+rw\n",
            "invalid mode: u+rw (only octal modes are accepted: a symbolic mode"
            " depends on the umask devfs(8) runs with)",
        ),
        ("[a=1]\nadd hide user 99999999999\n", "error converting to integer: 99999999999"),
        ("[a=1]\nadd hide group 12ab\n", "error converting to integer: 12ab"),
        ("[a=1]\nadd 100 hide\nadd 100 unhide\n",
         "rule 100 already exists in ruleset 1 (ioctl DEVFSIO_RADD: File exists)"),
        ("[a=1]\nadd 65500 hide\nadd unhide\n",
         "no rule number after 65500 (ioctl DEVFSIO_RADD: Result too large)"),
        ("[a=1]\nadd path " + "x" * 200 + " hide\n",
         "pattern specified too long: at most 199 bytes"),
        ("[a=1]\nadd path 'null hide\n", "unterminated quoted string"),
        ("[a=1]\nadd hide; reboot\n", "unsupported shell syntax: ';'"),
        ("[a=1]\nadd include $(echo 4)\n", "unsupported shell syntax: '$('"),
        ("[a]\n", "cannot extract rule number ([a])"),
        ("[a=]\n", "cannot extract rule number ([a=])"),
        ("[=4]\n", "cannot extract rule name ([=4])"),
        ("[my-rules=4]\n", "bad ruleset name: my-rules (a name is a shell variable name)"),
        ("[a=65536]\n", "error converting to number: 65536"),
        ("[a=0]\n", "ruleset 0 cannot hold rules"),
    ],
)  # fmt: skip
def test_parse_errors_name_file_and_line(text: str, message: str) -> None:
    lineno = text.rstrip("\n").count("\n") + 1
    with pytest.raises(DevfsRulesError) as info:
        parse_rules(text, filename="/etc/devfs.rules")
    assert str(info.value) == f"/etc/devfs.rules:{lineno}: {message}"
    assert (info.value.filename, info.value.lineno, info.value.reason) == (
        "/etc/devfs.rules",
        lineno,
        message,
    )
    assert isinstance(info.value, ValueError)


def test_error_line_of_a_continued_line_is_where_it_starts() -> None:
    with pytest.raises(DevfsRulesError, match=r"^<string>:3: unknown argument: bogus$"):
        parse_rules("[a=1]\nadd hide\nadd path x \\\n  bogus\n")


def test_a_name_is_known_only_after_its_header() -> None:
    with pytest.raises(DevfsRulesError, match=r"^<string>:2: unknown ruleset name: \$later$"):
        parse_rules("[a=1]\nadd include $later\n[later=2]\nadd hide\n")


# --- objects --------------------------------------------------------------------


def test_rule_repr_and_show_form() -> None:
    rule = Rule(250, path="da*", types=frozenset({"tty", "disk"}), group="operator", mode=0o660)
    assert repr(rule) == (
        "Rule(250, path='da*', types={'disk', 'tty'}, group='operator', mode=0o660)"
    )
    assert str(rule) == "250 type disk type tty path da* group operator mode 0660"
    assert str(Rule(100, include=4)) == "100 include 4"
    assert repr(DEFAULT_RULESETS[3]) == "Ruleset(4, 'devfsrules_jail', <5 rules>)"
    assert repr(Entry(user=0, mode=0o600)) == "Entry(user=0, mode=0o600)"


def test_rules_and_rulesets_are_immutable_and_checked() -> None:
    rule = Rule(100, hide=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.hide = False  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown type: floppy"):
        Rule(100, types=frozenset({"floppy"}))
    with pytest.raises(ValueError, match="rule number 65536 out of range"):
        Rule(65536)
    with pytest.raises(ValueError, match="pattern specified too long"):
        Rule(1, path="x" * 200)
    with pytest.raises(ValueError, match="give a number as an int"):
        Rule(1, user="0")
    with pytest.raises(ValueError, match="bad ruleset name"):
        Ruleset(1, "no-dash")
    with pytest.raises(ValueError, match="rule 100 twice in ruleset 1"):
        Ruleset(1, rules=(Rule(100), Rule(100, hide=True)))
    with pytest.raises(ValueError, match="ruleset number 0 out of range"):
        Ruleset(0)


def test_ruleset_sorts_rules_and_numbers_added_ones() -> None:
    rs = Ruleset(7, "mine", (Rule(300, hide=True), Rule(100, unhide=True)))
    assert [r.number for r in rs] == [100, 300]
    rs = rs.add(Rule(0, path="null", unhide=True))
    assert rs.rule(400) == Rule(400, path="null", unhide=True)
    assert Ruleset(8).next_number() == 100
    with pytest.raises(ValueError, match="rule 300 already exists in ruleset 7"):
        rs.add(Rule(300))
    with pytest.raises(OverflowError):
        Ruleset(8, rules=(Rule(65500),)).next_number()
    with pytest.raises(KeyError):
        rs.rule(42)


# --- emitting -------------------------------------------------------------------


def test_emit_round_trips_every_field() -> None:
    sets = [
        Ruleset(
            12,
            "odd",
            (
                Rule(7, path="it's a \\ [x]*", types=frozenset({"mem"}), hide=True),
                Rule(107, user="www", group=80, mode=0o640),
                Rule(500, hide=True, unhide=True, include=12),
                Rule(600, path="pts/*", types=frozenset({"disk", "mem", "tape", "tty"})),
            ),
        ),
        Ruleset(13, None, (Rule(100, include=12), Rule(250, include=99))),
        Ruleset(14, "later", (Rule(100, include=13),)),
    ]
    text = emit_rules(sets)
    assert text == (
        "[odd=12]\n"
        "add 7 type mem path 'it'\\\\''s a \\\\ [x]*' hide\n"
        "add user www group 80 mode 0640\n"
        "add 500 hide unhide include $odd\n"
        "add type disk type mem type tape type tty path 'pts/*'\n"
        "\n"
        "[ruleset_13=13]\n"
        "add include $odd\n"
        "add 250 include 99\n"
        "\n"
        "[later=14]\n"
        "add include $ruleset_13\n"
    )
    back = parse_rules(text)
    assert back[0] == sets[0] and back[2] == sets[2]
    assert back[1] == dataclasses.replace(sets[1], name="ruleset_13")


def test_emit_refuses_what_the_format_cannot_carry() -> None:
    with pytest.raises(ValueError, match=r"cannot be written to devfs\.rules: it holds a newline"):
        emit_rules([Ruleset(1, "a", (Rule(100, path="a\nb", hide=True),))])
    hashes = [Ruleset(1, "a", (Rule(100, path="#a#", hide=True), Rule(200, group="wh#eel")))]
    assert emit_rules(hashes) == "[a=1]\nadd path '#a#' hide\nadd group 'wh#eel'\n"
    assert parse_rules(emit_rules(hashes)) == hashes
    with pytest.raises(ValueError, match="ruleset 1 given twice"):
        emit_rules([Ruleset(1, "a"), Ruleset(1, "b")])
    with pytest.raises(ValueError, match="ruleset name a given twice"):
        emit_rules([Ruleset(1, "a"), Ruleset(2, "a")])
    assert emit_rules([]) == ""


# --- pattern matching -----------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("null", "null", True),
        ("null", "nullx", False),
        ("pty*", "ptyp0", True),
        ("pts*", "pts/0", False),  # '*' stops at '/'
        ("pts/*", "pts/0", True),
        ("pts/*", "pts", False),
        ("*", "pts/0", False),
        ("*/*", "pts/0", True),
        ("*/0", "pts/0", True),
        ("ad?", "ada", True),
        ("ad?", "ad/", False),
        ("tty[pq]*", "ttyq1", True),
        ("tty[!pq]*", "ttyq1", False),
        ("tty[^pq]*", "ttyv0", True),
        ("da[0-3]", "da2", True),
        ("da[0-3]", "da4", False),
        ("da[]]", "da]", True),
        ("da[a-]", "da-", True),
        ("a[/]b", "a/b", False),  # FNM_PATHNAME: a bracket never matches '/'
        ("da[0", "da[0", True),  # no closing bracket: '[' is literal
        ("ab\\*", "ab*", True),
        ("ab\\*", "abc", False),
        ("ab\\", "ab\\", True),
        (".*", ".hidden", True),  # no FNM_PERIOD
        ("", "", True),
    ],
)
def test_fnmatch_pathname(pattern: str, name: str, matches: bool) -> None:
    assert devfs.fnmatch_pathname(pattern, name) is matches


# --- visibility -----------------------------------------------------------------


def test_ruleset_4_shows_basic_login_fuse_and_zfs() -> None:
    shown = visible(DEFAULT_RULESETS, 4, DEVICES)
    assert set(shown) == BASIC | LOGIN | {"fuse", "zfs"}
    assert list(shown)[:3] == ["null", "zero", "random"]  # in the order given
    assert all(entry == Entry() for entry in shown.values())


def test_ruleset_5_adds_pf() -> None:
    assert set(visible(DEFAULT_RULESETS, 5, DEVICES)) == BASIC | LOGIN | {"fuse", "zfs", "pf"}


def test_ruleset_1_hides_everything() -> None:
    assert visible(DEFAULT_RULESETS, 1, DEVICES) == {}


def test_no_ruleset_hides_nothing() -> None:
    everything = set(DEVICES)
    # an empty registry: ruleset 4 not loaded, the pitfall of spec C.3
    assert set(visible({}, 4, DEVICES)) == everything
    assert set(visible(DEFAULT_RULESETS, 0, DEVICES)) == everything
    assert set(visible(DEFAULT_RULESETS, 42, DEVICES)) == everything
    # rulesets 2 and 3 only unhide
    assert set(visible(DEFAULT_RULESETS, 2, DEVICES)) == everything


def test_include_depth_is_the_kernels() -> None:
    reg = {rs.number: rs for rs in DEFAULT_RULESETS}
    # depth 0: no include is followed, ruleset 4 only unhides fuse and zfs
    assert set(visible(reg, 4, DEVICES, rule_depth=0)) == set(DEVICES)
    # ruleset 6 includes 4 only: with depth 1, 4's own includes are not followed
    six = Ruleset(6, "only_jail", (Rule(100, include=4),))
    reg[6] = six
    assert set(visible(reg, 6, DEVICES)) == set(DEVICES)
    assert set(visible(reg, 6, DEVICES, rule_depth=2)) == BASIC | LOGIN | {"fuse", "zfs"}


def test_a_ruleset_including_itself_stops_at_the_depth() -> None:
    loop = Ruleset(
        9, "loop", (Rule(100, hide=True), Rule(200, path="null", unhide=True, include=9))
    )
    assert set(visible([loop], 9, DEVICES, rule_depth=50)) == {"null"}


def test_a_missing_included_ruleset_is_an_error() -> None:
    rs = Ruleset(9, "bad", (Rule(100, include=8),))
    with pytest.raises(ValueError, match=r"^ruleset 9, rule 100: include 8: no such ruleset$"):
        visible([rs], 9, ["null"])


def test_a_hidden_directory_hides_its_entries() -> None:
    rs = one("[a=1]\nadd hide\nadd path 'pts/*' unhide\nadd path 'fd/*' unhide\nadd path fd unhide")
    assert set(visible([rs], rs, DEVICES)) == {"fd", "fd/0"}
    # a device listed without its directory still needs the directory shown
    assert visible([rs], 1, ["pts/0", "fd/0"]) == {"fd/0": Entry()}


def test_types_match_devices_given_with_their_types() -> None:
    rs = one("[disks=20]\nadd type disk hide\nadd type tty type mem group operator mode 640\n")
    devices = [Device("ada0", frozenset({"disk"})), Device("ttyv0", frozenset({"tty"})), "ada1"]
    assert visible([rs], 20, devices) == {
        "ttyv0": Entry(group="operator", mode=0o640),
        "ada1": Entry(),  # a bare name has no type: type conditions never match
    }
    assert Rule(1, types=frozenset({"disk"})).matches(Device("ada0", frozenset({"disk"})))
    assert not Rule(1, types=frozenset({"disk"})).matches("ada0")


def test_owner_group_and_mode_follow_the_last_matching_rule() -> None:
    rs = one(
        "[perms=30]\n"
        "add path 'bpf*' unhide user root group 0 mode 0600\n"
        "add path bpf0 group network mode 0660\n"
        "add path 'da*' hide mode 0640\n"
    )
    shown = visible([rs], 30, ["bpf0", "bpf1", "da0", "null"])
    assert shown == {
        "bpf0": Entry(user="root", group="network", mode=0o660),
        "bpf1": Entry(user="root", group=0, mode=0o600),
        "null": Entry(),
    }


def test_a_ruleset_object_can_be_given_directly() -> None:
    jail = DEFAULT_RULESETS[3]
    assert set(visible(DEFAULT_RULESETS, jail, DEVICES)) == BASIC | LOGIN | {"fuse", "zfs"}


def test_bad_device_names_are_refused() -> None:
    for name in ("", "/dev/null", "pts//0", "pts/"):
        with pytest.raises(ValueError, match="bad device name"):
            Device(name)
    with pytest.raises(ValueError, match="unknown type: floppy"):
        Device("fd0", frozenset({"floppy"}))


SH_LOOP = r"""
set -f
one=1
while read line; do
  case $line in \#*) continue ;; esac
  eval printf "'<%s>'" $line; echo
done
"""


def test_words_are_those_the_shell_reads() -> None:
    """rc.subr's read + eval, run by sh(1), split lines as parse_rules does."""
    import shutil
    import subprocess

    sh = shutil.which("sh")
    if sh is None:
        pytest.skip("no sh")
    lines = [
        "add path 'ptyp*' unhide",
        'add path "pts/*" include "$one"',
        "add path ab\\*c hide # a comment",
        "add path 'it'\\\\''s a \\\\ [x]*' hide",
        "add path c#d user 'with space' group \\\\x",
        "add include ${one}",
        "add path x \\",
        "   hide",
    ]
    text = "\n".join(lines) + "\n"
    out = subprocess.run([sh, "-c", SH_LOOP], input=text, capture_output=True, text=True)
    expected = [line[1:-1].split("><") for line in out.stdout.splitlines()]
    names = {"one": 1}
    err = devfs._Err("<sh>")
    got = [devfs._shell_words(line, names, err) for _, line in devfs._logical_lines(text)]
    assert got == expected
    assert len(got) == 7
