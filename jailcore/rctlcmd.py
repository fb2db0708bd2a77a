"""``jailcore rctl``: rctl(8) on jailcore's system calls.

The command line, the messages and the exit status are usr.bin/rctl/rctl.c's:
getopt ``ahlnru``; no argument lists every rule (filter ``::``); each argument
is expanded as rctl(8) expands it (abbreviations, user and group names,
expand_number(3) suffixes), then added (``-a``), shown as limits (``-l``),
removed (``-r``), shown as usage (``-u``) or used as a filter; the exit
status counts the arguments that failed.  When the kernel answers ENOSYS the
command stops with rctl(8)'s explanation.  Rules are printed with user ids as
names unless ``-n``, amounts humanized with ``-h``.  ``--json`` (jailcore's
own) prints what would be listed as JSON instead: for rules and limits a list
of objects, for usage an object per filter.
"""

from __future__ import annotations

import errno
import getopt
import grp
import json
import pwd
import sys
from collections.abc import Sequence
from typing import IO, Any

from jailcore import rctl
from jailcore.jailcmd import _getopt_message

USAGE = "usage: rctl [ -h ] [-a rule | -l filter | -r filter | -u filter | filter]\n"


class _Stop(Exception):
    """errx(3): the message printed, the command ends with status 1."""


def main(argv: Sequence[str], out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """Run ``rctl ARGV...``; the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        return _main(list(argv), out, err)
    except _Stop as exc:
        print(f"rctl: {exc}", file=err, flush=True)
        return 1


def _main(argv: list[str], out: IO[str], err: IO[str]) -> int:
    try:
        opts, args = getopt.getopt(argv, "ahlnru", ["json"])
    except getopt.GetoptError as exc:
        print(f"rctl: {_getopt_message(exc)}", file=err)
        err.write(USAGE)
        return 1
    flags = {o for o, _ in opts}
    modes = [m for m in ("-a", "-l", "-r", "-u") if m in flags]
    if len(modes) > 1:
        raise _Stop("at most one of -a, -l, -r, or -u may be specified")
    mode = modes[0] if modes else ""
    cmd = _Command(out, err, hflag="-h" in flags, nflag="-n" in flags, as_json="--json" in flags)
    if not args:
        if mode:
            err.write(USAGE)
            return 1
        cmd.show_rules("::", "::")
        cmd.flush()
        return 0
    failed = 0
    for unexpanded in args:
        try:
            # -n resolves no name only with -a ("rctl -n u:root" still finds root).
            rule = rctl.expand(unexpanded, resolve_ids=not (mode == "-a" and cmd.nflag))
        except rctl.RuleError as exc:
            print(f"rctl: {exc}", file=err)
            failed += 1
            continue
        action = {"-a": cmd.add_rule, "-l": cmd.show_limits, "-r": cmd.remove_rule,
                  "-u": cmd.show_usage}.get(mode, cmd.show_rules)
        failed += not action(rule, unexpanded)
    cmd.flush()
    return failed


class _Command:
    def __init__(self, out: IO[str], err: IO[str], *, hflag: bool, nflag: bool,
                 as_json: bool) -> None:
        self.out, self.err = out, err
        self.hflag, self.nflag, self.as_json = hflag, nflag, as_json
        self.rules: list[dict[str, Any]] = []
        self.usage: dict[str, dict[str, int]] = {}
        self.listed = False

    def _call(self, op: int, rule: str, unexpanded: str, what: str) -> str | None:
        try:
            return rctl._call(op, rule)
        except rctl.RctlError as exc:
            if exc.errno == errno.ENOSYS:
                why = rctl.status()
                if why is not None:
                    raise _Stop(why) from None
            print(f"rctl: failed to {what} '{unexpanded}': {exc.strerror}", file=self.err)
            return None

    def add_rule(self, rule: str, unexpanded: str) -> bool:
        return self._call(rctl._ADD_RULE, rule, unexpanded, "add rule") is not None

    def remove_rule(self, rule: str, unexpanded: str) -> bool:
        return self._call(rctl._REMOVE_RULE, rule, unexpanded, "remove rule") is not None

    def show_rules(self, rule: str, unexpanded: str) -> bool:
        return self._print_rules(self._call(rctl._GET_RULES, rule, unexpanded, "show rules for"))

    def show_limits(self, rule: str, unexpanded: str) -> bool:
        return self._print_rules(self._call(rctl._GET_LIMITS, rule, unexpanded,
                                            "get limits for"))

    def show_usage(self, rule: str, unexpanded: str) -> bool:
        text = self._call(rctl._GET_RACCT, rule, unexpanded, "show resource consumption for")
        if text is None:
            return False
        items = [t for t in text.split(",") if t]
        if self.as_json:
            self.listed = True
            self.usage[unexpanded] = {k: int(v) for k, _, v in (i.partition("=") for i in items)}
            return True
        for item in items:
            name, _, amount = item.partition("=")
            if self.hflag and amount.isdigit():
                item = f"{name}={rctl.humanize_number(int(amount))}"
            print(item, file=self.out)
        return True

    def _print_rules(self, text: str | None) -> bool:
        if text is None:
            return False
        self.listed = True
        for item in text.split(","):
            if not item:
                break
            if self.as_json:
                r = rctl.Rule._from_kernel(item)
                self.rules.append({"rule": item, "subject": r.subject, "id": r.id,
                                   "resource": r.resource, "action": r.action,
                                   "amount": r.amount, "per": r.per or r.subject})
                continue
            if not self.nflag:
                item = _humanize_ids(item)
            if self.hflag:
                item = _humanize_amount(item)
            print(item, file=self.out)
        return True

    def flush(self) -> None:
        if self.as_json and self.listed:
            doc: Any = self.usage if self.usage else self.rules
            print(json.dumps(doc), file=self.out)


def _humanize_ids(rule: str) -> str:
    """rctl(8)'s humanize_ids: a user's or group's number as its name."""
    subject, _, rest = rule.partition(":")
    textid, sep, tail = rest.partition(":")
    if subject.lower() in ("user", "group") and textid.isdigit():
        try:
            textid = (pwd.getpwuid(int(textid)).pw_name if subject.lower() == "user"
                      else grp.getgrgid(int(textid)).gr_name)
        except KeyError:
            pass
    return f"{subject}:{textid}{sep}{tail}"


def _humanize_amount(rule: str) -> str:
    """rctl(8)'s humanize_amount: the amount through humanize_number(3)."""
    head, eq, tail = rule.partition("=")
    amount, slash, per = tail.partition("/")
    if not eq or not amount.isdigit():
        return rule
    return f"{head}={rctl.humanize_number(int(amount))}{slash}{per}"
