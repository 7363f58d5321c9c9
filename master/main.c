/*
 * sluice master: command line, configuration, listeners, pid file, then
 * supervision of the workers (spawn.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "common/conf.h"
#include "common/conf_load.h"
#include "common/handoff.h"
#include "common/log.h"
#include "common/rewrite.h"
#include "common/tls_conf.h"
#include "common/version.h"
#include "master/listen.h"
#include "master/publish.h"
#include "master/spawn.h"
#include "master/logfiles.h"
#include "master/upgrade.h"
#include "shm/shm.h"

#define DEFAULT_CONF	"/etc/sluice/sluice.conf"

static void	usage(FILE *out, int status);
static void	version(void);
static int	send_signal(const struct conf *c, const char *name);
static int	is_master(const struct conf *c, long pid, char *why, size_t whylen);
static int	write_pidfile(const char *path);
static void	daemonize(int log_file);
static int	wait_ready(int fd, pid_t pid);
static void	raise_nofile(const struct conf *c);
static void	remove_own_pidfile(const char *path);
static void	print_warnings(const struct conf_errs *w, int to_log);

/* After an upgrade the pid file may name the new master: leave that one. */
static void
remove_own_pidfile(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (atol(buf) == (long)getpid())
		unlink(path);
}

/*
 * Each worker may hold max_connections clients plus as many backend
 * connections: raise RLIMIT_NOFILE to that (root may raise the hard limit).
 */
static void
raise_nofile(const struct conf *c)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)c->limits.max_connections * 2 + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		struct rlimit hard = { want, want };

		if (setrlimit(RLIMIT_NOFILE, &hard) == 0)
			return;
		want = rl.rlim_max;
		/* Short of 2x is common and mostly harmless; short of 1x is not. */
		if (rl.rlim_max < c->limits.max_connections)
			log_warnx("RLIMIT_NOFILE hard limit %llu is below max_connections = %u",
			    (unsigned long long)rl.rlim_max, c->limits.max_connections);
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit RLIMIT_NOFILE %llu", (unsigned long long)want);
}

static void
usage(FILE *out, int status)
{
	fprintf(out,
	    "usage: sluice [-c FILE] [-t] [-f] [-s reload|quit|stop|reopen|upgrade] [-v] [-h]\n"
	    "  -c FILE  configuration file (default " DEFAULT_CONF ")\n"
	    "  -t       test the configuration and exit\n"
	    "  -f       stay in the foreground\n"
	    "  -s SIG   send a signal to the running master (pid from pid_file)\n"
	    "  -v       print the version, build options and library versions (--version)\n"
	    "  -h       print this help (--help)\n");
	exit(status);
}

#ifndef SLUICE_BUILD_OPT
#define SLUICE_BUILD_OPT	"unknown"
#endif

/* -v: what this binary is and what it was built with. */
static void
version(void)
{
	printf("sluice %s\n", SLUICE_VERSION);
	printf("build: cc %s, flags %s\n", __VERSION__, SLUICE_BUILD_OPT);
	printf("libraries: libev %d.%d, %s, %s, %s\n", ev_version_major(), ev_version_minor(),
	    conf_lib_version(), rewrite_lib_version(), tls_lib_version());
	exit(0);
}

/*
 * -s: is pid (read from the pid file) the master of this configuration?
 * A stale pid file may name any process by now. Yes if the segment of c
 * records pid with its start time. A segment that cannot be read (an older
 * layout) or whose master is gone (a new master that failed at its start
 * after an upgrade took the name) leaves only the process name: "sluice".
 * Returns 1, or 0 with the reason in why.
 */
