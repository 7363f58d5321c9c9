/*
 * Privilege drop (see privdrop.h).
 */
#include "common/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
privdrop_user(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;
	int saved;

	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		saved = errno != 0 ? errno : ENOENT;
		snprintf(err, errlen, "user %s: no such user", user);
		errno = saved;
		return -1;
	}
	/* EPERM: not root, so there are no groups of root's to shed. */
	if (setgroups(0, NULL) == -1 && errno != EPERM) {
		saved = errno;
		snprintf(err, errlen, "user %s: setgroups: %s", user, strerror(errno));
		errno = saved;
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		saved = errno;
		snprintf(err, errlen, "cannot become user %s: %s", user, strerror(errno));
		errno = saved;
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) != -1) {
		snprintf(err, errlen, "could regain root after dropping to %s", user);
		errno = EPERM;
		return -1;
	}
	return 0;
}
