# zusd's services, as a convenience library linked by zusd and by the
# appliance tests: zusd.conf (iniparser), per-operation statistics and the
# org.zufs.Manager1 D-Bus service (sd-bus).
noinst_LTLIBRARIES += zusd/libzusdsvc.la
zusd_libzusdsvc_la_SOURCES = \
	zusd/config.c zusd/config.h \
	zusd/stats.c zusd/stats.h \
	zusd/dbus_service.c zusd/dbus_service.h \
	zusd/mtab.c zusd/mtab.h \
	zusd/kmounts.c zusd/kmounts.h \
	zusd/fdstore.c zusd/fdstore.h \
	zusd/log.c zusd/log.h
zusd_libzusdsvc_la_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) -pthread
zusd_libzusdsvc_la_LIBADD = $(SYSTEMD_LIBS) $(INIPARSER_LIBS) $(PTHREAD_LIBS)
