/*
 * Log files the workers write after they dropped root: the master creates
 * them and gives them to `user` (as nginx does), at start, on USR1 before
 * the workers reopen (so a file logrotate renamed away is recreated as one
 * they may open) and on a reload.
 */
#ifndef SLUICE_LOGFILES_H
#define SLUICE_LOGFILES_H

struct conf;

/* Creates c's error and access log files if missing and chowns them to c->user. */
void	logfiles_own(const struct conf *c);

#endif
