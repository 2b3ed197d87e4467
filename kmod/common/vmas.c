// SPDX-License-Identifier: GPL-2.0
/*
 * DUNE_GET_VMAS: the calling process's mappings in binary.  libdune
 * mirrors the process into its guest page tables at dune_init and resolves
 * later first touches (dune_init(true)) from them: one exit from the guest
 * instead of an open, reads and a close of /proc/self/maps, for which the
 * kernel formats every line and libdune parses it (about 65000 of a new
 * Dune process's startup instructions on the intel machine).  It shows
 * nothing /proc/self/maps does not.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "uapi/dune.h"
#include "vmas.h"

/*
 * Entries gathered under the mmap lock in one round, then copied out
 * without it: copy_to_user() may fault, and a fault takes the lock.
 */
#define VMAS_CHUNK	64

/* In the order show_map_vma() (fs/proc/task_mmu.c) names a mapping. */
static u32 vma_kind(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	const char *name;

	if (vma->vm_file)
		return DUNE_VMA_FILE;
	if (vma->vm_ops && vma->vm_ops->name) {
		name = vma->vm_ops->name(vma);
		if (name && !strcmp(name, "[vdso]"))
			return DUNE_VMA_VDSO;
		if (name && !strncmp(name, "[vvar", 5))
			return DUNE_VMA_VVAR;
		if (name)
			return DUNE_VMA_SPECIAL;
	}
	if (vma->vm_start <= mm->brk && vma->vm_end >= mm->start_brk)
		return DUNE_VMA_HEAP;
	if (vma->vm_start <= mm->start_stack && vma->vm_end >= mm->start_stack)
		return DUNE_VMA_STACK;
	return DUNE_VMA_ANON;
}

static void vma_fill(struct dune_vma *d, struct vm_area_struct *vma)
{
	vm_flags_t f = vma->vm_flags;

	d->start = vma->vm_start;
	d->end = vma->vm_end;
	d->offset = vma->vm_file ? (u64)vma->vm_pgoff << PAGE_SHIFT : 0;
	d->flags = (f & VM_READ ? DUNE_VMA_READ : 0) | (f & VM_WRITE ? DUNE_VMA_WRITE : 0) |
		   (f & VM_EXEC ? DUNE_VMA_EXEC : 0) |
		   (f & VM_MAYSHARE ? DUNE_VMA_SHARED : 0) |
		   (f & (VM_PFNMAP | VM_IO) ? DUNE_VMA_PFNMAP : 0);
	d->kind = vma_kind(vma);
}

/*
 * Up to @want mappings ending above @addr into @out (*@n of them);
 * *@more says whether another follows the last.
 */
static int vmas_gather(struct mm_struct *mm, u64 addr, struct dune_vma *out, u32 want,
		       u32 *n, bool *more)
{
	VMA_ITERATOR(vmi, mm, addr);
	struct vm_area_struct *vma;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	*n = 0;
	*more = false;
	for_each_vma(vmi, vma) {
		if (*n == want) {
			*more = true;
			break;
		}
		vma_fill(&out[(*n)++], vma);
	}
	mmap_read_unlock(mm);
	return 0;
}

static long vmas_copy(struct dune_vmas *q, struct dune_vma *chunk)
{
	struct dune_vma __user *buf = u64_to_user_ptr(q->buf);
	u64 addr = q->addr;
	u32 done = 0, want, n;
	bool more = true;
	int r;

	q->next = 0;
	while (done < q->nr && more) {
		want = min_t(u32, q->nr - done, VMAS_CHUNK);
		r = vmas_gather(current->mm, addr, chunk, want, &n, &more);
		if (r)
			return r;
		if (n && copy_to_user(buf + done, chunk, n * sizeof(*chunk)))
			return -EFAULT;
		done += n;
		if (n)
			addr = chunk[n - 1].end;
		/* Where the caller goes on, if @buf fills up before the end. */
		q->next = more ? addr : 0;
	}
	q->nr = done;
	return 0;
}

long dune_ioctl_vmas(void __user *arg)
{
	struct dune_vma *chunk;
	struct dune_vmas q;
	long r;

	if (copy_from_user(&q, arg, sizeof(q)))
		return -EFAULT;
	if (!q.nr || q.nr > DUNE_VMAS_MAX || q.reserved0 || q.reserved[0] || q.reserved[1])
		return -EINVAL;
	if (!current->mm)
		return -EINVAL;
	/* No more than asked: libdune's first-touch lookups ask for one. */
	chunk = kmalloc_array(min_t(u32, q.nr, VMAS_CHUNK), sizeof(*chunk), GFP_KERNEL);
	if (!chunk)
		return -ENOMEM;
	r = vmas_copy(&q, chunk);
	kfree(chunk);
	if (r)
		return r;
	return copy_to_user(arg, &q, sizeof(q)) ? -EFAULT : 0;
}
