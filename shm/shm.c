/*
 * Creation (master), verification and read-only attachment (readers) of the
 * shared segment, and the few multi-word edits done on it.
 */
#include "shm/shm.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The prefix every version keeps (layout.h): what a stale check may read. */
_Static_assert(offsetof(struct shm_hdr, magic) == 0, "stable header prefix");
_Static_assert(offsetof(struct shm_hdr, ver_major) == 8, "stable header prefix");
_Static_assert(offsetof(struct shm_hdr, hdr_size) == 12, "stable header prefix");
_Static_assert(offsetof(struct shm_hdr, total_size) == 16, "stable header prefix");
_Static_assert(offsetof(struct shm_hdr, master_pid) == 32, "stable header prefix");

#define HDR_PREFIX	40	/* bytes of the stable prefix */
#define STAT_MAX	1024	/* /proc/PID/stat: comm is at most 64 bytes, 52 numbers */
#define HEALTH_TRIES	1000	/* seqlock read attempts before giving up */
#define SHM_DIR		"/dev/shm"	/* where glibc's shm_open() keeps names (tmpfs) */

/* Who made a segment, read from its header prefix without trusting the rest. */
struct shm_owner {
	uint64_t	magic;		/* 0 for an object too small to hold a header */
	int32_t		pid;
	uint64_t	start;		/* 0 before layout 1.1 */
	dev_t		dev;
	ino_t		ino;
};

static void	seterr(char *err, size_t errlen, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
static int	name_ok(const char *name);
static void	layout(struct shm_seg *seg, unsigned char *base, size_t size, uint32_t mw,
		    uint32_t ms, uint32_t mr);
static int	peek_owner(const char *name, struct shm_owner *o, char *err, size_t errlen);
static int	check_existing(const char *name, char *err, size_t errlen);
static int	unlink_if(const char *name, dev_t dev, ino_t ino);
static int	proc_stat(int32_t pid, uint64_t *start, char *comm, size_t commlen);
static void	copy_str(char *dst, size_t size, const char *src);

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* shm_open(3): one leading slash, none after, fits our name buffer. */
static int
name_ok(const char *name)
{
	size_t len;

	if (name == NULL || name[0] != '/')
		return 0;
	len = strlen(name);
	return len > 1 && len < SHM_NAME_LEN && strchr(name + 1, '/') == NULL;
}

size_t
shm_size(uint32_t max_workers, uint32_t max_sources, uint32_t max_routes)
{
	return sizeof(struct shm_hdr)
	    + (size_t)max_workers * sizeof(struct shm_worker)
	    + (size_t)max_workers * max_sources * sizeof(struct shm_wsrc)
	    + (size_t)max_sources * sizeof(struct shm_source)
	    + (size_t)max_routes * sizeof(struct shm_route)
	    + (size_t)max_workers * max_routes * sizeof(struct shm_wroute);
}

/* Fills seg's private view: maxima and table pointers (verified before). */
static void
layout(struct shm_seg *seg, unsigned char *base, size_t size, uint32_t mw, uint32_t ms,
    uint32_t mr)
{
	seg->base = base;
	seg->size = size;
	seg->max_workers = mw;
	seg->max_sources = ms;
	seg->max_routes = mr;
	seg->hdr = (struct shm_hdr *)base;
	seg->workers = (struct shm_worker *)(base + sizeof(struct shm_hdr));
	seg->wsrc = (struct shm_wsrc *)(seg->workers + mw);
	seg->sources = (struct shm_source *)(seg->wsrc + (size_t)mw * ms);
	seg->routes = (struct shm_route *)(seg->sources + ms);
	seg->wroute = (struct shm_wroute *)(seg->routes + mr);
}

/*
 * Reads /proc/PID/stat: the start time (field 22) and the name (field 2).
 * Returns 0, or -1 with errno ENOENT for no such process or a zombie, or
 * another errno when /proc cannot be read.
 */
static int
proc_stat(int32_t pid, uint64_t *start, char *comm, size_t commlen)
{
	char path[32], buf[STAT_MAX], *open_paren, *close_paren, *p, *end;
	unsigned long long v;
	ssize_t n;
	int fd, field;

	if (pid <= 0) {
		errno = ENOENT;
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		if (n == 0 || errno == ESRCH)
			errno = ENOENT;	/* it exited meanwhile */
		return -1;
	}
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold spaces and parentheses itself. */
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (open_paren == NULL || close_paren == NULL || close_paren < open_paren ||
	    close_paren[1] != ' ') {
		errno = EPROTO;
		return -1;
	}
	if (comm != NULL) {
		size_t len = (size_t)(close_paren - open_paren - 1);

		if (len >= commlen)
			len = commlen - 1;
		memcpy(comm, open_paren + 1, len);
		comm[len] = '\0';
	}
	p = close_paren + 2;
	if (*p == 'Z' || *p == 'X') {
		errno = ENOENT;	/* exited, not yet reaped */
		return -1;
	}
	/* Field 3 (state) is at p; walk to field 22. */
	for (field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL) {
			errno = EPROTO;
			return -1;
		}
		p++;
	}
	errno = 0;
	v = strtoull(p, &end, 10);
	if (end == p || errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0')) {
		errno = EPROTO;
		return -1;
	}
	*start = (uint64_t)v;
	return 0;
}

