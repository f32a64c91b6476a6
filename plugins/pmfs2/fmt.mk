# format library libpmfs2fmt: on-pmem format code shared by the pmfs2
# plugin, mkfs.pmfs2, fsck.pmfs2 and the tests.
#
# The private headers are listed in _SOURCES (automake treats them as
# noinst headers: distributed, never installed) because the top-level
# Makefile.am does not initialise noinst_HEADERS for fragments to += onto.
noinst_LTLIBRARIES += plugins/pmfs2/libpmfs2fmt.la
plugins_pmfs2_libpmfs2fmt_la_SOURCES = \
	plugins/pmfs2/lib_base.c \
	plugins/pmfs2/format.c \
	plugins/pmfs2/recover.c \
	plugins/pmfs2/check.c \
	plugins/pmfs2/pmfs2_format.h \
	plugins/pmfs2/pmfs2_lib.h \
	plugins/pmfs2/pmfs2_tier_format.h
plugins_pmfs2_libpmfs2fmt_la_CFLAGS = $(AM_CFLAGS) $(UUID_CFLAGS)
plugins_pmfs2_libpmfs2fmt_la_LIBADD = $(UUID_LIBS)
