"""e00004: one of two sources down: every request still succeeds on the other."""

from harness import get_new_conn


def test_one_source_down(env):
    a = env.backend("a")
    s = env.sluice([a, ("b", "127.0.0.1:%d" % env.dead_port())])

    for i in range(50):
        r = get_new_conn(s.port, "/d/%d" % i)
        assert r.status == 200, (i, r)
        assert r.header("X-Backend") == "a"
    assert a.stats()["requests"] == 50
