"""jailcore.rcconf: rc.conf as load_rc_config reads it, and rc.d/jail over a fake jail(8)
that really creates and removes jails on the model host."""

from __future__ import annotations

import datetime
import io
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import jailcore
from jailcore import cli
from jailcore.rcconf import DEFAULTS, Ignored, RcConf, RcJail, jail_name, jail_var

WARN = "/etc/rc.d/jail: WARNING: "
CLOCK = datetime.datetime(2026, 12, 4, 22, 30, 5)


def parse(text: str, **variables: str) -> dict[str, str]:
    return dict(RcConf.parse(text, variables))


# ---- the sh subset ------------------------------------------------------------------


def test_quotes_and_expansion() -> None:
    text = (
        'a=1 b="$a x" c=\'$a "q"\' d=${a}2 e="${a}\\$a\\"\\\\\\z"\n'
        "f=un\\ quoted\\$a g=$a$b h=${nope}end i=$ j=${a:-x}${nope:-\"y z\"}${a:+set}${nope:+no}\n"
    )
    assert parse(text) == {
        "a": "1", "b": "1 x", "c": '$a "q"', "d": "12", "e": '1$a"\\\\z',
        "f": "un quoted$a", "g": "11 x", "h": "end", "i": "$", "j": "1y zset",
    }


def test_continuation_comments_and_separators() -> None:
    text = (
        "# a comment\n"
        "\n"
        "a=one\\\n"
        "two   # trailing comment\n"
        'b="x\\\n'
        'y" c=\'p\\\n'
        "q'\n"
        "d=1; e=2 ;f=#notacomment g=h#i\n"
        "  \t j='multi\n"
        "line'\n"
    )
    assert parse(text) == {
        "a": "onetwo", "b": "xy", "c": "p\\\nq", "d": "1", "e": "2",
        "f": "#notacomment", "g": "h#i", "j": "multi\nline",
    }


def test_parse_leaves_its_variables_alone_and_with_values_copies() -> None:
    given = {"a": "1"}
    conf = RcConf.parse("a=2 b=$a", given)
    assert given == {"a": "1"} and dict(conf) == {"a": "2", "b": "2"}
    assert dict(conf.with_values(b="3")) == {"a": "2", "b": "3"} and conf["b"] == "2"
    with pytest.raises(KeyError):
        conf["c"]


def test_assignments_in_order_and_against_earlier_values() -> None:
    assert parse('b=$a a=2 c="$a" a=3', a="1") == {"a": "3", "b": "1", "c": "2"}
    assert parse('jail_flags="$jail_flags -v"', jail_flags="-l") == {"jail_flags": "-l -v"}


def test_parameter_operators() -> None:
    text = (
        ": ${x:=dflt} ${y=}\n"
        "n=${#x} p=/usr/local/etc/rc.d s1=${p%/*} s2=${p%%/e*} s3=${p#*/} s4=${p##*/}\n"
        "e=${empty-unset} e2=${empty:-empty} u=${unset-unset}\n"
        "d=$'a\\tb\\x41\\101\\n'\n"
    )
    assert parse(text, empty="") == {
        "empty": "", "x": "dflt", "y": "", "n": "4", "p": "/usr/local/etc/rc.d",
        "s1": "/usr/local/etc", "s2": "/usr/local", "s3": "usr/local/etc/rc.d",
        "s4": "rc.d", "e": "", "e2": "empty", "u": "unset", "d": "a\tbAA\n",
    }


