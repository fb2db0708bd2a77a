"""``python -m benchmarks``: run the suite (``--help`` for the options).

Also runnable as a script (``python path/to/benchmarks/__main__.py``), as
``tox -e bench`` does: then the source tree is appended to ``sys.path``, after
site-packages, so that the benchmarks package is found while ``jailcore`` is
the installed one rather than the tree's unbuilt sources.
"""

from __future__ import annotations

import os
import sys

if not __package__:
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        del sys.path[0]
    sys.path.append(os.path.dirname(here))

from benchmarks import main

if __name__ == "__main__":
    sys.exit(main())
