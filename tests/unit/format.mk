# unit tests of the format library, mkfs and fsck
check_PROGRAMS += tests/unit/test_format tests/unit/test_format_check \
	tests/unit/test_format_interop
TESTS += tests/unit/test_format tests/unit/test_format_check \
	tests/unit/test_format_interop tests/unit/test_mkfs_fsck.sh
EXTRA_DIST += tests/unit/test_mkfs_fsck.sh

tests_unit_test_format_SOURCES = tests/unit/test_format.c
tests_unit_test_format_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/pmfs2
tests_unit_test_format_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_format_LDADD = plugins/pmfs2/libpmfs2fmt.la $(CHECK_LIBS)

# with the power-cut simulator: repairs cut at every fence
tests_unit_test_format_check_SOURCES = tests/unit/test_format_check.c \
	tests/lib/pmem_sim.c tests/lib/pmem_sim.h
tests_unit_test_format_check_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/pmfs2 \
	-I$(top_srcdir)/tests/lib
tests_unit_test_format_check_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_format_check_LDADD = plugins/pmfs2/libpmfs2fmt.la $(CHECK_LIBS)


# fsck against images written by the real plugin (tests/unit/pmfs2.mk)
tests_unit_test_format_interop_SOURCES = tests/unit/test_format_interop.c
tests_unit_test_format_interop_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/pmfs2
tests_unit_test_format_interop_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
tests_unit_test_format_interop_LDADD = tests/unit/libpmfs2test.la $(CHECK_LIBS) -lpthread
