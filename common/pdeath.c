/*
 * Parent-death signal (see pdeath.h).
 */
#include "common/pdeath.h"

#include <sys/prctl.h>

#include <signal.h>
#include <unistd.h>

int
pdeath_arm(pid_t parent, int sig)
{
	if (prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0UL, 0UL, 0UL) == -1)
		return -1;
	/*
	 * A parent that died before prctl() sends nothing: we were reparented
	 * already (to init or a subreaper), which getppid() shows.
	 */
	if (getppid() != parent) {
		raise(sig);
		return 1;
	}
	return 0;
}
