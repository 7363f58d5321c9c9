/*
 * pdeath_arm(): the signal asked for at the parent's death, and the race
 * with a parent that is already gone.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/pdeath.h"

Test(pdeath, parent_alive_arms)
{
	int sig = 0;

	cr_assert_eq(pdeath_arm(getppid(), SIGUSR1), 0);
	cr_assert_eq(prctl(PR_GET_PDEATHSIG, &sig), 0);
	cr_expect_eq(sig, SIGUSR1);
	cr_assert_eq(pdeath_arm(getppid(), 0), 0, "0 disarms");
}

Test(pdeath, parent_already_gone_raises)
{
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	cr_assert_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	/* Never our parent's pid: as if it died and we were reparented. */
	cr_expect_eq(pdeath_arm(getpid(), SIGUSR1), 1);
	cr_assert_eq(sigpending(&pend), 0);
	cr_expect(sigismember(&pend, SIGUSR1), "the signal was raised at once");
}

/* A grandchild arms against its parent, which then exits: the signal comes. */
Test(pdeath, signal_at_parent_exit)
{
	int armed[2], result[2];
	char c = 0;
	pid_t mid;

	cr_assert_eq(pipe(armed), 0);
	cr_assert_eq(pipe(result), 0);
	mid = fork();
	cr_assert_neq(mid, -1);
	if (mid == 0) {
		pid_t leaf = fork();

		if (leaf == 0) {
			struct timespec ts = { 3, 0 };
			sigset_t set;
			char r;

			sigemptyset(&set);
			sigaddset(&set, SIGUSR1);
			sigprocmask(SIG_BLOCK, &set, NULL);
			r = pdeath_arm(getppid(), SIGUSR1) == 0 ? 'a' : 'e';
			if (write(armed[1], &r, 1) != 1)
				_exit(1);
			r = sigtimedwait(&set, NULL, &ts) == SIGUSR1 ? 'Y' : 'N';
			if (write(result[1], &r, 1) != 1)
				_exit(1);
			_exit(0);
		}
		/* Die once the leaf has armed (or after at most 3 s). */
		if (read(armed[0], &c, 1) != 1)
			_exit(1);
		_exit(c == 'a' ? 0 : 2);
	}
	close(armed[1]);
	close(result[1]);
	cr_assert_eq(waitpid(mid, NULL, 0), mid);
	cr_assert_eq(read(result[0], &c, 1), 1);
	cr_expect_eq(c, 'Y', "no SIGUSR1 after the parent exited");
}
