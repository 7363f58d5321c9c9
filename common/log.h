/*
 * Error log after OpenBSD log.c: one line per message, written with a single
 * write(2) so lines from several processes never interleave.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

/* Severity, most severe first; also the config's log.level (common/conf.h). */
enum log_level {
	LOG_L_ERROR = 0,
	LOG_L_WARN,
	LOG_L_INFO,
	LOG_L_DEBUG,
	LOG_L__COUNT
};

/* Opens dest ("stderr" or a path, appended) at level; returns 0 or -1 + errno. */
int	log_open(const char *dest, enum log_level level);
/* Sets the role shown on each line ("master", "worker 0", ...): a static string. */
void	log_role(const char *role);
/* Reopens the log file (SIGUSR1); keeps the old one on failure. */
int	log_reopen(void);
/*
 * Start-up: warnings and errors of this process also go to fd (stderr with
 * -f and a log file; the detaching parent's pipe otherwise) until
 * log_startup_done(); mark: then write LOG_READY_MARK if ready.
 */
#define LOG_READY_MARK	'\001'
void	log_startup(int fd, int mark);
void	log_startup_done(int ready);
int	log_level_enabled(enum log_level level);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));	/* + strerror(errno) */
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs and exits 1: for master start-up only. fatal() appends strerror(errno). */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
