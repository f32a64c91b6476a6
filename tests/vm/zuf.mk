# zuf.ko + zusd end to end in the VM (make check-vm) and the VM benchmark
# (make bench-vm): pmfs2 mounted with `mount -t pmfs2` through the kernel
# transport.  See tests/vm/README.md for the harness.

# The test server of kmod/tests (zusd's transport + an in-memory plugin),
# used by tests/vm/zuf-smoke.sh.
EXTRA_PROGRAMS += kmod/tests/zuf-memfs
kmod_tests_zuf_memfs_SOURCES = kmod/tests/zuf-memfs.c \
	zusd/zuf_transport.c zusd/zuf_transport.h
kmod_tests_zuf_memfs_CFLAGS = $(AM_CFLAGS) -pthread
kmod_tests_zuf_memfs_LDADD = $(PTHREAD_LIBS)
CLEANFILES += kmod/tests/zuf-memfs

# The application side of the hostile-server tests (zuf-hostile.sh).
EXTRA_PROGRAMS += tests/vm/zuf-probe
tests_vm_zuf_probe_SOURCES = tests/vm/zuf-probe.c
tests_vm_zuf_probe_CFLAGS = $(AM_CFLAGS) -pthread
tests_vm_zuf_probe_LDADD = $(PTHREAD_LIBS)
CLEANFILES += tests/vm/zuf-probe

ZUF_VM_FILES = \
	tests/vm/zuf-lib.sh \
	tests/vm/zuf-pmfs2-posix.sh \
	tests/vm/zuf-pmfs2-fault.sh \
	tests/vm/zuf-pmfs2-shutdown.sh \
	tests/vm/zuf-pmfs2-times.sh \
	tests/vm/times-seq.py \
	tests/vm/zuf-pmfs2-stressng.sh \
	tests/vm/zuf-pmfs2-tiermap.sh \
	tests/vm/zuf-main-job.sh \
	tests/vm/zuf-hostile.sh \
	tests/vm/test_zuf_hostile.sh \
	tests/vm/test_zuf_smoke.sh \
	tests/vm/test_zuf_pmfs2.sh \
	tests/bench/vm-fio.sh \
	tests/bench/vm-fio-guest.sh
EXTRA_DIST += $(ZUF_VM_FILES)

VM_TESTS += tests/vm/test_zuf_smoke.sh tests/vm/test_zuf_hostile.sh \
	tests/vm/test_zuf_pmfs2.sh
VM_BENCHES += tests/bench/vm-fio.sh
# what the guest scripts run, besides `all`
VM_CHECK_DEPS += tests/posix/posix-test tests/stress/fsx tests/stress/nsstorm kmod/tests/zuf-memfs tests/vm/zuf-probe

# The ordering of zuf's direct-mode write past EOF (get_extents, the
# kernel's copy, setattr SIZE) under power cuts: a pmfs2 unit test, kept
# with the zuf tests it belongs to.
check_PROGRAMS += tests/unit/test_pmfs2_direct_extend
TESTS += tests/unit/test_pmfs2_direct_extend
tests_unit_test_pmfs2_direct_extend_SOURCES = tests/unit/test_pmfs2_direct_extend.c
tests_unit_test_pmfs2_direct_extend_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/pmfs2
tests_unit_test_pmfs2_direct_extend_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
tests_unit_test_pmfs2_direct_extend_LDADD = tests/unit/libpmfs2test.la $(CHECK_LIBS) -lpthread
