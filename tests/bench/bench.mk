# make bench, host part: pmfs2 in-process vs pmfs2 over FUSE vs tmpfs, side by
# side (tests/bench/host-compare.sh, see tests/bench/README.md).  `make bench`
# (defined in tests/local.mk, which still prints the pmfs2-inproc memcpy-floor
# table) depends on bench-host, so the comparison runs first, after
# everything it needs is built, and the two never run at the same time.
#
# fsbench and fsbench-inproc are built on demand only and never with the
# sanitizers (own CFLAGS/LDFLAGS, plugin + format library compiled in, as
# pmfs2-inproc).  zusd, pmfs2.so and mkfs.pmfs2 come from this build, or, in a
# build configured with --enable-sanitizers, from a non-sanitized copy that
# host-compare.sh configures and builds in tests/bench/nosan.
#
# BENCH_ARGS adds host-compare.sh options, e.g. make bench BENCH_ARGS=--quick
EXTRA_PROGRAMS += tests/bench/fsbench tests/bench/fsbench-inproc
tests_bench_fsbench_SOURCES = tests/bench/fsbench.c tests/bench/fsbench.h \
	tests/bench/fsbench-sys.c
tests_bench_fsbench_CFLAGS = $(WARN_CFLAGS) -O2 -pthread
tests_bench_fsbench_LDFLAGS = -pthread

tests_bench_fsbench_inproc_SOURCES = tests/bench/fsbench.c \
	tests/bench/fsbench.h tests/bench/fsbench-sys.c \
	tests/bench/fsbench-inproc.c \
	zusd/inproc.c zusd/pmem_map.c plugins/pmfs2/pmfs2.c \
	$(plugins_pmfs2_libpmfs2core_la_SOURCES) \
	$(plugins_pmfs2_libpmfs2fmt_la_SOURCES)
tests_bench_fsbench_inproc_CPPFLAGS = $(TESTS_CPPFLAGS) $(UUID_CFLAGS) \
	-DFSBENCH_INPROC
tests_bench_fsbench_inproc_CFLAGS = $(WARN_CFLAGS) -O2 -pthread
tests_bench_fsbench_inproc_LDFLAGS = -pthread
tests_bench_fsbench_inproc_LDADD = $(UUID_LIBS)

CLEANFILES += tests/bench/fsbench$(EXEEXT) tests/bench/fsbench-inproc$(EXEEXT) \
	tests/bench/host-compare.json
EXTRA_DIST += tests/bench/host-compare.sh tests/bench/README.md

BENCH_HOST_DEPS = tests/bench/fsbench$(EXEEXT) \
	tests/bench/fsbench-inproc$(EXEEXT) tests/bench/pmfs2-inproc$(EXEEXT)
if !SANITIZERS
# (with sanitizers, host-compare.sh builds its own copy of these)
BENCH_HOST_DEPS += zusd/zusd$(EXEEXT) mkfs/mkfs.pmfs2$(EXEEXT) \
	plugins/pmfs2/pmfs2.la
endif

.PHONY: bench-host
bench-host: $(BENCH_HOST_DEPS)
	bash $(srcdir)/tests/bench/host-compare.sh \
		--builddir '$(abs_top_builddir)' \
		--json-out tests/bench/host-compare.json $(BENCH_ARGS)

# a prerequisite only: the recipe of bench stays in tests/local.mk
bench: bench-host
