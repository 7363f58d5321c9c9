"""s00011: a backup source (round_robin over a, b and backup c, 4 workers,
retries = 2) gets no request while a primary is up, also when one primary is
gone, and all of them once both primaries are gone; no request fails. The
primaries, of equal weight, share the traffic evenly (the backup's turn in
the schedule must not go to one of them)."""

from harness import free_port


def run(s, tag, n=30):
    seen = {}
    for i in range(n):
        r = s.get("/%s/%d" % (tag, i))
        assert r.status == 200, (tag, i, r)
        seen[r.header("X-Backend")] = seen.get(r.header("X-Backend"), 0) + 1
    return seen


def test_backup_only_when_primaries_down(env):
    a = env.backend("a")
    b = env.backend("b")
    c = env.backend("c")
    port = free_port()
    conf = env.config(port, [], [{"host": "*", "path": "/", "sources": ["a", "b", "c"],
                                  "balancer": "round_robin", "retries": 2}], workers=4,
                      extra={"sources": [{"name": "a", "address": a.address},
                                         {"name": "b", "address": b.address},
                                         {"name": "c", "address": c.address,
                                          "backup": True}]})
    s = env.sluice(conf_text=conf, port=port)
    assert len(s.wait_workers(4)) == 4

    first = run(s, "all-up")
    assert set(first) == {"a", "b"}, first
    assert c.stats()["requests"] == 0

    a.stop()
    seen = run(s, "a-down")
    assert seen == {"b": 30}, seen
    assert c.stats()["requests"] == 0

    b.stop()
    seen = run(s, "both-down")
    assert seen == {"c": 30}, seen
    assert c.stats()["requests"] == 30

    assert abs(first["a"] - first["b"]) <= 2, \
        "equal-weight primaries next to a backup got %r over 30 requests" % first
