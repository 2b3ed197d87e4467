"""Find kernel problems (oops, BUG, WARN, panic, lockups, RCU stalls) in a
guest kernel console log.

The scanner works line by line so that tests/vm/run can feed it the serial
console while the emulator is still running, and tests/vm/logscan can run it
over a finished log.  Patterns are anchored on the exact wording the kernel
uses (lib/bug.c, kernel/panic.c, arch/x86/kernel/dumpstack.c, ...), because
boot logs are full of harmless lines that merely contain "BUG", "WARNING" or
"fault" (CPU vulnerability notes, firmware complaints, user segfaults, the
out-of-tree taint message).
"""

import re

# Lines our guest init writes into the kernel log (via /dev/kmsg) to delimit
# tests.  They carry test names, which may contain any word, so they are
# never scanned.
MARKER = "dune-vm: "

# "[   12.345678] " timestamp, optional "[T123]"/"[C1]" caller id, "<4>" level.
_PREFIX = re.compile(r"^(<\d+>)?(\s*\[\s*\d+\.\d+\])?(\s*\[\s*[TC]\d+\])?\s?")


class Finding:
    """One problem: where it is, what kind, whether the kernel is now broken."""

    def __init__(self, lineno, kind, fatal, text):
        self.lineno = lineno
        self.kind = kind
        self.fatal = fatal
        self.text = text

    def __repr__(self):
        return "Finding(%d, %r, %r, %r)" % (self.lineno, self.kind, self.fatal, self.text)

    def describe(self):
        return "%s: %s" % (self.kind, self.text)


# (kind, fatal, regex) tried in order; the first match wins.  "fatal" means
# the kernel state can no longer be trusted (the host stops the machine);
# the others fail the test that was running and let the next one start.
_RULES = [
    ("panic", True, r"Kernel panic - not syncing"),
    # die() banner: "Oops: 0002 [#1] ...", "general protection fault, ...: 0000
    # [#1]", "invalid opcode: 0000 [#1]", 6.12's "Oops: invalid opcode: ...".
    # A user-mode GP ("traps: prog[1] general protection fault ip:...") has no
    # "[#n]" and is not a kernel problem.
    ("oops", True, r": [0-9a-f]{4} \[#\d+\]"),
    ("bug", True, r"kernel BUG at \S+"),
    ("bug", True, r"(^|: )BUG: (unable to handle|kernel NULL pointer dereference)"),
    ("lockup", False, r"(^|: )BUG: soft lockup"),
    ("lockup", False, r"Watchdog detected hard LOCKUP"),
    ("bug", False, r"(^|: )BUG: "),
    ("warning", False, r"^WARNING: CPU: \d+ PID: \d+ at "),
    ("warning", False, r"^WARNING: at "),
    ("rcu-stall", False, r"(^|: )INFO: .*detected stalls? on CPU"),
    ("rcu-stall", False, r"\bself-detected stall on CPU"),
    ("rcu-stall", False, r"(^|: )INFO: rcu_\w+ detected stalls"),
    ("hung-task", False, r"(^|: )INFO: task .* blocked for more than \d+ seconds"),
    ("ubsan", False, r"(^|: )UBSAN: "),
    # Debug kernels (tools/debug-kernel).  KASAN, KFENCE and the atomic-sleep
    # check say "BUG: ..." (above); lockdep's reports are WARNING banners
    # without "CPU:"; kmemleak reports after the scan /init runs per test.
    ("lockdep", False, r"^WARNING: (possible (circular|recursive|irq)|inconsistent lock state"
                       r"|suspicious RCU usage|bad unlock balance|held lock freed"
                       r"|lock held when returning|nested lock was not taken"
                       r"|[A-Z]+-safe -> [A-Z]+-unsafe lock order)"),
    ("kmemleak", False, r"(^|: )kmemleak: \d+ new suspected memory leaks?"),
    ("debug-objects", False, r"(^|: )ODEBUG: "),
    ("msr", False, r"^unchecked MSR access error: "),
    ("bad-page", False, r"^Bad page (state|map) in process "),
]
_COMPILED = [(k, f, re.compile(r)) for k, f, r in _RULES]

# Opens every WARN and BUG report.  The next lines say which; if none of them
# does (a truncated log), the cut line is reported on its own.
_CUT = re.compile(r"^-+\[ cut here \]-+$")
# A WARN_ONCE message may take a few lines between the two.
_CUT_LOOKAHEAD = 10


def message(line):
    """The printk text of a console line: no CR, timestamp or caller id."""
    return _PREFIX.sub("", line.rstrip("\r\n").replace("\r", ""), count=1)


def classify(msg):
    """(kind, fatal) of one printk message, or None if it is harmless."""
    if msg.startswith(MARKER):
        return None
    for kind, fatal, rx in _COMPILED:
        if rx.search(msg):
            return kind, fatal
    return None


class Scanner:
    """Incremental scanner: feed() lines in order, then flush() at the end."""

    def __init__(self):
        self.lineno = 0
        self._cut = None        # pending "cut here" Finding
        self._cut_age = 0

    def feed(self, line):
        """Scan one line; return the list of Findings it completes."""
        self.lineno += 1
        msg = message(line)
        out = []
        hit = classify(msg)
        if hit:
            self._cut = None    # the report explains itself better
            out.append(Finding(self.lineno, hit[0], hit[1], msg))
        elif _CUT.match(msg):
            out.extend(self.flush())
            self._cut = Finding(self.lineno, "warning", False, msg)
            self._cut_age = 0
        elif self._cut is not None:
            self._cut_age += 1
            if self._cut_age >= _CUT_LOOKAHEAD:
                out.extend(self.flush())
        return out

    def flush(self):
        """Findings still held back (a "cut here" with no explanation)."""
        cut, self._cut = self._cut, None
        return [cut] if cut else []


def scan_lines(lines):
    """All Findings in an iterable of lines."""
    sc = Scanner()
    found = []
    for line in lines:
        found.extend(sc.feed(line))
    found.extend(sc.flush())
    return found


def scan_text(text):
    return scan_lines(text.splitlines())
