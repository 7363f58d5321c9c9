/*
 * Fixed-size object free lists: connections, exchanges and buffers are
 * reused, so the steady state makes no malloc per request.
 */
#ifndef SLUICE_FREELIST_H
#define SLUICE_FREELIST_H

#include <stddef.h>
#include <stdint.h>

struct freelist {
	void	*head;
	size_t	 size;		/* object size, >= sizeof(void *) */
	uint32_t nfree;
	uint32_t max_free;	/* objects beyond this go back to malloc */
};

/* An object of fl->size bytes, reused or new; NULL on ENOMEM. Not zeroed. */
void	*freelist_get(struct freelist *fl);
/* Gives p back (kept, or freed beyond max_free); accepts NULL. */
void	 freelist_put(struct freelist *fl, void *p);

#endif
