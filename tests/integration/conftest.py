"""
pytest fixtures for sluice's integration tests.

`env` gives a test its own tmp dir, backends (backend.py subprocesses) and sluice
instances; all of them are stopped by PID at teardown. When a test fails, the
sluice log (its stderr) and the backends' logs are attached to the report.
Each test's call phase is limited to TEST_LIMIT seconds (SIGALRM).
"""

import os
import signal

import pytest

import harness

TEST_LIMIT = float(os.environ.get("SLUICE_TEST_LIMIT", "10"))
LOG_TAIL = 200      # lines of each log shown on failure


class TestTimeout(Exception):
    pass


class Env:
    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.backends = []
        self.sluices = []

    def backend(self, name, **kw):
        """Starts backend.py --name name [--idle-close ...] [--drop-after ...]."""
        b = harness.BackendProc(self.dir, name, **kw)
        self.backends.append(b)
        return b

    def dead_port(self):
        """A loopback port with nothing listening."""
        return harness.free_port()

    def config(self, port, sources, routes, **kw):
        return harness.make_config(self.dir, port, sources, routes, **kw)

    def sluice(self, sources=None, routes=None, conf_text=None, port=None, start=True,
               name="sluice", extra_env=None, **kw):
        """Writes a config (from sources/routes or conf_text) and starts sluice on it,
        waiting until the listener accepts. sources: list of BackendProc or
        (name, address); routes default to one "*" route over all sources."""
        port = port or harness.free_port()
        if conf_text is None:
            srcs = [(s.name, s.address) if isinstance(s, harness.BackendProc) else s
                    for s in sources]
            if routes is None:
                routes = [{"host": "*", "path": "/", "sources": [s[0] for s in srcs]}]
            conf_text = self.config(port, srcs, routes, **kw)
        s = harness.Sluice(self.dir, conf_text, port, name=name, extra_env=extra_env)
        self.sluices.append(s)
        if start:
            s.start()
        return s

    def cleanup(self):
        for s in self.sluices:
            s.stop()
        for b in self.backends:
            b.stop()

    def logs(self):
        out = []
        for s in self.sluices:
            out.append(("sluice log %s" % s.log_path, s.log()))
        for b in self.backends:
            out.append(("backend log %s" % b.log_path, b.log()))
        return out


# What a sanitizer build prints when it finds a bug in any sluice process.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path)
    yield e
    e.cleanup()
    for s in e.sluices:
        text = s.log()
        found = [m for m in SANITIZER_MARKS if m in text]
        assert not found, "sanitizer report in %s:\n%s" % (s.log_path, text[-4000:])


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "limit(seconds): raise this test's time limit above TEST_LIMIT "
        "(for the few long scenarios, e.g. load during reloads)")


def time_limit(item):
    """TEST_LIMIT, or the larger limit of a @pytest.mark.limit(seconds) marker."""
    m = item.get_closest_marker("limit")
    if m is not None and m.args:
        return max(TEST_LIMIT, float(m.args[0]))
    return TEST_LIMIT


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    limit = time_limit(item)

    def on_alarm(signum, frame):
        raise TestTimeout("test ran longer than %.0f s" % limit)

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    e = getattr(item, "funcargs", {}).get("env")
    if e is None:
        return
    for title, text in e.logs():
        lines = text.splitlines()
        if not lines:
            continue
        if len(lines) > LOG_TAIL:
            lines = ["... (%d lines skipped)" % (len(lines) - LOG_TAIL)] + lines[-LOG_TAIL:]
        rep.sections.append((title, "\n".join(lines)))
