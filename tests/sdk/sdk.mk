# The plugin SDK as a third party uses it.  test_plugin_abi: the loader
# refuses plugins built for a plugin API version it does not accept (the
# abi_*.la modules), saying which it does.  test_example_plugin.sh: the SDK
# installed into a scratch DESTDIR builds examples/memfs out of tree with
# pkg-config alone; zusd loads it over FUSE and posix-test passes on it.
ABI_PLUGIN_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -rpath /nowhere
check_LTLIBRARIES += tests/sdk/abi_old.la tests/sdk/abi_new.la tests/sdk/abi_cur.la
tests_sdk_abi_old_la_SOURCES = tests/sdk/abi_plugin.c
tests_sdk_abi_old_la_CPPFLAGS = $(AM_CPPFLAGS) -DABI_OLD
tests_sdk_abi_old_la_LDFLAGS = $(ABI_PLUGIN_LDFLAGS)
tests_sdk_abi_new_la_SOURCES = tests/sdk/abi_plugin.c
tests_sdk_abi_new_la_CPPFLAGS = $(AM_CPPFLAGS) -DABI_NEW
tests_sdk_abi_new_la_LDFLAGS = $(ABI_PLUGIN_LDFLAGS)
tests_sdk_abi_cur_la_SOURCES = tests/sdk/abi_plugin.c
tests_sdk_abi_cur_la_CPPFLAGS = $(AM_CPPFLAGS)
tests_sdk_abi_cur_la_LDFLAGS = $(ABI_PLUGIN_LDFLAGS)

check_PROGRAMS += tests/sdk/test_plugin_abi
tests_sdk_test_plugin_abi_SOURCES = tests/sdk/test_plugin_abi.c
tests_sdk_test_plugin_abi_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/zusd \
	-DABI_PLUGIN_DIR='"$(abs_top_builddir)/tests/sdk/.libs"'
tests_sdk_test_plugin_abi_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_sdk_test_plugin_abi_LDADD = zusd/libzushost.la $(CHECK_LIBS)

TESTS += tests/sdk/test_plugin_abi tests/sdk/test_example_plugin.sh
EXTRA_DIST += tests/sdk/test_example_plugin.sh \
	examples/memfs/README examples/memfs/Makefile examples/memfs/memfs.h \
	examples/memfs/super.c examples/memfs/inode.c examples/memfs/dir.c \
	examples/memfs/file.c examples/memfs/xattr.c
# the example is built with the sanitizers zusd has (they must agree)
AM_TESTS_ENVIRONMENT += \
	ZUFS_SRCDIR='$(abs_top_srcdir)'; export ZUFS_SRCDIR; \
	SDK_TEST_CFLAGS='$(SAN_CFLAGS)'; export SDK_TEST_CFLAGS;
