"""cut_subset.py - which cut positions a merge test tries by default.

The merge tests cut a capture at every packet (every fragment, every retry)
and compare the merge of the parts' reports with the run over the parts:
about four smbscope starts a cut, a fifth of a second each under ASan.  By
default a test tries a deterministic subset: the positions its comments
name (those that caught a bug, or that reach a check nothing else does)
and a few more spread evenly over the rest.  SMBSCOPE_FULL=1 (tests/run.sh
--full) tries every one, as before.  Nothing random: the same positions on
every run.
"""

import os

FULL = os.environ.get("SMBSCOPE_FULL") == "1"


def spread(items, n):
    """n of items evenly spaced, the first and the last among them (all of
    them when there are no more than n; one: the middle one)."""
    items = list(items)
    if n >= len(items):
        return items
    if n <= 1:
        return items[len(items) // 2:][:max(n, 0)]
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def pick(items, n, keep=()):
    """items in their order: all of them under SMBSCOPE_FULL=1, else those
    in keep and spread(items, n)."""
    items = list(items)
    if FULL:
        return items
    chosen = set(spread(items, n)) | set(keep)
    return [x for x in items if x in chosen]


def note(what, chosen, total):
    """The line that says how many of how many were tried."""
    print("note %s: %d of %d%s" % (what, len(chosen) if not isinstance(chosen, int) else chosen, total,
                                   "" if FULL else " (SMBSCOPE_FULL=1: all)"))
