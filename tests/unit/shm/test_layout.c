/*
 * shm layout and segment life cycle: the golden sizes and offsets of the ABI
 * (change one, bump SHM_VER_MAJOR and these numbers together), creation and
 * read-only attachment, refusal of other versions and of live segments,
 * replacement of stale ones, sources keyed by name, reaping a dead worker.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "shm/shm.h"

static char	name[SHM_NAME_LEN];
static char	err[256];

static void	setup(void);
static void	teardown(void);
static int32_t	dead_pid(void);
static void	create_ok(struct shm_seg *seg, uint32_t mw, uint32_t ms, uint32_t mr);

/* A name unique to this test process; removed whatever the test left. */
static void
setup(void)
{
	snprintf(name, sizeof(name), "/sluice-test-%d", (int)getpid());
	shm_unlink(name);
}

static void
teardown(void)
{
	shm_unlink(name);
}

/* A pid that was ours and has been reaped: no such process now. */
static int32_t
dead_pid(void)
{
	pid_t pid = fork();

	cr_assert_neq(pid, -1);
	if (pid == 0)
		_exit(0);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	return (int32_t)pid;
}

static void
create_ok(struct shm_seg *seg, uint32_t mw, uint32_t ms, uint32_t mr)
{
	int r = shm_create(name, mw, ms, mr, seg, err, sizeof(err));

	cr_assert_eq(r, 0, "shm_create: %s", err);
}

TestSuite(layout, .init = setup, .fini = teardown);

Test(layout, golden_sizes)
{
	cr_expect_eq(sizeof(struct shm_hdr), 256);
	cr_expect_eq(sizeof(struct shm_worker), 448);
	cr_expect_eq(sizeof(struct shm_wsrc), 1216);
	cr_expect_eq(sizeof(struct shm_source), 384);
	cr_expect_eq(sizeof(struct shm_route), 768);
	cr_expect_eq(alignof(struct shm_hdr), 64);
	cr_expect_eq(alignof(struct shm_worker), 64);
	cr_expect_eq(alignof(struct shm_wsrc), 64);
	cr_expect_eq(alignof(struct shm_source), 64);
	cr_expect_eq(alignof(struct shm_route), 64);
	cr_expect_eq(SHM_MAGIC, UINT64_C(0x3130454349554c53));
	cr_expect_eq(SHM_VER_MAJOR, 4);
	cr_expect_eq(SHM_VER_MINOR, 0);
	cr_expect_eq(SHM_HIST_BUCKETS, 114);
	cr_expect_eq(SHM_NAME_LEN, 64);
	cr_expect_eq(SHM_ROUTE_SOURCES, 64);
	cr_expect_eq(shm_size(4, 8, 2), 256 + 4 * 448 + 4 * 8 * 1216 + 8 * 384 + 2 * 768 + 4 * 2 * 64);
}

Test(layout, golden_hdr_offsets)
{
	cr_expect_eq(offsetof(struct shm_hdr, magic), 0);
	cr_expect_eq(offsetof(struct shm_hdr, ver_major), 8);
	cr_expect_eq(offsetof(struct shm_hdr, ver_minor), 10);
	cr_expect_eq(offsetof(struct shm_hdr, hdr_size), 12);
	cr_expect_eq(offsetof(struct shm_hdr, total_size), 16);
	cr_expect_eq(offsetof(struct shm_hdr, gen), 24);
	cr_expect_eq(offsetof(struct shm_hdr, master_pid), 32);
	cr_expect_eq(offsetof(struct shm_hdr, conf_gen), 36);
	cr_expect_eq(offsetof(struct shm_hdr, start_time), 40);
	cr_expect_eq(offsetof(struct shm_hdr, start_ms), 48);
	cr_expect_eq(offsetof(struct shm_hdr, nworkers), 56);
	cr_expect_eq(offsetof(struct shm_hdr, max_workers), 60);
	cr_expect_eq(offsetof(struct shm_hdr, nsources), 64);
	cr_expect_eq(offsetof(struct shm_hdr, max_sources), 68);
	cr_expect_eq(offsetof(struct shm_hdr, nroutes), 72);
	cr_expect_eq(offsetof(struct shm_hdr, max_routes), 76);
	cr_expect_eq(offsetof(struct shm_hdr, off_workers), 80);
	cr_expect_eq(offsetof(struct shm_hdr, off_wsrc), 88);
	cr_expect_eq(offsetof(struct shm_hdr, off_sources), 96);
	cr_expect_eq(offsetof(struct shm_hdr, off_routes), 104);
	cr_expect_eq(offsetof(struct shm_hdr, sz_worker), 112);
	cr_expect_eq(offsetof(struct shm_hdr, sz_wsrc), 116);
	cr_expect_eq(offsetof(struct shm_hdr, sz_source), 120);
	cr_expect_eq(offsetof(struct shm_hdr, sz_route), 124);
	cr_expect_eq(offsetof(struct shm_hdr, hist_buckets), 128);
	cr_expect_eq(offsetof(struct shm_hdr, hist_sub), 132);
	cr_expect_eq(offsetof(struct shm_hdr, flags), 136);
	cr_expect_eq(offsetof(struct shm_hdr, reserved0), 140);
	cr_expect_eq(offsetof(struct shm_hdr, master_start), 144);
	cr_expect_eq(offsetof(struct shm_hdr, off_wroute), 152);
	cr_expect_eq(offsetof(struct shm_hdr, sz_wroute), 160);
	cr_expect_eq(offsetof(struct shm_hdr, reserved), 168);
}

