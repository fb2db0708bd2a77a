#!/bin/sh
# Run the test suite on Linux with /bin/true and /proc hidden, to show that it does
# not depend on them (FreeBSD has `true` only as /usr/bin/true and no Linux /proc;
# issue 13).  Inside a private mount namespace (unshare -m), an empty tmpfs is
# mounted on /proc and /dev/null over every `true` program on the usual paths,
# so `true` is found neither at /bin/true nor on PATH: the tests that need a
# program that succeeds at once fall back to `sh -c :` (tests/portable.py), and
# those that read /proc are skipped with the reason, or count descriptors by
# os.fstat.  Nothing changes outside the namespace.
#
# Usage (from anywhere, as root, on Linux with util-linux's unshare):
#   tools/hidden_linuxisms.sh [pytest arguments...]
# It tests the checkout as built in place (python setup.py build_ext --inplace),
# with "python -m pytest" from the checkout's root.  PYTHON names the interpreter
# (default: python3).  Where a mount namespace cannot be made (not root, no
# unshare, a container that forbids it) it says so and exits 0 without testing.
set -eu
cd "$(dirname "$0")/.."

skip() {
    echo "hidden_linuxisms: skipped: $*" >&2
    exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root to make a mount namespace"
command -v unshare >/dev/null 2>&1 || skip "no unshare(1) here"
# The interpreter itself, not a wrapper (pyenv's shims are scripts that would run
# without /proc too, but need not).
PY=$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')
unshare -m --propagation private sh -c 'mount -t tmpfs none /proc' 2>/dev/null \
    || skip "unshare -m cannot mount in a private namespace here"

export PY
exec unshare -m --propagation private sh -c '
set -eu
for t in /bin/true /usr/bin/true /usr/local/bin/true; do
    if [ -f "$t" ] && [ ! -L "$t" ]; then mount --bind /dev/null "$t"; fi
done
mount -t tmpfs none /proc
# Show the state the tests run in; fail if something is still visible.
if [ -e /proc/self ]; then echo "/proc/self is still there" >&2; exit 1; fi
for t in /bin/true /usr/bin/true; do
    if [ -x "$t" ]; then echo "$t is still executable" >&2; exit 1; fi
done
if "$PY" -c "import shutil, sys; sys.exit(shutil.which(\"true\") is None)"; then
    echo "a true is still on PATH" >&2; exit 1
fi
echo "hidden_linuxisms: /proc is an empty tmpfs; no true on PATH or at /bin/true" >&2
exec "$PY" -m pytest "$@"
' hidden_linuxisms "$@"
