"""wsenv.py - tshark and Wireshark with the build-tree plugin, as engineers run
them: the plugin copied to DIR/<major.minor>/epan/ and found through
WIRESHARK_PLUGIN_DIR, with a private HOME.  Wireshark ignores both when run
as root, so as root the programs run as "nobody" (setpriv)."""

import os
import re
import shutil
import subprocess
import tempfile

SKIP = 77


class Failure(Exception):
    pass


class WsEnv:
    def __init__(self, tshark, plugin, world_writable=False):
        self.tshark = tshark
        self.tmp = tempfile.mkdtemp(prefix="smbscope-plugin-test-")
        version = self._version()
        plugdir = os.path.join(self.tmp, "plugins")
        epan = os.path.join(plugdir, version, "epan")
        os.makedirs(epan)
        shutil.copy(plugin, os.path.join(epan, "smbscope.so"))
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        for root, dirs, files in os.walk(self.tmp):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
        # The GUI test's exports are written by the unprivileged user.
        os.chmod(self.tmp, 0o777 if world_writable else 0o755)
        self.prefix = []
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                raise Failure("running as root and setpriv is missing")
            subprocess.run(["chown", "-R", "nobody", self.home], check=True)
            self.prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        self.vars = {"HOME": self.home, "WIRESHARK_PLUGIN_DIR": plugdir, "LC_ALL": "C"}
        self.env = dict(os.environ, **self.vars)
        self.env.pop("WIRESHARK_CONFIG_DIR", None)

    def _version(self):
        out = subprocess.run([self.tshark, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout.decode("utf-8", "replace")
        m = re.search(r"\b(\d+)\.(\d+)\.\d+", out)
        if not m:
            raise Failure("cannot read tshark's version")
        return "%s.%s" % (m.group(1), m.group(2))

    def capture(self, path, name=None):
        """A copy the unprivileged user can read."""
        dst = os.path.join(self.tmp, name or os.path.basename(path))
        if not os.path.exists(dst):
            shutil.copy(path, dst)
            os.chmod(dst, 0o644)
        return dst

    def run(self, args, plugin=True, wrapper=(), check=True):
        cmd = list(wrapper) + [self.tshark] + list(args)
        if plugin:
            cmd = self.prefix + cmd
            env = self.env
        else:
            env = dict(os.environ, LC_ALL="C")
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=self.tmp)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise Failure("%s exited %d: %s" % (" ".join(cmd), p.returncode, err.strip()[-500:]))
        return out, err, p.returncode

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
