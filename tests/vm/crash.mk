# Power cuts on the kernel path (tests/vm/test_zuf_powercut.sh): the guest is
# SIGKILLed at random moments of a metadata- and fsync-heavy workload on
# pmfs2 over zuf.ko, with and without an NVMe tier, and boots again on the
# same images.  20 cuts in check-vm; `make check-vm-crash CUTS=N SEED=S` for
# long runs.

# The workload and its checker; make check tests the checker on a plain
# directory (it must flag a changed byte, a lost file, a half rename).
check_PROGRAMS += tests/vm/powercut-load
tests_vm_powercut_load_SOURCES = tests/vm/powercut-load.c
TESTS += tests/vm/test_powercut_load.sh

EXTRA_DIST += tests/vm/zuf-pmfs2-powercut.sh tests/vm/test_zuf_powercut.sh \
	tests/vm/test_powercut_load.sh

VM_TESTS += tests/vm/test_zuf_powercut.sh
VM_CHECK_DEPS += tests/vm/powercut-load

CUTS = 20
check-vm-crash: $(VM_CHECK_DEPS)
	@VM_APPEND='$(VM_DEBUG_APPEND)' POWERCUT_CUTS='$(CUTS)' \
	$(if $(SEED),POWERCUT_SEED='$(SEED)') $(VM_ENV) \
	'$(abs_top_srcdir)'/tests/vm/test_zuf_powercut.sh

.PHONY: check-vm-crash
