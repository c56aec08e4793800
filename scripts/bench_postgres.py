#!/usr/bin/env python3
"""The side-by-side kit on PostgreSQL, counting the database server's CPU beside Gatehouse's.

Gatehouse on PostgreSQL moves work into other processes (the database's backends), which
`../shared/bench/compare.py` does not see. This runs the same scenarios with the same load
generator and helpers, each on a fresh database, and reads before and after each run:
- Gatehouse's CPU (utime + stime of its process),
- PostgreSQL's CPU: every `postgres` process's utime + stime, plus the postmaster's reaped
  children (cutime + cstime), so that backends that exit during the run still count,
- the database's transactions (`pg_stat_database.xact_commit + xact_rollback`).
The peer (node-oidc-provider, in memory) runs each scenario too, in the same run.

Usage, from the project's root after `cargo build --release`:
    python3 scripts/bench_postgres.py [--duration 10] [--concurrency 16] [--scenarios ...]
        [--server postgres://postgres@127.0.0.1:5432]   (a server where fresh databases may be made)
Prints one JSON line per (server, scenario), then a table and the ratios.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench"))
import compare as C  # noqa: E402


def psql(server, sql, db="postgres"):
    out = subprocess.run(["psql", f"{server}/{db}", "-XAtqc", sql], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def postgres_cpu_s():
    """All CPU the PostgreSQL server has used: live processes, and the reaped ones."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                head, tail = f.read().rsplit(")", 1)
        except OSError:
            continue
        if not head.endswith("(postgres"):
            continue
        parts = tail.split()
        total += int(parts[11]) + int(parts[12])
        if not is_postgres(parts[1]):  # the postmaster: add its reaped children
            total += int(parts[13]) + int(parts[14])
    return total / C.TICK


def is_postgres(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")", 1)[0].endswith("(postgres")
    except OSError:
        return False


def transactions(server, db):
    return int(psql(server, f"SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '{db}'"))


def run(load_args, issuer, scen, a):
    return subprocess.run([C.LOAD, "--issuer", issuer, "--scenario", scen, "--duration", str(a.duration),
                           "-c", str(a.concurrency), *load_args], capture_output=True, text=True)


def result(out):
    try:
        return json.loads((out.stdout.strip().splitlines() or ["{}"])[-1])
    except json.JSONDecodeError:
        return {"error": (out.stdout + out.stderr)[-500:]}


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--scenarios", default=",".join(C.SCENARIOS))
    ap.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--servers", default="gatehouse,peer", help="which of the two to run (an A/B of two builds: gatehouse)")
    a = ap.parse_args()
    servers = a.servers.split(",")
    C.prepare()
    rows = []
    for scen in a.scenarios.split(","):
        if "gatehouse" in servers:
            rows.append(run_gatehouse(scen, a))
        if "peer" in servers:
            rows.append(run_peer(scen, a))
    print_table(rows, a)


def run_gatehouse(scen, a):
    db = "bench_" + uuid.uuid4().hex[:12]
    psql(a.server, f"CREATE DATABASE {db}")
    proc, issuer, args, tmp = C.start_gatehouse(f"{a.server}/{db}")
    try:
        c0, p0, x0 = C.cpu_s(proc.pid), postgres_cpu_s(), transactions(a.server, db)
        out = run(args, issuer, scen, a)
        c1, p1, x1 = C.cpu_s(proc.pid), postgres_cpu_s(), transactions(a.server, db)
        r = result(out)
        ops = r.get("ops", 0) or 0
        per = (lambda s: round(s * 1e6 / ops, 1)) if ops else (lambda s: None)
        r.update(server="gatehouse-postgres", scenario=scen, server_cpu_us_per_op=per(c1 - c0),
                 database_cpu_us_per_op=per(p1 - p0), total_cpu_us_per_op=per(c1 - c0 + p1 - p0),
                 transactions_per_op=round((x1 - x0) / ops, 2) if ops else None,
                 server_rss_mb=round(C.rss_mb(proc.pid), 1))
    finally:
        stop(proc)
        psql(a.server, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    print(json.dumps(r), flush=True)
    return r


def run_peer(scen, a):
    proc, issuer, args, _ = C.start_peer()
    try:
        c0 = C.cpu_s(proc.pid)
        out = run(args, issuer, scen, a)
        c1 = C.cpu_s(proc.pid)
        r = result(out)
        ops = r.get("ops", 0) or 0
        r.update(server="peer", scenario=scen, server_cpu_us_per_op=round((c1 - c0) * 1e6 / ops, 1) if ops else None,
                 server_rss_mb=round(C.rss_mb(proc.pid), 1))
    finally:
        stop(proc)
    print(json.dumps(r), flush=True)
    return r


def print_table(rows, a):
    print("\n| scenario | server | ops/s | p50 ms | p99 ms | errors | server CPU µs/op | database CPU µs/op "
          "| together µs/op | transactions/op | RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scenario']} | {r['server']} | {r.get('ops_per_s')} | {r.get('p50_ms')} | {r.get('p99_ms')} | "
              f"{r.get('errors')} | {r.get('server_cpu_us_per_op')} | {r.get('database_cpu_us_per_op', '—')} | "
              f"{r.get('total_cpu_us_per_op', r.get('server_cpu_us_per_op'))} | {r.get('transactions_per_op', '—')} | "
              f"{r.get('server_rss_mb')} |")
    print()
    by = {(r["scenario"], r["server"]): r for r in rows}
    for scen in a.scenarios.split(","):
        g, p = by.get((scen, "gatehouse-postgres")), by.get((scen, "peer"))
        if g and p and g.get("total_cpu_us_per_op") and p.get("server_cpu_us_per_op"):
            print(f"{scen}: peer CPU per op / Gatehouse's = {p['server_cpu_us_per_op'] / g['server_cpu_us_per_op']:.2f}x; "
                  f"/ Gatehouse's and PostgreSQL's together = {p['server_cpu_us_per_op'] / g['total_cpu_us_per_op']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
