"""One boot of one emulated machine running a list of tests.

Boot.run() starts the emulator, follows its two serial ports while it runs
(the console log file; the framing port as a file, or for Bochs a socket
that also carries KILL commands to the guest) and reports what happens
through a callback, as soon as it happens:

  on_event(Event("ready", ...))      the guest's /init is up
  on_event(Event("module", ...))     insmod finished (ok / fail / none)
  on_event(Event("begin", ...))      test n started
  on_event(Event("result", ...))     test n finished (TestResult)
  on_event(Event("abort", ...))      the machine ended abnormally; tests not
                                     reported by then did not complete
  on_event(Event("done", ...))       all tests ran

Kernel problems are attributed by position in the console log: /init writes
"dune-vm: insmod", "dune-vm: begin <n>", "dune-vm: done" into the kernel log,
so every console line belongs to a window (boot, module, test n, after).  A
window's results are reported once the console has moved past it (or a few
seconds after its last frame), so a WARN printed late still counts.
"""

import base64
import bisect
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from . import initramfs, logscan, machines

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
FRAME = "@@DUNE@@ "
POLL = 0.1              # seconds between looks at the serial logs
FATAL_GRACE = 3.0       # keep reading after an oops so the trace is complete
# A test still running this long after its time limit means the guest is
# hung (the guest's watchdog or our KILL should have ended it).
KILL_GRACE = float(os.environ.get("DUNE_VM_KILL_GRACE", 120))
LOG_TAIL_LINES = 40

BOOT, MODULE, AFTER = -2, -1, 10 ** 9   # console windows; tests are 1..n


class Event:
    def __init__(self, kind, **kw):
        self.kind = kind
        self.__dict__.update(kw)


class TestResult:
    def __init__(self, n, name, status, seconds, timed_out, stdout, stderr,
                 guest_seconds=None):
        self.n = n
        self.name = name
        self.status = status            # exit status (124 on timeout)
        self.seconds = seconds          # run time (see Boot._end)
        self.guest_seconds = guest_seconds  # run time on the guest's clock
        self.timed_out = timed_out
        self.stdout = stdout
        self.stderr = stderr
        self.problems = []              # logscan.Findings in its window


