# systemd units, udev rule, D-Bus policy and zusd.conf.
#
# The directories come from configure (pkg-config systemd/udev for the
# first two).  make distcheck installs under a scratch prefix, so it
# configures them below ${libdir} instead of the absolute system paths.
AM_DISTCHECK_CONFIGURE_FLAGS += \
	systemdsystemunitdir='$${libdir}/systemd/system' \
	udevdir='$${libdir}/udev' \
	--with-dbussystemdir='$${datadir}/dbus-1/system.d'

nodist_systemdsystemunit_DATA = units/zusd.service
dist_systemdsystemunit_DATA = units/zusd.socket units/sys-fs-zuf.mount
dist_udevrules_DATA = units/60-zufs.rules
dist_dbussystem_DATA = units/org.zufs.Manager1.conf
zufsconfdir = $(sysconfdir)/zufs
dist_zufsconf_DATA = conf/zusd.conf
dist_man_MANS += conf/zusd.conf.5

# data.mount is an example (see units/README.md), not installed.
EXTRA_DIST += units/zusd.service.in units/data.mount units/README.md
CLEANFILES += units/zusd.service

units/zusd.service: $(srcdir)/units/zusd.service.in Makefile
	@$(MKDIR_P) units
	$(AM_V_GEN)sed -e 's|@sbindir[@]|$(sbindir)|g' \
		$(srcdir)/units/zusd.service.in > $@.tmp && mv $@.tmp $@
