# pmfs2 with an NVMe capacity tier over zuf.ko in the VM: the end-to-end test
# (make check-vm) and the tiering benchmark (make bench-vm).  See
# tests/vm/README.md and tests/bench/README.md.

TIER_VM_FILES = \
	tests/vm/tier-lib.sh \
	tests/vm/zuf-pmfs2-tier.sh \
	tests/vm/test_zuf_tier.sh \
	tests/bench/tier-vm.sh \
	tests/bench/tier-vm-guest.sh
EXTRA_DIST += $(TIER_VM_FILES)

VM_TESTS += tests/vm/test_zuf_tier.sh
VM_BENCHES += tests/bench/tier-vm.sh
