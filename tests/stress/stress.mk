# Randomized long tests: fsx (random I/O on one file against a copy in
# memory) and nsstorm (processes racing namespace operations, then a
# consistency check), on pmfs2 over FUSE here and over zuf in the VM
# (tests/vm/zuf-pmfs2-posix.sh).
check_PROGRAMS += tests/stress/fsx tests/stress/nsstorm
tests_stress_fsx_SOURCES = tests/stress/fsx.c
tests_stress_nsstorm_SOURCES = tests/stress/nsstorm.c

TESTS += tests/stress/test_stress_fuse.sh
EXTRA_DIST += tests/stress/test_stress_fuse.sh
