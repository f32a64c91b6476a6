# unit tests of the pmfs2 plugin: each mounts pmfs2 on anonymous memory
# through the ops table and drives one concern.
check_LTLIBRARIES += tests/unit/libpmfs2test.la
tests_unit_libpmfs2test_la_SOURCES = \
	tests/unit/test_pmfs2_util.c \
	tests/unit/test_pmfs2_util.h \
	plugins/pmfs2/pmfs2.c
tests_unit_libpmfs2test_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/pmfs2
tests_unit_libpmfs2test_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
tests_unit_libpmfs2test_la_LIBADD = plugins/pmfs2/libpmfs2core.la \
	plugins/pmfs2/libpmfs2fmt.la $(CHECK_LIBS)

PMFS2_UNIT_TESTS = \
	tests/unit/test_pmfs2_file \
	tests/unit/test_pmfs2_namei \
	tests/unit/test_pmfs2_dir \
	tests/unit/test_pmfs2_xattr \
	tests/unit/test_pmfs2_bmap \
	tests/unit/test_pmfs2_journal \
	tests/unit/test_pmfs2_mount \
	tests/unit/test_pmfs2_threads
check_PROGRAMS += $(PMFS2_UNIT_TESTS)
TESTS += $(PMFS2_UNIT_TESTS)

PMFS2_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/pmfs2
PMFS2_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
PMFS2_TEST_LDADD = tests/unit/libpmfs2test.la $(CHECK_LIBS) -lpthread

tests_unit_test_pmfs2_file_SOURCES = tests/unit/test_pmfs2_file.c
tests_unit_test_pmfs2_file_CPPFLAGS = $(PMFS2_TEST_CPPFLAGS)
tests_unit_test_pmfs2_file_CFLAGS = $(PMFS2_TEST_CFLAGS)
tests_unit_test_pmfs2_file_LDADD = $(PMFS2_TEST_LDADD)

tests_unit_test_pmfs2_namei_SOURCES = tests/unit/test_pmfs2_namei.c
tests_unit_test_pmfs2_namei_CPPFLAGS = $(PMFS2_TEST_CPPFLAGS)
tests_unit_test_pmfs2_namei_CFLAGS = $(PMFS2_TEST_CFLAGS)
tests_unit_test_pmfs2_namei_LDADD = $(PMFS2_TEST_LDADD)

tests_unit_test_pmfs2_dir_SOURCES = tests/unit/test_pmfs2_dir.c
tests_unit_test_pmfs2_dir_CPPFLAGS = $(PMFS2_TEST_CPPFLAGS)
tests_unit_test_pmfs2_dir_CFLAGS = $(PMFS2_TEST_CFLAGS)
tests_unit_test_pmfs2_dir_LDADD = $(PMFS2_TEST_LDADD)

tests_unit_test_pmfs2_xattr_SOURCES = tests/unit/test_pmfs2_xattr.c
tests_unit_test_pmfs2_xattr_CPPFLAGS = $(PMFS2_TEST_CPPFLAGS)
tests_unit_test_pmfs2_xattr_CFLAGS = $(PMFS2_TEST_CFLAGS)
tests_unit_test_pmfs2_xattr_LDADD = $(PMFS2_TEST_LDADD)

tests_unit_test_pmfs2_bmap_SOURCES = tests/unit/test_pmfs2_bmap.c
tests_unit_test_pmfs2_bmap_CPPFLAGS = $(PMFS2_TEST_CPPFLAGS)
tests_unit_test_pmfs2_bmap_CFLAGS = $(PMFS2_TEST_CFLAGS)
tests_unit_test_pmfs2_bmap_LDADD = $(PMFS2_TEST_LDADD)

tests_unit_test_pmfs2_journal_SOURCES = tests/unit/test_pmfs2_journal.c
tests_unit_test_pmfs2_journal_CPPFLAGS = $(PMFS2_TEST_CPPFLAGS)
tests_unit_test_pmfs2_journal_CFLAGS = $(PMFS2_TEST_CFLAGS)
tests_unit_test_pmfs2_journal_LDADD = $(PMFS2_TEST_LDADD)

tests_unit_test_pmfs2_mount_SOURCES = tests/unit/test_pmfs2_mount.c
tests_unit_test_pmfs2_mount_CPPFLAGS = $(PMFS2_TEST_CPPFLAGS)
tests_unit_test_pmfs2_mount_CFLAGS = $(PMFS2_TEST_CFLAGS)
tests_unit_test_pmfs2_mount_LDADD = $(PMFS2_TEST_LDADD)

tests_unit_test_pmfs2_threads_SOURCES = tests/unit/test_pmfs2_threads.c
tests_unit_test_pmfs2_threads_CPPFLAGS = $(PMFS2_TEST_CPPFLAGS)
tests_unit_test_pmfs2_threads_CFLAGS = $(PMFS2_TEST_CFLAGS)
tests_unit_test_pmfs2_threads_LDADD = $(PMFS2_TEST_LDADD)
