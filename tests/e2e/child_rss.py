"""child_rss.py - a command's own peak RSS, whatever the test process held.

A child's ru_maxrss (os.wait4, RUSAGE_CHILDREN) is not its own peak alone:
when the child calls exec, Linux keeps the peak RSS of the memory it had
before, and subprocess starts a child with vfork, in the parent's memory.
So a test that once held 60 MiB (the captures it generated, the reports it
parsed) measured every later command at 60 MiB or more, however small the
command stayed (hostile-small: three cases at 49,124 KiB each, the test's
own peak), and a peak RSS check passed or failed by the test's history.
Here the command runs under a small Python process of its own, started
afresh (without site: -S, a few ms less a run): its figure is the command's
own, or that process's (about 14 MiB) when larger.

    run(cmd, stdin=None, stdout=None, stderr=None, timeout=None)
        -> (returncode, stdout bytes or None, stderr bytes or None, peak KiB)
stdout/stderr: None (inherited), a file, or subprocess.PIPE (returned).
"""

import os
import subprocess
import sys

_PROBE = ("import os,resource,subprocess,sys\n"
          "p=subprocess.run(sys.argv[2:])\n"
          "os.write(int(sys.argv[1]),b'%d %d'%(p.returncode,"
          "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n")


def run(cmd, stdin=None, stdout=None, stderr=None, timeout=None):
    r, w = os.pipe()
    try:
        p = subprocess.run([sys.executable, "-S", "-c", _PROBE, str(w)] + list(cmd), stdin=stdin, stdout=stdout,
                           stderr=stderr, pass_fds=(w,), timeout=timeout)
        os.close(w)
        w = -1
        with os.fdopen(r, "rb") as f:
            r = -1
            answer = f.read().split()
    finally:
        for fd in (r, w):
            if fd >= 0:
                os.close(fd)
    if p.returncode != 0 or len(answer) != 2:
        raise RuntimeError("child_rss: the probe failed (exit %d) for %s" % (p.returncode, " ".join(cmd)))
    return int(answer[0]), p.stdout, p.stderr, int(answer[1])
