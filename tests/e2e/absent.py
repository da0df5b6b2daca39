"""absent.py - what a test does when an input outside the repository (the
public captures of ../shared/corpus, tshark) is absent: it is skipped (exit
status 77, meson: SKIP; a TAP test prints the plan "1..0 # SKIP why" and
exits 0, as meson's TAP reader wants), except under CI=true, where .ci/deps.sh installed
everything and the corpus must be there: then it fails.

    return absent("corpus not found at DIR")          # plain tests
    return absent("corpus not found at DIR", tap=True)  # TAP tests
"""
import os

SKIP = 77


def absent(what, tap=False):
    """Print why and return the exit status to use."""
    if os.environ.get("CI") == "true":
        print("%sFAIL: %s (CI=true: this test cannot be skipped)" % ("Bail out! " if tap else "", what))
        return 1
    if tap:
        print("1..0 # SKIP %s" % what)
        return 0
    print("SKIP: %s" % what)
    return SKIP
