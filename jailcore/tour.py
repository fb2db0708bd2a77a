"""``jailcore tour``: the classic jail lifecycle, as an administrator walks it with jail(8).

Each step prints what it does and the call it makes.  Off FreeBSD it runs on
jailcore's kernel model (and says so); on FreeBSD it refuses to touch the real
kernel unless asked with ``--real``, and removes what it made.
"""

from __future__ import annotations

import sys
import tempfile

from jailcore import _backend
from jailcore.errors import JailError
from jailcore.jail import Jail, jails


def _step(n: int, what: str, call: str) -> None:
    print(f"\n{n}. {what}\n   >>> {call}")


def tour(real: bool = False) -> int:
    if _backend.NAME == "kernel" and not real:
        print("jailcore tour: this is FreeBSD's real kernel; run with --real to use it "
              "(the tour creates and removes a jail named tour-web)", file=sys.stderr)
        return 2
    if _backend.NAME == "model":
        from jailcore import model

        mine = model.state_path()
        model.use_state_file(None)  # a host of the tour's own: the user's jails stay as they are
        print("jailcore tour, on jailcore's kernel model (no FreeBSD here: nothing real is "
              "touched), on a private host" + (f": your jails in {mine} are left alone"
                                              if mine else ""))
    else:
        print("jailcore tour, on the real FreeBSD kernel")
    name = "tour-web"
    with tempfile.TemporaryDirectory(prefix="jailcore-tour-") as root:
        web = None
        try:
            _step(1, "create a jail with a path, a hostname and an IP address",
                  f"Jail.create(name={name!r}, path={root!r}, host__hostname='web.example', "
                  "ip4__addr=['192.0.2.10'])")
            web = Jail.create(name=name, path=root, host__hostname="web.example",
                              ip4__addr=["192.0.2.10"])
            print(f"   {web!r}")

            _step(2, "list the jails, as jls does", "jailcore.jails(('name', 'ip4.addr', "
                  "'host.hostname', 'path'))")
            print("      JID  IP Address      Hostname                      Path")
            for j in jails(("name", "ip4.addr", "host.hostname", "path")):
                v = j.get("ip4.addr", "host.hostname", "path")
                ip = str(v["ip4.addr"][0]) if v["ip4.addr"] else ""
                print(f"   {j.jid:6d}  {ip:<15.15} {v['host.hostname']:<29.29} {v['path']}")

            _step(3, "run a command inside (fork, attach, exec: no jexec)",
                  "web.run(['/bin/echo', 'hello from inside'], capture_output=True)")
            try:
                done = web.run(["/bin/echo", "hello from inside"], capture_output=True)
                print(f"   exit {done.returncode}, stdout {done.stdout!r}")
            except OSError as exc:
                # The jail's root is an empty directory: no /bin/echo in it.
                print(f"   {type(exc).__name__}: {exc} (the jail's root {root} is empty)")
            here = Jail.create(name="tour-host-root", persist=True)
            try:
                print("   >>> a jail rooted at / can run the host's programs: "
                      "Jail.create(name='tour-host-root').run(['/bin/echo', 'hi'])")
                done = here.run(["/bin/echo", "hi"], capture_output=True)
                print(f"   exit {done.returncode}, stdout {done.stdout!r}")
            except OSError as exc:
                print(f"   {type(exc).__name__}: {exc}")
            finally:
                here.remove()

            _step(4, "look at its parameters", "web.get('host.hostname', 'persist', "
                  "'enforce_statfs', 'allow.raw_sockets')")
            shown = web.get("host.hostname", "persist", "enforce_statfs", "allow.raw_sockets")
            print(f"   {shown}")

            _step(5, "change one", "web.update(host__hostname='www.example')")
            web.update(host__hostname="www.example")
            print(f"   host.hostname = {web.get('host.hostname')['host.hostname']!r}")

            _step(6, "create a child jail", f"Jail.create(name='{name}.db')")
            child = Jail.create(name=f"{name}.db")
            print(f"   {child!r}; web.children() = {web.children()!r}")

            _step(7, "remove the parent: the child goes with it", "web.remove()")
            web.remove()
            web = None
            try:
                Jail.get(child.jid)
                print("   the child is still there (unexpected)")
                return 1
            except JailError as exc:
                print(f"   Jail.get({child.jid}) -> {type(exc).__name__}: {exc}")
            print(f"\ndone: {len(list(jails()))} jails left behind")
            return 0
        finally:
            if web is not None:
                try:
                    web.remove()
                except JailError:
                    pass
