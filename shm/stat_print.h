/*
 * sluice-stat's outputs. Each prints one snapshot of seg to the stream out,
 * and nothing else: no stdout, no exit, no state kept between calls, so a
 * worker may also print into an fmemopen()/open_memstream() stream to serve
 * the JSON or the Prometheus text over HTTP. Write errors are left in out
 * for the caller (ferror()). s->oldbin, when set, adds the old master's
 * workers during a binary upgrade; NULL otherwise.
 */
#ifndef SLUICE_STAT_PRINT_H
#define SLUICE_STAT_PRINT_H

#include <stdio.h>

struct shm_seg;
struct stats_snap;

/* Totals, one row per worker, per source and per route (s->routes), like top;
 * columns as wide as the data. */
void	stat_print_table(FILE *out, const struct shm_seg *seg, const struct stats_snap *s);
/* One JSON object: "totals", "workers", "sources" (names scripts rely on),
 * "routes" (empty when s->routes is NULL), and "old_binary" only while an
 * upgrade's old master serves. */
void	stat_print_json(FILE *out, const struct shm_seg *seg, const struct stats_snap *s);
/* The Prometheus text exposition format 0.0.4. */
void	stat_print_prom(FILE *out, const struct shm_seg *seg, const struct stats_snap *s);

#endif
