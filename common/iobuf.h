/*
 * Linear I/O buffer: bytes live in area[head .. head+data). Parsers take
 * views into it, so it only moves (iobuf_compact) when the owner says so.
 */
#ifndef SLUICE_IOBUF_H
#define SLUICE_IOBUF_H

#include <stdint.h>
#include <string.h>

struct iobuf {
	char		*area;	/* owned by the holder; NULL when released */
	uint32_t	 size;
	uint32_t	 head;	/* offset of the oldest byte */
	uint32_t	 data;	/* bytes held */
};

static inline char *
iobuf_ptr(const struct iobuf *b)
{
	return b->area + b->head;
}

/* Free room after the data, without moving anything. */
static inline uint32_t
iobuf_room(const struct iobuf *b)
{
	return b->size - b->head - b->data;
}

static inline void
iobuf_consume(struct iobuf *b, uint32_t n)
{
	b->head += n;
	b->data -= n;
	if (b->data == 0)
		b->head = 0;
}

/* Moves the data to the start of the area; invalidates every view into it. */
static inline void
iobuf_compact(struct iobuf *b)
{
	if (b->head == 0)
		return;
	if (b->data != 0)
		memmove(b->area, b->area + b->head, b->data);
	b->head = 0;
}

#endif
