/*
 * sluice-stat's outputs. Each prints one snapshot of seg to stdout.
 */
#ifndef SLUICE_STAT_PRINT_H
#define SLUICE_STAT_PRINT_H

struct shm_seg;
struct stats_snap;

/* Totals, one row per worker and per source, like top. */
void	stat_print_table(const struct shm_seg *seg, const struct stats_snap *s);
/* One JSON object: "totals", "workers", "sources" (names scripts rely on). */
void	stat_print_json(const struct shm_seg *seg, const struct stats_snap *s);
/* The Prometheus text exposition format. */
void	stat_print_prom(const struct shm_seg *seg, const struct stats_snap *s);

#endif
