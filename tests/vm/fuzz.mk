# The hostile-server fuzzer of zuf.ko in the VM (DESIGN.md §4): a server
# speaking the raw ioctl ABI that mutates its replies, scribbles into its
# shared buffers, races ioctls and dies at random (tests/vm/zuf-fuzz.c),
# applications hammering its mounts (tests/vm/zuf-fuzz-app.c), the guest
# script and its host wrapper.  make check-vm runs it for 2 minutes;
#   make check-vm-fuzz FUZZ_SECONDS=900 FUZZ_SEED=N
# runs it longer (FUZZ_SEED empty: random, printed in the summary).
EXTRA_PROGRAMS += tests/vm/zuf-fuzz tests/vm/zuf-fuzz-app
tests_vm_zuf_fuzz_SOURCES = tests/vm/zuf-fuzz.c
tests_vm_zuf_fuzz_CFLAGS = $(AM_CFLAGS) -pthread
tests_vm_zuf_fuzz_LDADD = $(PTHREAD_LIBS)
tests_vm_zuf_fuzz_app_SOURCES = tests/vm/zuf-fuzz-app.c
CLEANFILES += tests/vm/zuf-fuzz tests/vm/zuf-fuzz-app

EXTRA_DIST += tests/vm/zuf-fuzz.sh tests/vm/test_zuf_fuzz.sh \
	tests/vm/fuzz-seeds.txt

VM_TESTS += tests/vm/test_zuf_fuzz.sh
VM_CHECK_DEPS += tests/vm/zuf-fuzz tests/vm/zuf-fuzz-app

FUZZ_SECONDS = 900
FUZZ_SEED =
check-vm-fuzz: $(VM_CHECK_DEPS)
	VM_APPEND='$(VM_DEBUG_APPEND)' FUZZ_SECONDS='$(FUZZ_SECONDS)' \
	FUZZ_SEED='$(FUZZ_SEED)' $(VM_ENV) \
	'$(abs_top_srcdir)'/tests/vm/test_zuf_fuzz.sh

.PHONY: check-vm-fuzz
