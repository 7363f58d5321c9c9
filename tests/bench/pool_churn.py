#!/usr/bin/env python3
"""Backend connection churn of the keep-alive pools, and what max_conns costs
per request (`make bench-pool`, issue 14).

1. Churn: each contestant alone, one worker / process / thread, in front of
   two origins (two origin processes, one port each: two sources / upstream
   servers, round-robin), the proxy on CPU 0 and the origins, wrk and this
   driver on CPU 1 (run.py's layout). Per round, each contestant is started
   afresh and gets, for 50 and then 400 keep-alive clients, a wrk warm-up run
   then a measured wrk run of `GET /100`. The origins count the connections
   they accept (their /__stats); backend connections opened per 1,000
   requests = accepts during the measured run * 1000 / requests wrk
   completed in it. Contestants:

     sluice            its default pool: no `reuse_max` key ("auto", the
                       adaptive pool, worker/upool.c)
     sluice-16         `reuse_max = 16`, the former default
     sluice-defaults   no `reuse_max` and no `reuse_requests` either (1000:
                       each backend connection retired after 1,000 requests)
     nginx-16          `keepalive 16` (the number nginx's documentation uses)
     nginx-512         `keepalive 512`
     haproxy           no `http-reuse` line (default: safe), the default idle
                       pool (`pool-max-conn` unbounded)
     haproxy-always    `http-reuse always`, as in `make bench`

   Everything else is the bench's configuration (tests/bench/*.in): sluice
   and nginx with `reuse_requests` / `keepalive_requests` 1,000,000 and 120 s
   backend idle timeouts, so only the pool differs from `make bench`.

2. Queue cost: sluice's bench configuration (tests/bench/sluice.conf.in)
   without and with `max_conns = 100000` on both sources (set, never
   reached), instructions per request under callgrind exactly as run.py
   measures them (run.callgrind_ir: W warm-up requests then N keep-alive
   requests on one connection, minus a run with the same warm-up and an
   idle pause as long, divided by N). Then the same pair with
   `reuse_requests = 1`, so that every request opens (and closes) a backend
   connection and takes (and gives back) a max_conns slot: where the slot
   accounting is paid.

Writes its own section of RESULTS.md (between BEGIN and END below), leaving
the rest of the file as it is; `make bench` (run.py) keeps the section.
A measurement: nothing is asserted about the figures, the section says
whether the issue's targets were met.

Everything here runs on 127.0.0.1 only, with bounded counts and durations.
"""

