# tier plugin: tier backends moving blocks between pmem and a capacity device
# ("uring": io_uring + O_DIRECT + registered staging buffers; "sync":
# pread/pwrite), and pmfs2's tiering (hotness, migration, promotion), which
# lives in pmfs2's core library because it edits pmfs2's block maps.
#
# libzustier holds the backends so that tests and benchmarks link them
# directly; the module adds `zus_plugin`, its only exported symbol.
noinst_LTLIBRARIES += plugins/tier/libzustier.la
plugins_tier_libzustier_la_SOURCES = \
	plugins/tier/tier_backend.h \
	plugins/tier/common.c \
	plugins/tier/sync.c \
	plugins/tier/uring.c
plugins_tier_libzustier_la_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) -pthread
plugins_tier_libzustier_la_LIBADD = $(URING_LIBS)

plugins_LTLIBRARIES += plugins/tier/tier.la
plugins_tier_tier_la_SOURCES = plugins/tier/plugin.c
plugins_tier_tier_la_CFLAGS = $(AM_CFLAGS) -pthread
plugins_tier_tier_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-export-symbols-regex '^zus_plugin$$' -pthread
plugins_tier_tier_la_LIBADD = plugins/tier/libzustier.la

# pmfs2's side of tiering (see plugins/pmfs2/tier.c); kept here so that
# plugins/pmfs2/local.mk stays untouched.  The lead may move these lines.
plugins_pmfs2_libpmfs2core_la_SOURCES += \
	plugins/pmfs2/tier.c \
	plugins/pmfs2/hotness.c \
	plugins/pmfs2/pmfs2_tier.h
