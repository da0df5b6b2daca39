#!/usr/bin/python3
"""gui_test.py - the plugin in the real Wireshark GUI, under Xvfb.

Usage:
    gui_test.py --plugin SO --source-root DIR [--screenshot PNG] [--keep DIR]

One Wireshark session, driven with xdotool; after each step the displayed
packets are written with File > Export Specified Packets and read back with
tshark:

 1. `wireshark -r samples/mixed-nbns-139-445.pcap -Y 'smbscope.netbios.state
    == "no-answer"'`: the packets displayed while the file loads (Wireshark's
    first pass) equal those displayed after the filter is applied again, and
    equal what tshark selects in one pass and in two passes (-2).  Before the
    fix the load-time filter matched 2 packets and the re-applied one none.
 2. `smbscope.netbios.state_so_far == "no-answer"` (a "so far" field, fixed
    on the first pass): the same packets when applied after loading, when a
    second file is opened in the same session with the filter in place (the
    plugin's file-scope tables are rebuilt, nothing of the first file leaks
    in), and after re-applying there; and the same as tshark's.
 3. Control, so the test can fail: `smbscope.verdict == "fail"` (a final
    field) applied while the first file is opened again shows nothing at load
    and, after re-applying, exactly the packets tshark -2 selects.
 4. SMB Direct over iWARP on TCP 5445 (samples/rdma-iwarp-5445.pcap, where
    Wireshark 4.0's own binding of 5445 hides iWARP unless the plugin's port
    guard works): `smbscope.transport_so_far == "rdma-iwarp"` with the file
    opened in the same session gives tshark's one-pass packets, and
    `smbscope.transport == "rdma-iwarp" && smb2.cmd == 0` re-applied gives
    tshark -2's (the two NEGOTIATE packets).

Wireshark's export dialog disables its "Displayed" column when nothing is
displayed and then offers every captured packet; an export of the whole
file where tshark selects fewer packets is read as "nothing displayed".

Exit status: 0 pass, 1 fail, 77 skip (no wireshark / Xvfb / xdotool / tshark,
no plugin build, no samples).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wsenv import Failure, SKIP, WsEnv  # noqa: E402

CAPTURE = "mixed-nbns-139-445.pcap"
RDMA_CAPTURE = "rdma-iwarp-5445.pcap"
F_RDMA_SO_FAR = 'smbscope.transport_so_far == "rdma-iwarp"'
F_RDMA = 'smbscope.transport == "rdma-iwarp" && smb2.cmd == 0'
F_FINAL = 'smbscope.netbios.state == "no-answer"'
F_SO_FAR = 'smbscope.netbios.state_so_far == "no-answer"'
F_CONTROL = 'smbscope.verdict == "fail"'
MENU_DOWNS_TO_EXPORT = 7   # File menu: Open .. Save As, File Set, Export Specified Packets


class Gui:
    """An Xvfb display and xdotool, as the unprivileged user."""

    def __init__(self, env):
        self.env = env
        r, w = os.pipe()
        self.xvfb = subprocess.Popen(env.prefix + ["Xvfb", "-displayfd", str(w), "-screen", "0", "1600x1000x24",
                                                   "-nolisten", "tcp"],
                                     pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        with os.fdopen(r) as f:
            num = f.readline().strip()
        if not num:
            raise Failure("Xvfb did not start")
        self.display = ":" + num
        self.ws = None

    def run(self, *args, check=True):
        p = subprocess.run(self.env.prefix + ["env", "DISPLAY=" + self.display] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check and p.returncode != 0:
            raise Failure("%s: %s" % (" ".join(args), p.stderr.decode(errors="replace").strip()))
        return p.stdout.decode(errors="replace")

    def window(self, name, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            out = self.run("xdotool", "search", "--name", name, check=False).split()
            if out:
                return out[0]
            time.sleep(0.3)
        raise Failure("no window named %r after %ds" % (name, timeout))

    def gone(self, name, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            if not self.run("xdotool", "search", "--name", name, check=False).split():
                return
            time.sleep(0.3)
        raise Failure("window %r still open" % name)

    # There is no window manager: give the window the input focus, then send
    # real (XTEST) key events, which Qt handles like a person's typing.
    def keys(self, wid, *keys):
        self.run("xdotool", "windowfocus", "--sync", wid)
        self.run("xdotool", "key", "--delay", "60", *keys)

    def type(self, wid, text):
        self.run("xdotool", "windowfocus", "--sync", wid)
        self.run("xdotool", "type", "--delay", "15", text)

    def start_wireshark(self, capture, dfilter):
        env = ["env", "DISPLAY=" + self.display] + ["%s=%s" % kv for kv in self.env.vars.items()]
        self.ws = subprocess.Popen(self.env.prefix + env + ["wireshark", "-r", capture, "-Y", dfilter],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.env.tmp)

    def screenshot(self, path):
        self.run("import", "-window", "root", path)

    def close(self):
        for p in (self.ws, self.xvfb):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


class Session:
    """One Wireshark window and the steps the test takes in it."""

    def __init__(self, gui, env, title):
        self.gui = gui
        self.env = env
        self.title = title
        self.n = 0

    def main(self):
        return self.gui.window(self.title)

    def settle(self):
        # Small captures load in well under a second; the packet list and
        # the filter are applied on the GUI thread after that.
        time.sleep(1.5)

    def export(self, label):
        """File > Export Specified Packets, default range; returns the path."""
        self.n += 1
        out = os.path.join(self.env.tmp, "export-%02d-%s.pcap" % (self.n, label))
        w = self.main()
        self.gui.keys(w, "alt+f")
        time.sleep(0.5)
        self.gui.keys(w, *(["Down"] * MENU_DOWNS_TO_EXPORT), "Return")
        d = self.gui.window("Export Specified Packets")
        time.sleep(0.5)
        self.gui.type(d, out)
        self.gui.keys(d, "Return")
        self.gui.gone("Export Specified Packets")
        end = time.time() + 30
        while not os.path.exists(out) and time.time() < end:
            time.sleep(0.2)
        if not os.path.exists(out):
            raise Failure("export to %s did not happen" % out)
        time.sleep(0.5)
        return out

    def reapply(self, dfilter=None):
        """Focus the display filter bar, optionally replace it, press Enter."""
        w = self.main()
        self.gui.keys(w, "ctrl+slash")
        time.sleep(0.3)
        if dfilter is not None:
            self.gui.keys(w, "ctrl+a", "BackSpace")
            self.gui.type(w, dfilter)
        self.gui.keys(w, "Return")
        self.settle()

    def open(self, path, title):
        """File > Open (Ctrl+O) another file in the same session."""
        self.gui.keys(self.main(), "ctrl+o")
        d = self.gui.window("Open Capture File")
        time.sleep(0.5)
        self.gui.type(d, path)
        self.gui.keys(d, "Return")
        self.gui.gone("Open Capture File")
        self.title = title
        self.main()
        self.settle()


def packets(env, path):
    """The packets of a capture as (time, length) in order: their identity."""
    out, _, _ = env.run(["-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len"])
    return [tuple(l.split("\t")) for l in out.splitlines() if l]


def selected(env, capture, dfilter, two_pass):
    args = (["-2"] if two_pass else []) + ["-r", capture, "-Y", dfilter,
                                           "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len"]
    out, _, _ = env.run(args)
    return [tuple(l.split("\t")) for l in out.splitlines() if l]


def displayed(env, export, whole):
    """What was displayed, from an export (see the module's note)."""
    got = packets(env, export)
    return [] if got == whole else got


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plugin", default="")
    ap.add_argument("--source-root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--tshark", default=os.environ.get("TSHARK", "tshark"))
    ap.add_argument("--screenshot", default=os.environ.get("SMBSCOPE_GUI_SCREENSHOT"),
                    help="write a screenshot of the final state here")
    args = ap.parse_args()
    for tool in ("wireshark", "Xvfb", "xdotool", "import", args.tshark):
        if not shutil.which(tool):
            print("SKIP: %s not found" % tool)
            return SKIP
    if not args.plugin or not os.path.exists(args.plugin):
        print("SKIP: plugin not built")
        return SKIP
    sample = os.path.join(args.source_root, "samples", CAPTURE)
    if not os.path.exists(sample):
        print("SKIP: no %s" % sample)
        return SKIP
    env = gui = None
    try:
        env = WsEnv(args.tshark, args.plugin, world_writable=True)
        first = env.capture(sample)
        second = os.path.join(env.tmp, "second-" + CAPTURE)
        shutil.copy(first, second)
        os.chmod(second, 0o644)
        whole = packets(env, first)
        errors = []

        def expect(what, got, want):
            print("%-58s %3d packets%s" % (what, len(got), "" if got == want else
                                           "  MISMATCH: expected %d" % len(want)))
            if got != want:
                errors.append(what)

        ref = {f: (selected(env, first, f, False), selected(env, first, f, True))
               for f in (F_FINAL, F_SO_FAR, F_CONTROL)}
        for f, (one, two) in ref.items():
            print("tshark: %-45s one pass %d, two passes %d" % (f, len(one), len(two)))
        if not ref[F_SO_FAR][0] or not ref[F_CONTROL][1] or len(ref[F_CONTROL][1]) == len(whole):
            raise Failure("the sample no longer exercises the test (see the module's note)")
        if ref[F_FINAL][0] != ref[F_FINAL][1]:
            errors.append("tshark one pass and two passes disagree on " + F_FINAL)
        if ref[F_SO_FAR][0] != ref[F_SO_FAR][1]:
            errors.append("tshark one pass and two passes disagree on " + F_SO_FAR)

        gui = Gui(env)
        gui.start_wireshark(first, F_FINAL)
        s = Session(gui, env, os.path.basename(first))
        gui.run("xdotool", "windowsize", s.main(), "1580", "980")  # room for the Info column
        s.settle()
        expect("1. %s at load" % F_FINAL, displayed(env, s.export("final-load"), whole), ref[F_FINAL][1])
        s.reapply()
        expect("1. %s re-applied" % F_FINAL, displayed(env, s.export("final-again"), whole), ref[F_FINAL][1])

        s.reapply(F_SO_FAR)
        expect("2. %s applied" % F_SO_FAR, displayed(env, s.export("sofar-applied"), whole), ref[F_SO_FAR][0])
        s.open(second, os.path.basename(second))
        expect("2. ... second file, at load", displayed(env, s.export("sofar-second-load"), whole), ref[F_SO_FAR][0])
        s.reapply()
        expect("2. ... second file, re-applied", displayed(env, s.export("sofar-second-again"), whole),
               ref[F_SO_FAR][0])

        s.reapply(F_CONTROL)
        s.open(first, os.path.basename(first))
        expect("3. %s at load (nothing final yet)" % F_CONTROL,
               displayed(env, s.export("control-load"), whole), [])
        s.reapply()
        expect("3. ... re-applied", displayed(env, s.export("control-again"), whole), ref[F_CONTROL][1])
        rdma = env.capture(os.path.join(args.source_root, "samples", RDMA_CAPTURE))
        rdma_whole = packets(env, rdma)
        rdma_so_far = selected(env, rdma, F_RDMA_SO_FAR, False)
        rdma_final = selected(env, rdma, F_RDMA, True)
        if not rdma_so_far or len(rdma_so_far) == len(rdma_whole) or not rdma_final:
            raise Failure("tshark with the plugin selects %d / %d packets of %s: nothing to compare"
                          % (len(rdma_so_far), len(rdma_final), RDMA_CAPTURE))
        s.reapply(F_RDMA_SO_FAR)
        s.open(rdma, os.path.basename(rdma))
        expect("4. %s at load" % F_RDMA_SO_FAR, displayed(env, s.export("rdma-sofar"), rdma_whole), rdma_so_far)
        s.reapply(F_RDMA)
        expect("4. %s" % F_RDMA, displayed(env, s.export("rdma-final"), rdma_whole), rdma_final)
        if args.screenshot:
            gui.screenshot(args.screenshot)
            print("screenshot: %s" % args.screenshot)
        if errors:
            raise Failure("; ".join(errors))
    except Failure as e:
        print("FAIL: %s" % e)
        if gui and args.screenshot:
            gui.screenshot(args.screenshot)
            print("screenshot at the failure: %s" % args.screenshot)
        return 1
    finally:
        if gui:
            gui.close()
        if env:
            env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
