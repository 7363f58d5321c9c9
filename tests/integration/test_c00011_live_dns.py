"""c00011: live DNS (resolve = true, resolver). A source given by name is
re-resolved by the resolver process through a test DNS server on loopback
(dnsserver.py): a changed answer reaches new requests without a reload and the
pooled connections to the old address are closed; a name that stops resolving
keeps its last address (logged once per change of state); the record's TTL is
honoured, capped by resolver.valid; a name that does not resolve at start does
not stop start-up (502 until it resolves, then 200); a reload keeps the
published address when the address text is unchanged and drops it when the
text changes."""

import re
import signal
import time

import pytest

from backend import Backend
from dnsserver import DnsServer
from harness import HttpConn, free_port, run_sluice, wait_until

NAME = "app.test"


@pytest.fixture
def net():
    """Two in-process backends on the same port of 127.0.0.1 and 127.0.0.2 (all
    of 127/8 is loopback on Linux) and a DNS server; stopped at teardown."""
    started = []

    class Net:
        def backends(self):
            port = free_port()
            one = Backend(port=port, host="127.0.0.1", name="one").start()
            started.append(one)
            two = Backend(port=port, host="127.0.0.2", name="two").start()
            started.append(two)
            return port, one, two

        def dns(self, **kw):
            d = DnsServer(name=NAME, **kw).start()
            started.append(d)
            return d

    yield Net()
    for x in started:
        x.stop()


def conns(b):
    with b.lock:
        return b.conns


def start(env, port, dns, valid, timeout=0.5, workers=1, extra_sources=()):
    return env.sluice([("app", "%s:%d" % (NAME, port), {"resolve": True})] + list(extra_sources),
                      workers=workers,
                      extra={"resolver": {"nameservers": ["127.0.0.1:%d" % dns.port],
                                          "valid": valid, "timeout": timeout}})


def who(s, conn=None):
    """X-Backend of a GET / (on conn if given, kept alive), or the status if not 200."""
    try:
        r = conn.request("GET", "/") if conn is not None else s.get("/", timeout=3)
    except OSError:
        return None
    return r.header("X-Backend") if r.status == 200 else r.status


@pytest.mark.limit(30)
def test_change_picked_up_and_pool_retired(env, net):
    port, one, two = net.backends()
    dns = net.dns(address="127.0.0.1", ttl=1)
    s = start(env, port, dns, valid=30)
    workers = s.wait_workers(1)
    assert wait_until(lambda: who(s) == "one", 5), s.log()
    # Keep-alive requests leave pooled connections to 127.0.0.1.
    clients = [HttpConn(s.port, timeout=3) for _ in range(3)]
    for c in clients:
        assert who(s, c) == "one"
    assert wait_until(lambda: conns(one) >= 1, 2)
    before = conns(one)

    dns.set(address="127.0.0.2", ttl=1)
    # Without a reload: new requests reach 127.0.0.2 within the TTL plus a margin.
    assert wait_until(lambda: who(s) == "two", 6), s.log()
    assert "source app: %s -> 127.0.0.2 (ttl 1 s)" % NAME in s.log(), s.log()
    for c in clients:
        assert who(s, c) == "two"
    # The connections pooled to the old address are closed (the pool's 1 s tick
    # and every reuse check retire them): 127.0.0.1 sees them all go.
    assert wait_until(lambda: conns(one) == 0, 4), (before, conns(one))
    assert who(s) == "two" and conns(two) >= 1
    assert s.workers() == workers, "a worker was replaced: no reload must happen"
    assert "reload" not in s.log()
    for c in clients:
        c.close()


@pytest.mark.limit(30)
def test_name_stops_resolving_keeps_address(env, net):
    port, one, two = net.backends()
    dns = net.dns(address="127.0.0.1", ttl=1)
    s = start(env, port, dns, valid=1, timeout=0.3)
    assert wait_until(lambda: who(s) == "one", 5), s.log()

    dns.set(mode="nxdomain")
    assert wait_until(lambda: "cannot resolve %s" % NAME in s.log(), 4), s.log()
    assert re.search(r"source app: cannot resolve app\.test: .*; keeping 127\.0\.0\.1", s.log())
    q = dns.queries("A")
    end = time.monotonic() + 3
    while time.monotonic() < end:           # keeps serving on the last address
        assert who(s) == "one"
        time.sleep(0.1)
    assert dns.queries("A") >= q + 2, "the resolver kept retrying about once a second"

    dns.set(mode="silent")                  # now the server does not answer at all
    q = dns.queries("A")
    assert wait_until(lambda: dns.queries("A") >= q + 3, 8)
    assert who(s) == "one"
    # One warning per change of state or error, not one per retry.
    warned = s.log().count("cannot resolve %s" % NAME)
    assert 1 <= warned <= 2, s.log()

    dns.set(mode="answer", address="127.0.0.2")
    assert wait_until(lambda: who(s) == "two", 6), s.log()
    assert "source app: %s resolves again" % NAME in s.log()