uint64_t
shm_proc_start(int32_t pid)
{
	uint64_t start;

	if (proc_stat(pid, &start, NULL, 0) == -1)
		return 0;
	return start;
}

int
shm_master_alive(int32_t pid, uint64_t start)
{
	uint64_t now_start;
	char comm[64];

	if (pid <= 0)
		return 0;
	if (proc_stat(pid, &now_start, comm, sizeof(comm)) == -1) {
		if (errno == ENOENT && access("/proc/self/stat", R_OK) == 0)
			return 0;
		/* No /proc to ask: only the pid can be checked; err on "alive". */
		return kill((pid_t)pid, 0) == 0 || errno == EPERM;
	}
	if (start != 0)
		return now_start == start;
	return strcmp(comm, "sluice") == 0;
}

/*
 * Opens name and reads its header prefix into o. Returns 0, or -1 with errno
 * set (ENOENT: no such object) and, except for ENOENT, err set.
 */
static int
peek_owner(const char *name, struct shm_owner *o, char *err, size_t errlen)
{
	const struct shm_hdr *h;
	struct stat st;
	unsigned char *p;
	size_t maplen;
	int fd, saved;

	memset(o, 0, sizeof(*o));
	if ((fd = shm_open(name, O_RDONLY, 0)) == -1) {
		saved = errno;
		if (errno != ENOENT)
			seterr(err, errlen, "shm %s exists and cannot be opened: %s", name,
			    strerror(errno));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		seterr(err, errlen, "shm %s: fstat: %s", name, strerror(errno));
		close(fd);
		errno = saved;
		return -1;
	}
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	if (st.st_size < HDR_PREFIX) {
		close(fd);
		return 0;	/* a master died between shm_open and ftruncate */
	}
	maplen = st.st_size >= (off_t)sizeof(struct shm_hdr) ? sizeof(struct shm_hdr) : HDR_PREFIX;
	p = mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd, 0);
	saved = errno;
	close(fd);
	if (p == MAP_FAILED) {
		seterr(err, errlen, "shm %s: mmap: %s", name, strerror(saved));
		errno = saved;
		return -1;
	}
	h = (const struct shm_hdr *)p;
	o->magic = atomic_load_explicit(&h->magic, memory_order_acquire);
	o->pid = atomic_load_explicit(&h->master_pid, memory_order_relaxed);
	/* Layout 1.1 and later record the start time; 1.0 left those bytes 0. */
	if (o->magic == SHM_MAGIC && maplen == sizeof(struct shm_hdr) && h->ver_major >= 1 &&
	    h->hdr_size >= sizeof(struct shm_hdr))
		o->start = h->master_start;
	munmap(p, maplen);
	return 0;
}

/*
 * name exists. Returns 0 if it may be replaced (left by a dead master, by
 * this process, or never finished), -1 with err set if it must be kept.
 */
static int
check_existing(const char *name, char *err, size_t errlen)
{
	struct shm_owner o;

	if (peek_owner(name, &o, err, errlen) == -1)
		return errno == ENOENT ? 0 : -1;	/* ENOENT: gone meanwhile */
	if (o.magic != SHM_MAGIC && o.magic != 0) {
		seterr(err, errlen, "shm %s exists and is not a sluice segment", name);
		errno = EEXIST;
		return -1;
	}
	if (o.pid != (int32_t)getpid() && shm_master_alive(o.pid, o.start)) {
		seterr(err, errlen, "segment %s is in use by pid %d", name, (int)o.pid);
		errno = EBUSY;
		return -1;
	}
	return 0;
}

