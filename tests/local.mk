# rules for tests: the randomized model test, the power-cut test, the
# libFuzzer targets and the in-process benchmark (make bench).
AM_TESTS_ENVIRONMENT += \
	ZUS_PLUGIN_PATH='$(abs_top_builddir)/plugins/pmfs2/.libs'; \
	export ZUS_PLUGIN_PATH; \
	FUZZ_CC='$(FUZZ_CC)'; export FUZZ_CC;

TESTS_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/zusd \
	-I$(top_srcdir)/plugins/pmfs2 -I$(top_srcdir)/tests/lib \
	-I$(top_srcdir)/tests/model
TESTS_MODEL_SOURCES = tests/model/model.c tests/model/model.h \
	tests/model/fsm.c tests/model/fsm.h

# ---- the randomized model test ----------------------------------------------
check_PROGRAMS += tests/model/test_model
TESTS += tests/model/test_model
tests_model_test_model_SOURCES = tests/model/test_model.c $(TESTS_MODEL_SOURCES)
tests_model_test_model_CPPFLAGS = $(TESTS_CPPFLAGS)
tests_model_test_model_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_model_test_model_LDADD = zusd/libzushost.la plugins/pmfs2/libpmfs2fmt.la \
	$(CHECK_LIBS)

# ---- the power-cut test -------------------------------------------------------
check_PROGRAMS += tests/crash/test_crash
TESTS += tests/crash/test_crash
tests_crash_test_crash_SOURCES = tests/crash/test_crash.c \
	tests/lib/pmem_sim.c tests/lib/pmem_sim.h $(TESTS_MODEL_SOURCES)
tests_crash_test_crash_CPPFLAGS = $(TESTS_CPPFLAGS)
tests_crash_test_crash_LDADD = zusd/libzushost.la plugins/pmfs2/libpmfs2fmt.la

# ---- libFuzzer targets ---------------------------------------------------------
# Built with $(FUZZ_CC) straight from the sources (not libtool objects): the
# plugin, the format library and the in-process host, linked statically.
check_PROGRAMS += tests/fuzz/gen-corpus
tests_fuzz_gen_corpus_SOURCES = tests/fuzz/gen_corpus.c \
	tests/fuzz/fuzz_common.c tests/fuzz/fuzz_common.h
tests_fuzz_gen_corpus_CPPFLAGS = $(TESTS_CPPFLAGS)
tests_fuzz_gen_corpus_LDADD = zusd/libzushost.la plugins/pmfs2/libpmfs2fmt.la

TESTS += tests/fuzz/run-fuzz.sh
EXTRA_DIST += tests/fuzz/run-fuzz.sh tests/fuzz/fuzz_target.h \
	tests/fuzz/fuzz_super.c tests/fuzz/fuzz_inode.c tests/fuzz/fuzz_dir.c

FUZZ_TARGETS = tests/fuzz/fuzz-super tests/fuzz/fuzz-inode tests/fuzz/fuzz-dir
FUZZ_SRCS = tests/fuzz/fuzz_common.c zusd/inproc.c plugins/pmfs2/pmfs2.c \
	$(filter %.c,$(plugins_pmfs2_libpmfs2core_la_SOURCES) \
		     $(plugins_pmfs2_libpmfs2fmt_la_SOURCES))
FUZZ_HDRS = tests/fuzz/fuzz_common.h tests/fuzz/fuzz_target.h zusd/inproc.h \
	zusd/atime.h \
	$(filter %.h,$(plugins_pmfs2_libpmfs2core_la_SOURCES) \
		     $(plugins_pmfs2_libpmfs2fmt_la_SOURCES))
FUZZ_FLAGS = -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	-include $(top_builddir)/config.h -D_GNU_SOURCE \
	-I$(top_srcdir)/include -I$(top_srcdir)/zusd \
	-I$(top_srcdir)/plugins/pmfs2 -I$(top_srcdir)/tests/fuzz \
	$(UUID_CFLAGS) -pthread
if HAVE_FUZZ_CC
check_DATA += $(FUZZ_TARGETS)
CLEANFILES += $(FUZZ_TARGETS)
endif
$(FUZZ_TARGETS): tests/fuzz/fuzz-%: $(srcdir)/tests/fuzz/fuzz_%.c \
		$(FUZZ_SRCS:%=$(srcdir)/%) $(FUZZ_HDRS:%=$(srcdir)/%)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_GEN)$(FUZZ_CC) $(FUZZ_FLAGS) $(WARN_CFLAGS) -o $@ \
		$(srcdir)/tests/fuzz/fuzz_$*.c $(FUZZ_SRCS:%=$(srcdir)/%) \
		$(UUID_LIBS) -pthread

# ---- make bench ------------------------------------------------------------------
# Built on demand only, without sanitizers (its own CFLAGS and LDFLAGS), with
# the plugin and the format library compiled in.
EXTRA_PROGRAMS += tests/bench/pmfs2-inproc
tests_bench_pmfs2_inproc_SOURCES = tests/bench/pmfs2-inproc.c \
	zusd/inproc.c zusd/pmem_map.c plugins/pmfs2/pmfs2.c \
	$(plugins_pmfs2_libpmfs2core_la_SOURCES) \
	$(plugins_pmfs2_libpmfs2fmt_la_SOURCES)
tests_bench_pmfs2_inproc_CPPFLAGS = $(TESTS_CPPFLAGS) $(UUID_CFLAGS)
tests_bench_pmfs2_inproc_CFLAGS = $(WARN_CFLAGS) -O2 -pthread
tests_bench_pmfs2_inproc_LDFLAGS = -pthread
tests_bench_pmfs2_inproc_LDADD = $(UUID_LIBS)
CLEANFILES += tests/bench/pmfs2-inproc$(EXEEXT)

.PHONY: bench
bench: tests/bench/pmfs2-inproc$(EXEEXT)
	tests/bench/pmfs2-inproc$(EXEEXT)
	tests/bench/pmfs2-inproc$(EXEEXT) --json > tests/bench/pmfs2-inproc.json
	@echo "bench: JSON in tests/bench/pmfs2-inproc.json"
CLEANFILES += tests/bench/pmfs2-inproc.json
