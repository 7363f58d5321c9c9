"""h00040: a trusted peer (trusted_proxies) that sends X-Forwarded-For as several field
lines: the forwarded X-Forwarded-For joins all of them, in order, then the peer
(RFC 9110 §5.3: several lines of a list field are one list). From an untrusted peer
all the lines are replaced by the peer alone."""

import pytest

from harness import HttpConn


def routes(trusted):
    r = {"host": "*", "path": "/", "sources": ["b1"]}
    if trusted:
        r["trusted_proxies"] = ["127.0.0.1"]
    return [r]


def forwarded_xff(s, lines):
    """Sends GET /echo with the given header lines; returns the backend's
    X-Forwarded-For lines as it received them, and its other headers."""
    with HttpConn(s.port, timeout=4) as c:
        r = c.request("GET", "/echo", headers=lines)
    assert r.status == 200, r
    hs = r.json()["headers"]
    return [v for k, v in hs if k.lower() == "x-forwarded-for"], hs


CASES = {
    "two_lines": [("X-Forwarded-For", "1.1.1.1"), ("X-Forwarded-For", "2.2.2.2")],
    "three_lines_interleaved": [
        ("X-Forwarded-For", "1.1.1.1"),
        ("X-Other", "a"),
        ("X-Forwarded-For", "2.2.2.2, 3.3.3.3"),
        ("Accept", "*/*"),
        ("x-forwarded-for", "10.0.0.1"),
    ],
}
WANT = {
    "two_lines": "1.1.1.1, 2.2.2.2, 127.0.0.1",
    "three_lines_interleaved": "1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.1, 127.0.0.1",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_trusted_several_xff_lines_joined_in_order(env, case):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=routes(True))

    xff, hs = forwarded_xff(s, CASES[case])
    assert ", ".join(xff) == WANT[case], hs
    # The other fields pass untouched.
    for k, v in CASES[case]:
        if k.lower() != "x-forwarded-for":
            assert [k, v] in hs, hs


@pytest.mark.parametrize("case", sorted(CASES))
def test_untrusted_several_xff_lines_replaced(env, case):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=routes(False))

    xff, hs = forwarded_xff(s, CASES[case])
    assert xff == ["127.0.0.1"], hs
