// SPDX-License-Identifier: BSD-2-Clause
/*
 * mkfs.pmfs2 - create a pmfs2 filesystem on a pmem block device or a file.
 *
 *   mkfs.pmfs2 [-f] [-L label] [-U uuid] [-N inodes] [-J journal-blocks]
 *              [--tier DEVICE_OR_FILE ...] [-q] DEVICE_OR_FILE
 *
 * Never interactive: an existing filesystem or partition table is refused
 * unless -f is given.
 */
#include <blkid/blkid.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "pmfs2_lib.h"
#include "pmfs2_tier_format.h"
#include "progress.h"

#define PROG "mkfs.pmfs2"

static bool quiet;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [-f] [-L label] [-U uuid] [-N inodes] [-J journal-blocks]\n"
		"                  [--tier DEVICE_OR_FILE ...] [-q] DEVICE_OR_FILE [SIZE]\n"
		"\n"
		"  SIZE                    filesystem size (default: the whole device), as\n"
		"                          mkfs.ext4: a number of KiB, or with a suffix K, M,\n"
		"                          G or T (powers of 1024)\n"
		"  -f, --force             overwrite an existing filesystem or partition table\n"
		"  -L, --label LABEL       filesystem label (at most %d bytes)\n"
		"  -U, --uuid UUID         filesystem UUID (default: random)\n"
		"  -N, --inodes N          number of inodes (default: one per %u bytes)\n"
		"  -J, --journal-blocks N  undo journal size in 4 KiB blocks (default %u, min %u)\n"
		"      --tier DEV          add a capacity tier device (repeatable, at most %d)\n"
		"  -q, --quiet             print nothing but errors\n"
		"  -h, --help              show this help\n",
		PMFS2_LABEL_MAX - 1, PMFS2_DEF_BYTES_PER_INODE,
		PMFS2_DEF_JOURNAL_BLOCKS, PMFS2_MIN_JOURNAL_BLOCKS,
		PMFS2_MAX_DEVS - 1);
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* SIZE as mkfs.ext4 takes it: KiB, or K/M/G/T; false if malformed. */
static bool parse_size(const char *s, uint64_t *out)
{
	unsigned int shift = 10;
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	if (*end) {
		const char *sfx = strchr("KMGT", toupper((unsigned char)*end));

		if (!sfx || end[1])
			return false;
		shift = 10 * (unsigned int)(sfx - "KMGT" + 1);
	}
	if (v > UINT64_MAX >> shift)
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

struct target {
	const char *path;
	int fd;
	uint64_t size;
	bool is_blk;
};

/* Open path read-write and find its size; messages name the problem. */
static int open_target(struct target *t, const char *path)
{
	struct stat st;
	int flags = O_RDWR | O_CLOEXEC;

	t->path = path;
	t->fd = -1;
	t->size = 0;
	t->is_blk = false;
	if (stat(path, &st) < 0) {
		fprintf(stderr, PROG ": %s: %s%s\n", path, strerror(errno),
			errno == ENOENT ?
			" (give an existing pmem device, or create the image file first, e.g. truncate -s 1G FILE)" :
			"");
		return -1;
	}
	if (S_ISBLK(st.st_mode)) {
		flags |= O_EXCL;	/* fails if mounted or in use */
		t->is_blk = true;
	} else if (!S_ISREG(st.st_mode)) {
		fprintf(stderr,
			PROG ": %s: not a block device or a regular file\n",
			path);
		return -1;
	}
	t->fd = open(path, flags);
	if (t->fd < 0) {
		fprintf(stderr, PROG ": cannot open %s read-write: %s%s\n",
			path, strerror(errno),
			errno == EBUSY ?
			" (it is mounted or in use; unmount it first)" :
			errno == EACCES || errno == EPERM ?
			" (run as root or fix its permissions)" : "");
		return -1;
	}
	if (t->is_blk) {
		if (ioctl(t->fd, BLKGETSIZE64, &t->size) < 0) {
			fprintf(stderr, PROG ": %s: cannot read device size: %s\n",
				path, strerror(errno));
			return -1;
		}
	} else {
		t->size = (uint64_t)st.st_size;
	}
	return 0;
}

/*
 * Refuse a target that holds a filesystem, a partition table or pmfs2
 * unless force; with force, wipe the signatures blkid knows.
 */
#define SYNC_CHUNK	(64u << 20)	/* bytes written back between updates */

/*
 * Make the new filesystem durable: its metadata at the front (superblock,
 * journal, inode table: everything mkfs dirtied but the backup
 * superblock) in chunks, each a progress step, then the rest and fsync.
 */
static int sync_out(const struct target *t, void *base, uint64_t len,
		    uint64_t front, struct phase *ph)
{
	for (uint64_t off = 0; off < front; off += SYNC_CHUNK) {
		uint64_t n = front - off < SYNC_CHUNK ? front - off : SYNC_CHUNK;

		phase_update(ph, off, front);
		if (msync((char *)base + off, n, MS_SYNC) < 0)
			return -1;
	}
	phase_update(ph, front, front);
	if (msync(base, len, MS_SYNC) < 0 || fsync(t->fd) < 0)
		return -1;
	return 0;
}

static int probe_target(struct target *t, bool force, bool check_pmfs2)
{
	blkid_probe pr;
	const char *type = NULL, *label = NULL, *what = "filesystem";
	char found[160] = "";
	int rc;

	pr = blkid_new_probe();
	if (!pr || blkid_probe_set_device(pr, t->fd, 0, 0)) {
		fprintf(stderr, PROG ": %s: cannot probe for existing data (libblkid)\n",
			t->path);
		if (pr)
			blkid_free_probe(pr);
		return -1;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE |
					  BLKID_SUBLKS_LABEL |
					  BLKID_SUBLKS_MAGIC);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);

	rc = blkid_do_safeprobe(pr);
	if (rc == 0) {
		if (!blkid_probe_lookup_value(pr, "TYPE", &type, NULL)) {
			blkid_probe_lookup_value(pr, "LABEL", &label, NULL);
		} else if (!blkid_probe_lookup_value(pr, "PTTYPE", &type,
						     NULL)) {
			what = "partition table";
		}
		snprintf(found, sizeof(found), "a %s (%s%s%s%s)", what,
			 type ? type : "unknown type",
			 label ? ", label \"" : "", label ? label : "",
			 label ? "\"" : "");
	} else if (rc == -2) {
		snprintf(found, sizeof(found),
			 "signatures of more than one filesystem");
	}
	if (!found[0] && check_pmfs2 && t->size >= PMFS2_BLOCK_SIZE) {
		uint64_t magic = 0;

		if (pread(t->fd, &magic, sizeof(magic), 0) == sizeof(magic) &&
		    magic == PMFS2_SUPER_MAGIC)
			snprintf(found, sizeof(found), "a pmfs2 filesystem");
	}
	if (!found[0] && t->size >= PMFS2_BLOCK_SIZE) {
		uint64_t magic = 0;

		if (pread(t->fd, &magic, sizeof(magic), 0) == sizeof(magic) &&
		    magic == PMFS2_TIER_MAGIC)
			snprintf(found, sizeof(found),
				 "a pmfs2 tier device header");
	}
	if (found[0] && !force) {
		fprintf(stderr,
			PROG ": %s contains %s: refusing to overwrite it; use -f to overwrite\n",
			t->path, found);
		blkid_free_probe(pr);
		return -1;
	}
	if (found[0] && force) {
		if (!quiet)
			printf("%s: overwriting %s\n", t->path, found);
		/* erase every signature blkid knows (wipefs-style) */
		blkid_probe_reset_superblocks_filter(pr);
		for (int i = 0; i < 64 && blkid_do_probe(pr) == 0; i++)
			blkid_do_wipe(pr, 0);
	}
	blkid_free_probe(pr);
	return 0;
}

