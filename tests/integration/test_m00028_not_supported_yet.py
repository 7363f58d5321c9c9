"""m00028: keys of the schema whose feature is not built yet (issue 14: slow
start) are refused by -t
and at start with "not supported yet" and the line, never ignored; a valid
config without them is unaffected."""

import re

from harness import run_sluice


def test_refused_with_their_lines(env, tmp_path):
    p = tmp_path / "u.conf"
    p.write_text(
        'listeners = ( { address = "127.0.0.1:18999"; } );\n'
        'sources = ( { name = "a"; address = "127.0.0.1:9";\n'
        '              max_conns = 10; slow_start = 5; } );\n'
        'routes = ( { sources = [ "a" ]; queue_timeout = 3; } );\n')
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc == 1, out
    for line, key in [(3, "sources[0].slow_start")]:
        assert re.search(r"u\.conf:%d: %s: not supported yet \(" % (line, re.escape(key)),
                         out), (key, out)
    # A bad value is still reported as such, not as "not supported".
    p.write_text(p.read_text().replace("max_conns = 10", "max_conns = -1"))
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert "sources[0].max_conns: expected an integer 0..1000000, got -1" in out, out
