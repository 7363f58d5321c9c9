"""b00011: requests are spread round-robin over both sources."""

from harness import get_new_conn


def test_round_robin_two_sources(env):
    a = env.backend("a")
    b = env.backend("b")
    s = env.sluice([a, b])

    seen = {"a": 0, "b": 0}
    for i in range(20):
        r = get_new_conn(s.port, "/rr?i=%d" % i)
        assert r.status == 200, r
        seen[r.header("X-Backend")] += 1
    assert seen["a"] > 0 and seen["b"] > 0, seen
    # Equal weights and sequential requests: round robin gives 10/10 (allow 2 off).
    assert abs(seen["a"] - seen["b"]) <= 2, seen
    assert a.stats()["requests"] == seen["a"]
    assert b.stats()["requests"] == seen["b"]
