/*
 * Log files owned by the worker user, so a worker can reopen them on USR1.
 */
#include "master/logfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"

static void	own(const char *path, uid_t uid, gid_t gid);

void
logfiles_own(const struct conf *c)
{
	struct passwd *pw;

	if (c->user[0] == '\0' || geteuid() != 0)
		return;	/* the workers are who we are: they can open what we can */
	if ((pw = getpwnam(c->user)) == NULL) {
		log_warnx("log files: unknown user %s", c->user);
		return;
	}
	if (strcmp(c->log.error, "stderr") != 0)
		own(c->log.error, pw->pw_uid, pw->pw_gid);
	if (strcmp(c->log.access, "off") != 0)
		own(c->log.access, pw->pw_uid, pw->pw_gid);
}

static void
own(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd == -1) {
		log_warn("log files: cannot open %s", path);
		return;
	}
	/* Only a regular file, and only if it is not someone else's already. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_uid != uid || st.st_gid != gid) &&
	    (st.st_uid == 0 || st.st_uid == uid) && fchown(fd, uid, gid) == -1)
		log_warn("log files: cannot give %s to uid %d", path, (int)uid);
	close(fd);
}
