# mkfs.pmfs2 and fsck.pmfs2: link the pmfs2 format library, never zusd.
sbin_PROGRAMS += mkfs/mkfs.pmfs2 mkfs/fsck.pmfs2

mkfs_mkfs_pmfs2_SOURCES = mkfs/mkfs.c mkfs/progress.c mkfs/progress.h
mkfs_mkfs_pmfs2_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/pmfs2
mkfs_mkfs_pmfs2_CFLAGS = $(AM_CFLAGS) $(BLKID_CFLAGS) $(UUID_CFLAGS)
mkfs_mkfs_pmfs2_LDADD = plugins/pmfs2/libpmfs2fmt.la $(BLKID_LIBS) $(UUID_LIBS)

mkfs_fsck_pmfs2_SOURCES = mkfs/fsck.c mkfs/progress.c mkfs/progress.h
mkfs_fsck_pmfs2_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/pmfs2
mkfs_fsck_pmfs2_CFLAGS = $(AM_CFLAGS)
mkfs_fsck_pmfs2_LDADD = plugins/pmfs2/libpmfs2fmt.la

dist_man_MANS += mkfs/mkfs.pmfs2.8 mkfs/fsck.pmfs2.8

# fsck -C and mkfs's phases from the command line
TESTS += mkfs/test_progress.sh
EXTRA_DIST += mkfs/test_progress.sh
