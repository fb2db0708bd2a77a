"""rctl(2) on the kernel model (issue 16): the five calls through the model's
C ABI, with the order of checks, errnos and output of sys/kern/kern_rctl.c
(spec host §D, userland §6.3 and §8 cases 41-42), kern.racct.enable as a
boot setting, rules that outlive their jail, and maxproc denied at spawn."""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import subprocess
import sys
import time

import pytest
from forked import in_child, need_root
from modelabi import LIB
from portable import needs_ptable

import jailcore
import jailcore.model
from jailcore import Jail, rctl

CALLS = ("get_racct", "get_rules", "get_limits", "add_rule", "remove_rule")
for _name in CALLS:
    _fn = getattr(LIB, f"jailmodel_rctl_{_name}")
    _fn.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    _fn.restype = ctypes.c_int


def call(name: str, text: bytes | str | None, inlen: int | None = None,
         outlen: int = 65536) -> tuple[int, str]:
    """One rctl call as a C program makes it: (0, output) or (-1, errno name)."""
    data = text.encode() + b"\0" if isinstance(text, str) else text
    n = (len(data) if data is not None else 0) if inlen is None else inlen
    out = ctypes.create_string_buffer(max(outlen, 1))
    ret = getattr(LIB, f"jailmodel_rctl_{name}")(data, n, out if outlen else None, outlen)
    if ret == 0:
        return 0, out.value.decode()
    err = ctypes.get_errno()
    # FreeBSD's name: Linux gives EOPNOTSUPP and ENOTSUP one number.
    return ret, "EOPNOTSUPP" if err == errno.EOPNOTSUPP else errno.errorcode[err]


@pytest.fixture
def racct() -> None:
    jailcore.model.set_racct(True)


# ---- kern.racct.enable: a boot setting ---------------------------------------


@pytest.mark.parametrize("name", CALLS)
def test_disabled_by_default_every_call_enosys(name: str) -> None:
    # GENERIC: options RACCT, RCTL and RACCT_DEFAULT_TO_DISABLED.
    assert jailcore.model.racct() is False
    assert call(name, "jail:web:memoryuse:deny=1073741824") == (-1, "ENOSYS")


@pytest.mark.parametrize("name", CALLS)
def test_absent_every_call_enosys(name: str) -> None:
    jailcore.model.set_racct(None)
    assert jailcore.model.racct() is None
    assert call(name, "jail:web:memoryuse:deny=1073741824") == (-1, "ENOSYS")


def test_enosys_precedes_the_input_checks() -> None:
    assert call("add_rule", None, 0) == (-1, "ENOSYS")
    assert call("get_rules", b"x" * 5000) == (-1, "ENOSYS")


def test_sysctl_kern_racct_enable() -> None:
    from jailcore import _backend

    err, mib = _backend.sysctlnametomib("kern.racct.enable")
    assert err == 0
    assert _backend.sysctl(mib, 4) == (0, b"\0")
    # CTLFLAG_RDTUN: a loader tunable, read-only at run time.
    assert _backend.sysctl(mib, 1, b"\1")[0] == errno.EPERM
    jailcore.model.set_racct(True)
    assert _backend.sysctl(mib, 4) == (0, b"\1")
    jailcore.model.set_racct(None)
    assert _backend.sysctlnametomib("kern.racct.enable")[0] == errno.ENOENT
    assert _backend.sysctlnametomib("kern.racct.rctl.maxbufsize")[0] == errno.ENOENT


def test_status_says_what_rctl8_says() -> None:
    assert rctl.status() == ("RACCT/RCTL present, but disabled; enable using "
                             "kern.racct.enable=1 tunable")
    jailcore.model.set_racct(None)
    assert rctl.status() == "RACCT/RCTL support not present in kernel; see rctl(8) for details"
    jailcore.model.set_racct(True)
    assert rctl.status() is None


def test_enosys_error_explains() -> None:
    with pytest.raises(rctl.RctlError) as exc:
        rctl.add("jail:web:maxproc:deny=5")
    assert exc.value.errno == errno.ENOSYS
    assert str(exc.value) == (
        "rctl_add_rule jail:web:maxproc:deny=5: RACCT/RCTL present, but disabled; enable "
        "using kern.racct.enable=1 tunable [ENOSYS]")


