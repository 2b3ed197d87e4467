"""The emulated machines: how to start each one with a kernel + initramfs.

Every machine puts the kernel console on its first serial port and the test
framing on its second, each into a file the host tails.
"""

import os
import re
import shutil
import subprocess

from . import pvh

MEMORY_MB = 512
# The debug kernels (tools/debug-kernel): KASAN's shadow takes an eighth of
# memory and kmemleak, lockdep and KFENCE more; basics' 256 MiB touch was
# OOM-killed in 512 MB on 6.12-debug.
DEBUG_MEMORY_MB = 1024


def is_debug(series):
    """A debug kernel series (tools/debug-kernel): 6.1-debug, 6.12-debug."""
    return series.endswith("-debug")


def memory_mb(series):
    """Guest memory for a kernel series ("6.1", "6.12-debug", ...);
    DUNE_VM_MEMORY_MB overrides."""
    if os.environ.get("DUNE_VM_MEMORY_MB"):
        return int(os.environ["DUNE_VM_MEMORY_MB"])
    return DEBUG_MEMORY_MB if is_debug(series) else MEMORY_MB

ISOLINUX_BIN = os.environ.get("DUNE_VM_ISOLINUX", "/usr/lib/ISOLINUX/isolinux.bin")
SYSLINUX_MODULES = os.environ.get("DUNE_VM_SYSLINUX_MODULES", "/usr/lib/syslinux/modules/bios")
BOCHS_BIOS = os.environ.get("DUNE_VM_BOCHS_BIOS", "/usr/share/bochs/BIOS-bochs-latest")
BOCHS_VGABIOS = os.environ.get("DUNE_VM_VGABIOS", "/usr/share/vgabios/vgabios.bin")
# Bochs counts time in executed instructions: one emulated second is `ips`
# instructions.  Measured on the 6.1 boot, see README.md.
BOCHS_IPS = int(os.environ.get("DUNE_VM_BOCHS_IPS", "50000000"))
# Bochs's TSC and local-APIC timer count one per instruction whatever `ips`
# is, while its PIT and HPET count `ips`-based time, and Linux believes
# CPUID's 3.5 GHz TSC and 24 MHz crystal (corei7_skylake_x).  So the APIC
# timer fires about seven times as often as HZ asks: a production kernel
# (HZ=250) took about 1770 ticks a second per CPU (tests/vm/README.md,
# "Timer ticks on Bochs"), each a VM exit when a Dune guest runs, which
# real hardware does not do.  A debug kernel (HZ=1000, lockdep, KASAN) does
# not even boot: its APIC timer fires every ~24k instructions, each tick
# costs about as much, and the boot never gets past the timer setup.  So
# every kernel on Bochs takes its ticks from the HPET (nolapic_timer, HZ
# ticks of `ips` time; the other CPUs get them as broadcast IPIs), and the
# debug kernels at an `ips` that spaces them 500k instructions apart (at
# the default 50M a tick every 50k instructions stalled the boot in the
# IO-APIC timer check).  Not more: tests that run for a fixed guest time
# (ioctl-fuzz's load, stress) cost `ips` instructions per second
# (ioctl-fuzz: 239 s at 500M, over 900 s at 3.5G).
BOCHS_DEBUG_IPS = 500000000
BOCHS_TIMER_ARGS = "nolapic_timer"


def bochs_ips(series):
    """Bochs's `ips` for a kernel series; DUNE_VM_BOCHS_IPS overrides."""
    if os.environ.get("DUNE_VM_BOCHS_IPS"):
        return BOCHS_IPS
    return BOCHS_DEBUG_IPS if is_debug(series) else BOCHS_IPS


def tcg_threads():
    """QEMU's TCG: "single" (default: one host thread runs every vCPU in
    turn) or "multi" (DUNE_VM_TCG=multi: a host thread per vCPU, truly
    parallel).  Multi-threaded TCG in QEMU 7.2 has two defects that kill
    the machine now and then, neither of them dune's: the CPU 0 SVM-state
    race (Machine.spare_cpu0), and stale code after the kernel patches its
    own text (static keys and calls: module loads, the scheduler's
    preempt-notifier key at dune's first vCPU).  A CPU ran the patch's
    temporary int3 after the patch was done ("Oops: int3" in
    finish_task_switch, the site already holding the new jump) in 1 of 4
    amd/6.12 boots of bench-quick.sh with its KVM phase (module loads,
    KVM's VM, dune again); the amd/6.12 column a CI run lost at compat.sh,
    right after kvm-busy.sh's module loads, and the amd/6.1 column an
    earlier one lost in enter fit the same cause.  Single-threaded TCG
    cannot race: one vCPU runs at a time (Bochs does the same, with finer
    turns).  The amd suite takes about 25% longer."""
    return os.environ.get("DUNE_VM_TCG", "single")


