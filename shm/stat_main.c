/*
 * sluice-stat: maps a running sluice's segment read-only and prints totals,
 * workers, sources and routes as a table (optionally refreshed like top), one JSON
 * document, or the Prometheus text exposition format.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/conf_shm.h"
#include "common/version.h"
#include "shm/shm.h"
#include "shm/stat_print.h"
#include "shm/stats.h"

#define DEFAULT_SHM	CONF_SHM_DEFAULT
#define SAMPLE_MS	200	/* single shot: rates over this window */

enum fmt {
	FMT_TABLE = 0,
	FMT_JSON,
	FMT_PROM,
	FMT__COUNT
};

static volatile sig_atomic_t stop;

static void	usage(FILE *out);
static void	on_signal(int sig);
static int	snap_alloc(struct stats_snap *s, const struct shm_seg *seg);
static void	snap_free(struct stats_snap *s);
static void	sleep_ms(uint64_t ms);

static void
usage(FILE *out)
{
	fprintf(out, "usage: sluice-stat [-n SHM | -c FILE] [--json | --prometheus] [-w SECONDS]\n"
	    "  -n SHM        shm name of the running sluice (default %s)\n"
	    "  -c FILE       take the shm name from this configuration file\n"
	    "  --json        one JSON document\n"
	    "  --prometheus  Prometheus text exposition format\n"
	    "  -w SECONDS    refresh every SECONDS until interrupted\n"
	    "  --version     print sluice-stat's version\n", DEFAULT_SHM);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
snap_alloc(struct stats_snap *s, const struct shm_seg *seg)
{
	memset(s, 0, sizeof(*s));
	s->workers = calloc(seg->max_workers, sizeof(*s->workers));
	s->sources = calloc(seg->max_sources, sizeof(*s->sources));
	s->routes = calloc(seg->max_routes, sizeof(*s->routes));
	if (s->workers == NULL || s->sources == NULL || s->routes == NULL) {
		snap_free(s);
		return -1;
	}
	s->wcap = seg->max_workers;
	s->scap = seg->max_sources;
	s->rcap = seg->max_routes;
	return 0;
}

static void
snap_free(struct stats_snap *s)
{
	free(s->workers);
	free(s->sources);
	free(s->routes);
	memset(s, 0, sizeof(*s));
}

/* Sleeps ms, cut short by SIGINT/SIGTERM. */
static void
sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (!stop && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* What the command line asked for. */
struct opts {
	enum fmt	 fmt;
	const char	*name;		/* shm name */
	double		 watch;		/* -w seconds, 0 = once */
	char		 name_buf[SHM_NAME_LEN];
};

/* Parses argv into o; returns -1 to go on, or the exit status. */
static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfile = NULL;
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "n:c:w:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o->name = optarg;
			break;
		case 'c':
			cfile = optarg;
			break;
		case 'w':
			o->watch = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || !(o->watch > 0) || o->watch > 86400) {
				fprintf(stderr,
				    "sluice-stat: -w: expected seconds > 0, got \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'J':
			o->fmt = FMT_JSON;
			break;
		case 'P':
			o->fmt = FMT_PROM;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sluice-stat %s (reads shm layout %d.x)\n", SLUICE_VERSION,
			    SHM_VER_MAJOR);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (o->name != NULL && cfile != NULL)) {
		usage(stderr);
		return 2;
	}
	if (cfile != NULL) {
		struct conf_err ce;

		/* Only the shm setting: the reader compiles no regex, resolves no address. */
		if (conf_shm_read(cfile, o->name_buf, sizeof(o->name_buf), &ce) == -1) {
			if (ce.line > 0)
				fprintf(stderr, "%s:%d: %s\n", ce.file, ce.line, ce.msg);
			else
				fprintf(stderr, "%s: %s\n", ce.file, ce.msg);
			return 1;
		}
		o->name = o->name_buf;
	}
	if (o->name == NULL)
		o->name = DEFAULT_SHM;
	return -1;
}

static void
print_snap(const struct opts *o, const struct shm_seg *seg, const struct stats_snap *cur)
{
	if (o->watch > 0 && o->fmt == FMT_TABLE)
		fputs("\033[H\033[2J", stdout);	/* home, clear: refresh in place */
	switch (o->fmt) {
	case FMT_JSON:
		stat_print_json(stdout, seg, cur);
		break;
	case FMT_PROM:
		stat_print_prom(stdout, seg, cur);
		break;
	default:
		stat_print_table(stdout, seg, cur);
		break;
	}
}

