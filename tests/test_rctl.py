"""rctl(8)'s rules as objects (jailcore.rctl): parsing as usr.bin/rctl/rctl.c
expands its arguments, and the kernel's canonical form (issue 16, begun)."""

from __future__ import annotations

import pytest

from jailcore.rctl import ACTIONS, RESOURCES, SUBJECTS, Rule, RuleError, expand_number


@pytest.mark.parametrize(("text", "canonical"), [
    ("j:web:memoryuse:deny=1g", "jail:web:memoryuse:deny=1073741824"),   # case 41's rule
    ("J:web:nthr:deny=0x10", "jail:web:nthr:deny=16"),
    ("jail:web:maxproc:deny=10/jail", "jail:web:maxproc:deny=10"),       # /per as the subject
    ("user:0:maxproc:log=100/jail", "user:0:maxproc:log=100/jail"),
    ("u:root:openfiles:sigxfsz=1k", "user:0:openfiles:sigxfsz=1024"),
    ("p:123:cputime:sigkill=60", "process:123:cputime:sigkill=60"),
    ("c:daemon:pcpu:deny=50", "loginclass:daemon:pcpu:deny=50"),
    ("CLASS:daemon:pcpu:throttle=50/user", "loginclass:daemon:pcpu:throttle=50/user"),
    ("l:x:wallclock:devctl=010", "loginclass:x:wallclock:devctl=8"),
])
def test_parse_and_canonical_form(text: str, canonical: str) -> None:
    rule = Rule.parse(text)
    assert str(rule) == canonical
    assert Rule.parse(canonical) == rule


def test_fields() -> None:
    rule = Rule.parse("j:web:memoryuse:deny=1g/user")
    assert (rule.subject, rule.id, rule.resource, rule.action, rule.amount, rule.per) == (
        "jail", "web", "memoryuse", "deny", 1073741824, "user")


def test_ids_are_not_resolved_with_n() -> None:
    assert str(Rule.parse("u:root:maxproc:deny=1", resolve_ids=False)) == "user:root:maxproc:deny=1"


@pytest.mark.parametrize(("text", "message"), [
    ("web", "malformed rule 'web': missing subject"),
    ("u:nosuchuser-jc:maxproc:deny=1",
     "malformed rule 'u:nosuchuser-jc:maxproc:deny=1': unknown user 'nosuchuser-jc'"),
    ("g:nosuchgroup-jc:maxproc:deny=1",
     "malformed rule 'g:nosuchgroup-jc:maxproc:deny=1': unknown group 'nosuchgroup-jc'"),
    ("u:12x:maxproc:deny=1", "malformed rule 'u:12x:maxproc:deny=1': trailing characters "
                             "after numerical id"),
    ("j:w:memoryuse:deny=1x", "malformed rule 'j:w:memoryuse:deny=1x': invalid numeric "
                              "value '1x'"),
    ("j:w:memoryuse:deny=-1", "malformed rule 'j:w:memoryuse:deny=-1': invalid numeric "
                              "value '-1'"),
    ("j:w:memoryuse:deny=16e", "malformed rule 'j:w:memoryuse:deny=16e': invalid numeric "
                               "value '16e'"),
    ("j:w:nosuch:deny=1", "malformed rule 'j:w:nosuch:deny=1': unknown resource 'nosuch'"),
    ("j:w:maxproc:sigfoo=1", "malformed rule 'j:w:maxproc:sigfoo=1': unknown action 'sigfoo'"),
    ("host:w:maxproc:deny=1", "malformed rule 'host:w:maxproc:deny=1': unknown subject 'host'"),
    ("jail:web", "malformed rule 'jail:web': no resource"),
    ("jail:web:maxproc:deny", "malformed rule 'jail:web:maxproc:deny': no amount"),
])
def test_refused(text: str, message: str) -> None:
    with pytest.raises(RuleError) as exc:
        Rule.parse(text)
    assert str(exc.value) == message
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize(("text", "shown"), [
    ("jail:web", "jail:web"), ("jail:web:", "jail:web"), ("::", ":"),
    ("j::memoryuse", "jail::memoryuse"), ("u:root", "user:0"),
    ("jail:web:memoryuse:deny", "jail:web:memoryuse:deny"),
])
def test_filters(text: str, shown: str) -> None:
    assert str(Rule.filter(text)) == shown


def test_expand_number() -> None:
    assert [expand_number(t) for t in ("0", "1k", "1K", "2m", "1g", "1t", "1p", "1e", "010",
                                       "0x1f", "15e")] == [
        0, 1024, 1024, 2 << 20, 1 << 30, 1 << 40, 1 << 50, 1 << 60, 8, 31, 15 << 60]
    for bad in ("", "k", "1kb", "-1", "16e", "1.5k", "0x", "1 k"):
        with pytest.raises(ValueError):
            expand_number(bad)


def test_names() -> None:
    assert SUBJECTS == ("process", "user", "loginclass", "jail")
    assert len(RESOURCES) == 25 and RESOURCES[0] == "cputime" and RESOURCES[-1] == "writeiops"
    assert ACTIONS[-4:] == ("deny", "log", "devctl", "throttle") and "sigthr" in ACTIONS
