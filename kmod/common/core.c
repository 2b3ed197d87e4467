// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/dune device: module init/exit and the ioctl dispatcher.  Only
 * this layer touches user pointers; everything below takes kernel values.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "core.h"
#include "hv.h"

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

static long dune_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DUNE_GET_INFO:
		return dune_get_info(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations dune_fops = {
	.owner = THIS_MODULE,
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
	dune_hv_exit();
}

module_init(dune_init);
module_exit(dune_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("The dune authors");
MODULE_DESCRIPTION("Dune: safe user-level access to privileged CPU features (VT-x and AMD-V)");
