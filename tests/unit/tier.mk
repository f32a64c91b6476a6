# tiering tests (plugins/tier + pmfs2's tier.c): a file-backed tier through
# the real backends, and power cuts during migration and promotion with
# simulated pmem and a memory tier with a volatile write cache.
check_LTLIBRARIES += tests/unit/libtiertest.la
tests_unit_libtiertest_la_SOURCES = \
	tests/unit/test_tier_util.c \
	tests/unit/test_tier_util.h \
	plugins/pmfs2/pmfs2.c
tests_unit_libtiertest_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/plugins/pmfs2 -I$(top_srcdir)/plugins/tier
tests_unit_libtiertest_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
tests_unit_libtiertest_la_LIBADD = plugins/pmfs2/libpmfs2core.la \
	plugins/pmfs2/libpmfs2fmt.la plugins/tier/libzustier.la $(CHECK_LIBS)

TIER_UNIT_TESTS = tests/unit/test_tier tests/unit/test_tier_crash \
	tests/unit/test_tier_inval
check_PROGRAMS += $(TIER_UNIT_TESTS)
TESTS += $(TIER_UNIT_TESTS)

TIER_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/pmfs2 \
	-I$(top_srcdir)/plugins/tier -I$(top_srcdir)/tests/lib
TIER_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
TIER_TEST_LDADD = tests/unit/libtiertest.la $(CHECK_LIBS) -lpthread

tests_unit_test_tier_SOURCES = tests/unit/test_tier.c
tests_unit_test_tier_CPPFLAGS = $(TIER_TEST_CPPFLAGS)
tests_unit_test_tier_CFLAGS = $(TIER_TEST_CFLAGS)
tests_unit_test_tier_LDADD = $(TIER_TEST_LDADD)

# the invalidate hook of a host with an extent cache; ZUS_GE_PROMOTE
tests_unit_test_tier_inval_SOURCES = tests/unit/test_tier_inval.c
tests_unit_test_tier_inval_CPPFLAGS = $(TIER_TEST_CPPFLAGS)
tests_unit_test_tier_inval_CFLAGS = $(TIER_TEST_CFLAGS)
tests_unit_test_tier_inval_LDADD = $(TIER_TEST_LDADD)

tests_unit_test_tier_crash_SOURCES = tests/unit/test_tier_crash.c \
	tests/lib/pmem_sim.c tests/lib/pmem_sim.h
tests_unit_test_tier_crash_CPPFLAGS = $(TIER_TEST_CPPFLAGS)
tests_unit_test_tier_crash_CFLAGS = $(TIER_TEST_CFLAGS)
tests_unit_test_tier_crash_LDADD = $(TIER_TEST_LDADD)

# ---- make bench: tier-host ------------------------------------------------
# Built on demand, without sanitizers, with pmfs2, its format library and the
# tier backends compiled in.  Hooked into the `bench` target of tests/local.mk
# by a prerequisite-only rule.
EXTRA_PROGRAMS += tests/bench/tier-host
tests_bench_tier_host_SOURCES = tests/bench/tier-host.c \
	plugins/pmfs2/pmfs2.c \
	$(plugins_pmfs2_libpmfs2core_la_SOURCES) \
	$(plugins_pmfs2_libpmfs2fmt_la_SOURCES) \
	$(plugins_tier_libzustier_la_SOURCES)
tests_bench_tier_host_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/pmfs2 \
	-I$(top_srcdir)/plugins/tier $(UUID_CFLAGS) $(URING_CFLAGS)
tests_bench_tier_host_CFLAGS = $(WARN_CFLAGS) -O2 -pthread
tests_bench_tier_host_LDFLAGS = -pthread
tests_bench_tier_host_LDADD = $(UUID_LIBS) $(URING_LIBS)
CLEANFILES += tests/bench/tier-host$(EXEEXT) tests/bench/tier-host.json

.PHONY: bench-tier
bench: bench-tier
bench-tier: tests/bench/tier-host$(EXEEXT)
	tests/bench/tier-host$(EXEEXT)
	tests/bench/tier-host$(EXEEXT) --json > tests/bench/tier-host.json
	@echo "bench: JSON in tests/bench/tier-host.json"

# zusd with a tier over FUSE: mkfs --tier, fill 90 % of pmem + tier, verify
# across remounts (uring and sync backends), refusals of a missing or
# foreign tier (needs zusd, the pmfs2 and tier plugins, mkfs and fsck).
TESTS += tests/unit/test_tier_fuse.sh
EXTRA_DIST += tests/unit/test_tier_fuse.sh

# the hosts' tier options and backend choice (zusd/tier_host.c)
check_PROGRAMS += tests/unit/test_tier_host
TESTS += tests/unit/test_tier_host
tests_unit_test_tier_host_SOURCES = tests/unit/test_tier_host.c
tests_unit_test_tier_host_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/zusd
tests_unit_test_tier_host_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_tier_host_LDADD = zusd/libzushost.la $(CHECK_LIBS)