class Machine:
    """Static facts about one machine type."""

    def __init__(self, name, emulator, cpu, default_timeout, boot_timeout,
                 spare_cpu0=False, expect="run", why=None, skip_tests=None,
                 expect_on=None, kernel_args=""):
        self.name = name
        # Extra guest kernel arguments this model needs to work around an
        # emulator defect (the reason beside the model).
        self.kernel_args = kernel_args
        # What the CPU-model matrix (tests/vm/cpu-matrix) expects of dune on
        # this model: "run" (the core tests pass), "refuse" (insmod fails
        # with EOPNOTSUPP and one line naming the missing feature) or
        # "no-boot" (the emulated machine cannot boot the guest kernel at
        # all, an emulator limit); `why` says what makes the model unfit.
        self.expect = expect
        self.why = why
        # Per kernel series where it differs, e.g. {"6.1": "no-boot"}.
        self.expect_on = expect_on or {}
        # Core tests the matrix leaves out on this model, each with the
        # emulator defect that makes it meaningless there ({name: reason}).
        self.skip_tests = skip_tests or {}
        self.emulator = emulator        # "qemu" or "bochs"
        self.cpu = cpu
        self.default_timeout = default_timeout
        self.boot_timeout = boot_timeout
        # Bochs's clock counts instructions and runs 5-20 times slower than
        # the host's: there the host times the tests and stops them over a
        # socket on COM2.  QEMU's guest clock follows the host's.
        self.host_timed = emulator == "bochs"
        # QEMU's multi-threaded TCG (7.2 and later) can undo SVM state
        # changes of its first vCPU while another vCPU runs FXRSTOR/XRSTOR:
        # cpu_clear_ignne() rewrites first_cpu's hflags2 from any vCPU
        # thread without synchronization.  A #VMEXIT on CPU 0 then leaves
        # nested paging on and the guest's VMCB gets the host's state
        # (docs/threat-model.md).  On such a machine the tests run on CPUs
        # 1..n; CPU 0 is an extra CPU kept for the kernel.
        # DUNE_VM_USE_CPU0=1 (an emulator without the defect) turns it off.
        # Single-threaded TCG (the default, tcg_threads()) has no such race.
        self.spare_cpu0 = (spare_cpu0 and os.environ.get("DUNE_VM_USE_CPU0") != "1"
                           and tcg_threads() == "multi")

    def boot_cpus(self, smp):
        """CPUs to boot for `smp` CPUs available to the tests."""
        return smp + 1 if self.spare_cpu0 else smp

    def test_cpus(self, smp):
        """The tests' CPU list for taskset -c, or "" for all CPUs."""
        return "1-%d" % smp if self.spare_cpu0 else ""

    def known_boot_issue(self, text):
        """Is this boot-time kernel report an emulator artifact?"""
        return any(re.search(rx, text) for rx in KNOWN_BOOT_ISSUES.get(self.emulator, ()))

    def describe(self, smp):
        text = "%s %s, %d CPU%s" % (self.emulator, self.cpu, smp, "" if smp == 1 else "s")
        if self.spare_cpu0:
            text += " + CPU 0 kept from the tests"
        return text


# Kernel reports every boot of an emulator produces, whatever we load.
KNOWN_BOOT_ISSUES = {
    # Bochs 2.7's CPUID leaf 0xD sizes disagree with what XSAVE writes;
    # Linux warns ("XSAVE consistency problem") and runs without XSAVE.
    "bochs": [r"^WARNING: CPU: \d+ PID: 0 at arch/x86/kernel/fpu/xstate\.c:\d+ "
              r"fpu__init_system_xstate",
              # 6.12: CPUID leaf 1/4 core counts that do not add up.
              r"^WARNING: CPU: \d+ PID: 0 at arch/x86/kernel/cpu/topology_common\.c:\d+ "
              r"parse_legacy"],
}

# A test's limit on Bochs, in host seconds.  The slowest test,
# sandbox.sh, took 695-770 s on the intel machine with two Bochs sharing
# two host cores (2026-12-08), 685 s on 6.1-debug: 900 s left too little
# room on a busier host.  Only a hung test waits this long.
BOCHS_TEST_TIMEOUT = 1200

