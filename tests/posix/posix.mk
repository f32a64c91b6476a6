# POSIX behaviour tests: posix-test checks a mounted filesystem with real
# syscalls; test_posix_fuse.sh runs it on pmfs2 served by zusd over FUSE,
# test_atime_fuse.sh its atime group under each atime mount option.
check_PROGRAMS += tests/posix/posix-test
tests_posix_posix_test_SOURCES = tests/posix/posix_test.c

TESTS += tests/posix/test_posix_fuse.sh tests/posix/test_atime_fuse.sh
EXTRA_DIST += tests/lib/fuse-test.sh tests/posix/test_posix_fuse.sh \
	tests/posix/test_atime_fuse.sh
AM_TESTS_ENVIRONMENT += \
	ZUFS_BUILDDIR='$(abs_top_builddir)'; export ZUFS_BUILDDIR;
