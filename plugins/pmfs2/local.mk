# pmfs2 plugin: the persistent-memory filesystem served through the SDK.
#
# libpmfs2core holds everything but the entry point so that unit tests link
# the filesystem directly; the module adds the ops table and `zus_plugin`,
# the only symbol it exports.  The private header is listed in _SOURCES
# (distributed, never installed): the top Makefile.am does not initialise
# noinst_HEADERS.
noinst_LTLIBRARIES += plugins/pmfs2/libpmfs2core.la
plugins_pmfs2_libpmfs2core_la_SOURCES = \
	plugins/pmfs2/pmfs2.h \
	plugins/pmfs2/super.c \
	plugins/pmfs2/options.c \
	plugins/pmfs2/journal.c \
	plugins/pmfs2/balloc.c \
	plugins/pmfs2/inode.c \
	plugins/pmfs2/bmap.c \
	plugins/pmfs2/file.c \
	plugins/pmfs2/dir.c \
	plugins/pmfs2/namei.c \
	plugins/pmfs2/xattr.c
plugins_pmfs2_libpmfs2core_la_CFLAGS = $(AM_CFLAGS) -pthread

plugins_LTLIBRARIES += plugins/pmfs2/pmfs2.la
plugins_pmfs2_pmfs2_la_SOURCES = plugins/pmfs2/pmfs2.c
plugins_pmfs2_pmfs2_la_CFLAGS = $(AM_CFLAGS) -pthread
plugins_pmfs2_pmfs2_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-export-symbols-regex '^zus_plugin$$' -pthread
plugins_pmfs2_pmfs2_la_LIBADD = plugins/pmfs2/libpmfs2core.la \
	plugins/pmfs2/libpmfs2fmt.la

dist_man_MANS += plugins/pmfs2/pmfs2.5
