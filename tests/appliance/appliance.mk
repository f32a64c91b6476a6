# Appliance tests: zusd.conf parsing, the statistics counters, the D-Bus
# service with zufsctl on a private bus, the systemd units, and the real
# zusd run from zusd.conf over FUSE with D-Bus and sd_notify
# (test_zusd_dbus.sh), zufsctl stats --watch over fake-zusd's growing tier
# counters (test_stats_watch.sh).  The shell tests source appliance-lib.sh.
# zusd/config.h is included as "zusd/config.h": a bare "config.h" is
# autoconf's
APPLIANCE_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) -I$(top_srcdir)/zusd

check_PROGRAMS += tests/appliance/test_config tests/appliance/test_stats \
	tests/appliance/test_health tests/appliance/fake-zusd \
	tests/appliance/test_mtab tests/appliance/fake-systemd \
	tests/appliance/test_log
TESTS += tests/appliance/test_config tests/appliance/test_stats \
	tests/appliance/test_health tests/appliance/test_mtab \
	tests/appliance/test_log \
	tests/appliance/test_dbus.sh tests/appliance/test_units.sh \
	tests/appliance/test_zusd_dbus.sh tests/appliance/test_fdstore.sh \
	tests/appliance/test_stats_watch.sh
EXTRA_DIST += tests/appliance/test_dbus.sh tests/appliance/test_units.sh \
	tests/appliance/test_zusd_dbus.sh tests/appliance/test_fdstore.sh \
	tests/appliance/test_stats_watch.sh \
	tests/appliance/appliance-lib.sh tests/appliance/system-bus-policy.conf

tests_appliance_test_config_SOURCES = tests/appliance/test_config.c
tests_appliance_test_config_CPPFLAGS = $(APPLIANCE_CPPFLAGS)
tests_appliance_test_config_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_appliance_test_config_LDADD = zusd/libzusdsvc.la $(CHECK_LIBS)

tests_appliance_test_stats_SOURCES = tests/appliance/test_stats.c
tests_appliance_test_stats_CPPFLAGS = $(APPLIANCE_CPPFLAGS)
tests_appliance_test_stats_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
tests_appliance_test_stats_LDADD = zusd/libzusdsvc.la $(CHECK_LIBS) \
	$(PTHREAD_LIBS)

# zusd's watchdog view of its serving threads
tests_appliance_test_health_SOURCES = tests/appliance/test_health.c \
	zusd/health.c zusd/health.h
tests_appliance_test_health_CPPFLAGS = $(APPLIANCE_CPPFLAGS)
tests_appliance_test_health_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
tests_appliance_test_health_LDADD = $(CHECK_LIBS) $(PTHREAD_LIBS)

# the mount table (fd store form, mountinfo) and the zuf mounts' registry
tests_appliance_test_mtab_SOURCES = tests/appliance/test_mtab.c
tests_appliance_test_mtab_CPPFLAGS = $(APPLIANCE_CPPFLAGS)
tests_appliance_test_mtab_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
tests_appliance_test_mtab_LDADD = zusd/libzusdsvc.la $(CHECK_LIBS) \
	$(PTHREAD_LIBS)

# zusd.conf's [log]: level and target
tests_appliance_test_log_SOURCES = tests/appliance/test_log.c
tests_appliance_test_log_CPPFLAGS = $(APPLIANCE_CPPFLAGS)
tests_appliance_test_log_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_appliance_test_log_LDADD = zusd/libzusdsvc.la $(CHECK_LIBS)

# systemd's notify socket and fd store, for test_fdstore.sh
tests_appliance_fake_systemd_SOURCES = tests/appliance/fake-systemd.c

# the real D-Bus service and stats code over a fake backend
tests_appliance_fake_zusd_SOURCES = tests/appliance/fake-zusd.c
tests_appliance_fake_zusd_CPPFLAGS = $(APPLIANCE_CPPFLAGS)
tests_appliance_fake_zusd_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) -pthread
tests_appliance_fake_zusd_LDADD = zusd/libzusdsvc.la $(PTHREAD_LIBS)

