/*
 * privdrop_user(): unknown users are refused with a reason; as root, every
 * uid and gid becomes the user's, group 0 is shed and root cannot come back.
 */
#include <sys/wait.h>

#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/privdrop.h"

Test(privdrop, unknown_user)
{
	char err[256] = "";

	cr_expect_eq(privdrop_user("no-such-user-sluice", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "user no-such-user-sluice: no such user");
}

Test(privdrop, root_becomes_nobody)
{
	struct passwd *pw = getpwnam("nobody");
	char err[256] = "";
	int st = -1;
	pid_t pid;

	if (geteuid() != 0 || pw == NULL)
		cr_skip_test("needs root and a user nobody");
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		uid_t r, e, s;
		gid_t gr, ge, gs, groups[64];
		int i, n;

		if (privdrop_user("nobody", err, sizeof(err)) == -1)
			_exit(10);
		if (getresuid(&r, &e, &s) == -1 || r != pw->pw_uid || e != pw->pw_uid ||
		    s != pw->pw_uid)
			_exit(11);
		if (getresgid(&gr, &ge, &gs) == -1 || gr != pw->pw_gid || ge != pw->pw_gid ||
		    gs != pw->pw_gid)
			_exit(12);
		n = getgroups(64, groups);
		for (i = 0; i < n; i++)
			if (groups[i] == 0)
				_exit(13);
		if (setuid(0) != -1)
			_exit(14);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
}
