"""Boot a Debian kernel in Bochs without its built-in decompressor.

Bochs spends minutes running the XZ decompressor of a 6.1 bzImage.  Here
the host unpacks the kernel instead (Python's lzma, or zstd(1) for 6.12),
lays its ELF segments out as one memory image and prepends a header; the
small multiboot program pvhboot/pvhboot.c (built here with gcc -m32) puts it
in place and enters the kernel through its PVH entry point.  syslinux's
mboot.c32 loads both from the boot CD.
"""

import lzma
import os
import struct
import subprocess
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM_SRC = os.path.join(HERE, "pvhboot", "pvhboot.c")
SHIM_LDS = os.path.join(HERE, "pvhboot", "pvhboot.ld")
DPVH_MAGIC = b"DPVH"
XEN_ELFNOTE_PHYS32_ENTRY = 18
PAGE = 4096


class Unsupported(Exception):
    """This kernel cannot be booted this way (the caller falls back)."""


def payload(bzimage):
    """The compressed vmlinux inside a bzImage (boot protocol >= 2.08)."""
    if bzimage[0x202:0x206] != b"HdrS" or struct.unpack_from("<H", bzimage, 0x206)[0] < 0x208:
        raise Unsupported("not a bzImage with boot protocol 2.08+")
    setup_sects = bzimage[0x1f1] or 4
    offset, length = struct.unpack_from("<II", bzimage, 0x248)
    start = (setup_sects + 1) * 512 + offset
    # The build appends the uncompressed size (4 bytes) to the stream.
    return bzimage[start:start + length - 4]


def decompress(data):
    if data.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        try:
            res = subprocess.run(["zstd", "-d", "-c", "-q"], input=data, capture_output=True)
        except FileNotFoundError:
            raise Unsupported("zstd(1) is not installed")
        if res.returncode != 0:
            raise Unsupported("zstd failed: " + res.stderr.decode(errors="replace").strip())
        return res.stdout
    if data.startswith(b"\x1f\x8b"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    raise Unsupported("kernel compression not handled (magic %s)" % data[:4].hex())


def _segments(elf):
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        raise Unsupported("payload is not a 64-bit ELF")
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        yield struct.unpack_from("<IIQQQQQQ", elf, phoff + i * phentsize)


def _pvh_entry(elf, notes):
    """The physical entry address from the XEN_ELFNOTE_PHYS32_ENTRY note."""
    for off, size in notes:
        p = off
        while p + 12 <= off + size:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, p)
            name = elf[p + 12:p + 12 + namesz].rstrip(b"\0")
            desc = p + 12 + (namesz + 3) // 4 * 4
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                return struct.unpack_from("<I", elf, desc)[0]
            p = desc + (descsz + 3) // 4 * 4
    raise Unsupported("kernel has no PVH entry point (CONFIG_PVH off?)")


def dpvh_image(vmlinuz, cmdline):
    """Header page + the kernel's physical memory image, as bytes."""
    with open(vmlinuz, "rb") as f:
        elf = decompress(payload(f.read()))
    loads, notes = [], []
    for ptype, _flags, off, _vaddr, paddr, filesz, memsz, _align in _segments(elf):
        if ptype == 1:
            loads.append((paddr, off, filesz, memsz))
        elif ptype == 4:
            notes.append((off, filesz))
    if not loads:
        raise Unsupported("kernel ELF has no loadable segments")
    base = min(p for p, _, _, _ in loads)
    memsz = max(p + ms for p, _, _, ms in loads) - base
    image = bytearray(memsz)
    for paddr, off, fs, _ in loads:
        image[paddr - base:paddr - base + fs] = elf[off:off + fs]
    # Trailing zeros (.bss, .brk: a third of 6.1's image) are not loaded
    # from the CD; pvhboot clears them.  Whole pages keep the copy aligned.
    filesz = (len(image.rstrip(b"\0")) + PAGE - 1) // PAGE * PAGE
    del image[filesz:]
    cmd = cmdline.encode() + b"\0"
    header = DPVH_MAGIC + struct.pack("<IQQQII", 1, base, filesz, memsz,
                                      _pvh_entry(elf, notes), len(cmd) - 1) + cmd
    if len(header) > PAGE:
        raise Unsupported("kernel command line too long")
    return header.ljust(PAGE, b"\0") + bytes(image)


def build_shim(out):
    """Compile pvhboot.c (32-bit, freestanding) into the ELF `out`."""
    cc = os.environ.get("DUNE_VM_CC", "gcc")
    cmd = [cc, "-m32", "-march=i686", "-ffreestanding", "-fno-pic", "-no-pie",
           "-fno-stack-protector", "-fno-asynchronous-unwind-tables",
           "-mgeneral-regs-only", "-O2", "-Wall", "-Wno-array-bounds",
           "-nostdlib", "-static", "-Wl,-T," + SHIM_LDS, "-Wl,--build-id=none",
           "-Wl,-z,max-page-size=4096", "-Wl,--no-warn-rwx-segments",
           "-o", out, SHIM_SRC]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise Unsupported("building pvhboot failed: " + res.stderr.strip()[-500:])
    return out
