# The systemd appliance in the VM (make check-vm): systemd as PID 1, the
# tree installed (make install DESTDIR=...) into the guest's overlay root,
# pmfs2 mounted from /etc/fstab at boot, zusd killed / restarted / hung
# under fio verify, a bad zusd.conf.  See tests/vm/README.md.

# pwrite+fdatasync+read-back loop that reports the longest stall (ms)
EXTRA_PROGRAMS += tests/vm/stall-probe
tests_vm_stall_probe_SOURCES = tests/vm/stall-probe.c
CLEANFILES += tests/vm/stall-probe

EXTRA_DIST += tests/vm/zuf-appliance.sh tests/vm/zuf-appliance-setup.sh \
	tests/vm/test_zuf_appliance.sh

VM_TESTS += tests/vm/test_zuf_appliance.sh
VM_CHECK_DEPS += tests/vm/stall-probe