def test_set_racct_is_a_reboot(racct: None) -> None:
    rctl.add("user:0:maxproc:log=100")
    jail = Jail.create(name="web", path="/")
    with pytest.raises(OSError) as exc:
        jailcore.model.set_racct(False)
    assert exc.value.errno == errno.EBUSY and jailcore.model.racct() is True
    jail.remove()
    jailcore.model.set_racct(True)
    assert rctl.rules() == []  # the rules went with the "reboot"
    assert LIB.jailmodel_set_racct(2) == -1 and ctypes.get_errno() == errno.EINVAL


def test_set_racct_needs_the_hosts_superuser(racct: None) -> None:
    need_root()
    jid = Jail.create(name="web", path="/").jid

    def jailed() -> tuple[int, int]:
        return LIB.jailmodel_set_racct(0), ctypes.get_errno()

    assert in_child(jailed, attach=jid) == (-1, errno.EPERM)


def test_environment_boots_a_new_host(tmp_path: os.PathLike[str]) -> None:
    state = os.path.join(tmp_path, "h")
    code = ("import jailcore.model, jailcore.rctl as r; "
            f"jailcore.model.use_state_file({state!r}); "
            "print(jailcore.model.racct(), r.status())")
    env = {**os.environ, "JAILCORE_MODEL_RACCT": "1"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(jailcore.__file__)))
    env["PYTHONPATH"] = root
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert out == "True None\n"


# ---- privilege and input ---------------------------------------------------------


@pytest.mark.usefixtures("racct")
def test_jailed_root_eperm() -> None:
    need_root()
    jid = Jail.create(name="web", path="/").jid
    assert in_child(lambda: call("get_rules", "::"), attach=jid) == (-1, "EPERM")


def test_enosys_before_privilege() -> None:
    need_root()
    assert in_child(lambda: call("get_rules", "::"), uid=65534) == (-1, "ENOSYS")


@pytest.mark.usefixtures("racct")
def test_unprivileged_eperm_after_enosys_rule() -> None:
    need_root()
    assert in_child(lambda: call("add_rule", "jail:w:maxproc:deny=1"), uid=65534) == (
        -1, "EPERM")


@pytest.mark.usefixtures("racct")
@pytest.mark.parametrize(("data", "inlen", "expected"), [
    (b"::\0", 0, "EINVAL"),                       # inbuflen 0
    (b"j" * 4096 + b"\0", 4097, "E2BIG"),         # > RCTL_MAX_INBUFSIZE
    (b"jail:web:\0", 9, "ENAMETOOLONG"),          # copyinstr finds no NUL
    (None, 3, "EFAULT"),
])
def test_inbuf(data: bytes | None, inlen: int, expected: str) -> None:
    assert call("get_rules", data, inlen) == (-1, expected)


@pytest.mark.usefixtures("racct")
def test_inbuf_of_4096_is_read() -> None:
    assert call("get_rules", b"::" + b"\0" * 4094, 4096) == (0, "")


# ---- parsing (rctl_string_to_rule) ------------------------------------------------


@pytest.mark.usefixtures("racct")
@pytest.mark.parametrize(("text", "expected"), [
    ("host:web:maxproc:deny=1", "EINVAL"),               # unknown subject
    (":web:maxproc:deny=1", "EINVAL"),                   # an id without a subject
    ("group:0:maxproc:deny=1", "EINVAL"),                # the kernel has no group rules
    ("jail:web:nosuch:deny=1", "EINVAL"),
    ("jail:web:maxproc:sigfoo=1", "EINVAL"),
    ("jail:web:maxproc:deny=1g", "EINVAL"),              # no suffixes in the kernel
    ("jail:web:maxproc:deny=5/host", "EINVAL"),
    ("jail:web:maxproc:deny=9223372036854775808", "ERANGE"),
    ("jail:web:cputime:sigkill=9223372036855", "ERANGE"),  # x 10^6 overflows
    ("user:abc:maxproc:deny=1", "EINVAL"),               # ids are numbers
    ("process:999999999:maxproc:deny=1", "ESRCH"),      # pfind
    ("loginclass:" + "c" * 33 + ":maxproc:deny=1", "ENAMETOOLONG"),   # MAXLOGNAME
    ("jail:" + "w" * 256 + ":maxproc:deny=1", "ENAMETOOLONG"),        # MAXHOSTNAMELEN
    ("jail:web:maxproc:deny", "EINVAL"),                 # not fully specified
    ("jail::maxproc:deny=1", "EINVAL"),
    ("jail:web::deny=1", "EINVAL"),
    ("jail:web:maxproc:=1", "EINVAL"),
])
def test_add_rule_refused(text: str, expected: str) -> None:
    assert call("add_rule", text) == (-1, expected)
    assert call("get_rules", "::") == (0, "")


