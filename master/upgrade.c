/*
 * Binary upgrade: exec with inherited listeners (see upgrade.h).
 */
#include "master/upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/handoff.h"
#include "common/log.h"
#include "common/tls_tickets.h"

static char	**saved_argv;
static char	 exe[PATH_MAX];
static int	 inherited[HANDOFF_MAX_LISTEN * 2];
static uint32_t	 ninherited;

void
upgrade_init(int argc, char **argv)
{
	ssize_t n;
	const char *env;
	char *end;
	long fd;

	(void)argc;
	saved_argv = argv;
	/* The path, not /proc/self/exe: an upgrade runs the binary now on disk. */
	if (strchr(argv[0], '/') == NULL || realpath(argv[0], exe) == NULL) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
	}
	env = getenv(UPGRADE_ENV_FDS);
	if (env == NULL || !upgrade_inherited())
		return;
	while (*env != '\0' && ninherited < sizeof(inherited) / sizeof(inherited[0])) {
		fd = strtol(env, &end, 10);
		if (end == env || fd < 3 || fd > INT_MAX)
			break;
		inherited[ninherited++] = (int)fd;
		env = *end == ',' ? end + 1 : end;
	}
}

int
upgrade_inherited(void)
{
	const char *from = getenv(UPGRADE_ENV_FROM);

	return from != NULL && atol(from) == (long)getppid();
}

pid_t
upgrade_exec(const int *fds, uint32_t n, const char *pid_file)
{
	char list[HANDOFF_MAX_LISTEN * 12] = "", from[32], old[CONF_STR_MAX + 8];
	size_t off = 0;
	uint32_t i;
	pid_t pid;

	snprintf(old, sizeof(old), "%s.oldbin", pid_file);
	if (rename(pid_file, old) == -1) {
		log_warn("upgrade: cannot rename %s to %s", pid_file, old);
		return -1;
	}
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d", i ? "," : "", fds[i]);
	snprintf(from, sizeof(from), "%d", (int)getpid());
	pid = fork();
	if (pid == -1) {
		log_warn("upgrade: fork");
		upgrade_failed(pid_file);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		/*
		 * Unlike a worker, no parent-death signal (fork cleared any): the
		 * new master must outlive this one, which is told QUIT next.
		 */
		for (i = 0; i < n; i++)
			fcntl(fds[i], F_SETFD, 0);	/* survive the exec */
		setenv(UPGRADE_ENV_FDS, list, 1);
		if (tickets_fd() != -1) {
			/* The new binary shares the session-ticket keys. */
			char tfd[16];

			snprintf(tfd, sizeof(tfd), "%d", tickets_fd());
			fcntl(tickets_fd(), F_SETFD, 0);
			setenv(TICKETS_ENV_FD, tfd, 1);
		}
		setenv(UPGRADE_ENV_FROM, from, 1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(exe, saved_argv);
		log_warn("upgrade: exec %s", exe);
		_exit(127);
	}
	log_info("upgrade: started %s as pid %d; send QUIT to pid %d once it serves", exe,
	    (int)pid, (int)getpid());
	return pid;
}

void
upgrade_failed(const char *pid_file)
{
	char old[CONF_STR_MAX + 8];

	snprintf(old, sizeof(old), "%s.oldbin", pid_file);
	if (rename(old, pid_file) == -1)
		log_warn("upgrade: cannot rename %s back to %s", old, pid_file);
}

int
upgrade_take_fd(const struct addr_conf *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint32_t i;
	int fd;

	for (i = 0; i < ninherited; i++) {
		if (inherited[i] < 0)
			continue;
		len = sizeof(ss);
		if (getsockname(inherited[i], (struct sockaddr *)&ss, &len) == -1)
			continue;
		if (len != a->len || memcmp(&ss, &a->ss, len) != 0) {
			/* sin_zero and the like may differ: compare family, port, address. */
			if (ss.ss_family != a->ss.ss_family || ss.ss_family == AF_UNIX)
				continue;
			if (ss.ss_family == AF_INET &&
			    memcmp(&((struct sockaddr_in *)&ss)->sin_addr,
			    &((const struct sockaddr_in *)&a->ss)->sin_addr, 4) == 0 &&
			    ((struct sockaddr_in *)&ss)->sin_port ==
			    ((const struct sockaddr_in *)&a->ss)->sin_port)
				goto found;
			if (ss.ss_family == AF_INET6 &&
			    memcmp(&((struct sockaddr_in6 *)&ss)->sin6_addr,
			    &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16) == 0 &&
			    ((struct sockaddr_in6 *)&ss)->sin6_port ==
			    ((const struct sockaddr_in6 *)&a->ss)->sin6_port)
				goto found;
			continue;
		}
found:
		fd = inherited[i];
		inherited[i] = -1;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		return fd;
	}
	return -1;
}

void
upgrade_close_rest(void)
{
	uint32_t i;

	for (i = 0; i < ninherited; i++)
		if (inherited[i] >= 0) {
			close(inherited[i]);
			inherited[i] = -1;
		}
	ninherited = 0;
}
