/*
 * Buffers and the I/O helpers: linear buffer bookkeeping, compaction,
 * iovec advance over partial writes, and reads/writes on a socketpair.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/io.h"
#include "common/iobuf.h"

Test(iobuf, consume_and_compact)
{
	char area[16];
	struct iobuf b = { .area = area, .size = sizeof(area) };

	memcpy(area, "hello world", 11);
	b.data = 11;
	cr_assert_eq(iobuf_room(&b), 5);
	iobuf_consume(&b, 6);
	cr_assert_eq(b.head, 6);
	cr_assert_eq(b.data, 5);
	cr_assert_arr_eq(iobuf_ptr(&b), "world", 5);
	cr_assert_eq(iobuf_room(&b), 5, "room is only after the data until compaction");
	iobuf_compact(&b);
	cr_assert_eq(b.head, 0);
	cr_assert_eq(iobuf_room(&b), 11);
	cr_assert_arr_eq(area, "world", 5);
	iobuf_consume(&b, 5);
	cr_assert_eq(b.head, 0, "an emptied buffer starts over at 0");
	cr_assert_eq(b.data, 0);
}

Test(io, iov_advance_over_partial_writes)
{
	char a[] = "abc", bb[] = "defgh", c[] = "ij";
	struct iovec v[3] = { { a, 3 }, { bb, 5 }, { c, 2 } }, *cur = v;
	int cnt = 3;

	cr_assert_eq(io_iov_advance(&cur, &cnt, 2), 3);
	cr_assert_eq(cur->iov_len, 1);
	cr_assert_eq(*(char *)cur->iov_base, 'c');
	cr_assert_eq(io_iov_advance(&cur, &cnt, 1), 2, "a slice written exactly is dropped");
	cr_assert_eq(cur->iov_base, (void *)bb);
	cr_assert_eq(io_iov_advance(&cur, &cnt, 6), 1);
	cr_assert_eq(*(char *)cur->iov_base, 'j');
	cr_assert_eq(io_iov_advance(&cur, &cnt, 1), 0);
}

Test(io, read_write_eagain_and_eof)
{
	char area[8], big[65536];
	struct iobuf b = { .area = area, .size = sizeof(area) };
	struct iovec v[2] = { { "GET ", 4 }, { "/x", 2 } };
	ssize_t n, total = 0;
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(io_nonblock(sv[0]), 0);
	cr_assert_eq(io_nonblock(sv[1]), 0);
	cr_assert_eq(io_read(sv[0], &b), IO_AGAIN, "nothing sent yet");
	cr_assert_eq(io_writev(sv[1], v, 2), 6);
	cr_assert_eq(io_read(sv[0], &b), 6);
	cr_assert_arr_eq(area, "GET /x", 6);
	/* A full socket buffer answers IO_AGAIN, never blocks. */
	memset(big, 'x', sizeof(big));
	while ((n = io_write(sv[1], big, sizeof(big))) > 0 && total < 64 * 1024 * 1024)
		total += n;
	cr_assert_eq(n, IO_AGAIN);
	close(sv[1]);
	b.data = 0;
	while ((n = io_read(sv[0], &b)) > 0)
		b.data = 0;
	cr_assert_eq(n, 0, "EOF once the peer closed and the data is read");
	close(sv[0]);
}