@pytest.mark.usefixtures("racct")
def test_longest_names_accepted() -> None:
    assert call("add_rule", "loginclass:" + "c" * 32 + ":maxproc:deny=1")[0] == 0
    assert call("add_rule", "jail:" + "w" * 255 + ":maxproc:deny=1")[0] == 0


@pytest.mark.usefixtures("racct")
@pytest.mark.parametrize(("text", "expected"), [
    ("jail:web:cputime:deny=10", "EOPNOTSUPP"),       # not deniable
    ("jail:web:wallclock:deny=10", "EOPNOTSUPP"),
    ("jail:web:readbps:deny=10", "EOPNOTSUPP"),
    ("jail:web:maxproc:throttle=10", "EOPNOTSUPP"),   # not decaying
    ("jail:web:pcpu:throttle=10", "EOPNOTSUPP"),
    ("jail:web:nshm:deny=10/process", "EOPNOTSUPP"),  # sloppy per process
])
def test_add_rule_eopnotsupp(text: str, expected: str) -> None:
    assert call("add_rule", text) == (-1, expected)


@pytest.mark.usefixtures("racct")
def test_memoryuse_and_pcpu_deny_are_accepted() -> None:
    # RSS and %CPU are not deniable in racct's sense, but rctl enforces them.
    assert call("add_rule", "jail:web:memoryuse:deny=1073741824") == (0, "")
    assert call("add_rule", "jail:web:pcpu:deny=50") == (0, "")
    assert call("add_rule", "jail:web:readbps:throttle=1000") == (0, "")


# ---- output ----------------------------------------------------------------------


@pytest.mark.usefixtures("racct")
def test_case_41() -> None:
    assert call("add_rule", "jail:foo:memoryuse:deny=1073741824") == (0, "")
    assert call("get_rules", "jail:foo:") == (0, "jail:foo:memoryuse:deny=1073741824")


@pytest.mark.usefixtures("racct")
def test_canonical_output() -> None:
    for text in ("JAIL:web:CPUTIME:SIGKILL=60", "user:0:maxproc:log=100/jail",
                 "jail:web:maxproc:deny=10/jail", "loginclass:daemon:pcpu:deny=50/user"):
        assert call("add_rule", text) == (0, "")
    assert call("get_rules", "::") == (0, ",".join([
        "loginclass:daemon:pcpu:deny=50/user", "user:0:maxproc:log=100/jail",
        "jail:web:maxproc:deny=10", "jail:web:cputime:sigkill=60"]))
    # Filters: any field may be given or left empty.
    assert call("get_rules", "jail:web:cputime")[1] == "jail:web:cputime:sigkill=60"
    assert call("get_rules", ":::deny")[1] == (
        "loginclass:daemon:pcpu:deny=50/user,jail:web:maxproc:deny=10")
    assert call("get_rules", "jail::maxproc:deny=10/jail")[1] == "jail:web:maxproc:deny=10"
    assert call("get_rules", "jail:other:")[1] == ""


@pytest.mark.usefixtures("racct")
def test_process_rules_first_and_gone_with_the_process() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert call("add_rule", "jail:web:maxproc:deny=3")[0] == 0
        assert call("add_rule", f"process:{child.pid}:openfiles:deny=64")[0] == 0
        assert call("get_rules", "::")[1] == (
            f"process:{child.pid}:openfiles:deny=64,jail:web:maxproc:deny=3")
    finally:
        child.kill()
        child.wait()
    assert call("get_rules", "::")[1] == "jail:web:maxproc:deny=3"


@pytest.mark.usefixtures("racct")
def test_deny_replaces_other_duplicates_do_not() -> None:
    for text in ("jail:web:maxproc:deny=5", "jail:web:maxproc:deny=7",
                 "jail:web:maxproc:log=5", "jail:web:maxproc:log=5",
                 "jail:web:maxproc:log=6"):
        assert call("add_rule", text) == (0, "")
    assert call("get_rules", "jail:web:maxproc")[1] == (
        "jail:web:maxproc:log=6,jail:web:maxproc:log=5,jail:web:maxproc:deny=7")


