# The debug-kernel lane (make check-vm-debug): the zuf VM tests that need no
# systemd as PID 1, booted on Debian's 6.1 source built with KASAN, KFENCE,
# lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_VM, DEBUG_OBJECTS, kmemleak, hung-task
# and soft-lockup detection (tests/vm/debug-kernel.sh, cached under
# /var/cache/zufs-debug-kernel), against a zuf.ko built for that kernel.
# See tests/vm/README.md.  Not part of `make check` or `make check-vm`.

EXTRA_DIST += tests/vm/debug.mk tests/vm/debug-kernel.sh tests/vm/debug-kernel.config

# Every zuf VM test of check-vm but the appliance (systemd as PID 1: the
# debug kernel has no cgroups).
VM_DEBUG_TESTS = tests/vm/test_zuf_smoke.sh tests/vm/test_zuf_hostile.sh tests/vm/test_zuf_pmfs2.sh \
	tests/vm/test_zuf_tier.sh tests/vm/test_zuf_fuzz.sh tests/vm/test_zuf_powercut.sh
# a boot takes a minute or more on the debug kernel: fewer cuts than check-vm
VM_DEBUG_POWERCUT_CUTS = 4
# zuf.ko built against the debug kernel's tree (copies of kmod/ sources)
VM_DEBUG_KMOD_DIR = $(abs_top_builddir)/tests/vm/debug-kmod
# check-vm's options, plus: a KASAN report does not panic by itself
# (panic_on_warn still stops the guest at the first one), and kmemleak on
# (the kernel adds acpi=noirq kmemleak.verbose=1 itself: debug-kernel.config).
VM_DEBUG_KERNEL_APPEND = $(VM_DEBUG_APPEND) kasan.fault=report kmemleak=on
# KASAN + lockdep under TCG: several times slower than Debian's kernel.
VM_DEBUG_TIMEOUT = 3600

# The kernel (built once, ~30 min) and zuf.ko for it, quietly: what the
# debug lane's targets do first.
vm_debug_build = '$(abs_top_srcdir)'/tests/vm/debug-kernel.sh >/dev/null && \
	'$(abs_top_srcdir)'/tests/vm/debug-kernel.sh --kmod '$(VM_DEBUG_KMOD_DIR)' \
		--srcdir '$(abs_top_srcdir)' >/dev/null

# The kernel, zuf.ko for it, then the tests.
check-vm-debug: $(VM_CHECK_DEPS)
	@$(vm_debug_build)
	@list='$(VM_DEBUG_TESTS)'; VM_APPEND='$(VM_DEBUG_KERNEL_APPEND)'; \
	VM_DEBUG_KERNEL=1; ZUF_KO='$(VM_DEBUG_KMOD_DIR)/zuf.ko'; \
	VM_TIMEOUT=$${VM_TIMEOUT:-$(VM_DEBUG_TIMEOUT)}; \
	POWERCUT_CUTS=$${POWERCUT_CUTS:-$(VM_DEBUG_POWERCUT_CUTS)}; \
	export VM_APPEND VM_DEBUG_KERNEL ZUF_KO VM_TIMEOUT POWERCUT_CUTS; \
	$(vm_run_list)

# The hostile-server fuzzer alone on the debug kernel, for FUZZ_SECONDS
# (fuzz.mk: 900 unless given) after the regression seeds:
#   make check-vm-fuzz-debug FUZZ_SECONDS=900 FUZZ_SEED=N
check-vm-fuzz-debug: $(VM_CHECK_DEPS)
	@$(vm_debug_build)
	VM_APPEND='$(VM_DEBUG_KERNEL_APPEND)' VM_DEBUG_KERNEL=1 \
	ZUF_KO='$(VM_DEBUG_KMOD_DIR)/zuf.ko' \
	VM_TIMEOUT=$${VM_TIMEOUT:-$$(($(FUZZ_SECONDS) + $(VM_DEBUG_TIMEOUT)))} \
	FUZZ_SECONDS='$(FUZZ_SECONDS)' FUZZ_SEED='$(FUZZ_SEED)' $(VM_ENV) \
	'$(abs_top_srcdir)'/tests/vm/test_zuf_fuzz.sh

# Only the kernel (and zuf.ko for it), e.g. before taking the VM lock.
debug-kernel:
	'$(abs_top_srcdir)'/tests/vm/debug-kernel.sh
	'$(abs_top_srcdir)'/tests/vm/debug-kernel.sh --kmod '$(VM_DEBUG_KMOD_DIR)' \
		--srcdir '$(abs_top_srcdir)'

clean-vm-debug:
	rm -rf '$(VM_DEBUG_KMOD_DIR)'

.PHONY: check-vm-debug check-vm-fuzz-debug debug-kernel clean-vm-debug
