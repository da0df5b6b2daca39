"""clickhouse_server.py - a private, throw-away ClickHouse server for a test.

Runs clickhouse-server as the current user with its own configuration, data
and logs in a temporary directory, listening on 127.0.0.1 only, on ports
chosen free at run time; stopped (its whole process group) and removed on
exit, also when the test fails or is terminated.  Tested with Debian 12's
ClickHouse 18.16.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/log/server.log</log>
    <errorlog>{d}/log/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{tcp}</tcp_port>
  <http_port>{http}</http_port>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <timezone>UTC</timezone>
  <shutdown_wait_unfinished>0</shutdown_wait_unfinished>
{extra}
</yandex>
"""

# A cluster of shards, one replica each, all on 127.0.0.1 (the tcp ports).
CLUSTER = """  <remote_servers><{name}>
{shards}  </{name}></remote_servers>
"""
SHARD = "    <shard><replica><host>127.0.0.1</host><port>{port}</port></replica></shard>\n"


def cluster_config(name, tcp_ports):
    """The remote_servers configuration of a cluster named name."""
    return CLUSTER.format(name=name, shards="".join(SHARD.format(port=p) for p in tcp_ports))

USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default/></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default/></quotas>
</yandex>
"""


def free_ports(n):
    """n TCP ports free on 127.0.0.1 now (the kernel's choice)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def listening_addresses(pid):
    """(address, port) of every listening TCP socket the process holds, from
    /proc: its socket inodes matched against /proc/PID/net/tcp and tcp6."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        with open("/proc/%d/net/%s" % (pid, table)) as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[3] != "0A" or cols[9] not in inodes:  # 0A: LISTEN
                    continue
                addr, port = cols[1].split(":")
                raw = bytes.fromhex(addr)
                # /proc writes each 32-bit word in host (little-endian) order
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                family = socket.AF_INET if width == 8 else socket.AF_INET6
                found.append((socket.inet_ntop(family, words), int(port, 16)))
    return found


class PortTaken(RuntimeError):
    pass


class Server:
    """with Server(server_bin, client_bin) as s: s.client(...) runs queries."""

    def __init__(self, server_bin, client_bin, start_timeout=30, ports=None, extra_config=""):
        """ports: (tcp, http), default chosen free now; extra_config: more
        XML in the configuration (cluster_config())."""
        self.server_bin, self.client_bin = server_bin, client_bin
        self.start_timeout = start_timeout
        self.ports, self.extra_config = ports, extra_config
        self.dir = None
        self.proc = None
        self.start_seconds = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="smbscope-clickhouse-")
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self):
        for sub in ("data", "tmp", "log", "user_files", "format_schemas"):
            os.mkdir(os.path.join(self.dir, sub))
        with open(os.path.join(self.dir, "users.xml"), "w") as f:
            f.write(USERS)
        # Ports chosen here may be taken by another test before the server
        # binds them: it then exits, and starts again on other ports.
        for attempt in range(1 if self.ports else 3):
            self.tcp_port, self.http_port = self.ports or free_ports(2)
            try:
                self._start_once()
                return
            except PortTaken:
                if attempt == 2 or self.ports:
                    raise

    def _start_once(self):
        with open(os.path.join(self.dir, "config.xml"), "w") as f:
            f.write(CONFIG.format(d=self.dir, tcp=self.tcp_port, http=self.http_port, extra=self.extra_config))
        t0 = time.monotonic()
        with open(os.path.join(self.dir, "log", "stdout"), "wb") as out:
            # its own process group, so that stopping it stops all of it
            self.proc = subprocess.Popen([self.server_bin, "--config-file=" + os.path.join(self.dir, "config.xml")],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         cwd=self.dir, start_new_session=True)
        while True:
            if self.proc.poll() is not None:
                log = self.log_tail()
                err = PortTaken if "Address already in use" in log else RuntimeError
                raise err("clickhouse-server exited with %s: %s" % (self.proc.returncode, log))
            if time.monotonic() - t0 > self.start_timeout:
                raise RuntimeError("clickhouse-server did not answer within %d s: %s"
                                   % (self.start_timeout, self.log_tail()))
            # Only once this process listens on the port may an answer come from it.
            if ("127.0.0.1", self.tcp_port) in listening_addresses(self.proc.pid):
                p = subprocess.run(self.client_command() + ["--query", "SELECT 1"], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, timeout=30)
                if p.returncode == 0 and p.stdout.strip() == b"1":
                    break
            time.sleep(0.05)
        self.start_seconds = time.monotonic() - t0

    def client_command(self):
        return [self.client_bin, "--host", "127.0.0.1", "--port", str(self.tcp_port)]

    def client(self, args, stdin=None, timeout=60):
        """clickhouse-client with args; (exit status, stdout, stderr)."""
        p = subprocess.run(self.client_command() + args, input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def log_tail(self):
        for name in ("error.log", "stdout"):
            try:
                with open(os.path.join(self.dir, "log", name), errors="replace") as f:
                    text = f.read()[-1500:]
                if text.strip():
                    return text
            except OSError:
                pass
        return "(no log)"

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 10)):  # nothing to keep: a short grace
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        return False
