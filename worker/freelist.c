/*
 * Free lists: a singly linked stack threaded through the free objects.
 */
#include "worker/freelist.h"

#include <stdlib.h>

void *
freelist_get(struct freelist *fl)
{
	void *p = fl->head;

	if (p != NULL) {
		fl->head = *(void **)p;
		fl->nfree--;
		return p;
	}
	return malloc(fl->size);
}

void
freelist_put(struct freelist *fl, void *p)
{
	if (p == NULL)
		return;
	if (fl->nfree >= fl->max_free) {
		free(p);
		return;
	}
	*(void **)p = fl->head;
	fl->head = p;
	fl->nfree++;
}
