# The Debian packages (debian/, scripts/build-debs.sh): built from the tree,
# checked by lintian, then installed, rebooted into and purged in the VM
# with systemd as PID 1 (test_zuf_deb.sh).  See debian/ and README.md.
EXTRA_DIST += scripts/build-debs.sh tests/vm/test_zuf_deb.sh tests/vm/zuf-deb.sh \
	debian/changelog debian/control debian/copyright debian/rules \
	debian/source/format debian/zufs.install debian/zufs.postinst \
	debian/zufs.prerm debian/zufs.README.Debian debian/zufs.lintian-overrides \
	debian/zufs-dkms.dkms debian/libzus-dev.install debian/libzus-dev.examples

VM_TESTS += tests/vm/test_zuf_deb.sh