import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  (the bench's own helpers: same processes, same counting)

BEGIN = "<!-- bench-pool: written by `make bench-pool` (pool_churn.py); the other sections are left alone -->"
END = "<!-- /bench-pool -->"

LOADS = (50, 400)
TARGET_PER_1000 = 2.0      # issue 14: sluice's default, after warm-up
TARGET_QUEUE_PCT = 3.0     # issue 14: max_conns set but not reached


def log(msg):
    print("bench-pool: " + msg, flush=True)


# ---------------------------------------------------------------- configurations

def drop_key(text, key, sep="="):
    """text without the line that sets key (exactly one)."""
    new, n = re.subn(r"^[ \t]*%s[ \t]*%s[^\n]*\n" % (re.escape(key), sep), "", text, flags=re.M)
    if n != 1:
        sys.exit("bench-pool: %d lines set %s in the template" % (n, key))
    return new


def set_value(text, pattern, repl):
    new, n = re.subn(pattern, repl, text, flags=re.M)
    if n < 1:
        sys.exit("bench-pool: no %r in the template" % pattern)
    return new


# name, proxy (run.py's contestant), label, edit of the filled-in template
VARIANTS = (
    ("sluice", "sluice", "sluice, default pool (no `reuse_max`: `\"auto\"`)",
     lambda t: drop_key(t, "reuse_max")),
    ("sluice-16", "sluice", "sluice, `reuse_max = 16` (the former default)",
     lambda t: set_value(t, r"^([ \t]*reuse_max[ \t]*=)[^;]*;[^\n]*", r"\1 16;")),
    ("sluice-defaults", "sluice", "sluice, no `reuse_max` and no `reuse_requests` (1000) either",
     lambda t: drop_key(drop_key(t, "reuse_max"), "reuse_requests")),
    ("nginx-16", "nginx", "nginx, `keepalive 16`",
     lambda t: set_value(t, r"^([ \t]*keepalive)[ \t]+512;", r"\1 16;")),
    ("nginx-512", "nginx", "nginx, `keepalive 512`", lambda t: t),
    ("haproxy", "haproxy", "HAProxy, default idle pool (`http-reuse safe`, `pool-max-conn` unbounded)",
     lambda t: drop_key(t, "http-reuse", sep="")),
    ("haproxy-always", "haproxy", "HAProxy, `http-reuse always` (as in `make bench`), default idle pool",
     lambda t: t),
)


def contestant(name, proxy, edit, args, work):
    c = run.Contestant(proxy, args, os.path.join(work, name))
    with open(c.conf) as f:
        text = f.read()
    with open(c.conf, "w") as f:
        f.write(edit(text))
    c.variant = name
    return c


def with_max_conns(text):
    return set_value(text, r"(max_fails[ \t]*=[ \t]*0;)", r"\1 max_conns = 100000;")


def one_conn_per_request(text):
    return set_value(text, r"^([ \t]*reuse_requests[ \t]*=)[^;]*;[^\n]*", r"\1 1;")


QUEUE_VARIANTS = (
    # name, label, edit
    ("plain", "sources without `max_conns`", lambda t: t),
    ("max_conns", "`max_conns = 100000` on both sources (never reached)", with_max_conns),
    ("plain-rr1", "without `max_conns`, `reuse_requests = 1`", one_conn_per_request),
    ("max_conns-rr1", "`max_conns = 100000`, `reuse_requests = 1`",
     lambda t: with_max_conns(one_conn_per_request(t))),
)


# ---------------------------------------------------------------- churn

def accepts(ports):
    st = [run.origin_stats(p) for p in ports]
    return sum(s["accepts"] for s in st), sum(s["requests"] for s in st)


def established(ports):
    """Connections open to the origins now: ESTABLISHED sockets whose local
    port is an origin's (the origins' ends, so each counted once)."""
    want = {"%04X" % p for p in ports}
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "01" and fields[1].rpartition(":")[2] in want:
                        n += 1
        except OSError:
            pass
    return n


def churn(cs, args, ports, results):
    for r in range(args.rounds):
        for c in cs:
            c.start()
            try:
                for conns in args.loads:
                    sc = ("ka%d" % conns, "", "/100", conns, False, 0, 100)
                    if args.warmup:
                        run.wrk(c.port, sc, args.warmup, args)
                    pids = c.pids()
                    (a0, q0), t0, e0 = accepts(ports), run.cpu_ticks(pids), established(ports)
                    w = run.wrk(c.port, sc, args.seconds, args)
                    (a1, q1), t1, e1 = accepts(ports), run.cpu_ticks(pids), established(ports)
                    secs = w["duration_us"] / 1e6
                    one = {
                        "requests": w["requests"],
                        "origin_requests": q1 - q0,
                        "accepts": a1 - a0,
                        "per_1000": 1000.0 * (a1 - a0) / max(1, w["requests"]),
                        # open to the origins before and after (after: wrk's
                        # clients have gone, so the pools are idle)
                        "open_before": e0,
                        "open_after": e1,
                        "closed": (a1 - a0) - (e1 - e0),
                        "rps": w["requests"] / secs,
                        "cpu": 100.0 * (t1 - t0) / os.sysconf("SC_CLK_TCK") / secs,
                        "errors": sum(w[k] for k in ("connect", "read", "write", "status", "timeout")),
                    }
                    results.setdefault(c.variant, {}).setdefault(str(conns), []).append(one)
                    log("round %d/%d %-15s %3d clients: %7d requests, %5d backend connections "
                        "opened = %7.2f per 1000 (open %d -> %d), %8.0f req/s, proxy cpu %3.0f%%, "
                        "errors %d" % (
                            r + 1, args.rounds, c.variant, conns, one["requests"], one["accepts"],
                            one["per_1000"], e0, e1, one["rps"], one["cpu"], one["errors"]))
            finally:
                c.stop()


# ---------------------------------------------------------------- queue cost

def queue_cost(args, work, results):
    for name, _, edit in QUEUE_VARIANTS:
        if name.endswith("-rr1") and args.skip_rr1:
            continue
        c = contestant(name, "sluice", edit, args, os.path.join(work, "queue"))
        n = args.n_rr1 if name.endswith("-rr1") else args.n
        a = argparse.Namespace(**dict(vars(args), n=n))
        log("%s: callgrind, %d + %d requests" % (name, a.warm_n, n))
        ir_n, secs = run.callgrind_ir(c, n, a)
        a._pause = secs
        log("%s: callgrind, %d requests and a %.1f s pause" % (name, a.warm_n, secs))
        ir_0, _ = run.callgrind_ir(c, 0, a)
        if ir_n == 0 or ir_0 == 0:
            sys.exit("bench-pool: no callgrind totals in %s" % c.dir)
        per = (ir_n - ir_0) / n
        results[name] = {"ir": per, "ir_runs": [ir_n, ir_0], "n": n}
        log("%s: %.0f instructions/request" % (name, per))


# ---------------------------------------------------------------- report

def med(runs, key):
    vals = [x[key] for x in runs]
    return statistics.median(vals), min(vals), max(vals)


def span(m, lo, hi, f):
    return f(m) if lo == hi else "%s (%s–%s)" % (f(m), f(lo), f(hi))


def per1000(x):
    return "%.2f" % x


def section(info, args, res):
    L = [BEGIN, "## Backend connection churn and the cost of `max_conns` (`make bench-pool`)", ""]
    L.append("| | |")
    L.append("|---|---|")
    L.append("| date | %s |" % info["date"])
    L.append("| machine | %d CPUs, %s, Linux %s |" % (info["nproc"], info["cpu"], info["kernel"]))
    L.append("| load average (1/5/15 min) | before: %s; after: %s |" % (info["load_before"], info["load_after"]))
    L.append("| sluice | commit %s |" % info["sluice"])
    L.append("| nginx / HAProxy / wrk / valgrind | %s / %s / %s / %s |" % (
        info["nginx"], info["haproxy"], info["wrk"], info["valgrind"]))
    L.append("| layout | proxy alone on CPU 0 (one worker / process / thread); two origin processes "
             "(one port each: two sources, round-robin), wrk and the driver on CPU 1 (taskset) |")
    L.append("| runs | %d round(s); each contestant started afresh per round, then for %s keep-alive "
             "clients a %d s wrk warm-up and a %d s measured wrk run of `GET /100` |" % (
                 args.rounds, " and ".join(str(n) for n in args.loads), args.warmup, args.seconds))
    L.append("")
    ch = res.get("churn")
    if ch:
        L.append("Backend connections opened per 1,000 requests: connections the two origins accepted "
                 "during the measured run (their `/__stats`) × 1000 / requests wrk completed in it; "
                 "median (min–max) over the rounds. Apart from the pool, every contestant has the "
                 "configuration of `make bench` (tests/bench/*.conf.in, *.cfg.in): one worker, "
                 "`reuse_requests` / `keepalive_requests` 1,000,000 (except where said), 120 s "
                 "backend idle timeouts.")
        L.append("")
        hdr = ["contestant"] + ["%d clients: backend conns / 1000 req" % n for n in args.loads] + \
              ["%d clients: req/s" % n for n in args.loads]
        L.append("| " + " | ".join(hdr) + " |")
        L.append("|" + "---|" * len(hdr))
        for name, _, label, _ in VARIANTS:
            if name not in ch:
                continue
            cells = []
            for key, f in (("per_1000", per1000), ("rps", lambda x: "{:,.0f}".format(x))):
                for n in args.loads:
                    runs = ch[name].get(str(n))
                    cells.append(span(*med(runs, key), f) if runs else "–")
            L.append("| %s | %s |" % (label, " | ".join(cells)))
        L.append("")
        if "sluice" in ch:
            got = {n: med(ch["sluice"][str(n)], "per_1000") for n in args.loads if str(n) in ch["sluice"]}
            worst = {n: v[2] for n, v in got.items()}
            ok = all(v <= TARGET_PER_1000 for v in worst.values())
            L.append("Issue 14's target, sluice's default pool at most %g new backend connections per "
                     "1,000 requests after warm-up at 50 and at 400 clients: **%s** (worst round: %s)." % (
                         TARGET_PER_1000, "met" if ok else "NOT met",
                         ", ".join("%s at %d clients" % (per1000(v), n) for n, v in worst.items())))
            grow = []
            for n in args.loads:
                runs = ch["sluice"].get(str(n), [])
                if runs and "closed" in runs[0]:
                    x = max(runs, key=lambda x: x["accepts"])
                    grow.append("at %d clients %d opened, the pool %s from %d to %d connections, "
                                "%d closed" % (n, x["accepts"], "grew" if x["open_after"] >= x["open_before"]
                                               else "went", x["open_before"], x["open_after"], x["closed"]))
            if grow:
                L.append("Of those, in the round that opened the most (connections open to the origins "
                         "counted before and after the measured run, from /proc/net/tcp): %s. A connection "
                         "opened while the pool grows is not churn: the measured run had more requests "
                         "in flight to one source at once than the warm-up had. The pools are per "
                         "source, and round-robin splits the requests in flight unevenly from moment "
                         "to moment, so the two pools together can hold more connections than there "
                         "are clients." % "; ".join(grow))
        if "sluice-defaults" in ch:
            L.append("With `reuse_requests` at its default as well, each backend connection is retired "
                     "after 1,000 requests and replaced, so about 1 per 1,000 is the floor of that row.")
        if "haproxy" in ch:
            L.append("HAProxy's default `http-reuse safe` sends the first request of every client "
                     "connection over a connection of its own, so it opens one backend connection per "
                     "new client connection (wrk opens all of its connections at the start of each run: "
                     "about 50 or 400 per run, whatever the run's length), not per request; "
                     "`http-reuse always` lets a session's first request take an idle connection too.")
        errs = ["%s/%s: %d" % (name, n, sum(x["errors"] for x in runs))
                for name, d in ch.items() for n, runs in d.items() if sum(x["errors"] for x in runs)]
        L.append("wrk errors summed over all runs: %s." % (", ".join(errs) if errs else "none"))
        L.append("")
        L.append("The connection counts do not depend on machine noise much; requests/s do. "
                 "The machine has 2 CPUs and was shared with other work during this run%s, so "
                 "compare requests/s only roughly and only within this table." % (
                     " (others took %.1f %% of its CPU time)" % info["foreign_cpu"]
                     if "foreign_cpu" in info else ""))
        L.append("")
    q = res.get("queue")
    if q and "plain" in q:
        base = q["plain"]["ir"]
        L.append("Cost of the `max_conns` path when the limit is set but never reached: sluice's bench "
                 "configuration (tests/bench/sluice.conf.in) without and with `max_conns = 100000` on "
                 "both sources. Instructions per proxied `GET /100` as in \"Figures that do not depend "
                 "on machine noise\" (run.py's callgrind_ir): all of sluice's processes under callgrind, "
                 "%d warm-up requests then N keep-alive requests on one connection, minus a run with "
                 "the same warm-up and an idle pause as long, divided by N." % args.warm_n)
        L.append("")
        L.append("| configuration | N | instructions per request | ratio to the same without `max_conns` |")
        L.append("|---|---|---|---|")
        for name, label, _ in QUEUE_VARIANTS:
            if name not in q:
                continue
            ref = q.get(name.replace("max_conns", "plain"))
            ratio = "%.4f (%+.2f %%)" % (q[name]["ir"] / ref["ir"], 100.0 * (q[name]["ir"] / ref["ir"] - 1)) \
                if ref and name.startswith("max_conns") else "1 (reference)"
            L.append("| %s | %s | %s | %s |" % (label, "{:,}".format(q[name]["n"]),
                                                "{:,.0f}".format(q[name]["ir"]), ratio))
        L.append("")
        if "max_conns" in q:
            pct = 100.0 * (q["max_conns"]["ir"] / base - 1)
            L.append("Issue 14's bound, within %g %% of without: **%s** (%+.2f %%)." % (
                TARGET_QUEUE_PCT, "met" if abs(pct) <= TARGET_QUEUE_PCT else "NOT met", pct))
        if "max_conns-rr1" in q:
            L.append("With `reuse_requests = 1` every request opens a backend connection, so takes and "
                     "gives back a slot (shm_conn_take / shm_conn_give) and the keep-alive pool is "
                     "empty: the dearest case of the slot accounting, for reference.")
        L.append("")
    L.append(END)
    return "\n".join(L) + "\n"


def splice(path, text):
    """Replaces this script's section of path (run.splice_section)."""
    run.splice_section(path, text, BEGIN, END)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--origin", required=True)
    ap.add_argument("--work", required=True, help="scratch directory (configs, logs)")
    ap.add_argument("--out", required=True, help="RESULTS.md whose bench-pool section to write")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--loads", default=",".join(str(n) for n in LOADS), help="client counts")
    ap.add_argument("--n", type=int, default=2000, help="measured requests under callgrind")
    ap.add_argument("--n-rr1", type=int, default=1000,
                    help="measured requests under callgrind with reuse_requests = 1")
    ap.add_argument("--warm-n", type=int, default=200)
    ap.add_argument("--port", type=int, default=18380, help="base port: proxies +1..+3, origins +11, +12")
    ap.add_argument("--only", default=",".join(v[0] for v in VARIANTS), help="contestants, comma-separated")
    ap.add_argument("--skip", default="", help="parts to skip: churn, queue, rr1")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite the section of --out from WORK/results.json, run nothing")
    args = ap.parse_args()
    args.loads = [int(n) for n in args.loads.split(",")]
    if args.rounds < 1 or args.seconds < 1 or args.warmup < 0 or args.n <= 0 or args.n_rr1 <= 0 \
            or any(not 1 <= n <= 5000 for n in args.loads):
        sys.exit("bench-pool: bad --rounds, --seconds, --warmup, --loads or --n")
    unknown = set(args.only.split(",")) - {v[0] for v in VARIANTS}
    if unknown:
        sys.exit("bench-pool: unknown contestants %s" % ", ".join(sorted(unknown)))
    args.skip_rr1 = "rr1" in args.skip
    args._pause = 0
    args.sluice = os.path.abspath(args.sluice)
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    if args.report_only:
        with open(os.path.join(work, "results.json")) as f:
            res = json.load(f)
        args = argparse.Namespace(**dict(vars(args), **res["info"]["args"]))
        splice(args.out, section(res["info"], args, res))
        return

    # `timeout` in bench.mk ends a run with TERM: unwind, so that the finally
    # clauses stop the proxy and the origins this run started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench-pool: terminated"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    info = run.machine_info()
    with open("/proc/loadavg") as f:
        info["load_before"] = " ".join(f.read().split()[:3])
    info["args"] = {k: getattr(args, k) for k in ("rounds", "seconds", "warmup", "loads", "n",
                                                   "n_rr1", "warm_n")}
    log("machine: %(nproc)d CPUs, %(cpu)s; sluice %(sluice)s, nginx %(nginx)s, haproxy %(haproxy)s" % info)
    res = {"info": info}

    ports = (args.port + 11, args.port + 12)
    origins = []
    try:
        for p in ports:   # two origin processes, one per source
            run.check_port_free(p)
            o = subprocess.Popen(["taskset", "-c", "1", args.origin, str(p)], stdout=subprocess.PIPE,
                                 stderr=open(os.path.join(work, "origin-%d.log" % p), "wb"))
            origins.append(o)
            if not o.stdout.readline().startswith(b"origin: ready"):
                sys.exit("bench-pool: origin on port %d did not start" % p)
        if "churn" not in args.skip:
            cs = [contestant(name, proxy, edit, args, work) for name, proxy, _, edit in VARIANTS
                  if name in args.only.split(",")]
            t = os.times()
            busy0, wall0 = run.machine_busy_seconds(), time.monotonic()
            own0 = t.user + t.system + t.children_user + t.children_system + \
                run.cpu_ticks([o.pid for o in origins]) / os.sysconf("SC_CLK_TCK")
            churn(cs, args, ports, res.setdefault("churn", {}))
            t = os.times()
            own1 = t.user + t.system + t.children_user + t.children_system + \
                run.cpu_ticks([o.pid for o in origins]) / os.sysconf("SC_CLK_TCK")
            foreign = (run.machine_busy_seconds() - busy0) - (own1 - own0)
            info["foreign_cpu"] = 100.0 * max(0.0, foreign) / ((time.monotonic() - wall0) * os.cpu_count())
        if "queue" not in args.skip:
            queue_cost(args, work, res.setdefault("queue", {}))
    finally:
        for o in origins:
            o.terminate()
            try:
                o.wait(10)
            except subprocess.TimeoutExpired:
                o.kill()
                o.wait()
        with open("/proc/loadavg") as f:
            info["load_after"] = " ".join(f.read().split()[:3])
        with open(os.path.join(work, "results.json"), "w") as f:
            json.dump(res, f, indent=1)
    splice(args.out, section(info, args, res))
    if "queue" in res and "max_conns" in res["queue"]:
        q = res["queue"]
        log("max_conns / plain: %.0f / %.0f instructions per request = %.4f" % (
            q["max_conns"]["ir"], q["plain"]["ir"], q["max_conns"]["ir"] / q["plain"]["ir"]))
    log("wrote the bench-pool section of %s (raw figures: %s)" % (args.out, os.path.join(work, "results.json")))


if __name__ == "__main__":
    main()