@pytest.mark.limit(30)
def test_ttl_capped_by_valid(env, net):
    port, _one, _two = net.backends()
    # A day-long TTL, valid = 1: valid caps it, about one lookup a second.
    dns = net.dns(address="127.0.0.1", ttl=86400)
    s = start(env, port, dns, valid=1)
    assert wait_until(lambda: dns.queries("A") >= 1, 5), s.log()
    q = dns.queries("A")
    time.sleep(3.5)
    n = dns.queries("A") - q
    assert 2 <= n <= 5, n
    assert "(ttl 86400 s)" in s.log()
    s.stop()

    # A 2 s TTL under valid = 30: the TTL decides, a lookup every 2 s.
    dns2 = net.dns(address="127.0.0.1", ttl=2)
    s2 = start(env, port, dns2, valid=30)
    assert wait_until(lambda: dns2.queries("A") >= 1, 5), s2.log()
    q = dns2.queries("A")
    time.sleep(4.5)
    n = dns2.queries("A") - q
    assert 1 <= n <= 3, n
    s2.stop()

    # A long TTL and a long valid: nothing more in that time.
    dns3 = net.dns(address="127.0.0.1", ttl=3600)
    s3 = start(env, port, dns3, valid=30)
    assert wait_until(lambda: dns3.queries("A") >= 1, 5), s3.log()
    q = dns3.queries("A")
    time.sleep(2.5)
    assert dns3.queries("A") == q


@pytest.mark.limit(30)
def test_unresolvable_at_start(env, net):
    port, one, _two = net.backends()
    dns = net.dns(address="127.0.0.1", ttl=1, mode="nxdomain")
    s = start(env, port, dns, valid=1)
    # Started (the listener answers) although the name does not resolve.
    assert "does not resolve now" in s.log(), s.log()
    assert who(s) == 502
    assert re.search(r"source app: cannot resolve app\.test: .*; it has no address yet",
                     s.log()), s.log()
    dns.set(mode="answer")
    assert wait_until(lambda: who(s) == "one", 5), s.log()
    # -t says so too, and passes.
    rc, out = run_sluice(["-t", "-c", str(s.conf_path)])
    assert rc == 0, out
    assert re.search(r"sources\[0\]\.address: \"app\.test:%d\" does not resolve now" % port,
                     out), out


def test_config_errors(env, tmp_path):
    p = tmp_path / "bad.conf"
    p.write_text(
        'listeners = ( { address = "127.0.0.1:18998"; } );\n'
        'sources = ( { name = "a"; address = "unix:/tmp/x.sock"; resolve = true; } );\n'
        'routes = ( { sources = [ "a" ]; } );\n'
        'resolver = { nameservers = [ "127.0.0.1:53", "not-an-ip",\n'
        '                             "10.0.0.1:99999" ]; };\n')
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc == 1, out
    assert "bad.conf:2: sources[0].resolve: expected false for a unix: address" in out, out
    assert re.search(r"bad\.conf:4: resolver\.nameservers\[1\]: expected a nameserver "
                     r"address .*, got \"not-an-ip\"", out), out
    assert re.search(r"bad\.conf:5: resolver\.nameservers\[2\]: expected", out), out


@pytest.mark.limit(30)
def test_reload_keeps_or_resets_the_address(env, net):
    port, one, _two = net.backends()
    dns = net.dns(address="127.0.0.1", ttl=1)
    s = start(env, port, dns, valid=1)
    assert wait_until(lambda: who(s) == "one", 5), s.log()
    # The name stops resolving, then a reload with the same address text: the
    # new workers start from the address the resolver had published (the
    # system resolver at load knows nothing of app.test).
    dns.set(mode="nxdomain")
    assert wait_until(lambda: "cannot resolve %s" % NAME in s.log(), 4), s.log()
    s.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "generation 2 started" in s.log(), 5), s.log()
    assert wait_until(lambda: "generation 1 finished draining" in s.log(), 5), s.log()
    for _ in range(5):
        assert who(s) == "one", s.log()
    # A changed address text starts over: the old name's address is not kept.
    text = s.conf_path.read_text().replace('"%s:%d"' % (NAME, port), '"other.test:%d"' % port)
    s.conf_path.write_text(text)
    s.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "generation 3 started" in s.log(), 5), s.log()
    assert wait_until(lambda: "generation 2 finished draining" in s.log(), 5), s.log()
    assert who(s) == 502, s.log()
