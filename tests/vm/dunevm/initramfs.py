"""Build the guest initramfs: busybox, our /init, the module, the tests.

The cpio archive is written here rather than with cpio(1) so that every
entry is owned by root and /dev/console exists (the kernel opens it for
init's stdio before /init can mount devtmpfs) without needing root on the
host.
"""

import gzip
import os
import shlex
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
GUEST_INIT = os.path.join(HERE, "guest-init.sh")
BUSYBOX = os.environ.get("DUNE_VM_BUSYBOX", "/bin/busybox")
GUEST_WORKDIR = "/test"
GUEST_MODULE = "/dune/dune.ko"


class Test:
    """One program to run in the guest: argv[0] is a host path."""

    def __init__(self, name, host_prog, args, timeout):
        self.name = name
        self.host_prog = host_prog
        self.args = list(args)
        self.timeout = int(timeout)

    @property
    def guest_name(self):
        return os.path.basename(self.host_prog)


class Cpio:
    """Minimal writer for the "newc" format the kernel unpacks."""

    def __init__(self):
        self.chunks = []
        self.ino = 1000
        self.names = set()

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name = name.lstrip("/")
        if name in self.names:
            raise ValueError("duplicate initramfs entry: /" + name)
        self.names.add(name)
        self.ino += 1
        nb = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0,
                  rdev[0], rdev[1], len(nb), 0]
        hdr = b"070701" + b"".join(b"%08x" % f for f in fields)
        self.chunks.append(hdr + nb + b"\0" * (-(len(hdr) + len(nb)) % 4))
        self.chunks.append(data + b"\0" * (-len(data) % 4))

    def dir(self, name):
        self._entry(name, 0o040755)

    def file(self, name, data, mode=0o644):
        self._entry(name, 0o100000 | mode, data)

    def symlink(self, name, target):
        self._entry(name, 0o120777, target.encode())

    def chardev(self, name, major, minor):
        self._entry(name, 0o020600, rdev=(major, minor))

    def bytes(self):
        trailer = Cpio()
        trailer.ino = 0
        trailer._entry("TRAILER!!!", 0)
        return b"".join(self.chunks + trailer.chunks)


def _busybox(cp):
    """busybox plus one symlink per applet, in the usual directories."""
    for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin"):
        cp.dir(d)
    with open(BUSYBOX, "rb") as f:
        cp.file("bin/busybox", f.read(), 0o755)
    applets = subprocess.run([BUSYBOX, "--list-full"], check=True,
                             capture_output=True, text=True).stdout.split()
    for path in applets:
        if path.strip("/") != "bin/busybox":
            cp.symlink(path, "/bin/busybox")


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _tests(cp, tests, guest_timeouts):
    cp.dir("dune/tests")
    for n, t in enumerate(tests, 1):
        d = "dune/tests/%d" % n
        cp.dir(d)
        cp.file(d + "/name", (t.name + "\n").encode())
        cp.file(d + "/timeout", b"%d\n" % (t.timeout if guest_timeouts else 0))
        argv = ["./" + t.guest_name] + t.args
        cp.file(d + "/cmd", ("exec %s\n" % " ".join(map(shlex.quote, argv))).encode())


def _workdir(cp, tests, files):
    """Programs (executable) and data files, by base name, in /test."""
    cp.dir(GUEST_WORKDIR)
    placed = {}
    entries = [(t.host_prog, 0o755) for t in tests]
    entries += [(f, None) for f in files]
    for path, mode in entries:
        base = os.path.basename(path)
        real = os.path.realpath(path)
        if base in placed:
            if placed[base] != real:
                raise ValueError("two different files named %s for the guest: %s, %s"
                                 % (base, placed[base], real))
            continue
        placed[base] = real
        if mode is None:
            mode = os.stat(real).st_mode & 0o777
        cp.file(GUEST_WORKDIR + "/" + base, _read(real), mode)


def build(out_path, tests, files=(), module=None, console_level=7, compress=True,
          guest_timeouts=True, test_cpus=""):
    """Write the initramfs for one boot to out_path.  guest_timeouts=False:
    the guest does not time tests itself (the host sends KILL)."""
    cp = Cpio()
    for d in ("dev", "proc", "sys", "tmp", "root", "etc", "dune"):
        cp.dir(d)
    cp.chardev("dev/console", 5, 1)
    cp.chardev("dev/null", 1, 3)
    cp.chardev("dev/ttyS1", 4, 65)
    _busybox(cp)
    cp.file("init", _read(GUEST_INIT), 0o755)
    cp.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    cp.file("etc/group", b"root:x:0:\n")
    config = "DUNE_MODULE=%s\nDUNE_CONSOLE_LEVEL=%d\nDUNE_TEST_CPUS=%s\n" % (
        GUEST_MODULE if module else "", console_level, test_cpus)
    cp.file("dune/config", config.encode())
    if module:
        cp.file(GUEST_MODULE, _read(module))
    _tests(cp, tests, guest_timeouts)
    _workdir(cp, tests, files)
    data = cp.bytes()
    if compress:
        data = gzip.compress(data, compresslevel=6, mtime=0)
    with open(out_path, "wb") as f:
        f.write(data)
    return out_path