@pytest.mark.usefixtures("racct")
def test_erange_then_grown() -> None:
    # Case 42: get_racct with an 8-byte buffer.
    assert call("get_racct", "jail:web", outlen=8) == (-1, "ERANGE")
    assert call("get_racct", "jail:web")[1].startswith("cputime=0,datasize=0,")
    assert call("add_rule", "jail:web:maxproc:deny=5") == (0, "")
    text = "jail:web:maxproc:deny=5"
    # The list is printed with a trailing comma into an outbuflen-byte sbuf
    # (SBUF_FIXEDLEN, one byte kept for the NUL), which is then dropped.
    assert call("get_rules", "::", outlen=len(text) + 1) == (-1, "ERANGE")
    assert call("get_rules", "::", outlen=len(text) + 2) == (0, text)
    assert call("get_rules", "jail:none:", outlen=0) == (-1, "ERANGE")
    assert call("get_rules", "jail:none:", outlen=1) == (0, "")


@pytest.mark.usefixtures("racct")
def test_maxbufsize() -> None:
    from jailcore import _backend

    big = 16 * 1024 * 1024
    assert call("get_rules", "::", outlen=big) == (0, "")
    assert call("get_rules", "::", outlen=big + 1) == (-1, "E2BIG")
    assert call("get_limits", f"process:{os.getpid()}", outlen=big + 1) == (-1, "E2BIG")
    # get_racct builds its text in an sbuf of its own: no such check.
    assert call("get_racct", "jail:web", outlen=big + 1)[0] == 0
    err, mib = _backend.sysctlnametomib("kern.racct.rctl.maxbufsize")
    assert err == 0 and _backend.sysctl(mib, 4) == (0, big.to_bytes(4, sys.byteorder))
    assert _backend.sysctl(mib, 4, (1024).to_bytes(4, sys.byteorder))[0] == 0
    assert call("get_rules", "::", outlen=1025) == (-1, "E2BIG")


@pytest.mark.usefixtures("racct")
def test_get_racct_needs_a_subject_and_id() -> None:
    assert call("get_racct", "::") == (-1, "EINVAL")
    assert call("get_racct", "jail:") == (-1, "EINVAL")
    # A process's usage leaves out the resources kept per user or jail.
    out = call("get_racct", f"process:{os.getpid()}")[1]
    names = [item.split("=")[0] for item in out.split(",")]
    assert "nshm" not in names and "swapuse" not in names and names[0] == "cputime"
    assert len(names) == 17
    assert len(call("get_racct", "user:0")[1].split(",")) == 25


@needs_ptable
@pytest.mark.usefixtures("racct")
def test_get_limits() -> None:
    assert call("get_limits", "::") == (-1, "EINVAL")
    assert call("get_limits", "user:0") == (-1, "EOPNOTSUPP")
    assert call("get_limits", "process:") == (-1, "EINVAL")
    assert call("get_limits", "process:999999999") == (-1, "ESRCH")
    uid = os.getuid()
    for text in (f"user:{uid}:maxproc:log=1000", "jail:web:maxproc:deny=3",
                 "loginclass:default:openfiles:log=100"):
        assert call("add_rule", text)[0] == 0
    # This process: its user's and its login class's rules, not jail web's.
    assert call("get_limits", f"process:{os.getpid()}")[1] == (
        f"loginclass:default:openfiles:log=100,user:{uid}:maxproc:log=1000")


@pytest.mark.usefixtures("racct")
def test_remove_rule() -> None:
    assert call("remove_rule", "::") == (-1, "ESRCH")
    for text in ("jail:a:maxproc:deny=1", "jail:b:maxproc:deny=1", "jail:b:nthr:deny=9"):
        assert call("add_rule", text)[0] == 0
    assert call("remove_rule", "jail:b:maxproc") == (0, "")
    assert call("get_rules", "::")[1] == "jail:b:nthr:deny=9,jail:a:maxproc:deny=1"
    assert call("remove_rule", "jail:c:") == (-1, "ESRCH")
    assert call("remove_rule", "::") == (0, "")
    assert call("get_rules", "::")[1] == ""


@pytest.mark.usefixtures("racct")
def test_rules_name_jails_that_do_not_exist_yet() -> None:
    rctl.add("j:later:memoryuse:deny=1g")
    jail = Jail.create(name="later", path="/")
    assert [str(r) for r in jail.limits] == ["jail:later:memoryuse:deny=1073741824"]
    jail.remove()
    assert [str(r) for r in rctl.rules("jail:later")] == ["jail:later:memoryuse:deny=1073741824"]
    again = Jail.create(name="later", path="/")
    assert [str(r) for r in again.limits] == ["jail:later:memoryuse:deny=1073741824"]


