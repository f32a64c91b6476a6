# The test that every installed man page (dist_man_MANS, each listed
# beside what it documents) renders without a warning.
TESTS += tests/docs/test_manpages.sh
EXTRA_DIST += tests/docs/test_manpages.sh
AM_TESTS_ENVIRONMENT += \
	SRCDIR='$(abs_top_srcdir)'; export SRCDIR; \
	MANPAGES='$(dist_man_MANS)'; export MANPAGES; \
	PROGRAMS='$(sbin_PROGRAMS) $(bin_PROGRAMS)'; export PROGRAMS;
