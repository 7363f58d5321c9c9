/*
 * Error log: timestamped lines with level, pid and role, one write(2) each.
 */
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void	vlog(enum log_level level, int with_errno, const char *fmt, va_list ap);

static int		 log_fd = 2;
static enum log_level	 log_lvl = LOG_L_INFO;
static const char	*log_who = "sluice";
static char		 log_path[PATH_MAX];	/* "" = stderr */
static int		 startup_fd = -1;	/* start-up errors also go here */
static pid_t		 startup_pid;		/* only in the process that set it */
static int		 startup_mark;		/* write the ready mark when done */

static const char *const level_names[LOG_L__COUNT] = {
	[LOG_L_ERROR] = "error",
	[LOG_L_WARN] = "warn",
	[LOG_L_INFO] = "info",
	[LOG_L_DEBUG] = "debug",
};

int
log_open(const char *dest, enum log_level level)
{
	log_lvl = level;
	if (dest == NULL || strcmp(dest, "stderr") == 0) {
		log_path[0] = '\0';
		log_fd = 2;
		return 0;
	}
	snprintf(log_path, sizeof(log_path), "%s", dest);
	return log_reopen();
}

void
log_role(const char *role)
{
	log_who = role;
}

int
log_reopen(void)
{
	int fd;

	if (log_path[0] == '\0')
		return 0;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	if (log_fd > 2)
		close(log_fd);
	log_fd = fd;
	return 0;
}

void
log_startup(int fd, int mark)
{
	startup_fd = fd;
	startup_pid = getpid();
	startup_mark = mark;
}

void
log_startup_done(int ready)
{
	static const char m = LOG_READY_MARK;

	if (startup_fd < 0 || getpid() != startup_pid)
		return;
	if (ready && startup_mark && write(startup_fd, &m, 1) == -1)
		(void)0;
	if (startup_fd > 2)
		close(startup_fd);
	startup_fd = -1;
}

int
log_level_enabled(enum log_level level)
{
	return level <= log_lvl;
}

static void
vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char line[2048];
	struct tm tm;
	time_t now;
	size_t n;
	int saved = errno, r;

	if (level > log_lvl)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ", &tm);
	r = snprintf(line + n, sizeof(line) - n, " [%s] %s[%d]: ", level_names[level], log_who,
	    (int)getpid());
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	if (with_errno) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved));
		if (r > 0)
			n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* Best effort: a log that cannot be written must not stop serving. */
	if (write(log_fd, line, n) == -1)
		(void)0;
	if (startup_fd >= 0 && startup_fd != log_fd && level <= LOG_L_WARN &&
	    getpid() == startup_pid && write(startup_fd, line, n) == -1)
		(void)0;
	errno = saved;
}

#define LOG_FN(fn, level, with_errno)			\
	void						\
	fn(const char *fmt, ...)			\
	{						\
		va_list ap;				\
		va_start(ap, fmt);			\
		vlog(level, with_errno, fmt, ap);	\
		va_end(ap);				\
	}

LOG_FN(log_warn, LOG_L_WARN, 1)
LOG_FN(log_warnx, LOG_L_WARN, 0)
LOG_FN(log_error, LOG_L_ERROR, 0)
LOG_FN(log_info, LOG_L_INFO, 0)
LOG_FN(log_debug, LOG_L_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_L_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_L_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
