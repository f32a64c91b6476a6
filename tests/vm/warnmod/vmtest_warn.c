// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-test module (tests/vm/test_vm_harness.sh): proves that a module
 * built from the tree loads in the guest with vm_insmod, and that a kernel
 * WARNING in the guest makes run-vm.sh fail.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/bug.h>

static bool warn;
module_param(warn, bool, 0444);
MODULE_PARM_DESC(warn, "emit a WARN() at load time");

static int __init vmtest_warn_init(void)
{
	pr_info("vmtest_warn: loaded (warn=%d)\n", warn);
	WARN(warn, "vmtest_warn: deliberate warning for the harness self-test\n");
	return 0;
}

static void __exit vmtest_warn_exit(void)
{
	pr_info("vmtest_warn: unloaded\n");
}

module_init(vmtest_warn_init);
module_exit(vmtest_warn_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ZUFS VM harness self-test module");
