#!/usr/bin/env python3
"""What a route's allow/deny lists cost per request (`make bench-acl`, issue 15).

sluice's bench configuration (tests/bench/sluice.conf.in, as run.py fills it:
one worker, the bench origin, Via off) is run three times, each alone:

  plain   the route without allow/deny;
  lists   the same route with allow = 10,000 networks (IPv4 /24, /16, /32 and
          IPv6 /48, /64, /128, plus 127.0.0.1 so the client passes) and
          deny = 300 networks (/32, /28, /20, IPv6 /64);
  wide    the same lists with 127.0.0.0/8 in place of 127.0.0.1: the client
          is then found at the shortest IPv4 length, after a binary search at
          every longer length (the dearest lookup that still lets it in).

Instructions per request exactly as run.py measures them (its callgrind_ir):
the proxy under callgrind with all its processes, W warm-up requests then N
keep-alive requests on one connection, minus a run with the same warm-up and
an idle pause as long, divided by N. Also `sluice -t` wall time on each
configuration (not under valgrind), and a check that the lists are in force
(the lists without the client's entry answer 403). Writes its own section of
RESULTS.md (between BEGIN and END below) and leaves the rest of the file as
it is. A measurement: nothing is asserted about the figures.

Everything here runs on 127.0.0.1 only, with bounded counts and durations.
"""

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  (the bench's own helpers: same processes, same counting)

BEGIN = "<!-- bench-acl: written by `make bench-acl` (acl_cost.py); the other sections are left alone -->"
END = "<!-- /bench-acl -->"


def log(msg):
    print("bench-acl: " + msg, flush=True)


# ---------------------------------------------------------------- the lists

def acl_lists(client_entry):
    """(allow, deny, description): fixed by a seeded generator, so every run
    measures the same lists. client_entry is the allow entry that lets the
    bench client (127.0.0.1) in, or None for none."""
    rng = random.Random(15)
    allow = []
    nets24 = rng.sample(range(65536), 9000)             # 10.x.y.0/24
    allow += ["10.%d.%d.0/24" % (p >> 8, p & 255) for p in nets24]
    nets16 = rng.sample([(a, b) for a in range(11, 127) for b in range(256)], 600)
    allow += ["%d.%d.0.0/16" % ab for ab in nets16]
    hosts = rng.sample(range(65536), 300)               # 192.168.x.y
    allow += ["192.168.%d.%d" % (h >> 8, h & 255) for h in hosts]
    v6 = rng.sample(range(1, 65536), 99)
    allow += ["2001:db8:%x::/48" % v for v in v6[:40]]
    allow += ["2001:db8:ffff:%x::/64" % v for v in v6[40:80]]
    allow += ["2001:db8::%x" % v for v in v6[80:]]
    if client_entry:
        allow.append(client_entry)

    deny = []
    deny += ["10.%d.%d.%d" % (p >> 8, p & 255, rng.randrange(1, 255)) for p in nets24[:200]]
    deny += ["%d.%d.%d.%d/28" % (a, b, rng.randrange(256), 16 * rng.randrange(16))
             for a, b in nets16[:50]]
    deny += ["10.%d.%d.0/20" % (p >> 8, (p & 255) & 0xf0) for p in nets24[200:240]]
    deny += ["2001:db8:%x:%x::/64" % (v, rng.randrange(65536)) for v in v6[:10]]
    return allow, deny


def lengths(allow, deny):
    """Distinct prefix lengths as acl.c keys them (IPv4 as ::ffff:0:0/96 + n)."""
    out = set()
    for e in allow + deny:
        n = int(e.split("/")[1]) if "/" in e else (128 if ":" in e else 32)
        out.add(n if ":" in e else 96 + n)
    return len(out)


def with_lists(conf, allow, deny):
    """The bench config with allow/deny added to its one route."""
    with open(conf) as f:
        text = f.read()
    anchor = re.search(r"^(\s*)via\s*=\s*false;\n", text, re.M)
    if anchor is None or len(re.findall(r"^\s*via\s*=", text, re.M)) != 1:
        sys.exit("bench-acl: cannot find the route's `via = false;` in %s" % conf)
    ind = anchor.group(1)

    def block(key, items):
        lines = [ind + "%s = [" % key]
        for i in range(0, len(items), 8):
            lines.append(ind + "\t" + ", ".join('"%s"' % e for e in items[i:i + 8])
                         + ("," if i + 8 < len(items) else ""))
        lines.append(ind + "];")
        return "\n".join(lines) + "\n"

    text = text[:anchor.end()] + block("allow", allow) + (block("deny", deny) if deny else "") \
        + text[anchor.end():]
    with open(conf, "w") as f:
        f.write(text)


# ---------------------------------------------------------------- measurements

def t_time(sluice, conf, repeat):
    """Wall seconds of `sluice -t -c conf`, repeat times."""
    out = []
    for _ in range(repeat):
        t = time.monotonic()
        p = subprocess.run([sluice, "-t", "-c", conf], capture_output=True, text=True, timeout=120)
        out.append(time.monotonic() - t)
        if p.returncode != 0:
            sys.exit("bench-acl: sluice -t %s failed:\n%s%s" % (conf, p.stdout, p.stderr))
    return out


def status_of_one_request(c, timeout=20):
    """Starts c natively, returns the status of one GET, stops c."""
    run.check_port_free(c.port)
    out = open(os.path.join(c.dir, "stdout.log"), "ab")
    c.proc = subprocess.Popen(c.command(), stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    out.close()
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", c.port), timeout=5) as s:
                    s.sendall(b"GET /100 HTTP/1.1\r\nHost: bench\r\n\r\n")
                    status, _ = run.read_response(s, b"")
                    return status
            except (OSError, ConnectionError):
                if time.monotonic() > deadline or c.proc.poll() is not None:
                    raise RuntimeError("%s did not answer in %d s" % (c.conf, timeout))
                time.sleep(0.2)
    finally:
        c.stop()


def ir_by_file(d):
    """Instructions of the callgrind runs in d by source file (every function,
    summed over the processes), from callgrind_annotate; {} without it."""
    tot = {}
    for f in sorted(os.listdir(d)):
        if not f.startswith("callgrind.out."):
            continue
        try:
            out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--auto=no",
                                  "--threshold=100", os.path.join(d, f)],
                                 capture_output=True, text=True, timeout=120).stdout
        except (OSError, subprocess.TimeoutExpired):
            return {}
        for line in out.splitlines():
            m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(.+?):\S+( \[|$)", line)
            if m:
                tot[m.group(2)] = tot.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    return tot


def ir_per_request(c, args):
    log("%s: callgrind, %d + %d requests" % (c.variant, args.warm_n, args.n))
    ir_n, secs = run.callgrind_ir(c, args.n, args)
    args._pause = secs
    log("%s: callgrind, %d requests and a %.1f s pause" % (c.variant, args.warm_n, secs))
    ir_0, _ = run.callgrind_ir(c, 0, args)
    if ir_n == 0 or ir_0 == 0:
        sys.exit("bench-acl: no callgrind totals in %s" % c.dir)
    per = (ir_n - ir_0) / args.n
    log("%s: %.0f instructions/request (%d - %d)" % (c.variant, per, ir_n, ir_0))
    a, b = ir_by_file(os.path.join(c.dir, "cg-%d" % args.n)), ir_by_file(os.path.join(c.dir, "cg-0"))
    files = {k: (a.get(k, 0) - b.get(k, 0)) / args.n for k in set(a) | set(b)}
    return per, [ir_n, ir_0], files


def split(res, name):
    """(in common/acl.c, in libc's formatted output) instructions per request
    more than the plain run, or None without callgrind_annotate."""
    f, p = res[name]["files"], res["plain"]["files"]
    if not f or not p:
        return None
    d = {k: f.get(k, 0) - p.get(k, 0) for k in set(f) | set(p)}
    acl = sum(v for k, v in d.items() if k.endswith("common/acl.c"))
    stdio = sum(v for k, v in d.items() if "/stdio-common/" in k or "/libio/" in k)
    return acl, stdio


# ---------------------------------------------------------------- report

def section(info, args, res):
    base = res["plain"]["ir"]
    f = run.fmt_num
    L = [BEGIN, "## allow/deny cost (`make bench-acl`)", ""]
    L.append("| | |")
    L.append("|---|---|")
    L.append("| date | %s |" % info["date"])
    L.append("| machine | %d CPUs, %s, Linux %s |" % (info["nproc"], info["cpu"], info["kernel"]))
    L.append("| sluice | commit %s |" % info["sluice"])
    L.append("| valgrind | %s |" % info["valgrind"])
    L.append("| lists | allow: %s networks (9,000 IPv4 /24 in 10/8, 600 /16, 300 /32, 40 IPv6 /48, "
             "40 /64, 19 /128, and the client's entry); deny: %s (200 /32 inside allowed /24s, "
             "50 /28, 40 /20, 10 IPv6 /64); %d distinct prefix lengths (one more with 127.0.0.0/8) |"
             % ("{:,}".format(res["lists"]["nallow"]), "{:,}".format(res["lists"]["ndeny"]),
                res["lists"]["nlens"]))
    L.append("")
    L.append("sluice's bench configuration (one worker, Via off, tests/bench/sluice.conf.in) with and "
             "without `allow`/`deny` on its one route. Instructions per proxied `GET /100` as in "
             "\"Figures that do not depend on machine noise\" above: all of sluice's processes under "
             "callgrind, %d warm-up requests then N = %d keep-alive requests on one connection, "
             "minus a run with the same warm-up and an idle pause as long, divided by N. "
             "The lists are checked once per request (worker/dispatch.c)."
             % (args.warm_n, args.n))
    L.append("")
    L.append("| route | instructions per request | more than without lists | ratio | "
             "of the difference: in common/acl.c (the lookup) | in libc stdio (snprintf) |")
    L.append("|---|---|---|---|---|---|")
    L.append("| no `allow`/`deny` | %s | – | 1.000 | – | – |" % f(base))
    for key, title in (("lists", "the lists; the client is allowed by `127.0.0.1` "
                                 "(a /32: found at the first length searched)"),
                       ("wide", "the same lists with `127.0.0.0/8` for the client "
                                "(found after a miss at every longer length: the dearest lookup "
                                "that lets it in)")):
        ir = res[key]["ir"]
        sp = split(res, key)
        parts = ("%.0f (%.2f %%) | %.0f (%.2f %%)" % (sp[0], 100.0 * sp[0] / base, sp[1],
                                                      100.0 * sp[1] / base)) if sp else "? | ?"
        L.append("| %s | %s | %s (%+.2f %%) | %.3f | %s |" % (
            title, f(ir), "{:+,.0f}".format(ir - base), 100.0 * (ir - base) / base, ir / base, parts))
    L.append("")
    sp = split(res, "lists")
    if sp:
        L.append("The last two columns are callgrind's instructions by source file, the run "
                 "without lists subtracted: common/acl.c is `acl_allows16` (inlined by LTO); libc's "
                 "formatted output (stdio-common, libio)%s" % (
                     " is `client_addr()` in worker/dispatch.c, which `snprintf`s the client's "
                     "address text into `x->acl_addr` on every request of a route with lists, "
                     "though only a refusal's log line reads it" if sp[1] > 50 else "") + "; the rest of the difference "
                 "is in libc's string functions and worker/dispatch.c.")
    L.append("The run without lists is this build's own figure; the \"noise-free\" table above "
             "comes from the commit of the last `make bench`.")
    L.append("")
    tl, tp = res["lists"]["t"], res["plain"]["t"]
    L.append("`sluice -t` wall time (not under valgrind; median, min–max of %d runs): %.1f ms "
             "(%.1f–%.1f) with the 10,000-entry lists, %.1f ms (%.1f–%.1f) without."
             % (len(tl), 1000 * statistics.median(tl), 1000 * min(tl), 1000 * max(tl),
                1000 * statistics.median(tp), 1000 * min(tp), 1000 * max(tp)))
    L.append("The lists are in force: without the client's entry the same route answers %d."
             % res["check_status"])
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
    ap.add_argument("--out", required=True, help="RESULTS.md whose allow/deny section to write")
    ap.add_argument("--n", type=int, default=2000, help="measured requests under callgrind")
    ap.add_argument("--warm-n", type=int, default=200)
    ap.add_argument("--t-runs", type=int, default=5, help="runs of sluice -t per configuration")
    ap.add_argument("--port", type=int, default=18280, help="base port: sluice +1, origin +11, +12")
    args = ap.parse_args()
    if args.n <= 0 or args.warm_n < 0 or not 1 <= args.t_runs <= 100:
        sys.exit("bench-acl: bad --n, --warm-n or --t-runs")
    args._pause = 0
    args.sluice = os.path.abspath(args.sluice)
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)

    info = {
        "date": run.datetime.datetime.now(run.datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "kernel": os.uname().release,
        "valgrind": run.sh(["valgrind", "--version"]),
    }
    with open("/proc/cpuinfo") as f:
        info["cpu"] = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    commit = run.sh(["git", "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                            "common", "master", "shm", "worker"], capture_output=True, text=True,
                           env=dict(os.environ, GIT_OPTIONAL_LOCKS="0"),
                           cwd=os.path.dirname(os.path.dirname(HERE))).stdout.strip()
    info["sluice"] = commit + (" + uncommitted changes" if dirty else "")

    allow, deny = acl_lists("127.0.0.1")
    variants = {
        "plain": None,
        "lists": (allow, deny),
        "wide": (acl_lists("127.0.0.0/8")[0], deny),
        "check": (acl_lists(None)[0], deny),
    }
    cs = {}
    for name, lists in variants.items():
        c = run.Contestant("sluice", args, os.path.join(work, name))
        c.variant = name
        if lists:
            with_lists(c.conf, *lists)
        cs[name] = c
    res = {"lists": {"nallow": len(allow), "ndeny": len(deny), "nlens": lengths(allow, deny)}}

    for name in ("plain", "lists"):
        res.setdefault(name, {})["t"] = t_time(args.sluice, cs[name].conf, args.t_runs)
        log("%s: sluice -t %.1f ms (median of %d)" % (name, 1000 * statistics.median(res[name]["t"]),
                                                     args.t_runs))

    o1, o2 = args.port + 11, args.port + 12
    run.check_port_free(o1)
    run.check_port_free(o2)
    origin = subprocess.Popen(["taskset", "-c", "1", args.origin, str(o1), str(o2)],
                              stdout=subprocess.PIPE, stderr=open(os.path.join(work, "origin.log"), "wb"))
    try:
        origin.stdout.readline()
        res["check_status"] = status_of_one_request(cs["check"])
        log("check: the lists without the client's entry answer %d" % res["check_status"])
        for name in ("plain", "lists", "wide"):
            r = res.setdefault(name, {})
            r["ir"], r["ir_runs"], r["files"] = ir_per_request(cs[name], args)
    finally:
        origin.terminate()
        origin.wait()

    base = res["plain"]["ir"]
    for name in ("lists", "wide"):
        log("%s / plain: %.0f / %.0f instructions per request = %.4f (%+.2f %%)" % (
            name, res[name]["ir"], base, res[name]["ir"] / base, 100 * (res[name]["ir"] / base - 1)))
        sp = split(res, name)
        if sp:
            log("%s: of the difference, %.0f in common/acl.c (the lookup), %.0f in libc's "
                "formatted output (stdio/libio)" % ((name,) + sp))
    splice(args.out, section(info, args, res))
    log("wrote the allow/deny section of %s" % args.out)


if __name__ == "__main__":
    main()
