# VM tests (make check-vm, make bench-vm): see tests/vm/README.md.
# Not part of `make check`: they boot Debian's kernel under qemu (TCG), which
# needs tests/vm/install-deps.sh and takes about a minute per boot+test.
#
# Later fragments add their host-side test scripts (paths from the top of the
# source tree) with `VM_TESTS += ...` / `VM_BENCHES += ...`; each is run with
# VM_SRCDIR, VM_BUILDDIR and VM_WORKDIR set and must exit 0 on success.

VM_HARNESS_FILES = \
	tests/vm/install-deps.sh \
	tests/vm/mkinitramfs.sh \
	tests/vm/guest-stage2.sh \
	tests/vm/run-vm.sh \
	tests/vm/host-lib.sh \
	tests/vm/guest-lib.sh \
	tests/vm/smoke.sh \
	tests/vm/test_vm_smoke.sh \
	tests/vm/harness-guest.sh \
	tests/vm/test_vm_harness.sh
EXTRA_DIST += $(VM_HARNESS_FILES) tests/vm/README.md \
	tests/vm/warnmod/Kbuild tests/vm/warnmod/vmtest_warn.c

VM_TESTS = tests/vm/test_vm_harness.sh tests/vm/test_vm_smoke.sh
VM_BENCHES =
# What check-vm/bench-vm build first (zuf.ko, zusd... once they exist).
VM_CHECK_DEPS = all
# Guest images, initramfs, run logs: under the build dir, never the host's /tmp.
VM_WORKDIR = $(abs_top_builddir)/tests/vm/work
VM_ENV = VM_SRCDIR='$(abs_top_srcdir)' VM_BUILDDIR='$(abs_top_builddir)' \
	VM_WORKDIR='$(VM_WORKDIR)'
# check-vm boots with the allocator's own checks on: slab redzones, poison
# and user tracking, freed memory wiped and poisoned, any WARN a panic, and
# hung tasks reported after 60 s.  run-vm.sh fails a run whose kernel log
# shows any of their reports.  bench-vm boots without them (timings).
VM_DEBUG_APPEND = slub_debug=FZPU init_on_free=1 page_poison=1 panic_on_warn=1 \
	sysctl.kernel.hung_task_timeout_secs=60

# $(call)-free runner shared by check-vm and bench-vm: runs $$list.
vm_run_list = \
	pass=0; fail=0; failed=; \
	for t in $$list; do \
	  echo "=== $$t"; \
	  if $(VM_ENV) '$(abs_top_srcdir)'/$$t; then pass=$$((pass + 1)); \
	  else fail=$$((fail + 1)); failed="$$failed $$t"; fi; \
	done; \
	test -z "$$failed" || echo "FAILED:$$failed (logs: $(VM_WORKDIR)/runs/)"; \
	echo "$@: $$pass passed, $$fail failed"; \
	test $$fail -eq 0

check-vm: $(VM_CHECK_DEPS)
	@list='$(VM_TESTS)'; VM_APPEND='$(VM_DEBUG_APPEND)'; export VM_APPEND; \
	$(vm_run_list)

bench-vm: $(VM_CHECK_DEPS)
	@list='$(VM_BENCHES)'; \
	if test -z "$$list"; then echo "bench-vm: no VM benchmarks defined yet"; exit 0; fi; \
	$(vm_run_list)

# Install the harness' Debian packages (root).
vm-deps:
	'$(abs_top_srcdir)'/tests/vm/install-deps.sh

clean-vm:
	rm -rf '$(VM_WORKDIR)'

.PHONY: check-vm bench-vm vm-deps clean-vm