def test_reset_forgets_rules() -> None:
    jailcore.model.set_racct(True)
    rctl.add("jail:web:maxproc:deny=1")
    jailcore.model.reset()
    assert jailcore.model.racct() is False
    jailcore.model.set_racct(True)
    assert rctl.rules() == []


# ---- usage and enforcement -----------------------------------------------------------


@needs_ptable
@pytest.mark.usefixtures("racct")
def test_usage_counts_the_jails_processes() -> None:
    jail = Jail.create(name="web", path="/")
    assert jail.usage()["maxproc"] == 0
    procs = [jail.spawn(["sleep", "30"]) for _ in range(3)]
    try:
        used = jail.usage()
        assert used["maxproc"] == 3 and used["nthr"] == 3
        assert used["memoryuse"] > 0 and used["vmemoryuse"] >= used["memoryuse"]
        assert used["openfiles"] >= 3 * 3
        # A child jail's processes count in its parent's usage too.
        child = Jail.create(name="web.db", path="/")
        p = child.spawn(["sleep", "30"])
        procs.append(p)
        assert jail.usage()["maxproc"] == 4 and child.usage()["maxproc"] == 1
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert jail.usage()["maxproc"] == 0


@needs_ptable
@pytest.mark.usefixtures("racct")
def test_forks_inside_the_jail_count() -> None:
    # The children of an attached process are the jail's (fork keeps the
    # credential), though they never call the model.
    jail = Jail.create(name="web", path="/")
    proc = jail.spawn(["sh", "-c", "sleep 30 & sleep 30 & sleep 30 & wait"],
                      start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while jail.usage()["maxproc"] < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert jail.usage()["maxproc"] == 4
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@needs_ptable
@pytest.mark.usefixtures("racct")
def test_memory_of_a_child_that_allocates() -> None:
    jail = Jail.create(name="web", path="/")
    script = "import sys; b = bytearray(64 << 20); b[::4096] = b'x' * len(b[::4096]); " \
             "print('ok', flush=True); sys.stdin.read()"
    proc = jail.spawn([sys.executable, "-c", script], stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ok\n"
        used = jail.usage()
        assert used["memoryuse"] >= 64 << 20
        assert used["vmemoryuse"] >= used["memoryuse"]
        assert used["datasize"] >= 64 << 20
    finally:
        proc.kill()
        proc.wait()


@needs_ptable
@pytest.mark.usefixtures("racct")
def test_time_of_a_busy_child() -> None:
    jail = Jail.create(name="web", path="/")
    script = ("import time, sys\n"
              "t = time.process_time()\n"
              "while time.process_time() - t < 1.2: pass\n"
              "print('ok', flush=True); sys.stdin.read()\n")
    proc = jail.spawn([sys.executable, "-c", script], stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ok\n"
        used = jail.usage()
        # Whole seconds (the kernel keeps microseconds, prints seconds).
        assert used["cputime"] >= 1 and used["wallclock"] >= 1
        # CPU time over age: busy for most of its life.
        assert 50 <= used["pcpu"] <= 100
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.usefixtures("racct")
def test_maxproc_deny_refuses_the_sixth_process() -> None:
    jail = Jail.create(name="web", path="/", limits=["maxproc:deny=5"])
    procs = []
    try:
        for _ in range(5):
            procs.append(jail.spawn(["sleep", "30"]))
        assert jail.usage()["maxproc"] == 5
        with pytest.raises(OSError) as exc:
            jail.spawn(["sleep", "30"])
        assert exc.value.errno == errno.EAGAIN  # fork(2) when racct_proc_fork refuses
        assert jail.usage()["maxproc"] == 5
        gone = procs.pop()
        gone.kill()
        assert jail.usage()["maxproc"] == 5 or gone.poll() is not None  # a zombie counts
        gone.wait()
        assert jail.usage()["maxproc"] == 4
        procs.append(jail.spawn(["sleep", "30"]))  # room again
    finally:
        for p in procs:
            p.kill()
            p.wait()


@pytest.mark.usefixtures("racct")
def test_jail_attach_is_not_refused() -> None:
    # racct_proc_ucred_changed moves a process's counts without a check.
    need_root()
    jail = Jail.create(name="web", path="/", limits=["maxproc:deny=0"])
    assert in_child(lambda: jailcore.model.current_jid(), attach=jail.jid) == jail.jid
