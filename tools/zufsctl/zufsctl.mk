# zufsctl: the command-line client of zusd's D-Bus service (sd-bus only).
bin_PROGRAMS += tools/zufsctl/zufsctl
tools_zufsctl_zufsctl_SOURCES = tools/zufsctl/zufsctl.c tools/zufsctl/zufsctl.h \
	tools/zufsctl/manager.c tools/zufsctl/manager.h \
	tools/zufsctl/output.c tools/zufsctl/output.h \
	tools/zufsctl/stats_watch.c tools/zufsctl/stats_watch.h
tools_zufsctl_zufsctl_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
tools_zufsctl_zufsctl_LDADD = $(SYSTEMD_LIBS)
dist_man_MANS += tools/zufsctl/zufsctl.8
