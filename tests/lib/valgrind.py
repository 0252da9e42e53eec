"""valgrind.py -- running edumon's binaries under valgrind memcheck from the Python suites,
and reading its verdict. Shared by tests/integration/harness.py and tests/hostile.

EDUMON_VALGRIND=1 in the environment turns it on; the suites then fail on any memcheck error
or any definitely/indirectly lost byte, and stretch their time allowances by SLOWDOWN."""

import os
import re

ENABLED = os.environ.get("EDUMON_VALGRIND") == "1"
SLOWDOWN = 10.0 if ENABLED else 1.0


def wrap(argv, log_path):
    """argv run under memcheck, its report written to log_path. An edumon-api linked with
    jemalloc needs nothing more: memcheck's preloaded malloc comes first in symbol lookup, so
    jemalloc's is never called (same heap totals as with --soname-synonyms=somalloc=*jemalloc*)."""
    return ["valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
            "--track-origins=yes", "--log-file=" + log_path] + list(argv)


def problems(log_paths, say=print):
    """The reports (one text per log) that show errors or leaks; says a line per clean log."""
    found = []
    for path in log_paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            found.append("%s: no valgrind report was written" % os.path.basename(path))
            continue
        errors = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        lost = re.findall(r"(definitely|indirectly) lost: ([\d,]+) bytes", text)
        if not errors or int(errors.group(1)) or any(n != "0" for _, n in lost):
            found.append("%s:\n%s" % (os.path.basename(path), text[-6000:]))
        else:
            say("     valgrind %s: 0 errors, %s" % (
                os.path.basename(path),
                ", ".join("%s lost %s bytes" % item for item in lost) or "no leaks"))
    return found