Test(layout, golden_worker_offsets)
{
	cr_expect_eq(offsetof(struct shm_worker, pid), 0);
	cr_expect_eq(offsetof(struct shm_worker, state), 4);
	cr_expect_eq(offsetof(struct shm_worker, heartbeat_ms), 8);
	cr_expect_eq(offsetof(struct shm_worker, started_ms), 16);
	cr_expect_eq(offsetof(struct shm_worker, conns_open), 24);
	cr_expect_eq(offsetof(struct shm_worker, conns_total), 32);
	cr_expect_eq(offsetof(struct shm_worker, requests), 40);
	cr_expect_eq(offsetof(struct shm_worker, bytes_in), 48);
	cr_expect_eq(offsetof(struct shm_worker, bytes_out), 56);
	cr_expect_eq(offsetof(struct shm_worker, resp), 64);
	cr_expect_eq(offsetof(struct shm_worker, errors), 104);
	cr_expect_eq(offsetof(struct shm_worker, conf_gen), 112);
	cr_expect_eq(offsetof(struct shm_worker, spawns), 120);
	cr_expect_eq(offsetof(struct shm_worker, accept_emfile), 128);
	cr_expect_eq(offsetof(struct shm_worker, accept_pauses), 136);
	cr_expect_eq(offsetof(struct shm_worker, regex_aborts), 144);
	cr_expect_eq(offsetof(struct shm_worker, local_errors), 152);
	cr_expect_eq(offsetof(struct shm_worker, loops), 160);
	cr_expect_eq(offsetof(struct shm_worker, ends), 168);
	cr_expect_eq(offsetof(struct shm_worker, base_conns_total), 328);
	cr_expect_eq(offsetof(struct shm_worker, base_requests), 336);
	cr_expect_eq(offsetof(struct shm_worker, base_bytes_in), 344);
	cr_expect_eq(offsetof(struct shm_worker, base_bytes_out), 352);
	cr_expect_eq(offsetof(struct shm_worker, base_resp), 360);
	cr_expect_eq(offsetof(struct shm_worker, base_errors), 400);
	cr_expect_eq(offsetof(struct shm_worker, tls_full), 408);
	cr_expect_eq(offsetof(struct shm_worker, tls_resumed), 416);
	cr_expect_eq(offsetof(struct shm_worker, tls_failed), 424);
	cr_expect_eq(offsetof(struct shm_worker, rl_evictions), 432);
	cr_expect_eq(offsetof(struct shm_worker, reserved), 440);
	cr_expect_eq(sizeof(struct shm_worker), 448);
}

Test(layout, golden_wsrc_offsets)
{
	cr_expect_eq(offsetof(struct shm_wsrc, requests), 0);
	cr_expect_eq(offsetof(struct shm_wsrc, resp), 8);
	cr_expect_eq(offsetof(struct shm_wsrc, failures), 48);
	cr_expect_eq(offsetof(struct shm_wsrc, bytes_in), 56);
	cr_expect_eq(offsetof(struct shm_wsrc, bytes_out), 64);
	cr_expect_eq(offsetof(struct shm_wsrc, active), 72);
	cr_expect_eq(offsetof(struct shm_wsrc, retries), 80);
	cr_expect_eq(offsetof(struct shm_wsrc, lat_sum_us), 88);
	cr_expect_eq(offsetof(struct shm_wsrc, conns), 96);
	cr_expect_eq(offsetof(struct shm_wsrc, queued), 104);
	cr_expect_eq(offsetof(struct shm_wsrc, q_head_ms), 112);
	cr_expect_eq(offsetof(struct shm_wsrc, reserved), 120);
	cr_expect_eq(offsetof(struct shm_wsrc, hist), 128);
	cr_expect_eq(offsetof(struct shm_wsrc, ends), 1040);
	cr_expect_eq(offsetof(struct shm_wsrc, reserved1), 1200);
}