MACHINES = {
    # The two machines of the default suite.
    "amd": Machine("amd", "qemu", "EPYC,+svm,+npt", 300, 180, spare_cpu0=True),
    "intel": Machine("intel", "bochs", "corei7_skylake_x", BOCHS_TEST_TIMEOUT, 600),
}


def _model(name, emulator, cpu, **kw):
    # A model known not to boot is still tried, with a shorter boot limit
    # (Skylake's boot takes about 60 s on an idle host).
    boot = 300 if kw.get("expect") == "no-boot" else 600
    if "no-boot" in kw.get("expect_on", {}).values():
        boot = 400
    if emulator == "qemu":
        MACHINES[name] = Machine(name, emulator, cpu, 300, 180, spare_cpu0=True, **kw)
    else:
        MACHINES[name] = Machine(name, emulator, cpu, BOCHS_TEST_TIMEOUT, boot, **kw)


_BOCHS_LSM_HANG = ("Debian's kernel stops after 'LSM: Security Framework initializing' "
                   "on this Bochs 2.7 model (before any module loads)")


# The CPU-model matrix (make check-cpus, tests/vm/README.md), old to new.
# Intel, Bochs 2.7.
_model("intel-penryn", "bochs", "core2_penryn_t9600", expect="refuse",
       why="VT-x without EPT")
_model("intel-arrandale", "bochs", "corei5_arrandale_m520")
_model("intel-sandybridge", "bochs", "corei7_sandy_bridge_2600k")
_model("intel-haswell", "bochs", "corei7_haswell_4770")
_model("intel-broadwell", "bochs", "broadwell_ult")
_model("intel-skylake", "bochs", "corei7_skylake_x")
# idle=halt: on the models with MONITOR/MWAIT that Linux uses for idle
# (Ice Lake, Tiger Lake), Bochs 2.7 does not always wake a CPU idle in
# MWAIT.  Tiger Lake: an idle, module-free guest's clock froze at 9.06 s and
# RCU stalled; with idle=halt the same 500 s idle script ran to the end.
# Ice Lake, 6.12 (2026-12-06): a soft lockup at boot, CPU 1 waiting in
# smp_call_function_many for CPU 0's answer to a text-poke IPI.
_model("intel-icelake", "bochs", "corei7_icelake_u", expect_on={"6.1": "no-boot"},
       why="6.1: " + _BOCHS_LSM_HANG + "; 6.12 boots",
       kernel_args="idle=halt")
_model("intel-tigerlake", "bochs", "tigerlake", expect_on={"6.1": "no-boot"},
       why="6.1: " + _BOCHS_LSM_HANG + "; 6.12 boots (with kernel IBT)",
       kernel_args="idle=halt")
# AMD, Bochs 2.7: a second SVM implementation beside QEMU's.
_model("amd-phenom", "bochs", "phenom_8650_toliman", expect="no-boot",
       why="Bochs 2.7's phenom model raises #UD on POPCNT in the kernel's "
       "__bitmap_weight early in boot, before any module loads")
# Bochs 2.7's SVM: a triple fault in the guest panics the emulator (its
# exception() never checks the SHUTDOWN intercept), and libdune's
# signal-during-ring-3 case hangs with an RCU stall (not explained yet; see
# tests/vm/README.md), and a V_IRQ survives #VMEXIT into the next VMRUN (ipi),
# so the three tests are left out there.
_BOCHS_SVM_SKIPS = {
    "hostile-cpu": "Bochs 2.7 SVM: a guest triple fault panics the emulator "
                   "instead of #VMEXIT(SHUTDOWN) (cpu/exception.cc)",
    "libdune": "its SIGALRM-during-ring-3 case never ends on Bochs SVM: the vCPU's "
               "CPU takes no timer ticks while the guest loops (RCU stall) until an "
               "NMI; QEMU SVM and Bochs VMX pass it; not yet explained",
    "ipi": "Bochs 2.7 SVM keeps a virtual interrupt (V_IRQ) the guest did not take "
           "pending across #VMEXIT (Svm_Vmexit masks the event, never clears it) and "
           "delivers it in the next VMRUN of any VMCB, with that VMCB's INT_VECTOR",
}
_model("amd-zambezi", "bochs", "zambezi", skip_tests=_BOCHS_SVM_SKIPS)
_model("amd-trinity", "bochs", "trinity_apu", skip_tests=_BOCHS_SVM_SKIPS)
_model("amd-ryzen", "bochs", "ryzen", expect="no-boot",
       why="Bochs 2.7's ryzen model stops right after pvhboot enters the kernel "
       "(no console output; last Bochs message: an APIC base read)",
       skip_tests=_BOCHS_SVM_SKIPS)
