/*
 * Source addresses as the worker connects to them (see srcaddr.h). A source
 * with resolve = true is where the resolver process last published it in
 * the source's shm slot; every other source is where the configuration put it.
 */
#include "worker/srcaddr.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/log.h"
#include "shm/shm.h"
#include "worker/worker-t.h"

/*
 * One per conf source. For a resolve = true source, addr is a copy of the
 * configuration's (text and hostport: the Host header and TLS names stay the
 * configured name) with the published address in ss; gen is the agen it was
 * built from. ss is NULL for a source that is not re-resolved.
 */
struct srcaddr {
	const struct shm_source	*ss;	/* its shm slot, or NULL */
	uint32_t		 gen;	/* agen of addr; valid only when have */
	int			 have;	/* addr holds a published address */
	struct addr_conf	 addr;
};

static void	refresh(struct worker *w, uint32_t src_idx, struct srcaddr *sa, uint32_t gen);

int
srcaddr_init(struct worker *w)
{
	const struct conf *c = w->conf;
	uint32_t i;

	w->sa = NULL;
	for (i = 0; i < c->nsources; i++)
		if (c->sources[i].resolve)
			break;
	if (i == c->nsources)
		return 0;	/* nothing re-resolved: every lookup is the config's */
	if ((w->sa = calloc(c->nsources, sizeof(*w->sa))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < c->nsources; i++) {
		struct srcaddr *sa = &w->sa[i];

		if (!c->sources[i].resolve || w->ho == NULL || w->ho->shm == NULL)
			continue;
		sa->ss = shm_source(w->ho->shm, w->ho->src_slot[i]);
		sa->addr = c->sources[i].addr;
	}
	return 0;
}

const struct addr_conf *
srcaddr_get(struct worker *w, uint32_t src_idx, uint32_t *gen)
{
	struct srcaddr *sa;
	uint32_t g;

	*gen = 0;
	if (w->sa == NULL || (sa = &w->sa[src_idx])->ss == NULL)
		return &w->conf->sources[src_idx].addr;
	/* The common case: one relaxed load, the copy is current. */
	g = atomic_load_explicit(&sa->ss->agen, memory_order_relaxed);
	if (!sa->have || g != sa->gen)
		refresh(w, src_idx, sa, g);
	if (!sa->have)
		return NULL;
	*gen = sa->gen;
	return &sa->addr;
}

int
srcaddr_stale(struct worker *w, uint32_t src_idx, uint32_t gen)
{
	const struct srcaddr *sa;

	if (w == NULL || w->sa == NULL || (sa = &w->sa[src_idx])->ss == NULL)
		return 0;
	return atomic_load_explicit(&sa->ss->agen, memory_order_relaxed) != gen;
}

/*
 * Re-reads the slot after agen moved (or while there is no address yet).
 * A slot now bound to another address text belongs to a newer generation's
 * configuration (a reload changed it while we drain): we keep what we had.
 */
static void
refresh(struct worker *w, uint32_t src_idx, struct srcaddr *sa, uint32_t g)
{
	const struct addr_conf *conf = &w->conf->sources[src_idx].addr;
	struct shm_addr_rec r;

	if (strncmp(sa->ss->addr, conf->text, sizeof(sa->ss->addr) - 1) != 0) {
		if (sa->have)
			sa->gen = g;	/* keep the old copy; do not retire it over and over */
		return;
	}
	if (shm_addr_read(sa->ss, &r) == -1)
		return;		/* a writer died mid-write: keep the copy we have */
	/* The port as written: the name may not have resolved at load. */
	sa->gen = r.gen;
	sa->have = shm_addr_sockaddr(&r, conf->port, &sa->addr.ss, &sa->addr.len) == 0;
	if (sa->have)
		log_debug("source %s: connecting to the address of generation %u",
		    w->conf->sources[src_idx].name, r.gen);
}
