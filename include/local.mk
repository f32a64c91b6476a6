zufsinclude_HEADERS += include/zufs/zus.h include/zufs/zus_pmem.h include/zufs/zufs_api.h

# ---- the plugin SDK: headers above, zus.pc, zus-plugin(7) ----------------
# zus.pc is made here rather than by configure so that the plugin API
# version comes straight from zus.h; paths are the expanded install dirs.
# (@VAR[@] keeps config.status from substituting into the sed scripts.)
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = include/zus.pc
EXTRA_DIST += include/zus.pc.in
CLEANFILES += include/zus.pc

include/zus.pc: $(top_srcdir)/include/zus.pc.in $(top_srcdir)/include/zufs/zus.h Makefile
	$(AM_V_GEN)$(MKDIR_P) include && \
	abi=`sed -n 's/^#define ZUS_PLUGIN_ABI_VERSION[[:space:]]*\([0-9]*\).*/\1/p' $(top_srcdir)/include/zufs/zus.h` && \
	min=`sed -n 's/^#define ZUS_PLUGIN_ABI_MIN[[:space:]]*\([0-9]*\).*/\1/p' $(top_srcdir)/include/zufs/zus.h` && \
	test -n "$$abi" && test -n "$$min" && \
	sed -e 's|@prefix[@]|$(prefix)|g' -e 's|@exec_prefix[@]|$(exec_prefix)|g' \
	    -e 's|@libdir[@]|$(libdir)|g' -e 's|@includedir[@]|$(includedir)|g' \
	    -e 's|@pluginsdir[@]|$(pluginsdir)|g' \
	    -e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' \
	    -e "s|@ZUS_PLUGIN_ABI_VERSION[@]|$$abi|g" \
	    -e "s|@ZUS_PLUGIN_ABI_MIN[@]|$$min|g" \
	    $(top_srcdir)/include/zus.pc.in >$@.tmp && mv $@.tmp $@

# Section 7, not 3: the SDK is headers and a contract a plugin implements
# (callbacks, return and durability rules), not a library of functions to
# call; section 3 documents functions, 7 conventions and interfaces.
dist_man_MANS += include/zus-plugin.7