# AMD, QEMU.
_model("amd-epyc", "qemu", "EPYC,+svm,+npt")
_model("amd-rome", "qemu", "EPYC-Rome,+svm,+npt")
_model("amd-milan", "qemu", "EPYC-Milan,+svm,+npt")
_model("amd-nonpt", "qemu", "EPYC,+svm,-npt", expect="refuse",
       why="AMD-V without nested paging")

# Old name of amd-ryzen.
MACHINES["amd-bochs"] = MACHINES["amd-ryzen"]


def kernel_cmdline(machine, extra="", series=""):
    """console on ttyS0; panic=-1 reboots at once, which ends QEMU
    (-no-reboot) and is caught by the log scanner on Bochs."""
    # printk.devkmsg=on: tests mark their progress through /dev/kmsg, which
    # is otherwise rate limited to 10 lines per 5 s.
    args = ["console=ttyS0,115200", "panic=-1", "rdinit=/init", "printk.devkmsg=on"]
    if machine.emulator == "bochs":
        # Every console byte costs emulated UART time in Bochs; the boot's
        # KERN_INFO chatter is left out (warnings and worse still print,
        # and /init raises the level again for the tests).
        args.append("loglevel=%s" % os.environ.get("DUNE_VM_BOCHS_LOGLEVEL", "5"))
        # Once 6.x switches to the TSC clocksource in Bochs 2.7 (about 6.5
        # guest seconds after boot), timers stop waking an idle machine: a
        # plain, dune-free nanosleep() loop stops after its first tick and
        # runs again only when a host interrupt (COM2) arrives.  With the
        # HPET as clocksource sleeps work.
        args.append("clocksource=hpet")
        # DUNE_VM_BOCHS_TIMER=apic: Bochs's APIC timer as before (to
        # compare with measurements made with it); not for debug kernels.
        if os.environ.get("DUNE_VM_BOCHS_TIMER") != "apic" or is_debug(series):
            args.append(BOCHS_TIMER_ARGS)
    args += machine.kernel_args.split()
    args += extra.split()
    return " ".join(args)


def qemu_command(machine, wd, vmlinuz, initrd, append, smp, memory=MEMORY_MB):
    qemu = os.environ.get("DUNE_VM_QEMU", "qemu-system-x86_64")
    accel = "tcg,thread=%s" % tcg_threads()
    cmd = [qemu, "-accel", accel, "-cpu", machine.cpu, "-smp", str(machine.boot_cpus(smp)),
           "-m", str(memory), "-nodefaults", "-display", "none",
           "-no-reboot",
           # A monitor socket: on a hang the runner asks it where the CPUs are.
           "-monitor", "unix:%s,server,nowait" % os.path.join(wd, "monitor.sock"),
           "-kernel", vmlinuz, "-initrd", initrd, "-append", append,
           "-serial", "file:" + os.path.join(wd, "console.log"),
           "-serial", "file:" + os.path.join(wd, "frames.log")]
    cmd += os.environ.get("DUNE_VM_QEMU_ARGS", "").split()
    return cmd


def _boot_files(wd, vmlinuz, append, note):
    """(isolinux.cfg text, extra ISO files) for booting vmlinuz in Bochs:
    through pvhboot (see pvh.py) unless DUNE_VM_BOCHS_BOOT=bzimage or the
    kernel cannot be unpacked on the host."""
    if os.environ.get("DUNE_VM_BOCHS_BOOT", "pvh") == "pvh":
        try:
            image = os.path.join(wd, "kernel.dpvh")
            with open(image, "wb") as f:
                f.write(pvh.dpvh_image(vmlinuz, append))
            shim = pvh.build_shim(os.path.join(wd, "pvhboot.elf"))
            cfg = "  KERNEL mboot.c32\n  APPEND /pvhboot.elf --- /kernel.dpvh --- /initrd.gz\n"
            mods = [os.path.join(SYSLINUX_MODULES, m) for m in ("mboot.c32", "libcom32.c32")]
            return cfg, ["pvhboot.elf=" + shim, "kernel.dpvh=" + image], mods
        except (pvh.Unsupported, OSError) as e:
            note("PVH boot not possible (%s); booting the bzImage (slow)" % e)
    cfg = "  KERNEL /vmlinuz\n  INITRD /initrd.gz\n  APPEND %s\n" % append
    return cfg, ["vmlinuz=" + vmlinuz], []


