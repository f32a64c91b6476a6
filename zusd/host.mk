# shared host library: plugin loader, pmem mapping, in-process host.
# Linked by zusd (kernel and FUSE transports) and by the tests.
noinst_LTLIBRARIES += zusd/libzushost.la
zusd_libzushost_la_SOURCES = \
	zusd/plugin.c zusd/plugin.h zusd/errmsg.h \
	zusd/pmem_map.c zusd/pmem_map.h \
	zusd/tier_host.c zusd/tier_host.h \
	zusd/inproc.c zusd/inproc.h zusd/atime.h
zusd_libzushost_la_CFLAGS = $(AM_CFLAGS) -pthread
zusd_libzushost_la_LIBADD = -ldl $(PTHREAD_LIBS)

# zus-inproc-run: mount a pmfs2 image in-process and run a verifying workload
noinst_PROGRAMS += zusd/zus-inproc-run
zusd_zus_inproc_run_SOURCES = zusd/zus-inproc-run.c
zusd_zus_inproc_run_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/zusd \
	-I$(top_srcdir)/plugins/pmfs2
zusd_zus_inproc_run_LDADD = zusd/libzushost.la plugins/pmfs2/libpmfs2fmt.la
