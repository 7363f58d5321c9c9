/*
 * The ticket-key store: one page in a memfd, shared by the master (the only
 * writer, or two masters during an upgrade) and the workers (readers, from
 * OpenSSL's ticket callback). Each key slot is guarded by a sequence count,
 * so a reader never uses a half-written key and no lock is ever held.
 *
 * Four slots in a ring: cur encrypts, cur - 1 still decrypts, cur + 1 is
 * the next one written. A reader that loaded cur just before a rotation
 * reads a slot the writer is not touching (the written slot was last used
 * three periods ago).
 */
#include "common/tls_tickets.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define TK_MAGIC	0x736c7469636b7431ULL	/* "sltickt1" */
#define TK_SLOTS	4

struct tk_slot {
	_Atomic uint64_t	seq;		/* odd while the master writes */
	_Atomic uint64_t	made_ms;	/* CLOCK_MONOTONIC when written */
	struct tkey		key;
};

struct tk_store {
	_Atomic uint64_t	magic;		/* set last, once the first key is in */
	_Atomic uint32_t	cur;		/* slot that encrypts */
	_Atomic uint32_t	period_s;
	_Atomic uint64_t	next_ms;	/* when the next rotation is due */
	_Atomic uint64_t	rotations;
	struct tk_slot		slot[TK_SLOTS];
};

_Static_assert(sizeof(struct tk_store) <= 4096, "the store is one page");

static struct tk_store	*st;
static int		 st_fd = -1;

static int	fill_random(void *p, size_t len);
static void	write_slot(struct tk_slot *s, uint64_t now);
static int	read_slot(const struct tk_slot *s, struct tkey *out);
static uint64_t	mono_ms(void);

int
tickets_open(int inherit, uint32_t rotate_s, char *err, size_t errlen)
{
	const char *env = getenv(TICKETS_ENV_FD);
	struct stat sb;
	void *p;
	int fd = -1;

	if (inherit && env != NULL) {
		fd = atoi(env);
		if (fd < 3 || fstat(fd, &sb) == -1 || sb.st_size != 4096)
			fd = -1;	/* not ours: make a new store */
		else
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	unsetenv(TICKETS_ENV_FD);
	if (fd == -1) {
		fd = memfd_create("sluice-tickets", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd == -1 || ftruncate(fd, 4096) == -1) {
			snprintf(err, errlen, "session tickets: cannot make the key store: %s",
			    strerror(errno));
			if (fd != -1)
				close(fd);
			return -1;
		}
		(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "session tickets: cannot map the key store: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	/* Never on disk: not swapped (best effort: RLIMIT_MEMLOCK), not dumped. */
	(void)mlock(p, 4096);
	(void)madvise(p, 4096, MADV_DONTDUMP);
	st = p;
	st_fd = fd;
	if (atomic_load_explicit(&st->magic, memory_order_acquire) != TK_MAGIC) {
		/* A new store: the first key, then the magic that says it is there. */
		atomic_store(&st->period_s, rotate_s);
		write_slot(&st->slot[0], mono_ms());
		if (st->slot[0].seq != 2) {
			snprintf(err, errlen, "session tickets: no random bytes: %s",
			    strerror(errno));
			munmap(p, 4096);
			close(fd);
			st = NULL;
			st_fd = -1;
			return -1;
		}
		atomic_store(&st->cur, 0);
		atomic_store(&st->next_ms, mono_ms() + (uint64_t)rotate_s * 1000);
		atomic_store_explicit(&st->magic, TK_MAGIC, memory_order_release);
	}
	tickets_set_period(rotate_s);
	return 0;
}

void
tickets_set_period(uint32_t rotate_s)
{
	uint64_t next, want;

	if (st == NULL || rotate_s == 0)
		return;
	atomic_store(&st->period_s, rotate_s);
	/* A shorter period takes effect now, not after the old one runs out. */
	want = mono_ms() + (uint64_t)rotate_s * 1000;
	next = atomic_load(&st->next_ms);
	while (next > want && !atomic_compare_exchange_weak(&st->next_ms, &next, want))
		;
}

double
tickets_tick(void)
{
	uint64_t now, next, period;
	uint32_t cur;

	if (st == NULL)
		return 3600;
	now = mono_ms();
	next = atomic_load(&st->next_ms);
	period = (uint64_t)atomic_load(&st->period_s) * 1000;
	if (now < next)
		return (double)(next - now) / 1000.0;
	/* One master wins the period; the other sees the new due time. */
	if (!atomic_compare_exchange_strong(&st->next_ms, &next, now + period))
		return 0.1;
	cur = atomic_load(&st->cur);
	write_slot(&st->slot[(cur + 1) % TK_SLOTS], now);
	atomic_store_explicit(&st->cur, (cur + 1) % TK_SLOTS, memory_order_release);
	log_info("session ticket keys rotated (%llu); the previous key decrypts for %us more",
	    (unsigned long long)atomic_fetch_add(&st->rotations, 1) + 1,
	    (unsigned)(period / 1000));
	return (double)period / 1000.0;
}

int
tickets_fd(void)
{
	return st_fd;
}

uint64_t
tickets_rotations(void)
{
	return st != NULL ? atomic_load(&st->rotations) : 0;
}

int
tickets_current(struct tkey *out)
{
	uint32_t cur;

	if (st == NULL || atomic_load_explicit(&st->magic, memory_order_acquire) != TK_MAGIC)
		return -1;
	cur = atomic_load_explicit(&st->cur, memory_order_acquire);
	return read_slot(&st->slot[cur % TK_SLOTS], out);
}

int
tickets_find(const uint8_t name[TKEY_NAME_LEN], struct tkey *out)
{
	uint32_t cur, i, idx;

	if (st == NULL || atomic_load_explicit(&st->magic, memory_order_acquire) != TK_MAGIC)
		return -1;
	cur = atomic_load_explicit(&st->cur, memory_order_acquire);
	for (i = 0; i < 2; i++) {
		idx = (cur + TK_SLOTS - i) % TK_SLOTS;
		if (read_slot(&st->slot[idx], out) == 0 &&
		    memcmp(out->name, name, TKEY_NAME_LEN) == 0)
			return i == 0 ? 1 : 2;
	}
	memset(out, 0, sizeof(*out));
	return 0;
}

/* A fresh key into s under its sequence count; seq stays odd if no randomness. */
static void
write_slot(struct tk_slot *s, uint64_t now)
{
	struct tkey k;
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

	if (fill_random(&k, sizeof(k)) == -1)
		return;
	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy(&s->key, &k, sizeof(k));
	atomic_store_explicit(&s->made_ms, now, memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
	explicit_bzero(&k, sizeof(k));
}

/* A consistent copy of s's key; -1 if the slot was never written. */
static int
read_slot(const struct tk_slot *s, struct tkey *out)
{
	uint64_t a, b;
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		a = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (a == 0)
			return -1;
		if (a & 1)
			continue;
		memcpy(out, (const void *)&s->key, sizeof(*out));
		atomic_thread_fence(memory_order_acquire);
		b = atomic_load_explicit(&s->seq, memory_order_relaxed);
		if (a == b)
			return 0;
	}
	return -1;
}

/* getrandom(2): the kernel's CSPRNG, blocking only before it is seeded. */
static int
fill_random(void *p, size_t len)
{
	uint8_t *b = p;
	ssize_t n;

	while (len > 0) {
		n = getrandom(b, len, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