/*
 * One segment as followed over time: two snapshots, the latest and the one
 * before (for rates), swapped after each print.
 */
struct view {
	struct shm_seg		 seg;		/* base NULL: not attached */
	struct stats_snap	 a, b, *prev, *cur;
	int			 have_prev;
};

/* Attaches name into v; returns 0, or -1 with err set (v unattached). */
static int
view_open(struct view *v, const char *name, char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	if (shm_attach_ro(name, &v->seg, err, errlen) == -1)
		return -1;
	if (snap_alloc(&v->a, &v->seg) == -1 || snap_alloc(&v->b, &v->seg) == -1) {
		snprintf(err, errlen, "out of memory");
		snap_free(&v->a);
		shm_detach(&v->seg);
		return -1;
	}
	v->prev = &v->a;
	v->cur = &v->b;
	return 0;
}

static void
view_close(struct view *v)
{
	snap_free(&v->a);
	snap_free(&v->b);
	shm_detach(&v->seg);
	memset(v, 0, sizeof(*v));
}

/* Takes the current snapshot, with rates from the previous one if any. */
static void
view_take(struct view *v)
{
	stats_take(&v->seg, v->cur);
	v->cur->oldbin = NULL;
	if (v->have_prev)
		stats_rates(v->prev, v->cur);
}

static void
view_swap(struct view *v)
{
	struct stats_snap *t = v->prev;

	v->prev = v->cur;
	v->cur = t;
	v->have_prev = 1;
}

/*
 * During a binary upgrade the old master's segment is <name>.oldbin: follow
 * it while its master lives. A .oldbin whose master is dead is ignored.
 */
static void
oldbin_follow(struct view *old, const char *name)
{
	char oname[SHM_NAME_LEN], err[256];

	if (old->seg.base != NULL && !shm_replaced(&old->seg) &&
	    shm_master_alive(old->seg.hdr->master_pid, old->seg.hdr->master_start))
		return;
	if (old->seg.base != NULL)
		view_close(old);
	if (shm_oldbin_name(name, oname, sizeof(oname)) == -1 ||
	    view_open(old, oname, err, sizeof(err)) == -1)
		return;
	if (!shm_master_alive(old->seg.hdr->master_pid, old->seg.hdr->master_start))
		view_close(old);
}

int
main(int argc, char **argv)
{
	struct opts o = { .fmt = FMT_TABLE };
	struct view v, old;
	struct sigaction sa;
	char err[256];
	int r;

	if ((r = parse_args(argc, argv, &o)) >= 0)
		return r;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&old, 0, sizeof(old));
	if (view_open(&v, o.name, err, sizeof(err)) == -1) {
		fprintf(stderr, "sluice-stat: %s\n", err);
		return 1;
	}
	oldbin_follow(&old, o.name);

	/* Prometheus computes rates itself; table and JSON take two samples. */
	if (o.watch == 0 && o.fmt != FMT_PROM) {
		view_take(&v);
		view_swap(&v);
		if (old.seg.base != NULL) {
			view_take(&old);
			view_swap(&old);
		}
		sleep_ms(SAMPLE_MS);
	}
	for (;;) {
		view_take(&v);
		if (old.seg.base != NULL) {
			view_take(&old);
			v.cur->oldbin = old.cur;
		}
		print_snap(&o, &v.seg, v.cur);
		if (fflush(stdout) == EOF || ferror(stdout))
			break;
		if (o.watch == 0 || stop)
			break;
		sleep_ms((uint64_t)(o.watch * 1000));
		if (stop)
			break;
		view_swap(&v);
		if (old.seg.base != NULL)
			view_swap(&old);
		/* A restarted sluice has a new segment under the same name. */
		if (shm_replaced(&v.seg)) {
			struct view nv;

			if (view_open(&nv, o.name, err, sizeof(err)) == 0) {
				view_close(&v);
				v = nv;
				/* The snapshot pointers pointed into nv. */
				v.prev = &v.a;
				v.cur = &v.b;
			}	/* else keep showing the old one meanwhile */
		}
		oldbin_follow(&old, o.name);
	}
	if (o.watch > 0 && o.fmt == FMT_TABLE)
		putchar('\n');
	view_close(&old);
	view_close(&v);
	return ferror(stdout) ? 1 : 0;
}