def test_commands_and_compound_commands_are_not_run() -> None:
    # The end of FreeBSD's /etc/defaults/rc.conf: a function defined inside an if.
    text = (
        'jail_list="a"\n'
        'if [ -z "${source_rc_confs_defined}" ]; then\n'
        "\tsource_rc_confs_defined=yes\n"
        "\tsource_rc_confs() {\n"
        "\t\tlocal i sourced_files\n"
        "\t\tfor i in ${rc_conf_files}; do\n"
        '\t\t\tcase ${sourced_files} in\n'
        "\t\t\t*:$i:*) ;;\n"
        '\t\t\t*) sourced_files="${sourced_files}:$i:" ;;\n'
        "\t\t\tesac\n"
        "\t\tdone\n"
        "\t}\n"
        "fi\n"
        "f() { inner=1; }\n"
        "( sub=1 )\n"
        "echo hello > /dev/null\n"
        "pre=1 /bin/cmd arg\n"
        "bg=1 &\n"
        "pipe=1 | cat\n"
        "l=$(hostname) k=`id -u`\n"
        "after=yes 2>/dev/null\n"
    )
    conf = RcConf.parse(text, filename="/etc/defaults/rc.conf")
    assert dict(conf) == {"jail_list": "a", "after": "yes"}
    f = "/etc/defaults/rc.conf"
    assert conf.ignored == (
        Ignored(f, 2, "compound command"),
        Ignored(f, 14, "compound command"),
        Ignored(f, 15, "subshell"),
        Ignored(f, 16, "echo hello"),
        Ignored(f, 17, "pre=1 /bin/cmd arg"),
        Ignored(f, 18, "bg=1"),
        Ignored(f, 19, "pipe=1"),
        Ignored(f, 19, "cat"),
        Ignored(f, 20, "l=$(hostname) k=`id -u`"),
    )


def test_and_or_lists_export_and_true_false() -> None:
    text = (
        "false || a=1\n"
        "true && b=2\n"
        "false && c=3\n"
        "d=4 || e=5\n"
        "cmd && f=6\n"
        "export g=7 h\n"
        "readonly i=$g\n"
    )
    conf = RcConf.parse(text)
    assert dict(conf) == {"a": "1", "b": "2", "d": "4", "g": "7", "i": "7"}
    assert [i.text for i in conf.ignored] == ["cmd", "f=6"]


def test_a_syntax_error_ends_the_file_and_keeps_what_came_before() -> None:
    conf = RcConf.parse("a=1\nb='open\nc=3\n")
    assert dict(conf) == {"a": "1"}
    assert conf.ignored == (Ignored("<rc.conf>", 2, "syntax error: unterminated quoted string"),)


# ---- load_rc_config -------------------------------------------------------------------


def write(root: Path, path: str, text: str) -> Path:
    p = root / path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def test_load_without_defaults_file_uses_the_builtin_defaults(tmp_path: Path) -> None:
    conf = RcConf.load(str(tmp_path))
    assert dict(conf) == dict(DEFAULTS)
    assert conf.files == ()
    assert conf["jail_conf"] == "/etc/jail.conf" and not conf.yes("jail_enable")


def test_load_order_and_overrides(tmp_path: Path) -> None:
    write(tmp_path, "/etc/defaults/rc.conf",
          'jail_enable="NO"\njail_conf="/etc/jail.conf"\nlocal_startup="/usr/local/etc/rc.d"\n'
          'rc_conf_files="/etc/rc.conf /etc/rc.conf.local"\nfrom_defaults=1\n')
    write(tmp_path, "/etc/defaults/vendor.conf", "jail_conf=/vendor/jail.conf\n")
    write(tmp_path, "/etc/rc.conf",
          'jail_enable="YES"\njail_list="a b"\nrc_conf_files="$rc_conf_files /etc/rc.conf.site"\n')
    write(tmp_path, "/etc/rc.conf.local", 'jail_list="$jail_list c"\n')
    write(tmp_path, "/etc/rc.conf.site", "site=1\n")
    write(tmp_path, "/etc/rc.conf.d/jail/20-b", 'jail_list="$jail_list e"\n')
    write(tmp_path, "/etc/rc.conf.d/jail/10-a", 'jail_list="$jail_list d"\n')
    write(tmp_path, "/etc/rc.conf.d/jail/.hidden", "hidden=1\n")
    write(tmp_path, "/etc/rc.conf.d/jail/empty", "")
    write(tmp_path, "/usr/local/etc/rc.conf.d/jail", 'jail_reverse_stop="YES"\n')
    write(tmp_path, "/etc/rc.conf.d/other", "other=1\n")
    conf = RcConf.load(str(tmp_path))
    assert conf.files == (
        "/etc/defaults/rc.conf", "/etc/defaults/vendor.conf", "/etc/rc.conf",
        "/etc/rc.conf.local", "/etc/rc.conf.site", "/etc/rc.conf.d/jail/10-a",
        "/etc/rc.conf.d/jail/20-b", "/usr/local/etc/rc.conf.d/jail",
    )
    assert conf["jail_list"] == "a b c d e"
    assert conf["jail_conf"] == "/vendor/jail.conf"
    assert conf["site"] == conf["from_defaults"] == "1"
    assert "hidden" not in conf and "other" not in conf and "jail_parallel_start" not in conf
    assert conf.yes("jail_enable") and conf.yes("jail_reverse_stop")
    assert conf.root == str(tmp_path)


