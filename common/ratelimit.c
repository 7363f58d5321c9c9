/*
 * The GCRA table of ratelimit.h: open addressing over RL_CELLS cells, each
 * a key and a TAT updated with compare-and-swap.
 */
#include "common/ratelimit.h"

#include <sys/mman.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

struct rl_cell {
	_Atomic uint64_t	key;	/* 0 = free */
	_Atomic uint64_t	tat;	/* microseconds, CLOCK_MONOTONIC */
};

static struct rl_cell	*cells;

int
ratelimit_open(void)
{
	void *p;

	if (cells != NULL)
		return 0;	/* kept across reloads: limits survive them */
	p = mmap(NULL, RL_CELLS * sizeof(struct rl_cell), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	cells = p;
	return 0;
}

/* splitmix64 finalizer over the route and the address. */
uint64_t
ratelimit_key(uint32_t route, const uint8_t addr[16])
{
	uint64_t h = 0x9e3779b97f4a7c15ULL * (route + 1), w;
	int i, k;

	for (k = 0; k < 2; k++) {
		w = 0;
		for (i = 0; i < 8; i++)
			w = w << 8 | addr[k * 8 + i];
		h ^= w;
		h += 0x9e3779b97f4a7c15ULL;
		h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
		h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
		h ^= h >> 31;
	}
	return h != 0 ? h : 1;
}

uint64_t
ratelimit_take(uint64_t key, uint64_t now_us, double rate, uint32_t burst, int *evicted)
{
	uint64_t t_us = (uint64_t)(1e6 / rate), tau = (uint64_t)burst * t_us, k, tat, next;
	uint64_t oldest = UINT64_MAX;
	struct rl_cell *c = NULL, *victim = NULL;
	uint32_t i, idx;

	*evicted = 0;
	if (cells == NULL)
		return 0;	/* no table (it could not be made): fail open, logged at start */
	if (t_us == 0)
		t_us = 1;
	for (i = 0; i < RL_PROBE && c == NULL; i++) {
		idx = (uint32_t)((key + i) & (RL_CELLS - 1));
		k = atomic_load_explicit(&cells[idx].key, memory_order_acquire);
		if (k == key) {
			c = &cells[idx];
		} else if (k == 0) {
			uint64_t zero = 0;

			/* A free cell never had a key: its TAT is 0 already. */
			if (atomic_compare_exchange_strong(&cells[idx].key, &zero, key) ||
			    zero == key)
				c = &cells[idx];
		} else if ((tat = atomic_load(&cells[idx].tat)) < oldest) {
			oldest = tat;
			victim = &cells[idx];
		}
	}
	if (c == NULL) {
		/* Every cell taken: recycle the one that forgot the most. */
		k = atomic_load(&victim->key);
		if (!atomic_compare_exchange_strong(&victim->key, &k, key))
			return 0;	/* another worker took it this instant: let this one pass */
		atomic_store(&victim->tat, 0);
		*evicted = 1;
		c = victim;
	}
	tat = atomic_load(&c->tat);
	for (;;) {
		next = (tat > now_us ? tat : now_us);
		if (next - now_us > tau)
			return next - now_us - tau;
		if (atomic_compare_exchange_weak(&c->tat, &tat, next + t_us))
			return 0;
	}
}
