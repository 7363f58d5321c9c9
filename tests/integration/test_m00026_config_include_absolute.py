"""m00026: @include with an absolute path is used as is; a relative one is
relative to the directory of the main config file, wherever sluice is run
from. Errors in an included file name that file and its line."""

import subprocess

from harness import curl, free_port, run_sluice, sluice_bin


def layout(tmp_path, port, backend="127.0.0.1:9"):
    """site/main.conf includes /abs/.../shared/sources.inc and "routes.inc" (in site/)."""
    site, shared = tmp_path / "site", tmp_path / "shared"
    site.mkdir(exist_ok=True)
    shared.mkdir(exist_ok=True)
    (shared / "sources.inc").write_text(
        'sources = ( { name = "a"; address = "%s"; } );\n' % backend)
    (site / "routes.inc").write_text(
        'routes = ( { host = "*"; path = "/"; sources = [ "a" ]; } );\n')
    main = site / "main.conf"
    main.write_text('workers = 1;\n'
                    'pid_file = "%s/sluice.pid";\n'
                    'shm = "/sluice-test-%d";\n'
                    'listeners = ( { address = "127.0.0.1:%d"; } );\n'
                    '@include "%s"\n'
                    '@include "routes.inc"\n' % (tmp_path, port, port, shared / "sources.inc"))
    return main


def run_in(cwd, args):
    p = subprocess.run([sluice_bin()] + args, cwd=str(cwd), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=5)
    return p.returncode, p.stdout.decode(errors="replace")


def test_absolute_and_relative_include_check_ok(tmp_path):
    main = layout(tmp_path, 1)
    rc, out = run_sluice(["-t", "-c", str(main)])
    assert rc == 0 and "configuration OK" in out, out
    # From another directory with a relative -c: routes.inc is still found beside main.conf.
    rc, out = run_in(tmp_path, ["-t", "-c", "site/main.conf"])
    assert rc == 0 and "configuration OK" in out, out
    rc, out = run_in("/", ["-t", "-c", str(main)])
    assert rc == 0 and "configuration OK" in out, out


def test_error_in_absolute_include_names_it(tmp_path):
    main = layout(tmp_path, 1)
    inc = tmp_path / "shared" / "sources.inc"
    inc.write_text('\nsources = ( { name = "a"; address = "127.0.0.1:9"; weight = 999; } );\n')
    rc, out = run_sluice(["-t", "-c", str(main)])
    assert rc == 1, out
    assert "%s:2: sources[0].weight: expected an integer 1..256, got 999" % inc in out, out


def test_missing_absolute_include_fails(tmp_path):
    main = layout(tmp_path, 1)
    (tmp_path / "shared" / "sources.inc").unlink()
    rc, out = run_sluice(["-t", "-c", str(main)])
    assert rc == 1, out
    assert "%s:5: cannot open include file" % main in out, out


def test_included_config_serves(env, tmp_path):
    b = env.backend("a")
    port = free_port()
    main = layout(tmp_path, port, b.address)
    s = env.sluice(conf_text=main.read_text(), port=port, start=False)
    # Run the file where it is, so "routes.inc" resolves beside it.
    s.conf_path = main
    s.start()
    r = curl(s.url("/hello"))
    assert r.status == 200, r
    assert r.header("X-Backend") == "a", r