Test(layout, golden_source_offsets)
{
	cr_expect_eq(offsetof(struct shm_source, name), 0);
	cr_expect_eq(offsetof(struct shm_source, addr), 64);
	cr_expect_eq(offsetof(struct shm_source, flags), 192);
	cr_expect_eq(offsetof(struct shm_source, weight), 196);
	cr_expect_eq(offsetof(struct shm_source, max_fails), 200);
	cr_expect_eq(offsetof(struct shm_source, fail_timeout_ms), 204);
	cr_expect_eq(offsetof(struct shm_source, down_until_s), 208);
	cr_expect_eq(offsetof(struct shm_source, preason), 212);
	cr_expect_eq(offsetof(struct shm_source, pfails), 216);
	cr_expect_eq(offsetof(struct shm_source, pwindow_s), 220);
	cr_expect_eq(offsetof(struct shm_source, hseq), 224);
	cr_expect_eq(offsetof(struct shm_source, hstate), 232);
	cr_expect_eq(offsetof(struct shm_source, hreason), 236);
	cr_expect_eq(offsetof(struct shm_source, hsince_ms), 240);
	cr_expect_eq(offsetof(struct shm_source, hdown_until_ms), 248);
	cr_expect_eq(offsetof(struct shm_source, hfails), 256);
	cr_expect_eq(offsetof(struct shm_source, hoks), 260);
	cr_expect_eq(offsetof(struct shm_source, hstatus), 264);
	cr_expect_eq(offsetof(struct shm_source, max_conns), 268);
	cr_expect_eq(offsetof(struct shm_source, hchecks), 272);
	cr_expect_eq(offsetof(struct shm_source, up_since_ms), 280);
	cr_expect_eq(offsetof(struct shm_source, aseq), 288);
	cr_expect_eq(offsetof(struct shm_source, a), 296);
	cr_expect_eq(offsetof(struct shm_source, afam), 312);
	cr_expect_eq(offsetof(struct shm_source, agen), 316);
	cr_expect_eq(offsetof(struct shm_source, active), 320);
	cr_expect_eq(offsetof(struct shm_source, conns), 328);
	cr_expect_eq(offsetof(struct shm_source, queued), 336);
	cr_expect_eq(offsetof(struct shm_source, conns_total), 344);
	cr_expect_eq(offsetof(struct shm_source, reserved2), 352);
}

Test(layout, golden_route_offsets)
{
	cr_expect_eq(offsetof(struct shm_route, host), 0);
	cr_expect_eq(offsetof(struct shm_route, path), 128);
	cr_expect_eq(offsetof(struct shm_route, flags), 384);
	cr_expect_eq(offsetof(struct shm_route, balancer), 388);
	cr_expect_eq(offsetof(struct shm_route, nsources), 392);
	cr_expect_eq(offsetof(struct shm_route, reserved0), 396);
	cr_expect_eq(offsetof(struct shm_route, src), 400);
	cr_expect_eq(offsetof(struct shm_route, rr_ticket), 704);
	cr_expect_eq(offsetof(struct shm_route, reserved1), 712);
	cr_expect_eq(sizeof(struct shm_route), 768);
}

Test(layout, golden_wroute_offsets)
{
	cr_expect_eq(offsetof(struct shm_wroute, queued), 0);
	cr_expect_eq(offsetof(struct shm_wroute, q_total), 8);
	cr_expect_eq(offsetof(struct shm_wroute, q_timeouts), 16);
	cr_expect_eq(offsetof(struct shm_wroute, q_wait_us), 24);
	cr_expect_eq(offsetof(struct shm_wroute, q_wait_max_us), 32);
	cr_expect_eq(sizeof(struct shm_wroute), 64);
}

Test(layout, hist_buckets)
{
	cr_expect_eq(shm_hist_bucket(0), 0);
	cr_expect_eq(shm_hist_bucket(1), 1);
	cr_expect_eq(shm_hist_bucket(2), 5);
	cr_expect_eq(shm_hist_bucket(3), 7);
	cr_expect_eq(shm_hist_bucket(4), 9);
	cr_expect_eq(shm_hist_bucket(5), 10);
	cr_expect_eq(shm_hist_bucket(7), 12);
	cr_expect_eq(shm_hist_bucket(8), 13);
	cr_expect_eq(shm_hist_bucket(1000), 1 + 9 * 4 + 3);	/* 1000 in [896, 1024) */
	cr_expect_eq(shm_hist_bucket((UINT64_C(1) << 28) - 1), SHM_HIST_BUCKETS - 2);
	cr_expect_eq(shm_hist_bucket(UINT64_C(1) << 28), SHM_HIST_BUCKETS - 1);
	cr_expect_eq(shm_hist_bucket(UINT64_MAX), SHM_HIST_BUCKETS - 1);
}