static int
is_master(const struct conf *c, long pid, char *why, size_t whylen)
{
	struct shm_seg seg;
	char err[256], comm[64], path[64];
	int32_t mpid = 0;
	uint64_t mstart = 0;
	ssize_t n;
	int fd, attached;

	if (shm_proc_start((int32_t)pid) == 0) {
		snprintf(why, whylen, "is not running");
		return 0;
	}
	attached = shm_attach_ro(c->shm, &seg, err, sizeof(err)) == 0;
	if (attached) {
		mpid = atomic_load_explicit(&seg.hdr->master_pid, memory_order_relaxed);
		mstart = seg.hdr->master_start;
		shm_detach(&seg);
		if (mpid == (int32_t)pid && shm_master_alive(mpid, mstart))
			return 1;
		if (shm_master_alive(mpid, mstart)) {
			snprintf(why, whylen, "is not the master of shm %s (that is pid %d)", c->shm,
			    (int)mpid);
			return 0;
		}
	}
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd == -1 ? -1 : read(fd, comm, sizeof(comm) - 1);
	if (fd != -1)
		close(fd);
	comm[n > 0 ? n : 0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	if (strcmp(comm, "sluice") == 0)
		return 1;
	snprintf(why, whylen, "is not sluice (it is \"%s\")", comm);
	return 0;
}

static int
send_signal(const struct conf *c, const char *name)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "reload", SIGHUP }, { "quit", SIGQUIT }, { "stop", SIGTERM },
		{ "reopen", SIGUSR1 }, { "upgrade", SIGUSR2 },
	};
	char buf[32], why[CONF_STR_MAX + 64];
	size_t i;
	ssize_t n;
	long pid;
	int fd;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (strcmp(name, sigs[i].name) == 0)
			break;
	if (i == sizeof(sigs) / sizeof(sigs[0])) {
		fprintf(stderr, "sluice: -s: expected reload, quit, stop, reopen or upgrade, got \"%s\"\n",
		    name);
		return 1;
	}
	fd = open(c->pid_file, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		fprintf(stderr, "sluice: cannot read pid file %s: %s\n", c->pid_file, strerror(errno));
		return 1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 1 || pid > INT32_MAX) {
		fprintf(stderr, "sluice: pid file %s holds no valid pid\n", c->pid_file);
		return 1;
	}
	if (!is_master(c, pid, why, sizeof(why))) {
		fprintf(stderr, "sluice: pid file %s names pid %ld, which %s; nothing sent\n",
		    c->pid_file, pid, why);
		return 1;
	}
	if (kill((pid_t)pid, sigs[i].sig) == -1) {
		fprintf(stderr, "sluice: cannot signal pid %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	return 0;
}

static int
write_pidfile(const char *path)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * Detaches, as nginx does, but the parent waits until the master is ready
 * (the start line) or has failed, and exits with that: 0, or 1 with the
 * master's start-up errors on its stderr.
 */
static void
daemonize(int log_file)
{
	pid_t pid;
	int fd, p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("%s: pipe", __func__);
	pid = fork();
	if (pid == -1)
		fatal("%s: fork", __func__);
	if (pid > 0) {
		close(p[1]);
		_exit(wait_ready(p[0], pid));
	}
	close(p[0]);
	log_startup(p[1], 1);
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		/* With a log file nothing more is said on the terminal (or a pipe). */
		if (log_file)
			dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/* The detaching parent: relays start-up errors until the ready mark or EOF. */
static int
wait_ready(int fd, pid_t pid)
{
	char buf[4096], *m;
	size_t said = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		m = memchr(buf, LOG_READY_MARK, (size_t)n);
		if (fwrite(buf, 1, m != NULL ? (size_t)(m - buf) : (size_t)n, stderr) == 0)
			(void)0;
		said += (size_t)n;
		if (m != NULL)
			return 0;
	}
	if (said == 0)
		fprintf(stderr, "sluice: the master (pid %d) exited during start-up; see the "
		    "error log\n", (int)pid);
	fprintf(stderr, "sluice: start-up failed\n");
	return 1;
}

/* Opens the access log once here, so a path workers could not open fails the start. */
static int
check_access_log(const struct conf *c)
{
	char why[2 * CONF_STR_MAX + 128];
	int afd;

	if (strcmp(c->log.access, "off") == 0)
		return 0;
	afd = open(c->log.access, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (afd == -1) {
		/* The words of sluice -t: which file, and whether it or its directory failed. */
		if (conf_check_writable(c->log.access, why, sizeof(why)) == -1)
			log_error("log.access: %s", why);
		else
			log_warn("log.access: cannot open %s", c->log.access);
		return -1;
	}
	close(afd);
	return 0;
}

/* Config warnings as "FILE:LINE: warning: ...": on stderr (-t), else in the error log. */
static void
print_warnings(const struct conf_errs *w, int to_log)
{
	unsigned i;

	for (i = 0; i < w->n; i++) {
		if (to_log)
			log_warnx("%s:%d: warning: %s", w->err[i].file, w->err[i].line,
			    w->err[i].msg);
		else
			fprintf(stderr, "%s:%d: warning: %s\n", w->err[i].file, w->err[i].line,
			    w->err[i].msg);
	}
	if (w->total > w->n && to_log)
		log_warnx("... and %u more warnings", w->total - w->n);
	else if (w->total > w->n)
		fprintf(stderr, "... and %u more warnings\n", w->total - w->n);
}

/* Takes inherited listeners (upgrade) or opens them into fds; 0 or -1 (logged). */
static int
open_listeners(const struct conf *c, int *fds)
{
	char err[768];
	uint32_t i;

	for (i = 0; i < c->nlisteners; i++) {
		fds[i] = upgrade_take_fd(&c->listeners[i].addr);
		if (fds[i] == -1)
			fds[i] = listen_open(&c->listeners[i], err, sizeof(err));
		if (fds[i] == -1) {
			log_error("%s", err);
			if (log_open(NULL, c->log.level) == 0 && strcmp(c->log.error, "stderr") != 0)
				fprintf(stderr, "sluice: %s\n", err);
			while (i-- > 0)
				close(fds[i]);
			return -1;
		}
	}
	return 0;
}

/* Detached (or not), with listeners open: segment, pid file, supervision, cleanup. */
static int
serve(const char *file, struct conf *c, int *fds, int fg)
{
	char err[768], pidfile[CONF_STR_MAX + 8], unix_paths[8][CONF_STR_MAX];
	uint32_t i, nunix = 0, mw, ms, mr;
	struct shm_seg seg;
	int rc;

	upgrade_close_rest();
	/* A new master from an upgrade stays the old one's child, as nginx's does. */
	if (!fg && !upgrade_inherited())
		daemonize(strcmp(c->log.error, "stderr") != 0);
	/* The segment of a master killed during an upgrade is ours to clean. */
	if (shm_oldbin_clean(c->shm) == -1)
		log_warn("shm %s%s: cannot remove the stale segment", c->shm, SHM_OLDBIN_SUFFIX);
	/* The old master keeps its mapping, and sluice-stat finds it as <shm>.oldbin. */
	if (upgrade_inherited() && shm_move_aside(c->shm, (int32_t)getppid()) == -1)
		log_warn("shm %s: cannot move the old master's segment aside", c->shm);
	/* After daemonize: the segment records the pid that will supervise. */
	publish_sizes(c, &mw, &ms, &mr);
	if (shm_create(c->shm, mw, ms, mr, &seg, err, sizeof(err)) == -1) {
		log_error("%s", err);
		if (upgrade_inherited())
			shm_move_back(c->shm, (int32_t)getppid());	/* the old one serves on */
		conf_free(c);
		return 1;
	}
	snprintf(pidfile, sizeof(pidfile), "%s", c->pid_file);
	/* Unix listener paths are removed at exit; remember them before the conf goes. */
	for (i = 0; i < c->nlisteners && nunix < 8; i++)
		if (c->listeners[i].addr.ss.ss_family == AF_UNIX)
			snprintf(unix_paths[nunix++], sizeof(unix_paths[0]), "%s",
			    c->listeners[i].addr.text + 5);
	if (write_pidfile(c->pid_file) == -1) {
		log_warn("cannot write pid file %s", c->pid_file);
		shm_remove(&seg);
		if (upgrade_inherited())
			shm_move_back(seg.name, (int32_t)getppid());
		shm_detach(&seg);
		conf_free(c);
		return 1;
	}
	rc = spawn_run(file, c, fds, &seg);
	shm_remove(&seg);	/* only if the name is still ours */
	/* A rolled-back upgrade: the old master, still serving, gets the name back. */
	if (upgrade_inherited())
		shm_move_back(seg.name, (int32_t)getppid());
	shm_detach(&seg);
	remove_own_pidfile(pidfile);
	snprintf(pidfile + strlen(pidfile), sizeof(pidfile) - strlen(pidfile), ".oldbin");
	remove_own_pidfile(pidfile);
	for (i = 0; i < nunix && !spawn_upgraded(); i++)
		unlink(unix_paths[i]);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *file = DEFAULT_CONF, *sig = NULL;
	struct conf_errs errs, warns;
	struct conf *c;
	char why[2 * CONF_STR_MAX + 128];
	int test = 0, fg = 0, ch, rc;
	int fds[HANDOFF_MAX_LISTEN];
	sigset_t set;

	static const struct option longopts[] = {
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	upgrade_init(argc, argv);
	while ((ch = getopt_long(argc, argv, "c:tfs:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'f':
			fg = 1;
			break;
		case 's':
			sig = optarg;
			break;
		case 'v':
			version();
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 1);
		}
	}
	if (optind != argc)
		usage(stderr, 1);
	memset(&errs, 0, sizeof(errs));
	/* -t also checks the files start-up writes; start-up just fails on them. */
	c = conf_load_ext(file, test ? CONF_LOAD_F_FILES : 0, &errs, &warns);
	if (c == NULL) {
		conf_errs_print(&errs, stderr);
		if (test)
			fprintf(stderr, "sluice: configuration %s is invalid\n", file);
		return 1;
	}
	if (test) {
		print_warnings(&warns, 0);
		printf("sluice: configuration %s: configuration OK\n", file);
		conf_free(c);
		return 0;
	}
	if (sig != NULL) {
		rc = send_signal(c, sig);
		conf_free(c);
		return rc;
	}
	if (c->nlisteners > HANDOFF_MAX_LISTEN)
		fatalx("at most %d listeners", HANDOFF_MAX_LISTEN);
	if (log_open(c->log.error, c->log.level) == -1) {
		rc = errno;
		if (conf_check_writable(c->log.error, why, sizeof(why)) == -1)
			fprintf(stderr, "sluice: log.error: %s\n", why);
		else
			fprintf(stderr, "sluice: log.error: cannot open %s: %s\n", c->log.error,
			    strerror(rc));
		conf_free(c);
		return 1;
	}
	log_role("master");
	/* With a log file, start-up errors are also on stderr (-f) or the parent's. */
	if (strcmp(c->log.error, "stderr") != 0)
		log_startup(2, 0);
	print_warnings(&warns, 1);
	if (check_access_log(c) == -1) {
		conf_free(c);
		return 1;
	}
	logfiles_own(c);
	/* Signals wait in the mask until the supervision loop takes them. */
	spawn_sigset(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(c);
	if (open_listeners(c, fds) == -1) {
		conf_free(c);
		return 1;
	}
	return serve(file, c, fds, fg);
}
