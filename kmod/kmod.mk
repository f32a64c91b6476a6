# zuf.ko, the kernel transport: built by Kbuild, out of tree, against the
# headers of the target kernel.  Included from the top Makefile.am.
# configure provides: AM_CONDITIONAL([BUILD_KMOD]), AC_SUBST([KDIR]) (e.g.
# /usr/src/linux-headers-6.1.0-NN-amd64 or /lib/modules/$KRELEASE/build) and
# AC_SUBST([KRELEASE]) (the kernel release zuf.ko is for).

KMOD_SRCS = \
	kmod/zuf.h kmod/super.c kmod/channel.c kmod/control.c kmod/inode.c \
	kmod/namei.c kmod/dir.c kmod/file.c kmod/mmap.c kmod/xattr.c kmod/ioctl.c
EXTRA_DIST += $(KMOD_SRCS) kmod/Kbuild kmod/Makefile kmod/kmod.mk \
	kmod/tests/zuf-memfs.c tests/vm/zuf-smoke.sh

if BUILD_KMOD
all-local: kmod-all
install-exec-local: kmod-install
uninstall-local: kmod-uninstall
clean-local: kmod-clean
endif

# Kbuild writes next to the sources: in a VPATH build, build a copy.
kmod-all:
	@if test "$(abs_srcdir)" != "$(abs_builddir)"; then \
		$(MKDIR_P) kmod && \
		for f in $(KMOD_SRCS) kmod/Kbuild; do \
			cmp -s "$(srcdir)/$$f" "$$f" || cp -p "$(srcdir)/$$f" "$$f"; \
		done; \
	fi
	$(MAKE) -C "$(KDIR)" M="$(abs_builddir)/kmod" \
		ZUFS_INCLUDE="$(abs_top_srcdir)/include" modules

kmod-install: kmod-all
	$(MKDIR_P) "$(DESTDIR)$(kmoddir)"
	$(INSTALL_DATA) kmod/zuf.ko "$(DESTDIR)$(kmoddir)/zuf.ko"
	if test -z "$(DESTDIR)" && test "$(kmoddir)" = "/lib/modules/$(KRELEASE)/extra"; then \
		depmod -a "$(KRELEASE)" || :; \
	fi

kmod-uninstall:
	rm -f "$(DESTDIR)$(kmoddir)/zuf.ko"

kmod-clean:
	-test ! -d "$(KDIR)" || $(MAKE) -C "$(KDIR)" M="$(abs_builddir)/kmod" clean
	-if test "$(abs_srcdir)" != "$(abs_builddir)"; then \
		for f in $(KMOD_SRCS) kmod/Kbuild; do rm -f "$$f"; done; \
	fi

.PHONY: kmod-all kmod-install kmod-uninstall kmod-clean
