/*
 * Non-blocking read/write/writev helpers that fold EINTR and EAGAIN.
 */
#include "common/io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

ssize_t
io_read(int fd, struct iobuf *b)
{
	ssize_t n;

	do
		n = read(fd, b->area + b->head + b->data, iobuf_room(b));
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? IO_AGAIN : IO_ERR;
	b->data += (uint32_t)n;
	return n;
}

ssize_t
io_write(int fd, const void *p, size_t len)
{
	ssize_t n;

	do
		n = write(fd, p, len);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? IO_AGAIN : IO_ERR;
	return n;
}

ssize_t
io_writev(int fd, const struct iovec *iov, int cnt)
{
	ssize_t n;

	if (cnt > IOV_MAX)
		cnt = IOV_MAX;
	do
		n = writev(fd, iov, cnt);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? IO_AGAIN : IO_ERR;
	return n;
}

int
io_iov_advance(struct iovec **iov, int *cnt, size_t n)
{
	while (*cnt > 0 && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
	if (*cnt > 0 && n > 0) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
	return *cnt;
}

int
io_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}