Test(layout, create_attach_round_trip)
{
	struct shm_seg rw, ro;
	struct stat st;
	int fd;

	create_ok(&rw, 4, 8, 2);
	cr_expect_eq(rw.max_workers, 4);
	cr_expect_eq(rw.hdr->ver_major, SHM_VER_MAJOR);
	cr_expect_eq(rw.hdr->total_size, shm_size(4, 8, 2));
	cr_expect_eq(atomic_load(&rw.hdr->master_pid), getpid());
	cr_expect_neq(rw.hdr->master_start, 0);
	cr_expect_eq(rw.hdr->master_start, shm_proc_start(getpid()));
	cr_expect_eq(atomic_load(&rw.hdr->magic), SHM_MAGIC);
	cr_expect_eq(rw.hdr->off_workers, 256);
	cr_expect_eq(rw.hdr->off_wsrc, 256 + 4 * 448);
	cr_expect_eq((uintptr_t)shm_worker(&rw, 1) % 64, 0);
	cr_expect_eq((uintptr_t)shm_wsrc(&rw, 3, 7) % 64, 0);
	cr_expect_eq((uintptr_t)shm_route(&rw, 1) % 64, 0);
	cr_expect_eq((uintptr_t)&shm_source(&rw, 5)->active % 64, 0);

	fd = shm_open(name, O_RDONLY, 0);
	cr_assert_neq(fd, -1);
	cr_assert_eq(fstat(fd, &st), 0);
	close(fd);
	cr_expect_eq((uint64_t)st.st_size, shm_size(4, 8, 2));

	shm_add(&shm_worker(&rw, 2)->requests, 41);
	shm_add(&shm_worker(&rw, 2)->requests, 1);
	shm_add(&shm_wsrc(&rw, 3, 7)->hist[5], 9);

	cr_assert_eq(shm_attach_ro(name, &ro, err, sizeof(err)), 0, "attach: %s", err);
	cr_expect(ro.ro);
	cr_expect_neq(ro.base, rw.base, "the reader maps at its own address");
	cr_expect_eq(ro.max_sources, 8);
	cr_expect_eq(ro.max_routes, 2);
	cr_expect_eq(shm_load(&shm_worker(&ro, 2)->requests), 42);
	cr_expect_eq(shm_load(&shm_wsrc(&ro, 3, 7)->hist[5]), 9);
	cr_expect_eq(shm_replaced(&ro), 0);

	cr_expect_eq(shm_remove(&rw), 0);
	cr_expect(atomic_load(&ro.hdr->flags) & SHM_HDR_F_RETIRED);
	cr_expect_eq(shm_replaced(&ro), 1);
	cr_expect_eq(shm_open(name, O_RDONLY, 0), -1, "name unlinked");
	shm_detach(&ro);
	shm_detach(&rw);
	cr_expect_null(rw.base);
}

Test(layout, attach_missing)
{
	struct shm_seg ro;

	cr_expect_eq(shm_attach_ro(name, &ro, err, sizeof(err)), -1);
	cr_expect_eq(errno, ENOENT);
	cr_expect(strstr(err, "no sluice running with shm /sluice-test-") != NULL, "%s", err);
}

Test(layout, attach_refuses_other_version)
{
	struct shm_seg rw, ro;
	char want[128];

	create_ok(&rw, 2, 2, 1);
	rw.hdr->ver_major = 7;
	rw.hdr->ver_minor = 3;
	cr_expect_eq(shm_attach_ro(name, &ro, err, sizeof(err)), -1);
	cr_expect_eq(errno, EPROTO);
	snprintf(want, sizeof(want), "shm %s has layout version 7.3; this program reads 4.x", name);
	cr_expect_str_eq(err, want);

	/* a newer minor version is fine */
	rw.hdr->ver_major = SHM_VER_MAJOR;
	rw.hdr->ver_minor = 9;
	cr_expect_eq(shm_attach_ro(name, &ro, err, sizeof(err)), 0, "%s", err);
	shm_detach(&ro);
	shm_detach(&rw);
}

Test(layout, attach_refuses_bad_sizes)
{
	struct shm_seg rw, ro;
	int fd;

	create_ok(&rw, 2, 2, 1);
	rw.hdr->sz_source += 64;
	cr_expect_eq(shm_attach_ro(name, &ro, err, sizeof(err)), -1);
	cr_expect(strstr(err, "sizes differ") != NULL, "%s", err);
	rw.hdr->sz_source -= 64;

	fd = shm_open(name, O_RDWR, 0);
	cr_assert_neq(fd, -1);
	cr_assert_eq(ftruncate(fd, (off_t)rw.size + 4096), 0);
	close(fd);
	cr_expect_eq(shm_attach_ro(name, &ro, err, sizeof(err)), -1);
	cr_expect(strstr(err, "bytes, object has") != NULL, "%s", err);
	shm_detach(&rw);
}

Test(layout, attach_refuses_unfinished)
{
	struct shm_seg rw, ro;

	create_ok(&rw, 2, 2, 1);
	atomic_store(&rw.hdr->magic, 0);	/* as if the master died before the end */
	cr_expect_eq(shm_attach_ro(name, &ro, err, sizeof(err)), -1);
	cr_expect(strstr(err, "not a sluice segment") != NULL, "%s", err);
	shm_detach(&rw);
}

