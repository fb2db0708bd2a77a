"""Keep the jails of a jail.conf running: an asyncio supervisor on jail events.

    python examples/supervisor.py /etc/jail.conf [name ...]

It starts each jail of the file (or those named) as ``jail -c`` would, then
waits for jail events (``jailcore.aio.watch``: kqueue's EVFILT_JAIL on FreeBSD
15, the kernel model elsewhere) and starts again any of them that is removed,
by anyone, until it is interrupted.  A jail it cannot start is retried after
a pause that doubles up to a minute.  It prints one line per action.

Everything here is jailcore's public API: :mod:`jailcore.conf` reads the
file, :class:`jailcore.JailConf` runs jail(8)'s steps, and the events come
from :func:`jailcore.aio.watch`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence

import jailcore
import jailcore.aio
from jailcore import conf
from jailcore.events import JailRemoved


class Supervisor:
    """The jails ``names`` of ``config``, kept running."""

    def __init__(self, config: conf.Config, names: Sequence[str],
                 log: Callable[[str], None] = print) -> None:
        self.conf = jailcore.JailConf(config, verbose=-1)  # jail -q: our own lines only
        self.names = list(names)
        self.log = log
        self.running: dict[int, str] = {}  # jid -> name
        self._delay: dict[str, float] = {}

    def start(self, name: str) -> None:
        """Start ``name`` now; on failure, again after a growing pause."""
        try:
            jail = self.conf.start(name)
        except (jailcore.LifecycleError, OSError) as exc:
            delay = min(self._delay.get(name, 0.5) * 2, 60.0)
            self._delay[name] = delay
            self.log(f"{name}: not started ({exc}); again in {delay:g} s")
            asyncio.get_running_loop().call_later(delay, self.start, name)
            return
        self._delay.pop(name, None)
        self.running[jail.jid] = name
        self.log(f"{name}: started (jid {jail.jid})")

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Start the jails, then restart each one that is removed, for ever."""
        async with await jailcore.aio.watch() as events:
            for name in self.names:
                self.start(name)
            if ready is not None:
                ready.set()
            async for event in events:
                if isinstance(event, JailRemoved) and event.jid in self.running:
                    name = self.running.pop(event.jid)
                    self.log(f"{name}: removed (jid {event.jid}); starting it again")
                    self.start(name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("conf", help="the jail.conf file")
    parser.add_argument("names", nargs="*", help="the jails to keep (default: all)")
    args = parser.parse_args(argv)
    config = conf.load(args.conf)
    names = args.names or config.names()
    try:
        asyncio.run(Supervisor(config, names, lambda line: print(line, flush=True)).run())
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
