"""s00022: `sluice-stat -c FILE` finds the segment named in a file the
configuration pulls in with an absolute @include, as sluice itself does (libconfig
1.5 put include_dir in front of absolute paths too)."""

import json
import subprocess

import harness


def test_stat_follows_absolute_include(env, tmp_path):
    a = env.backend("a")
    port = harness.free_port()
    inc = tmp_path / "inc" / "shm.cfg"
    inc.parent.mkdir()
    inc.write_text('shm = "/sluice-test-incl-%d";\n' % port)
    text = harness.make_config(env.dir, port, [("a", a.address)],
                               [{"host": "*", "path": "/", "sources": ["a"]}], workers=1)
    text = text.replace('shm = "/sluice-test-%d";\n' % port, '@include "%s"\n' % inc)
    assert "@include" in text
    conf = env.dir / "main.conf"
    conf.write_text(text)          # (the harness would add a shm line of its own)
    proc = subprocess.Popen([harness.sluice_bin(), "-f", "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert harness.wait_until(lambda: harness.can_connect(port), 5)
        assert harness.get_new_conn(port, "/x").status == 200
        p = subprocess.run([harness.stat_bin(), "-c", str(conf), "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=5)
        assert p.returncode == 0, p.stderr.decode()
        doc = json.loads(p.stdout)
        assert doc["master_pid"] == proc.pid, doc.get("master_pid")
        assert doc["totals"]["requests"] == 1
    finally:
        harness.stop_pid(proc)
