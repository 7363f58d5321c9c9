/*
 * Non-blocking socket I/O with one status vocabulary (nginx's OK/AGAIN/ERROR).
 */
#ifndef SLUICE_IO_H
#define SLUICE_IO_H

#include <sys/types.h>
#include <sys/uio.h>

#include "iobuf.h"

enum { IO_ERR = -1, IO_AGAIN = -2 };	/* >= 0: bytes moved; a read of 0 is EOF */

/* Reads into b's free room (must be > 0); EINTR retried; errno kept on IO_ERR. */
ssize_t	io_read(int fd, struct iobuf *b);
/* Writes len bytes of p; EINTR retried. */
ssize_t	io_write(int fd, const void *p, size_t len);
/* writev of at most IOV_MAX entries; EINTR retried. */
ssize_t	io_writev(int fd, const struct iovec *iov, int cnt);
/*
 * Drops n written bytes from the front of the iovec list, advancing
 * both the pointer and the count.
 * Returns the number of entries left.
 */
int	io_iov_advance(struct iovec **iov, int *cnt, size_t n);
/* Sets O_NONBLOCK (and FD_CLOEXEC); returns 0 or -1. */
int	io_nonblock(int fd);

#endif
