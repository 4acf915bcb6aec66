#!/usr/bin/env python3
"""Run a command several times and print one JSON line of figures.

Usage: measure.py [--runs N] [--setup CMD] [--out FILE] -- CMD...
  --setup CMD   shell command run before every run, not timed (e.g. empty a cache)
  --out FILE    stdout of the last run goes there (else /dev/null)
Prints {"median": s, "times": [...], "rss_mib": peak, "read_mib": r, "write_mib": w}:
wall-clock median; peak resident set size of the largest process of the command tree (what
`/usr/bin/time -f %M` reports: from wait4); bytes the command tree read and wrote through
read(2)/write(2) (the `rchar`/`wchar` of /proc/self/io, into which Linux adds every reaped
child), whether from disk or the page cache: the volume of data each tool has to go through.
"""
import json
import os
import subprocess
import sys
import tempfile
import time


def io_counters():
    c = {}
    with open("/proc/self/io") as f:
        for line in f:
            k, v = line.split(":")
            c[k] = int(v)
    return c["rchar"], c["wchar"]


def main():
    args = sys.argv[1:]
    runs, setup, out = 5, None, None
    while args and args[0] != "--":
        if args[0] == "--runs":
            runs = int(args[1])
        elif args[0] == "--setup":
            setup = args[1]
        elif args[0] == "--out":
            out = args[1]
        else:
            sys.exit(f"unknown option {args[0]}")
        args = args[2:]
    rss_file = tempfile.NamedTemporaryFile(prefix="measure-rss-", delete=False).name
    # /usr/bin/time itself is small: its child's peak RSS is not inflated by this interpreter.
    cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + args[1:]
    times, rss, rd, wr, status = [], 0, 0, 0, 0
    for i in range(runs):
        if setup:
            subprocess.run(setup, shell=True, check=True)
        r0, w0 = io_counters()
        sink = open(out if (out and i == runs - 1) else os.devnull, "wb")
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.DEVNULL)
        _, st, _ = os.wait4(p.pid, 0)
        times.append(time.perf_counter() - t0)
        p.returncode = os.waitstatus_to_exitcode(st)
        status = p.returncode
        r1, w1 = io_counters()
        with open(rss_file) as f:
            rss = max(rss, int(f.read().split()[-1]))
        rd, wr = r1 - r0, w1 - w0
        sink.close()
    os.unlink(rss_file)
    s = sorted(times)
    med = s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2
    print(json.dumps({"median": med, "times": [round(t, 4) for t in times], "runs": runs,
                      "rss_mib": round(rss / 1024, 1), "read_mib": round(rd / 2**20, 1),
                      "write_mib": round(wr / 2**20, 1), "status": status}))


if __name__ == "__main__":
    main()
