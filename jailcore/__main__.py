"""``python -m jailcore``: the jailcore command (see :mod:`jailcore.cli`)."""

import sys

from jailcore.cli import main

sys.exit(main())