def test_rc_conf_d_file_and_local_startup(tmp_path: Path) -> None:
    write(tmp_path, "/etc/rc.conf", 'local_startup="/opt/rc.d /srv/etc/rc.d"\njail_flags=-v\n')
    write(tmp_path, "/etc/rc.conf.d/jail", "jail_flags=-l\n")
    write(tmp_path, "/opt/rc.conf.d/jail", 'jail_flags="$jail_flags -q"\n')
    write(tmp_path, "/srv/etc/rc.conf.d/jail", 'jail_list=srv\n')
    conf = RcConf.load(str(tmp_path))
    assert conf.files == ("/etc/rc.conf", "/etc/rc.conf.d/jail", "/opt/rc.conf.d/jail",
                          "/srv/etc/rc.conf.d/jail")
    assert (conf["jail_flags"], conf["jail_list"]) == ("-l -q", "srv")


@pytest.mark.parametrize(("value", "expected"), [
    ("YES", True), ("yes", True), ("True", True), ("oN", True), ("1", True),
    ("NO", False), ("no", False), ("FALSE", False), ("Off", False), ("0", False),
])
def test_checkyesno(value: str, expected: bool) -> None:
    said: list[str] = []
    assert RcConf({"v": value}).yes("v", said.append) is expected
    assert said == []


