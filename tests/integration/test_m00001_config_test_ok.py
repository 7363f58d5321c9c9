"""m00001: `sluice -t` on a good config prints "configuration OK" and exits 0."""

from harness import can_connect, free_port, make_config, run_sluice


def test_config_ok(tmp_path):
    port = free_port()
    conf = tmp_path / "good.conf"
    conf.write_text(make_config(tmp_path, port, [("a", "127.0.0.1:9"), ("b", "127.0.0.1:10")],
                                [{"host": "*", "path": "/", "sources": ["a", "b"],
                                  "reuse_max": 16}]))
    rc, out = run_sluice(["-t", "-c", str(conf)])
    assert rc == 0, out
    assert "configuration OK" in out
    # -t only checks: nothing listens afterwards.
    assert not can_connect(port)