def make_iso(wd, vmlinuz, initrd, append, note):
    """Bochs cannot load a kernel directly: boot it from an isolinux CD."""
    tree = os.path.join(wd, "iso")
    os.makedirs(os.path.join(tree, "isolinux"), exist_ok=True)
    cfg, grafts, modules = _boot_files(wd, vmlinuz, append, note)
    # Copies: xorriso patches the boot-info table into isolinux.bin.
    for path in [ISOLINUX_BIN, os.path.join(SYSLINUX_MODULES, "ldlinux.c32")] + modules:
        shutil.copy(path, os.path.join(tree, "isolinux"))
    with open(os.path.join(tree, "isolinux", "isolinux.cfg"), "w") as f:
        f.write("DEFAULT dune\nPROMPT 0\nTIMEOUT 0\nLABEL dune\n" + cfg)
    iso = os.path.join(wd, "boot.iso")
    cmd = ["xorriso", "-as", "mkisofs", "-quiet", "-o", iso,
           "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
           "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
           "-graft-points", "isolinux/=" + os.path.join(tree, "isolinux"),
           "initrd.gz=" + initrd] + grafts
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError("xorriso failed: " + res.stderr.strip()[-500:])
    return iso


def bochs_config(machine, wd, iso, smp, frames_port=None, memory=MEMORY_MB,
                 ips=BOCHS_IPS):
    """A bochsrc: no GUI (rfb that never waits for a viewer), COM1 to a
    file, COM2 to a file or (frames_port) a TCP connection to the host, the
    CD as boot device."""
    if frames_port:
        com2 = "com2: enabled=1, mode=socket-client, dev=localhost:%d" % frames_port
    else:
        com2 = "com2: enabled=1, mode=file, dev=%s" % os.path.join(wd, "frames.log")
    return "\n".join([
        "megs: %d" % memory,
        "cpu: model=%s, count=%d, ips=%d, reset_on_triple_fault=0"
        % (machine.cpu, smp, ips),
        "romimage: file=%s" % BOCHS_BIOS,
        "vgaromimage: file=%s" % BOCHS_VGABIOS,
        "pci: enabled=1, chipset=i440fx",
        "ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14",
        "ata0-master: type=cdrom, path=%s, status=inserted" % iso,
        "boot: cdrom",
        "clock: sync=none, time0=local",
        "com1: enabled=1, mode=file, dev=%s" % os.path.join(wd, "console.log"),
        com2,
        # rfb binds the first free port in 5900-5949, so several Bochs can
        # run at once; timeout=0: do not wait for a VNC client.
        'display_library: rfb, options="timeout=0"',
        # Without a sound card on the host, the default ALSA output makes
        # Debian's Bochs 2.7 abort ("buffer overflow detected").
        "speaker: enabled=0",
        "sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy",
        "log: %s" % os.path.join(wd, "bochs.log"),
        "panic: action=fatal",
        "error: action=report",
        "info: action=report",
        "debug: action=ignore",
        "",
    ])


def bochs_command(machine, wd, vmlinuz, initrd, append, smp, note, frames_port,
                  memory=MEMORY_MB, ips=BOCHS_IPS):
    iso = make_iso(wd, vmlinuz, initrd, append, note)
    rc = os.path.join(wd, "bochsrc")
    with open(rc, "w") as f:
        f.write(bochs_config(machine, wd, iso, smp, frames_port, memory, ips))
    # The Debian build has the debugger compiled in, which stops before the
    # first instruction; "c" (continue) from a command file starts the run.
    cmds = os.path.join(wd, "bochs.cmds")
    with open(cmds, "w") as f:
        f.write("c\n")
    bochs = os.environ.get("DUNE_VM_BOCHS", "bochs")
    return [bochs, "-q", "-f", rc, "-rc", cmds]


def command(machine, wd, vmlinuz, initrd, append, smp, note=lambda text: None,
            frames_port=None, memory=MEMORY_MB, series=""):
    """The argv that starts `machine` with `memory` MB for a kernel of
    `series`; files it needs are written to wd.  note(text) reports a
    degraded setup; frames_port: see bochs_config."""
    if machine.emulator == "qemu":
        return qemu_command(machine, wd, vmlinuz, initrd, append, smp, memory)
    return bochs_command(machine, wd, vmlinuz, initrd, append, smp, note, frames_port,
                         memory, bochs_ips(series))
