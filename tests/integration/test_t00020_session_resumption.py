"""t00020: TLS session resumption from tickets under keys the master makes and
shares through shm. A session saved on one connection resumes on the other
worker, after a HUP reload (new worker processes), and after a USR2 binary
upgrade (a new master that inherited the keys); over TLS 1.3 and TLS 1.2.
sluice-stat counts each handshake exactly once, as full or resumed.
session_tickets = false gives no ticket and no resumption. A ticket whose
key has been rotated out (two periods of ticket_rotate) gives a full
handshake; one from the period just before is still resumed."""

import os
import signal
import socket
import ssl
import time

import pytest

import harness
import tlsutil
from harness import children_of, pid_alive, stat_json, wait_until

TRIES = 60      # new connections at most to land one on each worker


def ctx_for(pki, version):
    ctx = tlsutil.client_context(pki)
    if version == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def connect(port, ctx, session=None, host="a.test"):
    """One request on a new TLS connection; returns (reused, session, response)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock = ctx.wrap_socket(raw, server_hostname=host, session=session)
    c = harness.HttpConn.__new__(harness.HttpConn)
    c.sock, c.buf, c.eof = sock, bytearray(), False
    try:
        c.send(c.build("GET", "/x", host=host))
        r = c.read_response("GET")
        # TLS 1.3 tickets come after the handshake: the response read took them.
        return sock.session_reused, sock.session, r
    finally:
        c.close()


def tls_counts(s):
    j = stat_json(s)
    return {w["pid"]: w["tls"] for w in j["workers"] if w["pid"]}, j["totals"]["tls"]


def worker_with(counts, kind):
    return {pid for pid, t in counts.items() if t[kind] > 0}


@pytest.mark.parametrize("version", ["1.3", "1.2"])
@pytest.mark.limit(30)
def test_resumed_on_another_worker_and_after_reload(env, tmp_path, version):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki, workers=2)
    s.wait_workers(2)
    ctx = ctx_for(pki, version)

    reused, sess, r = connect(s.port, ctx)
    assert r.status == 200 and not reused
    assert sess is not None and sess.has_ticket, "no session ticket was issued"
    counts, tot = tls_counts(s)
    assert (tot["full"], tot["resumed"], tot["failed"]) == (1, 0, 0), tot
    first = worker_with(counts, "full")
    assert len(first) == 1

    n = 0
    while n < TRIES:
        reused, _, r = connect(s.port, ctx, sess)
        n += 1
        assert r.status == 200
        assert reused, "connection %d was not resumed" % n
        counts, _ = tls_counts(s)
        if worker_with(counts, "resumed") - first:
            break
    assert worker_with(counts, "resumed") - first, \
        "%d resumptions never landed on the other worker: %r" % (n, counts)
    _, tot = tls_counts(s)
    assert (tot["full"], tot["resumed"], tot["failed"]) == (1, n, 0), tot

    # HUP: new worker processes (a new generation) resume the same session.
    old = set(s.workers())
    s.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: len(set(s.workers()) - old) == 2 and
                      not (set(s.workers()) & old), 10), s.log()[-2000:]
    reused, _, r = connect(s.port, ctx, sess)
    assert r.status == 200 and reused, "not resumed after the reload"


@pytest.mark.limit(40)
def test_resumed_after_binary_upgrade(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki, workers=1)
    ctx = ctx_for(pki, "1.3")
    reused, sess, r = connect(s.port, ctx)
    assert r.status == 200 and not reused and sess.has_ticket

    pid_file = env.dir / "sluice.pid"
    old_pid = s.pid
    new_pid = 0

    def read_pid():
        try:
            return int(pid_file.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    try:
        s.proc.send_signal(signal.SIGUSR2)
        new_pid = wait_until(lambda: read_pid() not in (0, old_pid) and read_pid(), 8) or 0
        assert new_pid, s.log()[-2000:]
        assert wait_until(lambda: len(children_of(new_pid)) >= 1, 8)
        os.kill(old_pid, signal.SIGQUIT)
        assert wait_until(lambda: not pid_alive(old_pid) or s.proc.poll() is not None, 10)
        # Only the new master's worker is left to answer.
        reused, _, r = connect(s.port, ctx, sess)
        assert r.status == 200
        assert reused, "not resumed on the upgraded binary"
    finally:
        if new_pid and pid_alive(new_pid):
            kids = children_of(new_pid)
            os.kill(new_pid, signal.SIGTERM)
            wait_until(lambda: not pid_alive(new_pid), 8)
            for p in kids:
                if pid_alive(p):
                    os.kill(p, signal.SIGKILL)


@pytest.mark.limit(20)
def test_tickets_off(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki, tls={"session_tickets": False}, workers=1)
    ctx = ctx_for(pki, "1.2")
    reused, sess, r = connect(s.port, ctx)
    assert r.status == 200 and not reused
    assert sess is None or not sess.has_ticket
    reused, _, r = connect(s.port, ctx, sess)
    assert r.status == 200 and not reused
    _, tot = tls_counts(s)
    assert (tot["full"], tot["resumed"]) == (2, 0), tot


@pytest.mark.limit(30)
def test_rotation_keeps_previous_key_only(env, tmp_path):
    """ticket_rotate = 2: a ticket resumes in its period and the next one
    (renewed there under the new key); after two rotations (the master logs
    each) it no longer does."""
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki, tls={"ticket_rotate": 2}, workers=1)
    ctx = ctx_for(pki, "1.2")
    _, sess, r = connect(s.port, ctx)
    assert r.status == 200
    # Within the first period, and in the next one: resumed.
    reused, _, _ = connect(s.port, ctx, sess)
    assert reused
    assert wait_until(lambda: "session ticket keys rotated (1)" in s.log(), 5), s.log()[-2000:]
    reused, sess2, _ = connect(s.port, ctx, sess)
    assert reused, "the previous key no longer decrypts"
    assert wait_until(lambda: "session ticket keys rotated (2)" in s.log(), 5), s.log()[-2000:]
    reused, _, _ = connect(s.port, ctx, sess)
    assert not reused, "a ticket two rotations old was accepted"
    # The renewed ticket from the second period still resumes.
    reused, _, _ = connect(s.port, ctx, sess2)
    assert reused


@pytest.mark.limit(20)
def test_failed_handshakes_counted_probes_not(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki, workers=1)
    # A port probe: connect and close, no byte. Not a failure.
    socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
    # TLS 1.0 is refused: one failure.
    rc, out = tlsutil.s_client(s.port, "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0",
                               servername="a.test")
    assert rc != 0, out
    assert wait_until(lambda: tls_counts(s)[1]["failed"] == 1, 3), tls_counts(s)
    # Plain HTTP sent to the TLS port: a second one.
    with socket.create_connection(("127.0.0.1", s.port), timeout=3) as c:
        c.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        c.settimeout(3)
        try:
            while c.recv(4096):
                pass
        except OSError:
            pass
    assert wait_until(lambda: tls_counts(s)[1]["failed"] == 2, 3), tls_counts(s)
    _, tot = tls_counts(s)
    assert (tot["full"], tot["resumed"], tot["failed"]) == (0, 0, 2), tot
    # Prometheus carries the same numbers.
    out = harness.subprocess.run([harness.stat_bin(), "-c", str(s.conf_path), "--prometheus"],
                                 stdout=harness.subprocess.PIPE, timeout=5).stdout.decode()
    assert 'sluice_worker_tls_failed_total{worker="0"} 2' in out, out
    assert 'sluice_worker_tls_handshakes_total{worker="0",kind="full"} 0' in out, out


@pytest.mark.limit(20)
def test_tls13_resumption_gets_a_fresh_ticket(env, tmp_path):
    """TLS 1.3 tickets are single use (RFC 8446 C.4): a resumed handshake gets a new
    ticket, and that one resumes the next connection (a client that never reuses
    a ticket keeps resuming)."""
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki, workers=1)
    s1, s2 = str(tmp_path / "s1.pem"), str(tmp_path / "s2.pem")
    req = b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    rc, out = tlsutil.s_client(s.port, "-tls1_3", "-sess_out", s1, "-ign_eof",
                               servername="a.test", ca=pki.ca, stdin=req)
    assert rc == 0 and "New, TLSv1.3" in out, out
    rc, out = tlsutil.s_client(s.port, "-tls1_3", "-sess_in", s1, "-sess_out", s2, "-ign_eof",
                               servername="a.test", ca=pki.ca, stdin=req)
    assert rc == 0 and "Reused, TLSv1.3" in out, out
    assert "Post-Handshake New Session Ticket arrived" in out, out
    rc, out = tlsutil.s_client(s.port, "-tls1_3", "-sess_in", s2, "-ign_eof",
                               servername="a.test", ca=pki.ca, stdin=req)
    assert rc == 0 and "Reused, TLSv1.3" in out, out
    _, tot = tls_counts(s)
    assert (tot["full"], tot["resumed"]) == (1, 2), tot
