"""s00007: kill -9 of a worker in the middle of requests (16 clients on /slow,
least_conn, 4 workers): once the traffic stops, every source's "active" is back
to 0 within 2 s, in sluice-stat --json and in the segment itself (read raw, so a
negative count that the reader clamps to 0 shows too); the worker is
respawned and least_conn still spreads sequential requests over both sources.

Only the client connections the killed worker held may fail: the victim is stopped
(SIGSTOP) while the test reads which client connections it holds (its socket
descriptors in /proc, matched in /proc/net/tcp), then killed. Every other
connection, including those of the surviving workers and those the kernel queued
meanwhile, must get each answer, and every answer is a 200."""

import json
import os
import signal
import struct
import subprocess
import threading
import time
from pathlib import Path

from harness import HttpConn, free_port, sluice_bin, wait_until

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))
THREADS = 16


def held_client_ports(pid, listen_port):
    """Client-side ports of the TCP connections to listen_port whose server end is
    a descriptor of process pid (the connections that worker accepted)."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for ln in f:
            p = ln.split()
            local, remote, state, inode = p[1], p[2], p[3], p[9]
            if state != "0A" and int(local.split(":")[1], 16) == listen_port and \
                    inode in inodes:    # 0A: the listening socket itself
                ports.add(int(remote.split(":")[1], 16))
    return ports


def stat_json(s):
    assert os.access(STAT, os.X_OK), "no sluice-stat binary at %s" % STAT
    p = subprocess.run([STAT, "-c", str(s.conf_path), "--json"], capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def raw_active(shm_name):
    """{source name: the signed global active count} from /dev/shm, after the
    header fields of layout 1.x (see test_s00001_stat_reader.py)."""
    with open("/dev/shm" + shm_name, "rb") as f:
        buf = f.read()
    (max_sources,) = struct.unpack_from("<I", buf, 68)
    (off_sources,) = struct.unpack_from("<Q", buf, 96)
    (sz_source,) = struct.unpack_from("<I", buf, 120)
    out = {}
    for i in range(max_sources):
        o = off_sources + i * sz_source
        name = buf[o:o + 64].split(b"\0", 1)[0].decode()
        if name:
            out[name] = struct.unpack_from("<q", buf, o + 320)[0]
    return out


def raw_worker_shares(shm_name):
    """{worker pid: its share of the active counts (sum over sources)} from the
    per-worker source slots (shm_wsrc.active at +72)."""
    with open("/dev/shm" + shm_name, "rb") as f:
        buf = f.read()
    max_workers, _, max_sources = struct.unpack_from("<III", buf, 60)
    off_workers, off_wsrc = struct.unpack_from("<QQ", buf, 80)
    sz_worker, sz_wsrc = struct.unpack_from("<II", buf, 112)
    out = {}
    for w in range(max_workers):
        (pid,) = struct.unpack_from("<i", buf, off_workers + w * sz_worker)
        if pid > 0:
            out[pid] = sum(struct.unpack_from("<q", buf, off_wsrc + (w * max_sources + k)
                                              * sz_wsrc + 72)[0] for k in range(max_sources))
    return out


def test_kill9_worker_active_back_to_zero(env):
    a = env.backend("a")
    b = env.backend("b")
    port = free_port()
    conf = env.config(port, [("a", a.address), ("b", b.address)],
                      [{"host": "*", "path": "/", "sources": ["a", "b"],
                        "balancer": "least_conn"}], workers=4)
    s = env.sluice(conf_text=conf, port=port)
    assert len(s.wait_workers(4)) == 4
    shm_name = "/sluice-test-%d" % port
    assert raw_active(shm_name) == {"a": 0, "b": 0}

    stop = threading.Event()
    done = []                           # every status received
    failures = []                       # (client port, connect started at, error)
    lock = threading.Lock()

    def client(t):
        while not stop.is_set():
            port, t_conn = None, time.monotonic()
            try:
                with HttpConn(s.port, timeout=3) as c:
                    port = c.sock.getsockname()[1]
                    for i in range(5):
                        if stop.is_set():
                            break
                        done.append(c.request("GET", "/slow?delay=0.2&t=%d" % t).status)
            except Exception as e:      # noqa: BLE001 (checked below: victim's only)
                with lock:
                    failures.append((port, t_conn, repr(e)))

    ts = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
    for t in ts:
        t.start()
    try:
        # The victim: the worker with the largest share of requests in flight.
        shares = wait_until(lambda: (lambda sh: sh if max(sh.values()) >= 2 else None)(
            raw_worker_shares(shm_name)), 2.0)
        assert shares, "no worker with requests in flight: %r" % raw_worker_shares(shm_name)
        victim = max(shares, key=shares.get)
        # Stopped, it accepts nothing more: what it holds now is all it will ever hold.
        os.kill(victim, signal.SIGSTOP)
        try:
            victim_ports = held_client_ports(victim, s.port)
        finally:
            os.kill(victim, signal.SIGKILL)
        t_kill = time.monotonic()
        time.sleep(0.8)                 # keep the load on while the master reaps
    finally:
        stop.set()
        for t in ts:
            t.join(5)
    assert not any(t.is_alive() for t in ts)
    assert victim_ports, "the victim held no client connection"
    # Only connections begun before the kill and held by the victim may fail.
    wrong = [f for f in failures
             if f[0] is None or f[0] not in victim_ports or f[1] > t_kill]
    assert not wrong, "connections not on the killed worker failed: %r (victim held %r)" % (
        wrong, sorted(victim_ports))
    assert all(x == 200 for x in done), [x for x in done if x != 200]
    # The victim had requests in flight: their connections were cut.
    assert any(f[0] in victim_ports for f in failures), (failures, sorted(victim_ports))
    print("victim held %d client connections; %d connections failed, %d answers" % (
        len(victim_ports), len(failures), len(done)))
    assert done.count(200) > 20, "too little traffic: %d ok" % done.count(200)

    t0 = time.monotonic()
    zero = wait_until(lambda: all(x["active"] == 0 for x in stat_json(s)["sources"]) and
                      raw_active(shm_name) == {"a": 0, "b": 0}, 2.0, interval=0.05)
    d = stat_json(s)
    assert zero, "active %.1f s after traffic stopped: json %r, raw %r" % (
        time.monotonic() - t0, {x["name"]: x["active"] for x in d["sources"]},
        raw_active(shm_name))
    assert d["totals"]["active"] == 0, d["totals"]

    kids = s.wait_workers(4)
    assert len(kids) == 4 and victim not in kids, kids
    seen = {}
    for i in range(20):
        r = s.get("/after/%d" % i)
        assert r.status == 200, r
        seen[r.header("X-Backend")] = seen.get(r.header("X-Backend"), 0) + 1
    assert seen.get("a", 0) >= 5 and seen.get("b", 0) >= 5, \
        "least_conn after the crash, sequential requests: %r" % seen
