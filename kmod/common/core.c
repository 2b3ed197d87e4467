// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/dune device: module init/exit and the ioctl dispatcher.  Only
 * this layer touches user pointers; everything below takes kernel values.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "core.h"
#include "hv.h"
#include "run.h"
#include "syscall.h"
#include "vm.h"
#include "vmas.h"

atomic_t dune_live_vcpus = ATOMIC_INIT(0);

static long dune_get_info(void __user *arg)
{
	struct dune_info info;

	memset(&info, 0, sizeof(info));
	info.abi_version = DUNE_ABI_VERSION;
	info.backend = dune_hv->backend;
	info.features = dune_caps.features;
	info.phys_bits = dune_caps.phys_bits;
	info.virt_bits = dune_caps.virt_bits;
	info.nr_tlb_tags = dune_caps.nr_tlb_tags;
	info.nr_cpus = dune_hv_nr_cpus();
	info.live_vcpus = atomic_read(&dune_live_vcpus);
	if (copy_to_user(arg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long dune_get_layout(void __user *arg)
{
	struct dune_layout layout;

	dune_layout_init(&layout, current->mm->mmap_base, current->mm->start_stack,
			 dune_caps.phys_bits);
	if (copy_to_user(arg, &layout, sizeof(layout)))
		return -EFAULT;
	return 0;
}

static bool config_valid(const struct dune_config *conf)
{
	int i;

	if (conf->reserved0)
		return false;
	for (i = 0; i < ARRAY_SIZE(conf->reserved); i++)
		if (conf->reserved[i])
			return false;
	return true;
}

/*
 * Is the calling thread already inside a vCPU run loop?  The guest's system
 * calls run in the kernel on this thread (syscall.c), so a guest can issue
 * DUNE_ENTER (on this or another /dev/dune file) from inside DUNE_ENTER.
 * Nesting would register the thread's preempt notifier twice (a cycle in
 * the notifier list: the next context switch loops forever) and load a
 * second vCPU over the running one.  Between vcpu_begin and vcpu_end the
 * thread has a preempt notifier registered; a thread entering from host
 * user mode has none (KVM, the only other user, registers one only inside
 * its own ioctls).
 */
static bool dune_in_vcpu_loop(void)
{
#ifdef CONFIG_PREEMPT_NOTIFIERS
	return !hlist_empty(&current->preempt_notifiers);
#else
	return false;
#endif
}

static long dune_ioctl_enter(struct file *file, void __user *arg)
{
	struct dune_config conf;
	long r;

	if (dune_in_vcpu_loop())
		return -EBUSY;
	if (copy_from_user(&conf, arg, sizeof(conf)))
		return -EFAULT;
	if (!config_valid(&conf)) {
		pr_warn_ratelimited("pid %d: DUNE_ENTER with nonzero reserved fields\n",
				    current->pid);
		return -EINVAL;
	}
	conf.ret = DUNE_RET_NONE;
	r = dune_enter(file->private_data, &conf);
	/* An interrupted guest system call still reports the guest's state. */
	if (r && conf.ret != DUNE_RET_SYSCALL_INTERRUPTED)
		return r;
	if (copy_to_user(arg, &conf, sizeof(conf)))
		return -EFAULT;
	return r;
}

static long dune_ioctl_stats(struct file *file, void __user *arg)
{
	struct dune_stats st;

	dune_get_stats(file->private_data, &st);
	if (copy_to_user(arg, &st, sizeof(st)))
		return -EFAULT;
	return 0;
}

static long dune_ioctl_process_stats(struct file *file, void __user *arg)
{
	struct dune_process_stats ps;

	dune_get_process_stats(file->private_data, &ps);
	if (copy_to_user(arg, &ps, sizeof(ps)))
		return -EFAULT;
	return 0;
}

static long dune_ioctl_send_ipi(struct file *file, void __user *arg)
{
	struct dune_ipi req;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	return dune_ipi_send(file->private_data, &req);
}

static int dune_open(struct inode *inode, struct file *file)
{
	struct dune_file *df = dune_file_alloc();

	if (!df)
		return -ENOMEM;
	file->private_data = df;
	return 0;
}

static int dune_release(struct inode *inode, struct file *file)
{
	dune_file_free(file->private_data);
	return 0;
}

static long dune_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DUNE_GET_INFO:
		return dune_get_info(uarg);
	case DUNE_GET_LAYOUT:
		return dune_get_layout(uarg);
	case DUNE_ENTER:
		return dune_ioctl_enter(file, uarg);
	case DUNE_GET_STATS:
		return dune_ioctl_stats(file, uarg);
	case DUNE_GET_PROCESS_STATS:
		return dune_ioctl_process_stats(file, uarg);
	case DUNE_SEND_IPI:
		return dune_ioctl_send_ipi(file, uarg);
	case DUNE_GET_VMAS:
		return dune_ioctl_vmas(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations dune_fops = {
	.owner = THIS_MODULE,
	.open = dune_open,
	.release = dune_release,
	.unlocked_ioctl = dune_ioctl,
	.compat_ioctl = NULL,	/* 64-bit processes only */
	.llseek = noop_llseek,
};

static struct miscdevice dune_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = DUNE_DEVICE_NAME,
	.fops = &dune_fops,
	.mode = 0660,
};

static int __init dune_init(void)
{
	int r;

	r = dune_hv_init();
	if (r)
		return r;
	dune_syscall_init();
	/* Last: the device appears only once everything behind it works. */
	r = misc_register(&dune_dev);
	if (r) {
		pr_warn("cannot register /dev/%s (%d)\n", DUNE_DEVICE_NAME, r);
		dune_hv_exit();
		return r;
	}
	return 0;
}

static void __exit dune_exit(void)
{
	misc_deregister(&dune_dev);
	/* vm_free_notifier calls still queued behind an SRCU grace period. */
	mmu_notifier_synchronize();
	dune_preempt_key_put();
	dune_hv_exit();
}

module_init(dune_init);
module_exit(dune_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("The dune authors");
MODULE_DESCRIPTION("Dune: safe user-level access to privileged CPU features (VT-x and AMD-V)");