/* Fills a new segment's header (all but the magic) for the tables layout() placed. */
static void
init_header(struct shm_seg *out, unsigned char *base, size_t size)
{
	struct shm_hdr *h = out->hdr;
	struct timespec now;

	h->ver_major = SHM_VER_MAJOR;
	h->ver_minor = SHM_VER_MINOR;
	h->hdr_size = sizeof(struct shm_hdr);
	h->total_size = size;
	h->master_start = shm_proc_start((int32_t)getpid());
	atomic_store_explicit(&h->master_pid, (int32_t)getpid(), memory_order_relaxed);
	atomic_store_explicit(&h->conf_gen, 1, memory_order_relaxed);
	clock_gettime(CLOCK_REALTIME, &now);
	h->start_time = (uint64_t)now.tv_sec;
	h->start_ms = shm_now_ms();
	h->max_workers = out->max_workers;
	h->max_sources = out->max_sources;
	h->max_routes = out->max_routes;
	h->off_workers = (uint64_t)((unsigned char *)out->workers - base);
	h->off_wsrc = (uint64_t)((unsigned char *)out->wsrc - base);
	h->off_sources = (uint64_t)((unsigned char *)out->sources - base);
	h->off_routes = (uint64_t)((unsigned char *)out->routes - base);
	h->off_wroute = (uint64_t)((unsigned char *)out->wroute - base);
	h->sz_wroute = sizeof(struct shm_wroute);
	h->sz_worker = sizeof(struct shm_worker);
	h->sz_wsrc = sizeof(struct shm_wsrc);
	h->sz_source = sizeof(struct shm_source);
	h->sz_route = sizeof(struct shm_route);
	h->hist_buckets = SHM_HIST_BUCKETS;
	h->hist_sub = SHM_HIST_SUB;
}

int
shm_create(const char *name, uint32_t max_workers, uint32_t max_sources, uint32_t max_routes,
    struct shm_seg *out, char *err, size_t errlen)
{
	struct shm_hdr *h;
	struct stat st;
	unsigned char *base;
	size_t size;
	int fd = -1, tries, saved;

	memset(out, 0, sizeof(*out));
	if (!name_ok(name)) {
		seterr(err, errlen, "bad shm name \"%s\": expected \"/name\"", name ? name : "");
		errno = EINVAL;
		return -1;
	}
	if (max_workers < 1 || max_workers > SHM_LIMIT_WORKERS || max_sources < 1
	    || max_sources > SHM_LIMIT_SOURCES || max_routes < 1 || max_routes > SHM_LIMIT_ROUTES) {
		seterr(err, errlen,
		    "shm %s: maxima out of range (workers %u, sources %u, routes %u)", name,
		    max_workers, max_sources, max_routes);
		errno = EINVAL;
		return -1;
	}
	size = shm_size(max_workers, max_sources, max_routes);

	/* A racing creator can only make us loop a few times, never clobber it. */
	for (tries = 0; tries < 3; tries++) {
		if ((fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0644)) != -1)
			break;
		if (errno != EEXIST) {
			saved = errno;
			seterr(err, errlen, "shm_open %s: %s", name, strerror(errno));
			errno = saved;
			return -1;
		}
		if (check_existing(name, err, errlen) == -1)
			return -1;
		if (shm_unlink(name) == -1 && errno != ENOENT) {
			saved = errno;
			seterr(err, errlen, "shm %s is stale but cannot be removed: %s", name,
			    strerror(errno));
			errno = saved;
			return -1;
		}
	}
	if (fd == -1) {
		seterr(err, errlen, "shm %s: created by someone else meanwhile", name);
		errno = EEXIST;
		return -1;
	}
	if (ftruncate(fd, (off_t)size) == -1 || fstat(fd, &st) == -1) {
		saved = errno;
		seterr(err, errlen, "shm %s: cannot size to %zu bytes: %s", name, size,
		    strerror(errno));
		goto fail;
	}
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		saved = errno;
		seterr(err, errlen, "shm %s: mmap %zu bytes: %s", name, size, strerror(errno));
		goto fail;
	}
	close(fd);

	copy_str(out->name, sizeof(out->name), name);
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	layout(out, base, size, max_workers, max_sources, max_routes);

	/* ftruncate zero-filled everything: free slots, up sources, gen 0. */
	h = out->hdr;
	init_header(out, base, size);
	/* Last: a reader that sees the magic sees the whole header. */
	atomic_store_explicit(&h->magic, SHM_MAGIC, memory_order_release);
	return 0;

fail:
	close(fd);
	shm_unlink(name);
	errno = saved;
	return -1;
}

