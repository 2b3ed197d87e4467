"""Helpers shared by tests/vm/run and tests/vm/conformance."""

import os
import signal
import sys

from . import session


def split_command(argv):
    """(options, command) around the first "--"; without one, the command
    starts at the first argument that is not an option."""
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    for i, a in enumerate(argv):
        if not a.startswith("-"):
            return argv[:i], argv[i:]
    return argv, []


def module_for(kernel, option, no_module):
    """Path of the dune.ko to load on `kernel` (a session.KernelInfo), or
    None.  --module beats $DUNE_KO beats building it with tools/kmod-build;
    "{series}" / "{release}" in a given path are filled in, so one option
    can name modules for several kernels."""
    if no_module:
        return None
    given = option or os.environ.get("DUNE_KO")
    if given:
        path = given.replace("{series}", kernel.series).replace("{release}", kernel.release)
        if not os.path.isfile(path):
            raise RuntimeError("module %s does not exist" % path)
        return os.path.abspath(path)
    return session.build_module(kernel.series)


def check_program(path):
    if not os.path.isfile(path):
        raise RuntimeError("%s: no such file" % path)
    return os.path.abspath(path)


def fmt_seconds(s):
    return "%.1f s" % s if s < 100 else "%.0f s" % s


def ready_text(ev):
    """"up after 5.2 s (6.1.0-56-amd64, 2 CPUs, npt,svm; 4.9 s CPU)" for a
    session "ready" event; Bochs adds when pvhboot entered the kernel."""
    cpus = "%s CPU%s" % (ev.cpus, "" if ev.cpus == "1" else "s")
    extra = ""
    if ev.loader_seconds is not None:
        extra += "; kernel entered after %s" % fmt_seconds(ev.loader_seconds)
    if ev.cpu_seconds is not None:
        extra += "; %s CPU" % fmt_seconds(ev.cpu_seconds)
    return "up after %s (%s, %s, %s%s)" % (fmt_seconds(ev.seconds), ev.release, cpus,
                                          ev.features or "no vmx/svm", extra)


class Printer:
    """Line output shared by threads (machines run concurrently)."""

    def __init__(self, stream=None):
        import threading
        self.lock = threading.Lock()
        self.stream = stream or sys.stderr

    def __call__(self, text):
        with self.lock:
            self.stream.write(text + "\n")
            self.stream.flush()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def handle_termination():
    """SIGTERM/SIGHUP (e.g. from timeout(1)) unwind like Ctrl-C, so that the
    emulators, which run in sessions of their own, are still killed."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
