# zusd server and its transports
sbin_PROGRAMS += zusd/zusd
dist_man_MANS += zusd/zusd.8
zusd_zusd_SOURCES = \
	zusd/main.c \
	zusd/health.c zusd/health.h \
	zusd/mount.c zusd/mount.h \
	zusd/fuse_transport.c zusd/fuse_transport.h \
	zusd/fuse_inodes.c zusd/fuse_inodes.h \
	zusd/posix_acl.c zusd/posix_acl.h \
	zusd/zuf_serve.c zusd/zuf_serve.h \
	zusd/zuf_transport.c zusd/zuf_transport.h
zusd_zusd_CFLAGS = $(AM_CFLAGS) $(FUSE3_CFLAGS) $(SYSTEMD_CFLAGS) -pthread
zusd_zusd_LDADD = zusd/libzushost.la zusd/libzusdsvc.la $(FUSE3_LIBS) \
	$(SYSTEMD_LIBS) $(PTHREAD_LIBS)