Test(layout, stale_segment_replaced)
{
	struct shm_seg old, seg;

	create_ok(&old, 2, 2, 1);
	shm_add(&shm_worker(&old, 0)->requests, 5);
	atomic_store(&old.hdr->master_pid, dead_pid());

	create_ok(&seg, 3, 2, 1);
	cr_expect_eq(atomic_load(&seg.hdr->master_pid), getpid());
	cr_expect_eq(seg.max_workers, 3);
	cr_expect_eq(shm_load(&shm_worker(&seg, 0)->requests), 0, "a fresh segment");
	cr_expect_neq(seg.ino, old.ino);
	/* the old master's shm_remove leaves the new segment alone */
	cr_expect_eq(shm_remove(&old), 0);
	cr_expect_eq(shm_replaced(&seg), 0);
	shm_detach(&old);
	shm_detach(&seg);
}

Test(layout, own_segment_replaced)
{
	struct shm_seg old, seg;

	create_ok(&old, 2, 2, 1);	/* master_pid is us: not "another live master" */
	create_ok(&seg, 2, 2, 1);
	shm_detach(&old);
	shm_detach(&seg);
}

Test(layout, live_segment_refused)
{
	struct shm_seg old, seg;
	char want[128];
	pid_t live = getppid();

	create_ok(&old, 2, 2, 1);
	old.hdr->master_start = shm_proc_start((int32_t)live);
	cr_assert_neq(old.hdr->master_start, 0);
	atomic_store(&old.hdr->master_pid, (int32_t)live);
	cr_expect_eq(shm_create(name, 2, 2, 1, &seg, err, sizeof(err)), -1);
	cr_expect_eq(errno, EBUSY);
	snprintf(want, sizeof(want), "segment %s is in use by pid %d", name, (int)live);
	cr_expect_str_eq(err, want);
	cr_expect_eq(shm_replaced(&old), 0, "left in place");
	shm_detach(&old);
}

/* The recorded pid now names another process (it started later): stale. */
Test(layout, recycled_pid_segment_replaced)
{
	struct shm_seg old, seg;
	pid_t live = getppid();

	create_ok(&old, 2, 2, 1);
	atomic_store(&old.hdr->master_pid, (int32_t)live);
	old.hdr->master_start = shm_proc_start((int32_t)live) + 1;
	cr_expect_eq(shm_master_alive((int32_t)live, old.hdr->master_start), 0);
	create_ok(&seg, 2, 2, 1);
	cr_expect_neq(seg.ino, old.ino, "a fresh segment");
	shm_detach(&old);
	shm_detach(&seg);
}

/* Layout 1.0 recorded no start time: only a process named sluice counts. */
Test(layout, no_start_time_needs_sluice_name)
{
	struct shm_seg old, seg;
	pid_t live = getppid();

	create_ok(&old, 2, 2, 1);
	atomic_store(&old.hdr->master_pid, (int32_t)live);
	old.hdr->master_start = 0;
	old.hdr->ver_minor = 0;
	cr_expect_eq(shm_master_alive((int32_t)live, 0), 0, "the test runner is not sluice");
	create_ok(&seg, 2, 2, 1);
	shm_detach(&old);
	shm_detach(&seg);
}

Test(layout, proc_start)
{
	int32_t dead = dead_pid();

	cr_expect_neq(shm_proc_start(getpid()), 0);
	cr_expect_geq(shm_proc_start(getpid()), shm_proc_start(getppid()));
	cr_expect_eq(shm_proc_start(dead), 0);
	cr_expect_eq(errno, ENOENT);
	cr_expect_eq(shm_proc_start(0), 0);
	cr_expect_eq(shm_master_alive(dead, 1), 0);
	cr_expect_eq(shm_master_alive(getpid(), shm_proc_start(getpid())), 1);
}

Test(layout, foreign_object_refused)
{
	struct shm_seg seg;
	uint64_t junk = UINT64_C(0x1122334455667788);
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);

	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, &junk, sizeof(junk)), (ssize_t)sizeof(junk));
	cr_assert_eq(ftruncate(fd, 4096), 0);
	close(fd);
	cr_expect_eq(shm_create(name, 2, 2, 1, &seg, err, sizeof(err)), -1);
	cr_expect(strstr(err, "is not a sluice segment") != NULL, "%s", err);
}