int
shm_attach_ro(const char *name, struct shm_seg *out, char *err, size_t errlen)
{
	const struct shm_hdr *h;
	struct stat st;
	unsigned char *base;
	uint64_t magic, need;
	int fd, saved;

	memset(out, 0, sizeof(*out));
	if (!name_ok(name)) {
		seterr(err, errlen, "bad shm name \"%s\": expected \"/name\"", name ? name : "");
		errno = EINVAL;
		return -1;
	}
	if ((fd = shm_open(name, O_RDONLY, 0)) == -1) {
		saved = errno;
		if (errno == ENOENT)
			seterr(err, errlen, "no sluice running with shm %s?", name);
		else
			seterr(err, errlen, "shm %s: %s", name, strerror(errno));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		seterr(err, errlen, "shm %s: fstat: %s", name, strerror(errno));
		close(fd);
		errno = saved;
		return -1;
	}
	if (st.st_size < (off_t)sizeof(struct shm_hdr)) {
		close(fd);
		seterr(err, errlen, "shm %s is not a sluice segment (or is being created)", name);
		errno = EPROTO;
		return -1;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (base == MAP_FAILED) {
		saved = errno;
		seterr(err, errlen, "shm %s: mmap: %s", name, strerror(errno));
		errno = saved;
		return -1;
	}
	h = (const struct shm_hdr *)base;

	magic = atomic_load_explicit(&h->magic, memory_order_acquire);
	if (magic != SHM_MAGIC) {
		seterr(err, errlen, "shm %s is not a sluice segment (or is being created)", name);
		goto bad;
	}
	if (h->ver_major != SHM_VER_MAJOR) {
		seterr(err, errlen, "shm %s has layout version %u.%u; this program reads %u.x",
		    name, h->ver_major, h->ver_minor, SHM_VER_MAJOR);
		goto bad;
	}
	if (h->hdr_size != sizeof(struct shm_hdr) || h->sz_worker != sizeof(struct shm_worker)
	    || h->sz_wsrc != sizeof(struct shm_wsrc) || h->sz_source != sizeof(struct shm_source)
	    || h->sz_route != sizeof(struct shm_route)
	    || h->sz_wroute != sizeof(struct shm_wroute) || h->hist_buckets != SHM_HIST_BUCKETS
	    || h->hist_sub != SHM_HIST_SUB) {
		seterr(err, errlen, "shm %s: header or element sizes differ from layout %u.%u",
		    name, SHM_VER_MAJOR, SHM_VER_MINOR);
		goto bad;
	}
	if (h->total_size != (uint64_t)st.st_size) {
		seterr(err, errlen, "shm %s: header says %llu bytes, object has %lld", name,
		    (unsigned long long)h->total_size, (long long)st.st_size);
		goto bad;
	}
	if (h->max_workers < 1 || h->max_workers > SHM_LIMIT_WORKERS || h->max_sources < 1
	    || h->max_sources > SHM_LIMIT_SOURCES || h->max_routes < 1
	    || h->max_routes > SHM_LIMIT_ROUTES) {
		seterr(err, errlen, "shm %s: table maxima out of range", name);
		goto bad;
	}
	need = shm_size(h->max_workers, h->max_sources, h->max_routes);
	layout(out, base, (size_t)st.st_size, h->max_workers, h->max_sources, h->max_routes);
	/* The offsets must be exactly ours: we index by our own arithmetic. */
	if (need != h->total_size
	    || h->off_workers != (uint64_t)((unsigned char *)out->workers - base)
	    || h->off_wsrc != (uint64_t)((unsigned char *)out->wsrc - base)
	    || h->off_sources != (uint64_t)((unsigned char *)out->sources - base)
	    || h->off_routes != (uint64_t)((unsigned char *)out->routes - base)
	    || h->off_wroute != (uint64_t)((unsigned char *)out->wroute - base)) {
		seterr(err, errlen, "shm %s: table offsets do not match its maxima", name);
		memset(out, 0, sizeof(*out));
		goto bad;
	}
	copy_str(out->name, sizeof(out->name), name);
	out->ro = 1;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return 0;

bad:
	munmap(base, (size_t)st.st_size);
	errno = EPROTO;
	return -1;
}

void
shm_detach(struct shm_seg *seg)
{
	if (seg->base != NULL)
		munmap(seg->base, seg->size);
	memset(seg, 0, sizeof(*seg));
}

/* Unlinks name if it is the object dev/ino; 0 if it is not (or is gone), -1 on error. */
static int
unlink_if(const char *name, dev_t dev, ino_t ino)
{
	struct stat st;
	int fd;

	if ((fd = shm_open(name, O_RDONLY, 0)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	if (st.st_dev != dev || st.st_ino != ino)
		return 0;	/* a newer segment holds the name now */
	return shm_unlink(name) == -1 && errno != ENOENT ? -1 : 0;
}

int
shm_remove(struct shm_seg *seg)
{
	char old[SHM_NAME_LEN];

	if (seg->base == NULL || seg->ro) {
		errno = EINVAL;
		return -1;
	}
	atomic_fetch_or_explicit(&seg->hdr->flags, SHM_HDR_F_RETIRED, memory_order_release);
	if (unlink_if(seg->name, seg->dev, seg->ino) == -1)
		return -1;
	/* An upgrade's new master moved it aside: the old binary's name is ours too. */
	if (shm_oldbin_name(seg->name, old, sizeof(old)) == 0)
		return unlink_if(old, seg->dev, seg->ino);
	return 0;
}

int
shm_oldbin_name(const char *name, char *out, size_t outlen)
{
	int n;

	if (!name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(out, outlen, "%s%s", name, SHM_OLDBIN_SUFFIX);
	if (n < 0 || (size_t)n >= outlen || !name_ok(out)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
shm_move_aside(const char *name, int32_t old_pid)
{
	char old[SHM_NAME_LEN], from[sizeof(SHM_DIR) + SHM_NAME_LEN],
	    to[sizeof(SHM_DIR) + SHM_NAME_LEN];
	struct shm_owner o;

	if (!name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	if (peek_owner(name, &o, NULL, 0) == -1)
		return errno == ENOENT ? 0 : -1;
	if (o.magic != SHM_MAGIC || o.pid != old_pid || old_pid == (int32_t)getpid() ||
	    !shm_master_alive(o.pid, o.start))
		return 0;	/* not the old master's: shm_create() judges it */
	if (shm_oldbin_name(name, old, sizeof(old)) == -1)
		return shm_unlink(name);	/* no room for the suffix: hidden, as before */
	snprintf(from, sizeof(from), SHM_DIR "%s", name);
	snprintf(to, sizeof(to), SHM_DIR "%s", old);
	if (rename(from, to) == -1) {
		/* Not where glibc keeps it after all: hide it, as before .oldbin. */
		if (shm_unlink(name) == -1 && errno != ENOENT)
			return -1;
		return 0;
	}
	return 1;
}

int
shm_move_back(const char *name, int32_t old_pid)
{
	char old[SHM_NAME_LEN], from[sizeof(SHM_DIR) + SHM_NAME_LEN],
	    to[sizeof(SHM_DIR) + SHM_NAME_LEN];
	struct shm_owner o;

	if (shm_oldbin_name(name, old, sizeof(old)) == -1)
		return -1;
	if (peek_owner(old, &o, NULL, 0) == -1)
		return errno == ENOENT ? 0 : -1;
	if (o.magic != SHM_MAGIC || o.pid != old_pid || !shm_master_alive(o.pid, o.start))
		return 0;
	snprintf(from, sizeof(from), SHM_DIR "%s", old);
	snprintf(to, sizeof(to), SHM_DIR "%s", name);
	/* Never over a segment made meanwhile: that one is someone's name. */
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == -1)
		return errno == ENOENT || errno == EEXIST ? 0 : -1;
	return 1;
}

int
shm_oldbin_clean(const char *name)
{
	char old[SHM_NAME_LEN];
	struct shm_owner o;

	if (shm_oldbin_name(name, old, sizeof(old)) == -1)
		return 0;	/* no such name can exist */
	if (peek_owner(old, &o, NULL, 0) == -1)
		return errno == ENOENT ? 0 : -1;
	if (o.magic != SHM_MAGIC || shm_master_alive(o.pid, o.start))
		return 0;	/* not a sluice segment, or its master still serves */
	return unlink_if(old, o.dev, o.ino) == -1 ? -1 : 1;
}

int
shm_replaced(const struct shm_seg *seg)
{
	struct stat st;
	int fd, r;

	if ((fd = shm_open(seg->name, O_RDONLY, 0)) == -1)
		return 1;
	r = fstat(fd, &st) == -1 || st.st_dev != seg->dev || st.st_ino != seg->ino;
	close(fd);
	return r;
}

void
shm_gen_begin(struct shm_seg *seg)
{
	shm_seq_write_begin(&seg->hdr->gen);
}

void
shm_gen_end(struct shm_seg *seg)
{
	uint64_t g = atomic_load_explicit(&seg->hdr->gen, memory_order_relaxed);

	shm_seq_write_end(&seg->hdr->gen, g);
}

static void
copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src == NULL ? 0 : strnlen(src, size - 1);

	memcpy(dst, src == NULL ? "" : src, n);
	memset(dst + n, 0, size - n);	/* no stale tail after a shorter value */
}

int
shm_source_find(const struct shm_seg *seg, const char *name)
{
	uint32_t i, n = atomic_load_explicit(&seg->hdr->nsources, memory_order_acquire);

	if (n > seg->max_sources)
		n = seg->max_sources;
	for (i = 0; i < n; i++) {
		const struct shm_source *s = &seg->sources[i];

		if ((atomic_load_explicit(&s->flags, memory_order_acquire) & SHM_SRC_F_USED)
		    && strncmp(s->name, name, SHM_NAME_LEN) == 0)
			return (int)i;
	}
	return -1;
}

int
shm_source_bind(struct shm_seg *seg, const char *name, const char *addr, uint32_t weight,
    uint32_t max_fails, uint32_t fail_timeout_ms, int backup)
{
	struct shm_source *s;
	uint32_t n, flags;
	int i;

	if (name == NULL || name[0] == '\0' || strlen(name) >= SHM_NAME_LEN) {
		errno = EINVAL;
		return -1;
	}
	if ((i = shm_source_find(seg, name)) == -1) {
		n = atomic_load_explicit(&seg->hdr->nsources, memory_order_relaxed);
		if (n >= seg->max_sources) {
			errno = ENOSPC;
			return -1;
		}
		i = (int)n;
		s = &seg->sources[i];
		copy_str(s->name, sizeof(s->name), name);
		atomic_store_explicit(&s->flags, SHM_SRC_F_USED, memory_order_release);
		atomic_store_explicit(&seg->hdr->nsources, n + 1, memory_order_release);
	}
	s = &seg->sources[i];
	copy_str(s->addr, sizeof(s->addr), addr);
	atomic_store_explicit(&s->weight, weight, memory_order_relaxed);
	atomic_store_explicit(&s->max_fails, max_fails, memory_order_relaxed);
	atomic_store_explicit(&s->fail_timeout_ms, fail_timeout_ms, memory_order_relaxed);
	flags = SHM_SRC_F_USED | SHM_SRC_F_LIVE | (backup ? SHM_SRC_F_BACKUP : 0);
	atomic_store_explicit(&s->flags, flags, memory_order_release);
	return i;
}

void
shm_source_retire_all(struct shm_seg *seg)
{
	uint32_t i;

	for (i = 0; i < seg->max_sources; i++)
		atomic_fetch_and_explicit(&seg->sources[i].flags, ~SHM_SRC_F_LIVE,
		    memory_order_relaxed);
}

int
shm_route_set(struct shm_seg *seg, uint32_t r, const char *host, const char *path,
    uint32_t flags, uint32_t balancer, const uint32_t *src, uint32_t n)
{
	struct shm_route *rt;
	uint32_t i;

	/* n = 0: a route sluice answers itself (metrics, status). */
	if (r >= seg->max_routes || n > SHM_ROUTE_SOURCES || balancer >= SHM_LB__COUNT
	    || (flags & ~SHM_RT_F_REGEX) != 0) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++)
		if (src[i] >= seg->max_sources) {
			errno = EINVAL;
			return -1;
		}
	rt = &seg->routes[r];
	copy_str(rt->host, sizeof(rt->host), host);
	copy_str(rt->path, sizeof(rt->path), path);
	atomic_store_explicit(&rt->balancer, balancer, memory_order_relaxed);
	for (i = 0; i < n; i++)
		atomic_store_explicit(&rt->src[i], src[i], memory_order_relaxed);
	for (; i < SHM_ROUTE_SOURCES; i++)
		atomic_store_explicit(&rt->src[i], 0, memory_order_relaxed);
	atomic_store_explicit(&rt->nsources, n, memory_order_relaxed);
	atomic_store_explicit(&rt->flags, SHM_RT_F_USED | flags, memory_order_release);
	if (atomic_load_explicit(&seg->hdr->nroutes, memory_order_relaxed) < r + 1)
		atomic_store_explicit(&seg->hdr->nroutes, r + 1, memory_order_release);
	return 0;
}

void
shm_route_clear_all(struct shm_seg *seg)
{
	uint32_t i;

	for (i = 0; i < seg->max_routes; i++)
		atomic_store_explicit(&seg->routes[i].flags, 0, memory_order_relaxed);
	atomic_store_explicit(&seg->hdr->nroutes, 0, memory_order_release);
}

void
shm_worker_claim(struct shm_seg *seg, uint32_t w, int32_t pid, uint64_t conf_gen)
{
	struct shm_worker *ws = shm_worker(seg, w);
	uint64_t now = shm_now_ms();

	atomic_store_explicit(&ws->started_ms, now, memory_order_relaxed);
	atomic_store_explicit(&ws->heartbeat_ms, now, memory_order_relaxed);
	atomic_store_explicit(&ws->conf_gen, conf_gen, memory_order_relaxed);
	shm_add(&ws->spawns, 1);
	atomic_store_explicit(&ws->state, SHM_W_RUNNING, memory_order_relaxed);
	atomic_store_explicit(&ws->pid, pid, memory_order_release);
}

/* A reaped worker's share of a multi-writer gauge comes out of the total. */
static void
undo_share(_Atomic int64_t *total, _Atomic int64_t *share)
{
	int64_t n = atomic_load_explicit(share, memory_order_relaxed);

	if (n == 0)
		return;
	atomic_fetch_sub_explicit(total, n, memory_order_relaxed);
	atomic_store_explicit(share, 0, memory_order_relaxed);
}

void
shm_worker_reap(struct shm_seg *seg, uint32_t w)
{
	struct shm_worker *ws = shm_worker(seg, w);
	uint32_t s;

	/*
	 * Its requests in flight, its connections and its waiters went with it:
	 * take its share out of each source's global count.
	 */
	for (s = 0; s < seg->max_sources; s++) {
		struct shm_wsrc *c = shm_wsrc(seg, w, s);

		undo_share(&seg->sources[s].active, &c->active);
		undo_share(&seg->sources[s].conns, &c->conns);
		undo_share(&seg->sources[s].queued, &c->queued);
		atomic_store_explicit(&c->q_head_ms, 0, memory_order_relaxed);
	}
	for (s = 0; s < seg->max_routes; s++)
		atomic_store_explicit(&shm_wroute(seg, w, s)->queued, 0, memory_order_relaxed);
	atomic_store_explicit(&ws->conns_open, 0, memory_order_relaxed);
	atomic_store_explicit(&ws->state, SHM_W_FREE, memory_order_relaxed);
	atomic_store_explicit(&ws->pid, 0, memory_order_release);
}

int
shm_source_note_failure(struct shm_source *src, uint32_t now_s, uint32_t max_fails,
    uint32_t fail_timeout_s, uint32_t reason)
{
	uint32_t win, n;

	if (max_fails == 0)
		return 0;
	win = atomic_load_explicit(&src->pwindow_s, memory_order_relaxed);
	if (now_s - win >= fail_timeout_s || win == 0) {
		/* One of the racing workers opens the new window. */
		if (atomic_compare_exchange_strong_explicit(&src->pwindow_s, &win, now_s,
		    memory_order_relaxed, memory_order_relaxed))
			atomic_store_explicit(&src->pfails, 0, memory_order_relaxed);
	}
	n = atomic_fetch_add_explicit(&src->pfails, 1, memory_order_relaxed) + 1;
	if (n < max_fails)
		return 0;
	return shm_source_mark_down(src, now_s, now_s + fail_timeout_s, reason);
}

int
shm_source_mark_down(struct shm_source *src, uint32_t now_s, uint32_t until_s, uint32_t reason)
{
	uint32_t cur = atomic_load_explicit(&src->down_until_s, memory_order_relaxed);

	do {
		if (cur >= until_s)
			return 0;	/* already down at least that long */
	} while (!atomic_compare_exchange_weak_explicit(&src->down_until_s, &cur, until_s,
	    memory_order_relaxed, memory_order_relaxed));
	atomic_store_explicit(&src->preason, reason, memory_order_relaxed);
	return cur <= now_s;
}

int
shm_source_claim_probe(struct shm_source *src, uint32_t now_s, uint32_t hold_s)
{
	uint32_t cur = atomic_load_explicit(&src->down_until_s, memory_order_relaxed);

	if (cur == 0 || cur > now_s)
		return 0;
	return atomic_compare_exchange_strong_explicit(&src->down_until_s, &cur, now_s + hold_s,
	    memory_order_relaxed, memory_order_relaxed);
}

int
shm_source_mark_up(struct shm_source *src)
{
	uint32_t was;

	if (atomic_load_explicit(&src->pfails, memory_order_relaxed) != 0)
		atomic_store_explicit(&src->pfails, 0, memory_order_relaxed);
	if (atomic_load_explicit(&src->down_until_s, memory_order_relaxed) == 0)
		return 0;	/* the common case: no locked RMW */
	was = atomic_exchange_explicit(&src->down_until_s, 0, memory_order_relaxed);
	if (was == 0)
		return 0;	/* another worker cleared it */
	/* Back up: slow start ramps from here. Only the clearing worker writes. */
	atomic_store_explicit(&src->up_since_ms, shm_now_ms(), memory_order_relaxed);
	return 1;
}

void
shm_health_write(struct shm_source *src, const struct shm_health_rec *h)
{
	uint64_t seq;

	/*
	 * The checker's rise: slow start ramps from the change. The writer is
	 * the only one to change hstate, so the old value needs no seqlock.
	 * Start-up is no recovery: a fresh slot is up.
	 */
	if (atomic_load_explicit(&src->hstate, memory_order_relaxed) == SHM_H_DOWN &&
	    h->state == SHM_H_UP)
		atomic_store_explicit(&src->up_since_ms, h->since_ms != 0 ? h->since_ms :
		    shm_now_ms(), memory_order_relaxed);
	seq = shm_seq_write_begin(&src->hseq);
	atomic_store_explicit(&src->hstate, h->state, memory_order_relaxed);
	atomic_store_explicit(&src->hreason, h->reason, memory_order_relaxed);
	atomic_store_explicit(&src->hsince_ms, h->since_ms, memory_order_relaxed);
	atomic_store_explicit(&src->hdown_until_ms, h->down_until_ms, memory_order_relaxed);
	atomic_store_explicit(&src->hfails, h->fails, memory_order_relaxed);
	atomic_store_explicit(&src->hoks, h->oks, memory_order_relaxed);
	atomic_store_explicit(&src->hstatus, h->status, memory_order_relaxed);
	atomic_store_explicit(&src->hchecks, h->checks, memory_order_relaxed);
	shm_seq_write_end(&src->hseq, seq);
}

int
shm_health_read(const struct shm_source *src, struct shm_health_rec *h)
{
	uint64_t seq;
	int tries;

	for (tries = 0; tries < HEALTH_TRIES; tries++) {
		seq = shm_seq_read_begin(&src->hseq);
		h->state = atomic_load_explicit(&src->hstate, memory_order_relaxed);
		h->reason = atomic_load_explicit(&src->hreason, memory_order_relaxed);
		h->since_ms = atomic_load_explicit(&src->hsince_ms, memory_order_relaxed);
		h->down_until_ms = atomic_load_explicit(&src->hdown_until_ms, memory_order_relaxed);
		h->fails = atomic_load_explicit(&src->hfails, memory_order_relaxed);
		h->oks = atomic_load_explicit(&src->hoks, memory_order_relaxed);
		h->status = atomic_load_explicit(&src->hstatus, memory_order_relaxed);
		h->checks = atomic_load_explicit(&src->hchecks, memory_order_relaxed);
		if (!shm_seq_read_retry(&src->hseq, seq))
			return 0;
	}
	return -1;
}

const char *
shm_end_name(uint32_t cause)
{
	static const char *const names[SHM_END__COUNT] = {
		[SHM_END_OK] = "ok",
		[SHM_END_CLI_ABORT] = "client_abort",
		[SHM_END_CLI_TIMEOUT] = "client_timeout",
		[SHM_END_CLI_BAD] = "bad_request",
		[SHM_END_CLI_ERROR] = "client_error",
		[SHM_END_NO_ROUTE] = "no_route",
		[SHM_END_SRV_CONNECT] = "connect_failed",
		[SHM_END_SRV_RESET] = "source_reset",
		[SHM_END_SRV_TIMEOUT] = "source_timeout",
		[SHM_END_SRV_MALFORMED] = "source_malformed",
		[SHM_END_LOCAL] = "local_shortage",
		[SHM_END_INTERNAL] = "internal",
		[SHM_END_LOOP] = "loop",
		[SHM_END_KILLED] = "killed",
		[SHM_END_DENIED] = "denied",
		[SHM_END_RATE] = "rate_limited",
		[SHM_END_QUEUE] = "queue_timeout",
	};

	return cause < SHM_END__COUNT ? names[cause] : "unknown";
}

uint32_t
shm_addr_write(struct shm_source *src, uint32_t fam, const void *bytes)
{
	uint64_t a[2] = { 0, 0 };
	uint64_t seq;
	uint32_t gen;

	if (fam == AF_INET)
		memcpy(a, bytes, 4);
	else if (fam == AF_INET6)
		memcpy(a, bytes, 16);
	else
		fam = 0;
	seq = shm_seq_write_begin(&src->aseq);
	atomic_store_explicit(&src->a[0], a[0], memory_order_relaxed);
	atomic_store_explicit(&src->a[1], a[1], memory_order_relaxed);
	atomic_store_explicit(&src->afam, fam, memory_order_relaxed);
	gen = atomic_load_explicit(&src->agen, memory_order_relaxed) + 1;
	atomic_store_explicit(&src->agen, gen, memory_order_relaxed);
	shm_seq_write_end(&src->aseq, seq);
	return gen;
}

int
shm_addr_read(const struct shm_source *src, struct shm_addr_rec *r)
{
	uint64_t seq, a[2];
	int tries;

	for (tries = 0; tries < HEALTH_TRIES; tries++) {
		seq = shm_seq_read_begin(&src->aseq);
		a[0] = atomic_load_explicit(&src->a[0], memory_order_relaxed);
		a[1] = atomic_load_explicit(&src->a[1], memory_order_relaxed);
		r->fam = atomic_load_explicit(&src->afam, memory_order_relaxed);
		r->gen = atomic_load_explicit(&src->agen, memory_order_relaxed);
		if (!shm_seq_read_retry(&src->aseq, seq)) {
			memcpy(r->bytes, a, sizeof(r->bytes));
			return 0;
		}
	}
	return -1;
}

int
shm_addr_sockaddr(const struct shm_addr_rec *r, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

	if (r->fam != AF_INET && r->fam != AF_INET6)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (r->fam == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		memcpy(&sin->sin_addr, r->bytes, 4);
		*len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		memcpy(&sin6->sin6_addr, r->bytes, 16);
		*len = sizeof(*sin6);
	}
	return 0;
}