@pytest.mark.parametrize("value", ["", "2", "y", "yes ", "YES!", "\u0130"])
def test_checkyesno_warns_on_anything_else(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert RcConf({"v": value}).yes("v") is False
    assert capsys.readouterr().err == WARN + "$v is not set properly - see rc.conf(5).\n"
    assert RcConf({}).yes("unset") is False
    assert capsys.readouterr().err == WARN + "$unset is not set properly - see rc.conf(5).\n"


# ---- rc.d/jail --------------------------------------------------------------------------


class FakeJail:
    """jail(8) as far as rc.d/jail needs it: -c creates (named, persist), -r removes."""

    def __init__(self, all_names: tuple[str, ...] = (), fail: tuple[str, ...] = (),
                 keep: tuple[str, ...] = ()) -> None:
        self.calls: list[list[str]] = []
        self.all_names, self.fail, self.keep = all_names, fail, keep
        self.lock = threading.Lock()
        self.hook: Callable[[str], None] | None = None
        self.created = {n: threading.Event() for n in ("a", "b")}

    def __call__(self, argv: list[str]) -> tuple[int, str]:
        with self.lock:
            self.calls.append(list(argv))
        if "-c" in argv:
            names = argv[argv.index("-c") + 1:]
            names = [n for n in names if n != "-p1"] or list(self.all_names)
            if self.hook is not None:
                self.hook(names[0])
            out = ""
            for n in names:
                if n in self.fail:
                    return 1, out + f"jail: {n}: /bin/sh /etc/rc: failed\n"
                jailcore.Jail.create(name=n, persist=True)
                if n in self.created:
                    self.created[n].set()
                out += f"{n}: created\n"
            return 0, out
        name = argv[-1]
        if name in self.keep:
            return 1, f"jail: {name}: exec.prestop: failed\n"
        jailcore.Jail.get(name).remove()
        return 0, f"{name}: removed\n"


def running() -> list[str]:
    return [str(j.name) for j in jailcore.jails(("name",))]


def setup(tmp_path: Path, rc_conf: str, *files: str,
          **kwargs: object) -> tuple[RcJail, FakeJail, io.StringIO, io.StringIO]:
    write(tmp_path, "/etc/rc.conf", rc_conf)
    for f in files:
        write(tmp_path, f, "x {}\n")
    (tmp_path / "var/run").mkdir(parents=True, exist_ok=True)
    fake = FakeJail(**kwargs)  # type: ignore[arg-type]
    out, err = io.StringIO(), io.StringIO()
    rc = RcJail(RcConf.load(str(tmp_path)), run_jail=fake, out=out, err=err, clock=lambda: CLOCK)
    return rc, fake, out, err


def ids(tmp_path: Path) -> dict[str, str]:
    run = tmp_path / "var/run"
    return {p.name: p.read_text() for p in sorted(run.glob("jail_*.id"))}


def test_name_mangling() -> None:
    assert jail_name("a.b/c") == "a_b_c"
    assert jail_var("a_b-c") == "a_b_c"
    assert jail_var("d\u00e9") == "d__"  # tr works on bytes in rc's C locale


def test_case_44_a_dot_b_is_jail_a_b_in_etc_jail_a_b_conf(tmp_path: Path) -> None:
    rc, fake, out, _err = setup(tmp_path, 'jail_enable=YES jail_list="a.b"', "/etc/jail.a_b.conf")
    conf = str(tmp_path / "etc/jail.a_b.conf")
    assert rc.plan_start() == [["-i", "-f", conf, "-c", "a_b"]]
    assert rc.start() == 0
    assert fake.calls == [["-i", "-f", conf, "-c", "a_b"]]
    assert running() == ["a_b"]
    assert out.getvalue() == "Starting jails: a_b.\n"
    assert ids(tmp_path) == {"jail_a_b.id": f"{jailcore.Jail.get('a_b').jid}\n"}


def test_config_file_choice_order(tmp_path: Path) -> None:
    setup(tmp_path, "jail_enable=YES\n")

    def chosen(rc_conf: str, *files: str) -> tuple[list[list[str]], list[str]]:
        for f in ("etc/jail.conf", "etc/jail.w.conf", "etc/jail.conf.d/w.conf", "etc/mine"):
            (tmp_path / f).unlink(missing_ok=True)
        for f in files:
            write(tmp_path, f, "w {}\n")
        write(tmp_path, "/etc/rc.conf", rc_conf)
        said: list[str] = []
        r = RcJail(RcConf.load(str(tmp_path)), run_jail=lambda a: (0, ""))
        opts = r.options("w", said.append)
        return [] if opts is None else [r.plan_start(["w"])[0]], said

    every = ("/etc/jail.conf", "/etc/jail.w.conf", "/etc/jail.conf.d/w.conf", "/etc/mine")
    t = str(tmp_path)
    assert chosen("jail_w_conf=/etc/mine", *every)[0] == [["-i", "-f", f"{t}/etc/mine", "-c", "w"]]
    # jail_w_conf replaces /etc/jail.w.conf: when it is unreadable, jail.conf.d comes next.
    assert chosen("jail_w_conf=/etc/mine", *every[:3])[0] == [
        ["-i", "-f", f"{t}/etc/jail.conf.d/w.conf", "-c", "w"]]
    assert chosen("", *every)[0] == [["-i", "-f", f"{t}/etc/jail.w.conf", "-c", "w"]]
    assert chosen("", every[0], every[2])[0] == [
        ["-i", "-f", f"{t}/etc/jail.conf.d/w.conf", "-c", "w"]]
    assert chosen("jail_flags=-v", every[0])[0] == [
        ["-v", "-i", "-f", f"{t}/etc/jail.conf", "-c", "w"]]
    assert chosen("jail_flags=-v jail_w_flags='-l -u'", every[0])[0] == [
        ["-l", "-u", "-i", "-f", f"{t}/etc/jail.conf", "-c", "w"]]
    # Only one of rootdir and hostname: still a jail.conf jail.
    assert chosen("jail_w_rootdir=/j", every[0])[0] == [
        ["-i", "-f", f"{t}/etc/jail.conf", "-c", "w"]]
    assert chosen("jail_w_hostname=h") == ([], [
        "Invalid configuration for w (no jail.conf, no hostname, or no path).  "
        "Jail w was ignored."])


LEGACY_RC_CONF = """\
jail_enable="YES"
jail_list="www"
jail_interface="em0"
jail_devfs_enable="YES"
jail_www_rootdir="/usr/jail/www"
jail_www_hostname="www.example.org"
jail_www_ip="10.0.0.5,lo1|10.0.0.6/24,192.168.1.1/255.255.255.0,2001:db8::5"
jail_www_ip_multi0="10.1.0.1"
jail_www_ip_multi2="10.9.9.9"
jail_www_fib="2"
jail_www_exec_prestart0="echo pre0"
jail_www_exec_prestart1="echo pre1"
jail_exec_poststart1="echo post1"
jail_www_exec_afterstart1="echo after1"
jail_www_devfs_ruleset="5"
jail_www_mount_enable="YES"
jail_sysvipc_allow="YES"
jail_www_osrelease="14.3-RELEASE"
jail_www_parameters="allow.mlock=1; children.max=2"
"""

LEGACY_TEXT = """\
# Generated by rc.d/jail at 2026-12-04 22:30:05
www {
\thost.hostname = "www.example.org";
\tpath = "/usr/jail/www";
\tinterface = "em0";
\tip4.addr += "em0|10.0.0.5/32";
\tip4.addr += "lo1|10.0.0.6/24";
\tip4.addr += "em0|192.168.1.1 netmask 255.255.255.0";
\tip6.addr += "em0|2001:db8::5/128";
\tip4.addr += "em0|10.1.0.1/32";
\texec.start += "sleep  4 ";
\texec.fib = "2";
\tallow.raw_sockets = 0;
\texec.clean;
\texec.system_user = "root";
\texec.jail_user = "root";
\texec.prestart += "echo pre0";
\texec.prestart += "echo pre1";
\texec.poststart += "echo post1";
\texec.start += "/bin/sh /etc/rc";
\texec.start += "echo after1";
\texec.stop = "/bin/sh /etc/rc.shutdown jail";
\texec.consolelog = "/var/log/jail_www_console.log";
\tmount.fstab = "/etc/fstab.www";
\tmount.devfs;
\tdevfs_ruleset = "5";
\tallow.mount;
\tallow.set_hostname = 0;
\tallow.sysvipc = 1;
\tenforce_statfs = "2";
\tosrelease = "14.3-RELEASE";
\tallow.mlock=1;
\tchildren.max=2;
}
"""


def test_legacy_variables_generate_a_jail_conf(tmp_path: Path) -> None:
    rc, fake, out, err = setup(tmp_path, LEGACY_RC_CONF, "/etc/fstab.www")
    rc._dad_count = 3
    generated = tmp_path / "var/run/jail.www.conf"
    opts = rc.options("www")
    assert opts is not None and opts.text == LEGACY_TEXT and opts.conf == str(generated)
    assert rc.plan_start() == [["-i", "-f", str(generated), "-c", "www"]]
    assert not generated.exists() and fake.calls == []  # plans and options write nothing
    assert rc.start() == 0
    assert generated.read_text() == LEGACY_TEXT
    assert generated.stat().st_mode & 0o777 == 0o644
    assert fake.calls == [["-i", "-f", str(generated), "-c", "www"]]
    assert out.getvalue() == "Starting jails: www.example.org.\n"
    assert err.getvalue() == (
        WARN + "Per-jail configuration via jail_* variables is obsolete.  "
        "Please consider migrating to /etc/jail.conf.\n")


def test_legacy_exec_vnet_and_warnings(tmp_path: Path) -> None:
    rc_conf = (
        "jail_enable=YES jail_list=v jail_confwarn=NO jail_v_rootdir=/j jail_v_hostname=v.h\n"
        'jail_v_exec="/bin/app" jail_vnet_interface="epair0b  epair1b"\n'
        "jail_v_socket_unixiproute_only=maybe jail_v_devfs_enable=YES\n"
        "jail_v_devfs_ruleset=devfsrules_other jail_v_consolelog=/log\n"
    )
    rc, fake, out, err = setup(tmp_path, rc_conf, "/etc/jail.conf")
    rc._vimage = True
    assert rc.start() == 0
    conf = tmp_path / "var/run/jail.v.conf"
    assert conf.read_text() == (
        "# Generated by rc.d/jail at 2026-12-04 22:30:05\n"
        "v {\n"
        '\thost.hostname = "v.h";\n'
        '\tpath = "/j";\n'
        "\tvnet;\n"
        '\tvnet.interface = "epair0b", "epair1b";\n'
        "\texec.clean;\n"
        '\texec.system_user = "root";\n'
        '\texec.jail_user = "root";\n'
        '\texec.start += "/bin/app";\n'
        '\texec.stop = "";\n'
        '\texec.consolelog = "/log";\n'
        "\tmount.devfs;\n"
        "\tallow.set_hostname = 0;\n"
        "\tallow.sysvipc = 0;\n"
        '\tenforce_statfs = "2";\n'
        "}\n")
    # jail.conf is readable: the notice about the file; no obsolescence notice (confwarn NO).
    assert err.getvalue() == (
        f"{WARN}{conf} is created and used for jail v.\n"
        f"{WARN}devfs_ruleset must be an integer.\n")
    assert out.getvalue() == "Starting jails: v.h.\n"
    assert fake.calls == [["-i", "-f", str(conf), "-c", "v"]]


def test_legacy_without_ip_or_vimage_is_ignored(tmp_path: Path) -> None:
    rc, fake, out, err = setup(tmp_path, "jail_enable=YES jail_list=v jail_v_rootdir=/j "
                               "jail_v_hostname=h\n")
    rc._vimage = False
    assert rc.plan_start() == []
    assert rc.start() == 0
    assert fake.calls == [] and out.getvalue() == "Starting jails:.\n"
    assert err.getvalue() == (
        WARN + "no ipaddress specified and no vimage support.  Jail v was ignored.\n")
    assert not (tmp_path / "var/run/jail.v.conf").exists()


def test_address_forms(tmp_path: Path) -> None:
    rc_conf = ("jail_enable=YES jail_list=a jail_a_rootdir=/j jail_a_hostname=h "
               "jail_a_ip='bad,,fe80::1%em0/64,,' jail_socket_unixiproute_only=NO\n")
    rc, _fake, _out, _err = setup(tmp_path, rc_conf)
    said: list[str] = []
    opts = rc.options("a", said.append)
    assert opts is not None and opts.text is not None
    lines = [x for x in opts.text.splitlines() if "addr" in x or "raw" in x or "sleep" in x]
    assert lines == ['\tip6.addr += "fe80::1%em0/64";', '\texec.start += "sleep  2 ";',
                     "\tallow.raw_sockets = 1;"]
    assert said == ["jail_extract_address: type not identified",
                    "jail_extract_address: called without input",
                    "jail_extract_address: called without input"]


def test_start_all(tmp_path: Path) -> None:
    rc, fake, out, err = setup(tmp_path, 'jail_enable=YES jail_flags="-v -l"\n',
                               all_names=("a", "b"))
    assert rc.plan_start() == [["-v", "-l", "-f", f"{tmp_path}/etc/jail.conf", "-c", "-p1"]]
    assert rc.start() == 0
    assert fake.calls == rc.plan_start()
    assert out.getvalue() == "Starting jails: a b.\n" and err.getvalue() == ""
    a, b = (jailcore.Jail.get(n).jid for n in "ab")
    assert ids(tmp_path) == {"jail_a.id": f"{a}\n", "jail_b.id": f"{b}\n"}


def test_start_all_parallel_and_failing(tmp_path: Path) -> None:
    rc, fake, out, _err = setup(tmp_path, "jail_enable=YES jail_parallel_start=YES\n",
                                all_names=("a", "b"), fail=("b",))
    assert rc.start() == 0
    assert fake.calls == [["-f", f"{tmp_path}/etc/jail.conf", "-c"]]
    assert out.getvalue() == "Starting jails:a: created\njail: b: /bin/sh /etc/rc: failed\n.\n"
    assert ids(tmp_path) == {}


def test_start_list_with_a_failure(tmp_path: Path) -> None:
    rc, fake, out, err = setup(tmp_path, "jail_enable=YES jail_list='a nope b'\n",
                               "/etc/jail.conf", fail=("a",))
    conf = f"{tmp_path}/etc/jail.conf"
    assert rc.start() == 0
    assert fake.calls == [["-i", "-f", conf, "-c", "a"], ["-i", "-f", conf, "-c", "nope"],
                          ["-i", "-f", conf, "-c", "b"]]
    assert out.getvalue() == (
        'Starting jails: cannot start jail  "a": \n'
        "jail: a: /bin/sh /etc/rc: failed\n"
        " nope b.\n")
    assert err.getvalue() == ""
    assert running() == ["nope", "b"]
    assert set(ids(tmp_path)) == {"jail_nope.id", "jail_b.id"}


def test_start_list_parallel_runs_together_and_reports_in_order(tmp_path: Path) -> None:
    rc, fake, out, _err = setup(tmp_path, "jail_enable=YES jail_parallel_start=YES\n",
                                "/etc/jail.conf")

    def hook(name: str) -> None:
        # jail(8) for "a" waits until "b" exists: only concurrent starts get past this.
        if name == "a":
            assert fake.created["b"].wait(10)

    fake.hook = hook
    assert rc.start(["a", "b"]) == 0
    assert sorted(map(tuple, fake.calls)) == [
        ("-i", "-f", f"{tmp_path}/etc/jail.conf", "-c", "a"),
        ("-i", "-f", f"{tmp_path}/etc/jail.conf", "-c", "b")]
    assert running() == ["b", "a"]  # b was created first
    assert out.getvalue() == "Starting jails: a b.\n"
    assert ids(tmp_path) == {"jail_a.id": f"{jailcore.Jail.get('a').jid}\n",
                             "jail_b.id": f"{jailcore.Jail.get('b').jid}\n"}


def test_stop_all_reversed_and_a_jail_that_stays(tmp_path: Path) -> None:
    rc, fake, out, _err = setup(tmp_path, "jail_enable=YES jail_reverse_stop=YES jail_flags=-v\n",
                                all_names=("a", "b", "c"), keep=("b",))
    rc.start()
    out.truncate(0)
    out.seek(0)
    fake.calls.clear()
    conf = f"{tmp_path}/etc/jail.conf"
    assert rc.plan_stop() == [["-v", "-f", conf, "-r", n] for n in "cba"]
    assert rc.stop() == 0
    assert fake.calls == [["-v", "-f", conf, "-r", n] for n in "cba"]
    assert out.getvalue() == "Stopping jails: c bjail: b: exec.prestop: failed\n a.\n"
    assert running() == ["b"]
    assert list(ids(tmp_path)) == ["jail_b.id"]
    # Not reversed when jails are named, even _ALL.
    assert rc.plan_stop(["_ALL"]) == [["-v", "-f", conf, "-r", "b"]]


def test_stop_list(tmp_path: Path) -> None:
    rc, fake, out, _err = setup(tmp_path, "jail_enable=YES jail_list='a b.c d' "
                                "jail_reverse_stop=YES\n", "/etc/jail.conf")
    rc.start()
    jailcore.Jail.get("d").remove()  # no longer running: skipped, its .id file stays
    out.truncate(0)
    out.seek(0)
    fake.calls.clear()
    conf = f"{tmp_path}/etc/jail.conf"
    assert rc.plan_stop() == [["-q", "-f", conf, "-r", "b_c"], ["-q", "-f", conf, "-r", "a"]]
    assert rc.plan_stop(["a", "b.c", "d"]) == [["-q", "-f", conf, "-r", "a"],
                                               ["-q", "-f", conf, "-r", "b_c"]]
    assert rc.stop(["a", "b.c", "d"]) == 0
    assert fake.calls == [["-q", "-f", conf, "-r", "a"], ["-q", "-f", conf, "-r", "b_c"]]
    assert out.getvalue() == "Stopping jails: a b_c.\n"
    assert running() == [] and list(ids(tmp_path)) == ["jail_d.id"]
    assert rc.stop() == 0  # jail_list, reversed: nothing running
    assert out.getvalue() == "Stopping jails: a b_c.\nStopping jails:.\n"


def test_restart_and_rcvar(tmp_path: Path) -> None:
    rc, fake, out, _err = setup(tmp_path, "jail_list=a\n", "/etc/jail.conf")
    conf = f"{tmp_path}/etc/jail.conf"
    assert rc.start() == 0 and rc.stop() == 0 and rc.restart() == 0
    assert out.getvalue() == "".join(
        f"Cannot '{c}' jail. Set jail_enable to YES in /etc/rc.conf "
        f"or use 'one{c}' instead of '{c}'.\n" for c in ("start", "stop", "restart"))
    assert fake.calls == []
    out.truncate(0)
    out.seek(0)
    assert rc.start(one=True) == 0
    first = jailcore.Jail.get("a").jid
    assert rc.restart(one=True) == 0
    assert fake.calls == [["-i", "-f", conf, "-c", "a"], ["-q", "-f", conf, "-r", "a"],
                          ["-i", "-f", conf, "-c", "a"]]
    assert out.getvalue() == "Starting jails: a.\nStopping jails: a.\nStarting jails: a.\n"
    assert ids(tmp_path) == {"jail_a.id": f"{jailcore.Jail.get('a').jid}\n"}
    assert jailcore.Jail.get("a").jid != first
    assert rc.service("quietstart") == 0  # quiet: no "Cannot" line
    assert rc.service("faststart") == 0
    assert out.getvalue().endswith("Starting jails: a.\n")


def test_quiet_start_and_unknown_directive(tmp_path: Path) -> None:
    rc, _fake, out, err = setup(tmp_path, "jail_enable=YES rc_startmsgs=NO\n", "/etc/jail.conf")
    assert rc.service("quietstart", ["a"]) == 0
    assert out.getvalue() == "" and running() == ["a"]
    assert rc.service("frobnicate") == 1
    assert err.getvalue() == (
        "/etc/rc.d/jail: unknown directive 'frobnicate'.\n"
        "Usage: /etc/rc.d/jail [fast|force|one|quiet](start|stop|restart|rcvar|enable|disable|"
        "delete|enabled|describe|extracommands|config|console|status|status|poll)\n")


def test_status_is_jls_dash_n(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _fake, out, _err = setup(tmp_path, "jail_list=a\n")  # status needs no jail_enable
    jailcore.Jail.create(name="a", persist=True, host__hostname="a.example", path="/")
    assert cli.main(["ls", "-N"]) == 0
    expected = capsys.readouterr().out
    assert rc.status() == 0
    assert out.getvalue() == expected
    assert expected.splitlines()[1].startswith(" a ")


def test_config_writes_the_generated_file(tmp_path: Path) -> None:
    rc, _fake, out, _err = setup(tmp_path, "jail_enable=YES jail_list='x y' jail_y_rootdir=/j "
                                 "jail_y_hostname=h jail_y_ip=10.0.0.1\n", "/etc/jail.x.conf")
    assert rc.config() == 0
    assert out.getvalue() == (f"x: parameters are in {tmp_path}/etc/jail.x.conf.\n"
                              f"y: parameters are in {tmp_path}/var/run/jail.y.conf.\n")
    assert (tmp_path / "var/run/jail.y.conf").read_text().startswith(
        "# Generated by rc.d/jail at 2026-12-04 22:30:05\ny {\n")
    assert rc.config(["_ALL"]) == 0 and out.getvalue().count("\n") == 2


def test_id_file_that_cannot_be_written(tmp_path: Path) -> None:
    rc, _fake, out, err = setup(tmp_path, "jail_enable=YES\n", "/etc/jail.conf")
    rc.run_dir = os.path.join(tmp_path, "missing")
    assert rc.start(["a"]) == 0
    assert out.getvalue() == "Starting jails: a.\n"
    assert err.getvalue() == (f"/etc/rc.d/jail: cannot create {tmp_path}/missing/jail_a.id: "
                              "No such file or directory\n")


def test_rc_subr_commands(tmp_path: Path) -> None:
    rc, _fake, out, err = setup(tmp_path, "jail_enable=maybe\n")
    assert rc.service("enabled") == 1
    assert err.getvalue() == WARN + "$jail_enable is not set properly - see rc.conf(5).\n"
    assert rc.service("oneenabled") == 0
    assert rc.service("describe") == rc.service("extracommands") == rc.service("rcvar") == 0
    assert rc.service("poll") == 0
    assert out.getvalue() == ("Manage system jails\nconfig console status\n"
                              '# jail : Manage system jails\n#\njail_enable="maybe"\n'
                              '#   (default: "")\n\n')
    with pytest.raises(NotImplementedError):
        rc.service("console", ["a"])