class KernelInfo:
    """Release, vmlinuz and headers of an installed Debian kernel series."""

    def __init__(self, series):
        tool = os.path.join(TOP, "tools", "debian-kernel")
        res = subprocess.run([tool, series], capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(res.stderr.strip() or "debian-kernel %s failed" % series)
        self.series = series
        self.release, self.vmlinuz, self.headers = res.stdout.split("\n")[:3]


def build_module(series):
    """Path of dune.ko built for `series` by tools/kmod-build."""
    tool = os.path.join(TOP, "tools", "kmod-build")
    res = subprocess.run([tool, series], capture_output=True, text=True)
    if res.returncode != 0:
        tail = "\n".join(res.stderr.strip().splitlines()[-20:])
        raise RuntimeError("tools/kmod-build %s failed:\n%s" % (series, tail))
    return res.stdout.strip().splitlines()[-1]


class LineTail:
    """Follow a file that an emulator appends to (and may create late)."""

    def __init__(self, path):
        self.path = path
        self.f = None
        self.partial = b""

    def lines(self):
        """Complete new lines since the last call, as bytes without EOL."""
        if self.f is None:
            try:
                self.f = open(self.path, "rb")
            except FileNotFoundError:
                return []
        data = self.partial + self.f.read()
        parts = data.split(b"\n")
        self.partial = parts.pop()
        return parts

    def rest(self):
        """The unterminated last line, once the writer is gone."""
        out, self.partial = self.partial, b""
        return [out] if out else []


class SocketLines:
    """The framing port as a TCP connection from the emulator (Bochs COM2
    in socket-client mode): lines in, commands out.  What arrives is also
    appended to `mirror` (frames.log) for debugging."""

    def __init__(self, mirror):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.conn = None
        self.mirror = open(mirror, "ab")
        self.partial = b""

    def _accept(self):
        try:
            self.conn, _ = self.listener.accept()
        except BlockingIOError:
            return False
        self.conn.setblocking(False)
        self.listener.close()
        return True

    def lines(self):
        if self.conn is None and not self._accept():
            return []
        data = b""
        while True:
            try:
                chunk = self.conn.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                chunk = b""
            if not chunk:
                break
            data += chunk
        if data:
            self.mirror.write(data)
            self.mirror.flush()
        parts = (self.partial + data).split(b"\n")
        self.partial = parts.pop()
        return parts

    def send(self, text):
        """Best effort: False if the guest cannot be reached."""
        if self.conn is None:
            return False
        try:
            self.conn.sendall(text.encode())
            return True
        except OSError:
            return False

    def close(self):
        for s in (self.conn, self.listener, self.mirror):
            if s is not None:
                s.close()


_MARK = re.compile(r"^dune-vm: (insmod|begin|done)\b\s*(\d+)?")


class Console:
    """The kernel console log: scanned for problems, split into windows."""

    def __init__(self, path):
        self.tail = LineTail(path)
        self.scanner = logscan.Scanner()
        self.window = BOOT
        self.starts = [(0, BOOT)]       # (first line number, window), in order
        self.findings = {}              # window -> [Finding]
        self.fatal = None               # (window, first fatal Finding)
        self.kernel_entered = None      # time.monotonic() of pvhboot's line

    def poll(self, final=False):
        raw = self.tail.lines() + (self.tail.rest() if final else [])
        for b in raw:
            line = b.decode("utf-8", "replace")
            if self.kernel_entered is None and line.startswith("pvhboot: kernel at"):
                self.kernel_entered = time.monotonic()
            self._marker(logscan.message(line))
            for f in self.scanner.feed(line):
                self._add(f)
        if final:
            for f in self.scanner.flush():
                self._add(f)

    def _marker(self, msg):
        m = _MARK.match(msg)
        if not m:
            return
        what = m.group(1)
        self.window = {"insmod": MODULE, "done": AFTER}.get(what) or int(m.group(2))
        self.starts.append((self.scanner.lineno + 1, self.window))

    def _add(self, f):
        """File f under the window of its line: the scanner may report a
        "cut here" some lines late, after the next marker."""
        i = bisect.bisect_right([s for s, _ in self.starts], f.lineno) - 1
        window = self.starts[i][1]
        self.findings.setdefault(window, []).append(f)
        if f.fatal and self.fatal is None:
            self.fatal = (window, f)

    def tail_text(self, near=None, n=LOG_TAIL_LINES):
        """The last n lines of the log, or n lines around Finding `near`
        (starting a little before it: a report's first lines matter most)."""
        try:
            with open(self.tail.path, "rb") as fh:
                text = fh.read().decode("utf-8", "replace").replace("\r", "")
        except FileNotFoundError:
            return "(no console output)"
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if not lines:
            return "(no console output)"
        if near is None:
            return "\n".join(lines[-n:])
        start = max(0, near.lineno - 1 - 5)
        return "\n".join(lines[start:start + n])


class Frames:
    """Records from the guest's framing port (see guest-init.sh)."""

    def __init__(self, source):
        self.tail = source              # LineTail or SocketLines
        self.data = {}
        self._key = None

    def poll(self):
        """New records as lists of words; DATA payloads land in self.data."""
        out = []
        for b in self.tail.lines():
            line = b.replace(b"\r", b"").replace(b"\0", b"").decode("ascii", "replace")
            if line.startswith(FRAME):
                words = line[len(FRAME):].split(" ")
                self._key = None
                if words[0] == "DATA" and len(words) > 1:
                    self._key = words[1]
                    self.data[self._key] = []
                else:
                    out.append(words)
            elif self._key is not None:
                # setdefault: take() may have consumed the record already
                # (a test the host timed out while its output streamed).
                self.data.setdefault(self._key, []).append(line.strip())
        return out

    def take(self, key):
        """Decoded bytes of the DATA payload `key` (empty if none came)."""
        if self._key == key:
            self._key = None        # later lines belong to no record
        try:
            return base64.b64decode("".join(self.data.pop(key, [])))
        except ValueError:
            return b"(undecodable output)\n"


class Boot:
    """Boot `machine` with `kernel` and run `tests` (initramfs.Test)."""

    def __init__(self, machine, kernel, tests, files=(), module=None, smp=2,
                 boot_timeout=None, label=None, save_console=None):
        self.machine = machine
        self.kernel = kernel
        self.tests = tests
        self.files = list(files)
        self.module = module
        self.smp = smp
        self.boot_timeout = (boot_timeout or int(os.environ.get("DUNE_VM_BOOT_TIMEOUT", 0))
                             or machine.boot_timeout)
        self.label = label or machine.name
        self.keep = os.environ.get("DUNE_VM_KEEP") == "1"
        # Where to copy the whole console log when the boot ends: the
        # runner's messages keep only tails, and a machine that hangs or
        # dies needs all of it (tests/vm/digest).
        self.save_console = save_console
        self.wd = None
        self.proc = None
        self.boot_seconds = None
        self.guest = None               # (release, cpus, features) from READY
        self.cancelled = False
        self.sock = None                # SocketLines when the host times tests
        self.killed = {}                # test n -> when we sent KILL
        self.pending = []               # (window, time seen, event) to settle
        self.ended = {}                 # test n -> time its END came
        self.started = {}               # test n -> time its BEGIN came
        self.finished = False           # DONE came
        self.fatal_at = None            # when the first fatal finding came

    def cancel(self):
        """Ask run() (in another thread) to stop the machine and return."""
        self.cancelled = True

    # -- life cycle -------------------------------------------------------

    def run(self, on_event):
        """Boot, report events, clean up.  Never raises for guest failures."""
        self.on_event = on_event
        base = os.environ.get("TMPDIR") or "/tmp"
        self.wd = tempfile.mkdtemp(prefix="dune-vm-%s-" % self.label.replace("/", "-"),
                                   dir=base)
        try:
            self._start()
            self._loop()
        except (OSError, RuntimeError, ValueError) as e:
            self._abort("emulator", "%s: %s" % (self.label, e))
        finally:
            self._stop()
            if self.sock:
                self.sock.close()
            self._save_console()
            if self.keep:
                self._emit("note", text="kept work dir %s" % self.wd)
            else:
                shutil.rmtree(self.wd, ignore_errors=True)

    def _save_console(self):
        if not self.save_console:
            return
        try:
            os.makedirs(os.path.dirname(self.save_console) or ".", exist_ok=True)
            shutil.copyfile(os.path.join(self.wd, "console.log"), self.save_console)
        except OSError as e:
            self._emit("note", text="console log not saved: %s" % e)

    def _start(self):
        initrd = initramfs.build(os.path.join(self.wd, "initrd.gz"), self.tests,
                                 self.files, self.module,
                                 guest_timeouts=not self.machine.host_timed,
                                 test_cpus=self.machine.test_cpus(self.smp))
        append = machines.kernel_cmdline(self.machine, os.environ.get("DUNE_VM_APPEND", ""),
                                         self.kernel.series)
        frames_path = os.path.join(self.wd, "frames.log")
        port = None
        if self.machine.host_timed:
            self.sock = SocketLines(frames_path)
            port = self.sock.port
        cmd = machines.command(self.machine, self.wd, self.kernel.vmlinuz, initrd,
                               append, self.smp, lambda text: self._emit("note", text=text),
                               frames_port=port,
                               memory=machines.memory_mb(self.kernel.series),
                               series=self.kernel.series)
        with open(os.path.join(self.wd, "cmdline"), "w") as f:
            f.write(" ".join(cmd) + "\n")
        out = open(os.path.join(self.wd, "emulator.out"), "wb")
        self.t0 = time.monotonic()
        # Own session: _stop() kills the emulator and anything it started.
        self.proc = subprocess.Popen(cmd, cwd=self.wd, stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()
        self.console = Console(os.path.join(self.wd, "console.log"))
        self.frames = Frames(self.sock if self.sock else LineTail(frames_path))

    def _stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                pass

    # -- main loop --------------------------------------------------------

    def _loop(self):
        while True:
            self.console.poll()
            self._read_frames()
            self._settle()
            if self.finished and not self.pending:
                self._emit("done", boot_seconds=self.boot_seconds)
                return
            if self._check_failures():
                return
            if self.cancelled:
                self._abort("cancelled", "interrupted")
                return
            time.sleep(POLL)

    def _cpu_seconds(self):
        """CPU time the emulator used so far: unlike wall time, it does not
        depend on what else the host runs (boot cost comparisons)."""
        try:
            with open("/proc/%d/stat" % self.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def _elapsed(self):
        return time.monotonic() - self.t0

    def _emit(self, kind, **kw):
        self.on_event(Event(kind, label=self.label, **kw))

    def _read_frames(self):
        for rec in self.frames.poll():
            try:
                self._record(rec)
            except (ValueError, IndexError):
                # Noise on the port; the guest's records are well formed.
                self._emit("note", text="ignored bad record: %s" % " ".join(rec)[:200])

    def _record(self, words):
        kind, args = words[0], words[1:]
        if kind == "READY":
            self.boot_seconds = self._elapsed()
            rel, cpus, feats = (args + ["", "", ""])[:3]
            self.guest = (rel, cpus, feats)
            entered = self.console.kernel_entered
            ev = Event("ready", label=self.label, seconds=self.boot_seconds, release=rel,
                       cpus=cpus, features=feats, problems=[],
                       loader_seconds=entered - self.t0 if entered else None,
                       cpu_seconds=self._cpu_seconds())
            self.pending.append((BOOT, time.monotonic(), ev))
        elif kind == "MODULE":
            ev = Event("module", label=self.label, ok=args[0] != "fail",
                       loaded=args[0] == "ok", status=int(args[1]),
                       output=self.frames.take("insmod"), problems=[])
            self.pending.append((MODULE, time.monotonic(), ev))
        elif kind == "BEGIN":
            n = int(args[0])
            self.started[n] = time.monotonic()
            # /init marked the kernel log before this frame: earlier windows
            # are over, report them first so events come in order.
            self.console.poll()
            self._settle()
            self._emit("begin", n=n, name=self.tests[n - 1].name)
        elif kind == "END":
            self._end(args)
        elif kind == "DONE":
            self.finished = True

    def _end(self, args):
        n, status, guest_secs = int(args[0]), int(args[1]), float(args[2])
        timed_out = len(args) > 3 and args[3] == "timeout"
        # The guest clock is exact but, in Bochs, far slower than the host's:
        # there the host's measure is the one that means something.
        secs = guest_secs
        if self.machine.host_timed and n in self.started:
            secs = round(time.monotonic() - self.started[n], 2)
        res = TestResult(n, self.tests[n - 1].name, status, secs, timed_out,
                         self.frames.take("out"), self.frames.take("err"), guest_secs)
        self.ended[n] = time.monotonic()
        self.pending.append((n, time.monotonic(), Event("result", label=self.label,
                                                        result=res)))

    def _settle(self, force=False):
        """Report pending module/test events whose console window is over."""
        settle = 5.0 if self.machine.emulator == "qemu" else 15.0
        keep = []
        for window, seen, ev in self.pending:
            if force or self.console.window > window or time.monotonic() - seen > settle:
                probs = self._problems(window)
                if ev.kind == "result":
                    ev.result.problems = probs
                else:
                    ev.problems = probs
                self.on_event(ev)
            else:
                keep.append((window, seen, ev))
        self.pending = keep

    def _problems(self, window):
        """Findings of a window, minus the emulator's known boot warnings
        (reported as notes: they happen on every boot, not because of us)."""
        found = self.console.findings.get(window, [])
        if window != BOOT:
            return found
        known = [f for f in found if self.machine.known_boot_issue(f.text)]
        for f in known:
            self._emit("note", text="known %s boot issue, ignored: %s"
                       % (self.machine.emulator, f.text))
        return [f for f in found if f not in known]

    # -- failures ---------------------------------------------------------

    def _check_failures(self):
        """Abort on kernel death, emulator exit or a timeout; True if so."""
        if self.console.fatal and self.fatal_at is None:
            self.fatal_at = time.monotonic()
        exited = self.proc.poll() is not None
        if self.fatal_at is not None and (exited or time.monotonic() - self.fatal_at > FATAL_GRACE):
            window, f = self.console.fatal
            self._finish_pending()
            self._abort("kernel", "kernel %s %s: %s" % (f.kind, self._where(window), f.text),
                        near=self._first_finding(window))
            return True
        if exited:
            self._finish_pending()
            if self.finished:           # DONE came, the guest powered off
                self._emit("done", boot_seconds=self.boot_seconds)
            else:
                self._abort("boot" if self.guest is None else "emulator",
                            "%s exited (status %s) before the tests were done%s"
                            % (self.machine.emulator, self.proc.returncode,
                               self._emulator_tail()))
            return True
        return self._check_timeouts()

    def _check_timeouts(self):
        now = self._elapsed()
        if self.guest is None and now > self.boot_timeout:
            self._finish_pending()
            self._abort("boot", "guest did not come up within %d s%s"
                        % (self.boot_timeout, self._emulator_tail()
                           if self.machine.emulator == "bochs" else ""))
            return True
        for n, t in self.started.items():
            if n in self.ended:
                continue
            late = time.monotonic() - t - self.tests[n - 1].timeout
            if self.sock and late > 0 and n not in self.killed:
                self.killed[n] = time.monotonic()
                self.sock.send("KILL %d\n" % n)
            if late > KILL_GRACE:
                self._finish_pending()
                self._abort("timeout", "test %s did not end within %d s of its time limit "
                            "(%d s); the guest does not respond"
                            % (self.tests[n - 1].name, KILL_GRACE, self.tests[n - 1].timeout))
                return True
        return False

    def _where(self, window):
        if window == BOOT:
            return "during boot"
        if window == MODULE:
            return "while loading the module"
        if window == AFTER:
            return "after the tests"
        return "during test %s" % self.tests[window - 1].name

    def _first_finding(self, window):
        found = self.console.findings.get(window)
        return found[0] if found else None

    def _finish_pending(self):
        self.console.poll(final=self.proc.poll() is not None)
        self._read_frames()
        self._settle(force=True)

    def _emulator_tail(self):
        """The end of the emulator's own output and, for Bochs, its log:
        where a boot hangs or why the emulator died."""
        out = ""
        for name, title in (("emulator.out", "%s output" % self.machine.emulator),
                            ("bochs.log", "bochs.log")):
            try:
                with open(os.path.join(self.wd, name), "rb") as f:
                    lines = f.read().decode("utf-8", "replace").splitlines()
            except OSError:
                continue
            lines = [l for l in lines if "TCG doesn't support requested feature" not in l
                     and "Ctrl-C detected" not in l]
            if lines:
                out += "\n%s (last lines):\n%s" % (title, "\n".join(lines[-8:]))
        return out

    def _cpu_state(self):
        """Registers and the next instructions of every vCPU, from QEMU's
        monitor (empty for Bochs or when the monitor does not answer): what
        a hung guest was doing."""
        path = os.path.join(self.wd or "", "monitor.sock")
        if not self.wd or not os.path.exists(path):
            return ""
        cmds = []
        for _ in range(3):      # three samples: a loop shows as several PCs
            cmds += ["info registers -a"]
            for cpu in range(self.machine.boot_cpus(self.smp)):
                cmds += ["cpu %d" % cpu, "x/6i $pc", "x/64gx $sp"]
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(path)
            s.sendall(("\n".join(cmds) + "\nquit\n").encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
        except OSError:
            return ""
        text = data.decode("utf-8", "replace")
        text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]|\r", "", text)
        with open(os.path.join(self.wd, "cpu-state.txt"), "w") as f:
            f.write(text)
        keep = [l for l in text.splitlines()
                if re.match(r"(CPU#|RIP=|RAX=|RSI=|R8 =|R12=|CS =|CR0=|0x[0-9a-f]+:)", l)]
        return "\nvCPU state (QEMU monitor):\n" + "\n".join(keep)

    def _abort(self, phase, reason, near=None):
        tail = self.console.tail_text(near) if hasattr(self, "console") else ""
        if phase == "timeout" and self.proc is not None and self.proc.poll() is None:
            tail += self._cpu_state()
        running = [n for n in self.started if n not in self.ended]
        self._emit("abort", phase=phase, reason=reason, log_tail=tail,
                   running=running[0] if running else None)
