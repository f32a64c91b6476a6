// SPDX-License-Identifier: BSD-2-Clause
/*
 * options.c - pmfs2's own mount options.
 *
 * The host takes tier=PATH and tier_backend=NAME out of -o before the mount
 * (it attaches the devices); the kernel or FUSE takes the generic ones (ro,
 * nosuid, noatime, lazytime, ...).  What is left is ours, and an option we
 * do not know fails the mount with EINVAL as ext4 and xfs fail it: silently
 * ignoring a misspelt option leaves an admin believing it took effect.
 *
 * A remount sees the options as given (mount(8) adds fstab's), tier= and
 * tier_backend= included: those are accepted and leave the tier as it was
 * mounted.  The watermarks change at once; the migrator's thread and queue
 * depth are fixed at mount, so a remount that asks for other values fails
 * (ext4 refuses a dax= change on remount the same way).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pmfs2.h"
#include "pmfs2_tier.h"

#define PMFS2_OPTS_HELP \
	"pmfs2 takes tier=PATH, tier_backend=NAME, tier_low=PCT (0-90), tier_high=PCT (up to 95), tier_thread=0|1 and tier_qd=1-256; see pmfs2(5)"

void pmfs2_options_default(struct pmfs2_options *o)
{
	o->tier_low = PMFS2_TIER_DEF_LOW;
	o->tier_high = PMFS2_TIER_DEF_HIGH;
	o->tier_qd = 0;		/* the backend's default */
	o->tier_thread = true;
}

/* "key=N" with N in [lo, hi]: 0, or -EINVAL */
static int opt_number(const char *val, size_t len, unsigned long lo,
		      unsigned long hi, unsigned int *out)
{
	char buf[16], *end;
	unsigned long v;

	if (!len || len >= sizeof(buf) || val[0] < '0' || val[0] > '9')
		return -EINVAL;
	memcpy(buf, val, len);
	buf[len] = '\0';
	v = strtoul(buf, &end, 10);
	if (*end || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

int pmfs2_options_parse(const char *opts, bool remount,
			struct pmfs2_options *o, char *err, size_t errlen)
{
	static const struct {
		const char *key;
		unsigned long lo, hi;
		size_t off;
	} nums[] = {
		{ "tier_low", 0, 90, offsetof(struct pmfs2_options, tier_low) },
		{ "tier_high", 1, 95, offsetof(struct pmfs2_options, tier_high) },
		{ "tier_qd", 1, 256, offsetof(struct pmfs2_options, tier_qd) },
	};
	const char *p = opts;

	while (p && *p) {
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		const char *val = eq ? eq + 1 : NULL;
		size_t vlen = eq ? len - klen - 1 : 0;
		unsigned int v;
		bool known = false;
		int ret = 0;

		if (!len)
			goto next;
		for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
			if (strlen(nums[i].key) != klen ||
			    strncmp(p, nums[i].key, klen))
				continue;
			known = true;
			ret = val ? opt_number(val, vlen, nums[i].lo,
					       nums[i].hi, &v) : -EINVAL;
			if (!ret)
				*(unsigned int *)((char *)o + nums[i].off) = v;
			else
				snprintf(err, errlen,
					 "mount option '%.*s': want %s=N with N from %lu to %lu",
					 (int)len, p, nums[i].key, nums[i].lo,
					 nums[i].hi);
		}
		if (klen == 11 && !strncmp(p, "tier_thread", 11)) {
			known = true;
			ret = val ? opt_number(val, vlen, 0, 1, &v) : -EINVAL;
			if (!ret)
				o->tier_thread = v;
			else
				snprintf(err, errlen,
					 "mount option '%.*s': want tier_thread=0 or tier_thread=1",
					 (int)len, p);
		}
		if (remount && val &&
		    ((klen == 4 && !strncmp(p, "tier", 4)) ||
		     (klen == 12 && !strncmp(p, "tier_backend", 12))))
			known = true;
		if (!known) {
			snprintf(err, errlen, "unknown mount option '%.*s': %s",
				 (int)len, p, PMFS2_OPTS_HELP);
			return -EINVAL;
		}
		if (ret)
			return ret;
next:
		p += len;
		if (*p == ',')
			p++;
	}
	if (o->tier_low >= o->tier_high) {
		snprintf(err, errlen,
			 "mount options: tier_low=%u must be below tier_high=%u",
			 o->tier_low, o->tier_high);
		return -EINVAL;
	}
	if (err && errlen)
		err[0] = '\0';
	return 0;
}
