// SPDX-License-Identifier: GPL-2.0
/*
 * Guest PCIDs (issue 14, the original's wedge): where the host uses PCIDs
 * dune reports DUNE_FEAT_PCID and the guest runs with CR4.PCIDE, so ring 0
 * can give two address spaces their own PCIDs and switch between them
 * with CR3 bit 63 (no flush):
 *  - each space sees its own page behind one virtual address, also after
 *    no-flush switches back and forth;
 *  - INVPCID (where the CPU has it) is not refused, and an individual-
 *    address INVPCID for a PCID that is not current makes a changed entry
 *    of that space visible at the next no-flush switch (SDM 4.10.4.1:
 *    without it the stale translation may be used);
 * Where the host has no PCIDs, the feature is not reported, CR4.PCIDE is
 * clear and a CR3 load with bit 63 is a #GP in the guest (SDM 4.10.4.1,
 * APM 3.1.2), which the guest's own handler gets: the process goes on.
 * QEMU (7.2) models it differently: its MOV-to-CR3 ends the guest with
 * VMEXIT_INVALID for any bit above the physical width, so there dune
 * stops the process as having lost its state (DUNE_RET_BAD_STATE, SIGKILL),
 * which is also clean; accepted only on a QEMU machine.
 */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dunetest.h"

#define ALIAS		((char *)0x500000000000UL)	/* nothing of the host's here */
#define CR4_PCIDE_BIT	(1UL << 17)

static volatile int n_gp;

static unsigned long read_cr3(void)
{
	unsigned long v;

	__asm__ __volatile__("mov %%cr3, %0" : "=r"(v));
	return v;
}

static unsigned long read_cr4(void)
{
	unsigned long v;

	__asm__ __volatile__("mov %%cr4, %0" : "=r"(v));
	return v;
}

/* INVPCID with any PCID (dune.h's __invpcid() always names PCID 1). */
static void invpcid_addr(unsigned long pcid, const void *va)
{
	struct {
		unsigned long pcid, gva;
	} d = { pcid, (unsigned long)va };

	__asm__ __volatile__("invpcid (%0), %1" : : "r"(&d), "r"(0UL) : "memory");
}

static char *fresh_page(char fill)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, fill, 4096);
	return p;
}

/* Point ALIAS at @page in @root (its leaf entry, made if need be). */
static int alias_to(ptent_t *root, const char *page)
{
	return dune_vm_map_phys(root, ALIAS, 4096, (void *)dune_va_to_pa(page),
				PERM_R | PERM_W);
}

static char alias_in(unsigned long cr3)
{
	load_cr3(cr3);
	return *(volatile char *)ALIAS;
}

static void case_pcid(void *arg)
{
	char *a = fresh_page('A'), *b = fresh_page('B'), *c = fresh_page('C');
	unsigned long cr3 = read_cr3(), r1, r2;
	ptent_t *root2, *pte;
	unsigned int eax, ebx, ecx, edx;

	(void)arg;
	SUB(a && b && c, "three pages");
	SUB(read_cr4() & CR4_PCIDE_BIT, "CR4.PCIDE is set (CR4 %#lx)", read_cr4());
	SUB(cr3 == dune_va_to_pa(pgroot), "the entry CR3 is pgroot with PCID 0 (%#lx)", cr3);
	SUB(alias_to(pgroot, a) == 0, "ALIAS -> A in the first space");
	root2 = dune_vm_clone(pgroot);
	SUB(root2 && alias_to(root2, b) == 0, "a second space with ALIAS -> B");
	if (sub_failed)
		exit(sub_failed);
	r1 = dune_va_to_pa(pgroot) | 1;
	r2 = dune_va_to_pa(root2) | 2;
	SUB(alias_in(r1) == 'A', "PCID 1 sees A");
	SUB(alias_in(r2) == 'B', "PCID 2 sees B");
	SUB(alias_in(r1 | CR3_NOFLUSH) == 'A', "back to PCID 1 without a flush: A");
	SUB(alias_in(r2 | CR3_NOFLUSH) == 'B', "back to PCID 2 without a flush: B");

	__cpuid_count(7, 0, eax, ebx, ecx, edx);
	if (ebx & (1U << 10)) {		/* INVPCID */
		/* From PCID 2, retarget space 1's entry and invalidate it there. */
		SUB(dune_vm_lookup(pgroot, ALIAS, CREATE_NONE, &pte) == 0, "ALIAS's entry");
		*pte = (*pte & ~PTE_ADDR(~0UL)) | dune_va_to_pa(c);
		invpcid_addr(1, ALIAS);
		SUB(alias_in(r1 | CR3_NOFLUSH) == 'C', "INVPCID for PCID 1 from PCID 2: C");
		printf("# INVPCID used\n");
	} else {
		printf("# the CPU has no INVPCID\n");
	}
	load_cr3(cr3);
	exit(sub_failed);
}

static void on_gp(struct dune_tf *tf)
{
	n_gp++;
	tf->rip += 3;		/* mov %rax, %cr3 */
}

static void case_no_pcid(void *arg)
{
	unsigned long cr3 = read_cr3() | CR3_NOFLUSH;

	(void)arg;
	SUB(!(read_cr4() & CR4_PCIDE_BIT), "CR4.PCIDE is clear (CR4 %#lx)", read_cr4());
	dune_register_intr_handler(T_GPFLT, on_gp);
	__asm__ __volatile__("mov %%rax, %%cr3" : : "a"(cr3) : "memory");
	SUB(n_gp == 1, "a CR3 load with bit 63 is a #GP in the guest (%d)", n_gp);
	exit(sub_failed);
}

static int on_qemu(void)
{
	char v[64] = "";
	FILE *f = fopen("/sys/class/dmi/id/sys_vendor", "r");

	if (f) {
		if (!fgets(v, sizeof(v), f))
			v[0] = 0;
		fclose(f);
	}
	return strstr(v, "QEMU") != NULL;
}

static int host_has_pcid(void)
{
	char line[4096];
	FILE *f = fopen("/proc/cpuinfo", "r");
	int yes = 0;

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "flags", 5)) {
			yes = strstr(line, " pcid ") || strstr(line, " pcid\n");
			break;
		}
	}
	if (f)
		fclose(f);
	return yes;
}

int main(void)
{
	struct dune_info info;
	char buf[64];
	int st, pcid;

	setvbuf(stdout, NULL, _IONBF, 0);
	require_dune_mode_in_child();
	CHECK(dune_get_info(&info) == 0, "DUNE_GET_INFO");
	pcid = !!(info.features & DUNE_FEAT_PCID);
	CHECK(pcid == host_has_pcid(), "the module reports PCID (%d) as the host has it (%d)",
	      pcid, host_has_pcid());
	if (pcid) {
		st = run_in_dune_child(case_pcid, NULL);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "two address spaces with PCIDs 1 and 2, no-flush switches, INVPCID (%s)",
		      describe_status(st, buf, sizeof(buf)));
	} else {
		st = run_in_dune_child(case_no_pcid, NULL);
		if (on_qemu() && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
			printf("# QEMU: the CR3 load ended the guest (VMEXIT_INVALID), not #GP\n");
		CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0) ||
		      (on_qemu() && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL),
		      "no PCID: CR4.PCIDE clear, CR3 bit 63 is the guest's #GP (%s)",
		      describe_status(st, buf, sizeof(buf)));
	}
	return hwtest_done();
}