static void report_topology(struct target *t)
{
	blkid_probe pr;
	blkid_topology tp;

	if (!t->is_blk)
		return;
	pr = blkid_new_probe();
	if (!pr)
		return;
	if (!blkid_probe_set_device(pr, t->fd, 0, 0) &&
	    !blkid_probe_enable_topology(pr, 1) &&
	    !blkid_do_fullprobe(pr) &&
	    (tp = blkid_probe_get_topology(pr)) != NULL) {
		unsigned long align = blkid_topology_get_alignment_offset(tp);
		unsigned long lsec = blkid_topology_get_logical_sector_size(tp);

		if (align % PMFS2_BLOCK_SIZE)
			fprintf(stderr,
				PROG ": warning: %s is misaligned by %lu bytes; pmfs2 blocks will straddle device pages (fix the partition alignment)\n",
				t->path, align);
		if (lsec > PMFS2_BLOCK_SIZE)
			fprintf(stderr,
				PROG ": warning: %s has %lu-byte sectors, larger than pmfs2's 4096-byte blocks\n",
				t->path, lsec);
	}
	blkid_free_probe(pr);
}

static int write_tier_header(struct target *t, unsigned int index,
			     const uint8_t fs_uuid[16],
			     const uint8_t dev_uuid[16], uint64_t size)
{
	static uint8_t blk[PMFS2_BLOCK_SIZE] __attribute__((aligned(4096)));
	struct pmfs2_tier_header h;

	pmfs2_tier_header_init(&h, index, fs_uuid, dev_uuid, size,
			       pmfs2_now());
	memset(blk, 0, sizeof(blk));
	memcpy(blk, &h, sizeof(h));
	if (pwrite(t->fd, blk, sizeof(blk), 0) != (ssize_t)sizeof(blk) ||
	    fsync(t->fd) < 0) {
		fprintf(stderr, PROG ": %s: cannot write the tier header: %s\n",
			t->path, strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

static void human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB" };
	double v = (double)bytes;
	unsigned int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

enum { OPT_TIER = 256 };

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "label", required_argument, NULL, 'L' },
		{ "uuid", required_argument, NULL, 'U' },
		{ "inodes", required_argument, NULL, 'N' },
		{ "journal-blocks", required_argument, NULL, 'J' },
		{ "tier", required_argument, NULL, OPT_TIER },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pmfs2_mkfs_opts o = { 0 };
	const char *tier_path[PMFS2_MAX_DEVS];
	struct target tiers[PMFS2_MAX_DEVS];
	uint8_t tier_uuid[PMFS2_MAX_DEVS][16];
	uint64_t tier_size[PMFS2_MAX_DEVS];
	unsigned int ntier = 0;
	struct target t = { .fd = -1 };
	struct zus_pmem pm = { 0 };
	struct pmfs2_super sb;
	uuid_t fs_uuid;
	bool force = false, have_uuid = false;
	char err[512], ubuf[40], hbuf[32];
	struct phase ph;
	void *base;
	uint64_t len;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "fL:U:N:J:qh", lopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'f':
			force = true;
			break;
		case 'L':
			if (strlen(optarg) >= PMFS2_LABEL_MAX) {
				fprintf(stderr,
					PROG ": label \"%s\" is too long: at most %d bytes\n",
					optarg, PMFS2_LABEL_MAX - 1);
				return 1;
			}
			o.label = optarg;
			break;
		case 'U':
			if (uuid_parse(optarg, fs_uuid)) {
				fprintf(stderr,
					PROG ": invalid UUID \"%s\": use the form 01234567-89ab-cdef-0123-456789abcdef\n",
					optarg);
				return 1;
			}
			have_uuid = true;
			break;
		case 'N':
			if (!parse_u64(optarg, &o.inodes) || !o.inodes) {
				fprintf(stderr,
					PROG ": invalid inode count \"%s\": give a positive number\n",
					optarg);
				return 1;
			}
			break;
		case 'J':
			if (!parse_u64(optarg, &o.journal_blocks) ||
			    o.journal_blocks < PMFS2_MIN_JOURNAL_BLOCKS) {
				fprintf(stderr,
					PROG ": invalid journal size \"%s\": give at least %u blocks\n",
					optarg, PMFS2_MIN_JOURNAL_BLOCKS);
				return 1;
			}
			break;
		case OPT_TIER:
			if (ntier >= PMFS2_MAX_DEVS - 1) {
				fprintf(stderr,
					PROG ": too many tier devices: at most %d\n",
					PMFS2_MAX_DEVS - 1);
				return 1;
			}
			tier_path[ntier++] = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		fprintf(stderr, PROG ": %s\n", optind >= argc ?
			"no device or file given" : "too many arguments");
		usage(stderr);
		return 1;
	}
	if (argc - optind == 2 && !parse_size(argv[optind + 1], &o.size)) {
		fprintf(stderr,
			PROG ": invalid size \"%s\": give KiB, or a number with K, M, G or T (e.g. 512M)\n",
			argv[optind + 1]);
		return 1;
	}
	if (!have_uuid)
		uuid_generate(fs_uuid);
	for (unsigned int i = 0; i < PMFS2_MAX_DEVS; i++)
		tiers[i].fd = -1;

	if (open_target(&t, argv[optind]))
		goto out;
	if (o.size > t.size) {
		human(o.size, hbuf, sizeof(hbuf));
		fprintf(stderr, PROG ": %s: the size asked for (%s) is larger than the device",
			t.path, hbuf);
		human(t.size, hbuf, sizeof(hbuf));
		fprintf(stderr, " (%s)\n", hbuf);
		goto out;
	}
	if (o.size && o.size < PMFS2_MIN_BLOCKS * (uint64_t)PMFS2_BLOCK_SIZE) {
		fprintf(stderr, PROG ": size %s is too small: pmfs2 needs at least %u KiB\n",
			argv[optind + 1], PMFS2_MIN_BLOCKS * 4);
		goto out;
	}
	if (t.size < PMFS2_MIN_BLOCKS * (uint64_t)PMFS2_BLOCK_SIZE) {
		human(t.size, hbuf, sizeof(hbuf));
		fprintf(stderr,
			PROG ": %s is too small (%s): pmfs2 needs at least %u KiB\n",
			t.path, hbuf,
			PMFS2_MIN_BLOCKS * 4);
		goto out;
	}
	if (probe_target(&t, force, true))
		goto out;
	report_topology(&t);

	for (unsigned int i = 0; i < ntier; i++) {
		if (!strcmp(tier_path[i], t.path)) {
			fprintf(stderr,
				PROG ": %s is given both as the pmem device and as a tier\n",
				t.path);
			goto out_tiers;
		}
		if (open_target(&tiers[i], tier_path[i])) {
			ntier = i + 1;
			goto out_tiers;
		}
		if (tiers[i].size < 2 * PMFS2_BLOCK_SIZE) {
			fprintf(stderr, PROG ": tier %s is too small\n",
				tier_path[i]);
			ntier = i + 1;
			goto out_tiers;
		}
		if (probe_target(&tiers[i], force, true)) {
			ntier = i + 1;
			goto out_tiers;
		}
		uuid_generate(tier_uuid[i]);
		tier_size[i] = tiers[i].size & ~(uint64_t)(PMFS2_BLOCK_SIZE - 1);
	}

	len = t.size & ~(uint64_t)(PMFS2_BLOCK_SIZE - 1);
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, t.fd, 0);
	if (base == MAP_FAILED) {
		fprintf(stderr, PROG ": cannot map %s: %s\n", t.path,
			strerror(errno));
		goto out_tiers;
	}
	pm.base = base;
	pm.size = len;
	o.uuid = fs_uuid;
	o.dev_hint = t.path;
	o.ntier = ntier;
	o.tier_uuid = (const uint8_t (*)[16])tier_uuid;
	o.tier_size = tier_size;
	o.tier_hint = tier_path;
	o.root_uid = getuid();
	o.root_gid = getgid();

	/* tier headers first: the superblock that names them commits last */
	for (unsigned int i = 0; i < ntier; i++)
		if (write_tier_header(&tiers[i], i + 1, fs_uuid, tier_uuid[i],
				      tier_size[i]))
			goto out_unmap;

	/* a terminal sees the long parts: zeroing the table, writing it back */
	phase_begin(&ph, "Writing the inode table", !quiet);
	o.progress = phase_update;
	o.ctx = &ph;
	ret = pmfs2_format(&pm, &o, err, sizeof(err));
	if (ret) {
		if (ph.show)
			putchar('\n');
		fprintf(stderr, PROG ": %s: %s\n", t.path, err);
		ret = 1;
		goto out_unmap;
	}
	phase_end(&ph);
	ret = 1;
	if (pmfs2_super_load(&pm, &sb, NULL, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s: the new filesystem does not read back: %s\n",
			t.path, err);
		goto out_unmap;
	}
	phase_begin(&ph, "Writing to the device", !quiet);
	if (sync_out(&t, base, len, sb.data_start << PMFS2_BLOCK_SHIFT,
		     &ph) < 0) {
		if (ph.show)
			putchar('\n');
		fprintf(stderr, PROG ": %s: writing the filesystem failed: %s\n",
			t.path, strerror(errno));
		goto out_unmap;
	}
	phase_end(&ph);
	ret = 0;
	if (!quiet) {
		uuid_unparse(sb.uuid, ubuf);
		human(sb.total_blocks * PMFS2_BLOCK_SIZE, hbuf, sizeof(hbuf));
		printf("pmfs2 on %s: %s (%" PRIu64 " blocks of 4 KiB)\n",
		       t.path, hbuf, sb.total_blocks);
		printf("  inodes:  %" PRIu64 "\n", sb.inode_count - 1);
		printf("  journal: %" PRIu64 " blocks\n", sb.journal_blocks);
		printf("  data:    %" PRIu64 " blocks from block %" PRIu64 "\n",
		       pmfs2_data_end(&sb) - sb.data_start, sb.data_start);
		printf("  backup superblock: block %" PRIu64 "\n",
		       pmfs2_sb_backup_block(&sb));
		printf("  UUID:    %s\n", ubuf);
		printf("  label:   %s\n", sb.label[0] ? sb.label : "(none)");
		for (unsigned int i = 0; i < ntier; i++) {
			uuid_unparse(tier_uuid[i], ubuf);
			human(tier_size[i], hbuf, sizeof(hbuf));
			printf("  tier %u:  %s, %s, device UUID %s\n", i + 1,
			       tier_path[i], hbuf, ubuf);
		}
	}
out_unmap:
	munmap(base, len);
out_tiers:
	for (unsigned int i = 0; i < ntier; i++)
		if (tiers[i].fd >= 0)
			close(tiers[i].fd);
out:
	if (t.fd >= 0 && close(t.fd) < 0 && !ret) {
		fprintf(stderr, PROG ": %s: %s\n", t.path, strerror(errno));
		ret = 1;
	}
	return ret;
}
