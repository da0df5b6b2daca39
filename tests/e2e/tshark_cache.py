#!/usr/bin/python3
"""tshark_cache.py - tshark's output computed once per capture and arguments,
shared by every test of one tests/run.sh run.

tshark is the reference of most tests and its start-up dominates their time;
the ASan build's tests ask it the very same questions as the plain build's,
and the plugin checks ask it the same questions about the same captures.  The
answer (exit status, stdout, stderr) is kept under $SMBSCOPE_TSHARK_CACHE,
keyed by:
  - the command line, where every argument naming a file is replaced by its
    base name and the SHA-256 of its content (the plugin tests copy captures
    to new directories);
  - the tshark executable (path, size, modification time);
  - the files of WIRESHARK_PLUGIN_DIR (the plugin under test), of the
    profile in HOME or WIRESHARK_CONFIG_DIR, by content, and LC_ALL.
tests/run.sh sets SMBSCOPE_TSHARK_CACHE to a directory of the plain build and
empties it when it starts, so nothing outlives one run.  Without the variable
every call runs tshark.  Concurrent identical calls wait for the first one
(a lock per key) instead of running tshark twice.  With the cache, a
`-T fields` question of the C unit tests is answered from the canonical run
of its capture (tshark_project.py, tshark_pass.py), itself cached here.

As a module:  run(cmd, env=None, cwd=None) -> (returncode, stdout, stderr)
As a command: tshark_cache.py ARGS...   behaves as `tshark ARGS...`
(tests/meson.build gives its path to the tests in TSHARK).
"""
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys

ENV_KEYS = ("WIRESHARK_PLUGIN_DIR", "LC_ALL", "HOME", "WIRESHARK_CONFIG_DIR")


def _file_digest(path, memo={}):
    st = os.stat(path)
    k = (path, st.st_size, st.st_mtime_ns)
    if k not in memo:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        memo[k] = h.hexdigest()
    return memo[k]


def _dir_digest(path):
    h = hashlib.sha256()
    for root, dirs, files in sorted(os.walk(path)):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            h.update(os.path.relpath(p, path).encode() + b"\0" + _file_digest(p).encode())
    return h.hexdigest()


def _key(cmd, env):
    parts = []
    for a in cmd:
        if os.path.isfile(a):
            parts.append("file:%s:%s" % (os.path.basename(a), _file_digest(a)))
        else:
            parts.append(a)
    exe = shutil.which("tshark", path=env.get("PATH"))
    if exe:
        st = os.stat(exe)
        parts.append("tshark:%s:%d:%d" % (exe, st.st_size, st.st_mtime_ns))
    for k in ENV_KEYS:
        v = env.get(k)
        # directories by what tshark reads from them, not by their (temporary) names
        if k == "HOME" and v:
            v = os.path.join(v, ".config", "wireshark")
        if k != "LC_ALL" and v:
            v = "dir:" + _dir_digest(v) if os.path.isdir(v) else "absent"
        parts.append("%s=%s" % (k, v))
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def run(cmd, env=None, cwd=None):
    """Run cmd (a tshark command line, possibly behind setpriv or valgrind)
    or return the answer kept from an identical earlier run."""
    env = dict(os.environ if env is None else env)
    cache = os.environ.get("SMBSCOPE_TSHARK_CACHE")
    if not cache:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
        return p.returncode, p.stdout, p.stderr
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    import tshark_project
    projected = tshark_project.answer(cmd, lambda c: run(c, env, cwd))
    if projected is not None:
        return projected
    os.makedirs(cache, exist_ok=True)
    base = os.path.join(cache, _key(cmd, env))
    with open(base + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(base + ".json") as f:
                meta = json.load(f)
            with open(base + ".out", "rb") as f:
                out = f.read()
            with open(base + ".err", "rb") as f:
                err = f.read()
            return meta["returncode"], out, err
        except (OSError, ValueError, KeyError):
            pass
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
        # a signal is never cached: the next caller sees it again
        if p.returncode >= 0:
            for ext, data in ((".out", p.stdout), (".err", p.stderr)):
                with open(base + ext + ".tmp", "wb") as f:
                    f.write(data)
                os.replace(base + ext + ".tmp", base + ext)
            with open(base + ".json.tmp", "w") as f:
                json.dump({"returncode": p.returncode, "cmd": cmd}, f)
            os.replace(base + ".json.tmp", base + ".json")
        return p.returncode, p.stdout, p.stderr


def main():
    rc, out, err = run(["tshark"] + sys.argv[1:])
    sys.stdout.buffer.write(out)
    sys.stderr.buffer.write(err)
    return rc


if __name__ == "__main__":
    sys.exit(main())