Test(layout, create_rejects_bad_arguments)
{
	struct shm_seg seg;

	cr_expect_eq(shm_create("sluice", 1, 1, 1, &seg, err, sizeof(err)), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect_eq(shm_create("/a/b", 1, 1, 1, &seg, err, sizeof(err)), -1);
	cr_expect_eq(shm_create(name, 0, 1, 1, &seg, err, sizeof(err)), -1);
	cr_expect_eq(shm_create(name, 1, SHM_LIMIT_SOURCES + 1, 1, &seg, err, sizeof(err)), -1);
	cr_expect_eq(shm_open(name, O_RDONLY, 0), -1, "nothing created");
}

Test(layout, source_bind_keyed_by_name)
{
	struct shm_seg seg;
	char longname[SHM_NAME_LEN + 1];

	create_ok(&seg, 2, 3, 1);
	shm_gen_begin(&seg);
	cr_expect_eq(atomic_load(&seg.hdr->gen) & 1, 1, "odd while editing");
	cr_expect_eq(shm_source_bind(&seg, "app1", "127.0.0.1:9001", 1, 1, 10000, 0), 0);
	cr_expect_eq(shm_source_bind(&seg, "app2", "127.0.0.1:9002", 2, 3, 10000, 0), 1);
	shm_gen_end(&seg);
	cr_expect_eq(atomic_load(&seg.hdr->gen), 2);
	shm_add(&shm_wsrc(&seg, 1, 1)->requests, 17);

	/* reload: app1 dropped, app2 re-bound with a new address, app3 added */
	shm_gen_begin(&seg);
	shm_source_retire_all(&seg);
	cr_expect_eq(shm_source_bind(&seg, "app2", "[::1]:9002", 5, 3, 5000, 1), 1);
	cr_expect_eq(shm_source_bind(&seg, "app3", "unix:/tmp/x", 1, 1, 10000, 0), 2);
	shm_gen_end(&seg);

	cr_expect_eq(shm_source_find(&seg, "app2"), 1);
	cr_expect_eq(shm_source_find(&seg, "app1"), 0, "stays bound for a later reload");
	cr_expect_eq(shm_source_find(&seg, "nope"), -1);
	cr_expect_str_eq(shm_source(&seg, 1)->addr, "[::1]:9002");
	cr_expect_eq(atomic_load(&shm_source(&seg, 1)->weight), 5);
	cr_expect_eq(atomic_load(&shm_source(&seg, 1)->flags),
	    SHM_SRC_F_USED | SHM_SRC_F_LIVE | SHM_SRC_F_BACKUP);
	cr_expect_eq(atomic_load(&shm_source(&seg, 0)->flags), SHM_SRC_F_USED);
	cr_expect_eq(shm_load(&shm_wsrc(&seg, 1, 1)->requests), 17, "counters survive");
	cr_expect_eq(atomic_load(&seg.hdr->nsources), 3);

	cr_expect_eq(shm_source_bind(&seg, "app4", "x:1", 1, 1, 1, 0), -1);
	cr_expect_eq(errno, ENOSPC);
	memset(longname, 'a', SHM_NAME_LEN);
	longname[SHM_NAME_LEN] = '\0';
	cr_expect_eq(shm_source_bind(&seg, longname, "x:1", 1, 1, 1, 0), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect_eq(shm_source_bind(&seg, "", "x:1", 1, 1, 1, 0), -1);
	shm_detach(&seg);
}

Test(layout, route_set)
{
	struct shm_seg seg;
	const uint32_t src[2] = { 1, 0 }, bad[1] = { 2 };
	struct shm_route *rt;
	uint64_t t;

	create_ok(&seg, 1, 2, 2);
	cr_expect_eq(shm_route_set(&seg, 1, "*", "/api", 0, SHM_LB_ROUND_ROBIN, src, 2), 0);
	rt = shm_route(&seg, 1);
	cr_expect_eq(atomic_load(&seg.hdr->nroutes), 2);
	cr_expect_str_eq(rt->path, "/api");
	cr_expect_eq(atomic_load(&rt->src[0]), 1);
	cr_expect_eq(atomic_load(&rt->src[1]), 0);
	cr_expect_eq(atomic_load(&rt->nsources), 2);
	t = shm_route_ticket(rt);
	cr_expect_eq(t, 0);
	cr_expect_eq(shm_route_ticket(rt), 1);

	cr_expect_eq(shm_route_set(&seg, 2, "*", "/", 0, 0, src, 2), -1, "no route slot 2");
	cr_expect_eq(shm_route_set(&seg, 0, "*", "/", 0, 0, bad, 1), -1, "no source slot 2");
	/* A route sluice answers itself (handler metrics/status) has no source. */
	cr_expect_eq(shm_route_set(&seg, 0, "*", "/", 0, 0, src, 0), 0, "no source");
	cr_expect_eq(shm_route_set(&seg, 0, "*", "/", 0, 0, src, SHM_ROUTE_SOURCES + 1), -1);
	cr_expect_eq(shm_route_set(&seg, 0, "*", "/", 0, SHM_LB__COUNT, src, 2), -1);
	shm_route_clear_all(&seg);
	cr_expect_eq(atomic_load(&seg.hdr->nroutes), 0);
	cr_expect_eq(atomic_load(&rt->rr_ticket), 2, "the ticket is kept");
	shm_detach(&seg);
}

Test(layout, reap_subtracts_active_share)
{
	struct shm_seg seg;
	int i;

	create_ok(&seg, 2, 2, 1);
	shm_worker_claim(&seg, 0, 1111, 1);
	shm_worker_claim(&seg, 1, 2222, 1);
	for (i = 0; i < 3; i++)
		shm_active_inc(&seg, 0, 1);
	shm_active_inc(&seg, 0, 0);
	shm_active_inc(&seg, 1, 1);
	shm_active_inc(&seg, 1, 1);
	shm_active_dec(&seg, 1, 1);
	shm_add(&shm_wsrc(&seg, 0, 1)->requests, 4);
	shm_add(&shm_worker(&seg, 0)->requests, 4);
	shm_gauge_add(&shm_worker(&seg, 0)->conns_open, 2);
	cr_expect_eq(atomic_load(&shm_source(&seg, 1)->active), 4);
	cr_expect_eq(atomic_load(&shm_source(&seg, 0)->active), 1);

	shm_worker_reap(&seg, 0);	/* worker 0 was killed with its requests in flight */
	cr_expect_eq(atomic_load(&shm_source(&seg, 1)->active), 1, "worker 1's share remains");
	cr_expect_eq(atomic_load(&shm_source(&seg, 0)->active), 0);
	cr_expect_eq(atomic_load(&shm_wsrc(&seg, 0, 1)->active), 0);
	cr_expect_eq(atomic_load(&shm_wsrc(&seg, 1, 1)->active), 1);
	cr_expect_eq(atomic_load(&shm_worker(&seg, 0)->pid), 0);
	cr_expect_eq(atomic_load(&shm_worker(&seg, 0)->state), SHM_W_FREE);
	cr_expect_eq(atomic_load(&shm_worker(&seg, 0)->conns_open), 0);
	cr_expect_eq(shm_load(&shm_worker(&seg, 0)->requests), 4, "counters are kept");
	cr_expect_eq(shm_load(&shm_wsrc(&seg, 0, 1)->requests), 4);

	shm_worker_claim(&seg, 0, 3333, 1);	/* the respawned worker takes the slot */
	cr_expect_eq(atomic_load(&shm_worker(&seg, 0)->pid), 3333);
	cr_expect_eq(shm_load(&shm_worker(&seg, 0)->spawns), 2);
	cr_expect_eq(shm_load(&shm_worker(&seg, 0)->requests), 4);
	shm_worker_reap(&seg, 1);
	cr_expect_eq(atomic_load(&shm_source(&seg, 1)->active), 0, "back to 0");
	shm_detach(&seg);
}

Test(layout, health_seqlock)
{
	struct shm_seg seg;
	struct shm_health_rec in = { SHM_H_DOWN, SHM_R_TIMEOUT, 1234, 0, 3, 0, 0, 9 }, out;
	struct shm_source *s;

	create_ok(&seg, 1, 1, 1);
	s = shm_source(&seg, 0);
	shm_health_write(s, &in);
	cr_expect_eq(atomic_load(&s->hseq), 2);
	cr_assert_eq(shm_health_read(s, &out), 0);
	cr_expect_eq(out.state, SHM_H_DOWN);
	cr_expect_eq(out.reason, SHM_R_TIMEOUT);
	cr_expect_eq(out.since_ms, 1234);
	cr_expect_eq(out.fails, 3);
	cr_expect_eq(out.checks, 9);

	/* a checker killed mid-write: readers give up, the next writer recovers */
	atomic_store(&s->hseq, 3);
	cr_expect_eq(shm_health_read(s, &out), -1);
	in.state = SHM_H_UP;
	shm_health_write(s, &in);
	cr_expect_eq(atomic_load(&s->hseq), 6);
	cr_expect_eq(shm_health_read(s, &out), 0);
	cr_expect_eq(out.state, SHM_H_UP);
	shm_detach(&seg);
}

Test(layout, passive_marks)
{
	struct shm_seg seg;
	struct shm_source *s;

	create_ok(&seg, 1, 1, 1);
	s = shm_source(&seg, 0);
	cr_expect_eq(shm_source_note_failure(s, 100, 3, 10, SHM_R_CONNECT), 0);
	cr_expect_eq(shm_source_note_failure(s, 101, 3, 10, SHM_R_CONNECT), 0);
	cr_expect_eq(shm_source_note_failure(s, 102, 3, 10, SHM_R_RESET), 1, "third within 10 s");
	cr_expect_eq(atomic_load(&s->down_until_s), 112);
	cr_expect_eq(atomic_load(&s->preason), SHM_R_RESET);
	cr_expect_eq(shm_source_note_failure(s, 103, 3, 10, SHM_R_CONNECT), 0, "already down");
	cr_expect_eq(shm_source_mark_down(s, 104, 110, SHM_R_RETRY_AFTER), 0, "never shortened");
	cr_expect_eq(atomic_load(&s->down_until_s), 113);

	cr_expect_eq(shm_source_claim_probe(s, 112, 10), 0, "not expired");
	cr_expect_eq(shm_source_claim_probe(s, 113, 10), 1);
	cr_expect_eq(shm_source_claim_probe(s, 113, 10), 0, "one probe at a time");
	cr_expect_eq(shm_source_mark_up(s), 1);
	cr_expect_eq(shm_source_mark_up(s), 0);
	cr_expect_eq(atomic_load(&s->down_until_s), 0);

	/* failures further apart than fail_timeout never add up */
	cr_expect_eq(shm_source_note_failure(s, 200, 2, 10, SHM_R_CONNECT), 0);
	cr_expect_eq(shm_source_note_failure(s, 215, 2, 10, SHM_R_CONNECT), 0);
	cr_expect_eq(shm_source_note_failure(s, 216, 2, 10, SHM_R_CONNECT), 1);
	cr_expect_eq(shm_source_note_failure(s, 300, 0, 10, SHM_R_CONNECT), 0, "max_fails 0");
	shm_detach(&seg);
}

/* Every end cause has its own name; the names are what sluice-stat prints. */
Test(layout, end_cause_names)
{
	uint32_t i, j;

	cr_expect_str_eq(shm_end_name(SHM_END_OK), "ok");
	cr_expect_str_eq(shm_end_name(SHM_END_SRV_RESET), "source_reset");
	cr_expect_str_eq(shm_end_name(SHM_END__COUNT), "unknown");
	for (i = 0; i < SHM_END__COUNT; i++) {
		cr_assert_not_null(shm_end_name(i));
		for (j = 0; j < i; j++)
			cr_expect_str_neq(shm_end_name(i), shm_end_name(j));
	}
}

/* Live DNS: the resolver's address record round-trips and bumps agen. */
Test(shm_addr, write_read_round_trip)
{
	static struct shm_source src;
	struct shm_addr_rec r;
	unsigned char v4[4] = { 127, 0, 0, 2 }, v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	cr_assert_eq(shm_addr_read(&src, &r), 0);
	cr_assert_eq(r.fam, 0, "a fresh slot has no address");
	cr_assert_eq(r.gen, 0);
	cr_assert_eq(shm_addr_write(&src, AF_INET, v4), 1);
	cr_assert_eq(shm_addr_read(&src, &r), 0);
	cr_assert_eq(r.fam, AF_INET);
	cr_assert_eq(r.gen, 1);
	cr_assert_arr_eq(r.bytes, v4, 4);
	cr_assert_eq(atomic_load(&src.aseq) & 1, 0, "the seqlock is even after a write");
	cr_assert_eq(shm_addr_write(&src, AF_INET6, v6), 2);
	cr_assert_eq(shm_addr_read(&src, &r), 0);
	cr_assert_eq(r.fam, AF_INET6);
	cr_assert_arr_eq(r.bytes, v6, 16);
	/* Withdrawn: fam 0, bytes cleared, still a new generation. */
	cr_assert_eq(shm_addr_write(&src, 0, NULL), 3);
	cr_assert_eq(shm_addr_read(&src, &r), 0);
	cr_assert_eq(r.fam, 0);
	cr_assert_eq(r.gen, 3);
}

Test(shm_addr, socket_address_of_a_record)
{
	struct shm_addr_rec r = { .fam = AF_INET, .bytes = { 127, 0, 0, 2 } };
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&ss;
	socklen_t len = 0;

	cr_assert_eq(shm_addr_sockaddr(&r, htons(8080), &ss, &len), 0);
	cr_assert_eq(len, sizeof(*sin));
	cr_assert_eq(sin->sin_family, AF_INET);
	cr_assert_eq(sin->sin_port, htons(8080));
	cr_assert_eq(sin->sin_addr.s_addr, htonl(0x7f000002));
	r = (struct shm_addr_rec){ .fam = AF_INET6, .bytes = { 0x20, 0x01, [15] = 1 } };
	cr_assert_eq(shm_addr_sockaddr(&r, htons(443), &ss, &len), 0);
	cr_assert_eq(len, sizeof(*sin6));
	cr_assert_eq(sin6->sin6_family, AF_INET6);
	cr_assert_eq(sin6->sin6_port, htons(443));
	cr_assert_arr_eq(sin6->sin6_addr.s6_addr, r.bytes, 16);
	/* No address (yet, or withdrawn): nothing to connect to, ss untouched. */
	r.fam = 0;
	len = 7;
	cr_assert_eq(shm_addr_sockaddr(&r, htons(80), &ss, &len), -1);
	cr_assert_eq(len, 7);
}

Test(shm_addr, reader_gives_up_on_a_writer_stuck_mid_write)
{
	static struct shm_source src;
	struct shm_addr_rec r;
	unsigned char v4[4] = { 10, 1, 2, 3 };

	atomic_store(&src.aseq, 7);		/* a writer died with the sequence odd */
	cr_assert_eq(shm_addr_read(&src, &r), -1);
	/* The next writer steps over it. */
	shm_addr_write(&src, AF_INET, v4);
	cr_assert_eq(atomic_load(&src.aseq), 10);
	cr_assert_eq(shm_addr_read(&src, &r), 0);
	cr_assert_arr_eq(r.bytes, v4, 4);
}
