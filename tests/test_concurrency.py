"""Threads and processes: mixed operations against one model host at once.

Eight threads of this process and four forked processes (each with its own
thread) pick at random among: create a top-level jail from a small pool of
names, create a child under a jail found by name (through a descriptor, so the
parent is exactly the jail looked up), get a jail by name, update one by jid,
remove one by jid, and list every jail.  They run for a few seconds by default,
30 with ``JAILCORE_LONG=1`` (tox environment ``long``).

Only the failures the specification (``freebsd-jail-kernel.md`` 4.2-4.3, 4.10,
5.1, 6.2) gives for a race with another worker may occur, each with its errno:

* create: ``JailExistsError`` (EEXIST) -- another worker took the name;
* child create: ``JailNotFoundError`` (ENOENT) -- the parent was removed before
  the descriptor was opened or before the child was made ("descriptor to dead
  jail"), ``JailExistsError`` (EEXIST) -- the child's name is taken;
* get by name, update by jid: ``JailNotFoundError`` (ENOENT);
* remove by jid: ``JailError`` EINVAL -- the jail is already gone;
* list: nothing.

Every worker logs what succeeded (the jid, full name and parent of each jail it
made, the jids it removed); afterwards the union of the logs must explain the
final jail list exactly: a jail is there if and only if it was created and
neither it nor an ancestor was removed.
"""

from __future__ import annotations

import errno
import json
import os
import random
import select
import threading
import time
from typing import Any

import jailcore
from jailcore import Jail, JailDescriptor, JailError

LONG = os.environ.get("JAILCORE_LONG", "") not in ("", "0")
DURATION = 30.0 if LONG else 3.0
THREADS = 8
PROCESSES = 4
TOP = [f"w{i}" for i in range(6)]
CHILD = ["c", "d"]

#: (operation, exception type, errno) of every failure a race may produce.
EXPECTED = {
    ("create", "JailExistsError", errno.EEXIST),
    ("child", "JailNotFoundError", errno.ENOENT),
    ("child", "JailExistsError", errno.EEXIST),
    ("get", "JailNotFoundError", errno.ENOENT),
    ("update", "JailNotFoundError", errno.ENOENT),
    ("remove", "JailError", errno.EINVAL),
}


def worker(seed: int, deadline: float) -> dict[str, Any]:
    """Random operations until ``deadline``; the log of what happened."""
    rnd = random.Random(seed)
    created: list[tuple[int, str, int]] = []  # (jid, full name, parent jid)
    removed: list[int] = []
    known: list[int] = []
    failures: dict[str, int] = {}
    unexpected: list[str] = []
    ops = 0

    def failed(op: str, exc: BaseException) -> None:
        key = (op, type(exc).__name__, getattr(exc, "errno", None))
        if key in EXPECTED:
            failures[f"{op}:{key[1]}"] = failures.get(f"{op}:{key[1]}", 0) + 1
        else:
            unexpected.append(f"{op}: {type(exc).__name__}: {exc}")

    while time.monotonic() < deadline:
        ops += 1
        op = rnd.choice(["create", "create", "child", "get", "update", "remove", "list"])
        try:
            if op == "create":
                name = rnd.choice(TOP)
                jail = Jail.create(name=name, children__max=2, host__hostname=name)
                created.append((jail.jid, name, 0))
                known.append(jail.jid)
            elif op == "child":
                parent = rnd.choice(TOP)
                try:
                    desc = JailDescriptor.open(parent)
                except JailError as exc:
                    failed(op, exc)
                    continue
                with desc:
                    comp = rnd.choice(CHILD)
                    child = desc.create_child(name=comp)
                    created.append((child.jid, f"{parent}.{comp}", desc.jid))
                    known.append(child.jid)
            elif op == "get":
                name = rnd.choice(TOP + [f"{p}.{c}" for p in TOP for c in CHILD])
                found = Jail.get(name)
                assert found.name == name
            elif op == "update":
                if not known:
                    continue
                Jail(rnd.choice(known)).update(host__hostname=f"u{rnd.randrange(100)}")
            elif op == "remove":
                if not known:
                    continue
                jid = rnd.choice(known)
                known.remove(jid)
                Jail(jid).remove()
                removed.append(jid)
            else:
                listed = list(jailcore.jails(("name", "parent")))
                jids = [j.jid for j in listed]
                assert jids == sorted(set(jids))
        except JailError as exc:
            failed(op, exc)
        except BaseException as exc:  # anything else is a finding
            unexpected.append(f"{op}: {type(exc).__name__}: {exc}")
    return {
        "created": created, "removed": removed, "failures": failures,
        "unexpected": unexpected, "ops": ops,
    }


def in_process(seed: int, deadline: float) -> tuple[int, int]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(r)
            data = json.dumps(worker(seed, deadline)).encode()
            while data:
                data = data[os.write(w, data):]
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def collect(pid: int, r: int, timeout: float) -> dict[str, Any]:
    buf = b""
    end = time.monotonic() + timeout
    while True:
        ready, _, _ = select.select([r], [], [], max(0.0, end - time.monotonic()))
        assert ready, "a worker process did not finish in time"
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        buf += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    out: dict[str, Any] = json.loads(buf)
    return out


def test_threads_and_processes_leave_a_consistent_host() -> None:
    deadline = time.monotonic() + DURATION
    # Fork before any thread starts: a fork copies only the calling thread.
    procs = [in_process(1000 + i, deadline) for i in range(PROCESSES)]
    logs: list[dict[str, Any]] = []
    lock = threading.Lock()

    def run(seed: int) -> None:
        log = worker(seed, deadline)
        with lock:
            logs.append(log)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DURATION + 60)
        assert not t.is_alive(), "a worker thread did not finish"
    logs.extend(collect(pid, r, DURATION + 60) for pid, r in procs)
    assert len(logs) == THREADS + PROCESSES

    unexpected = [u for log in logs for u in log["unexpected"]]
    assert unexpected == [], unexpected[:20]

    created: dict[int, tuple[str, int]] = {}
    for log in logs:
        for jid, name, parent in log["created"]:
            assert jid not in created, f"jid {jid} created twice"
            created[jid] = (name, parent)
    removed = {jid for log in logs for jid in log["removed"]}
    assert removed <= set(created)

    def survives(jid: int) -> bool:
        while jid != 0:
            if jid in removed:
                return False
            jid = created[jid][1]
        return True

    want = sorted((jid, name, parent) for jid, (name, parent) in created.items() if survives(jid))
    final = [(j.jid, j.name, j.parent) for j in jailcore.jails(("name", "parent"), dying=True)]
    assert final == want
    # Alive, and at most one alive jail per name.
    assert final == [(j.jid, j.name, j.parent) for j in jailcore.jails(("name", "parent"))]
    assert len({name for _, name, _ in final}) == len(final)
    # The workers really raced: every kind of operation succeeded and some collided.
    assert sum(log["ops"] for log in logs) > 1000
    assert len(created) > 50 and removed
    assert any(log["failures"] for log in logs)
