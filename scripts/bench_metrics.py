#!/usr/bin/env python3
# Usage: python3 scripts/bench_metrics.py target/release/gatehouse REQUESTS ROUNDS (docs/performance.md).
# Server CPU per client_credentials token request, with and without GATEHOUSE_METRICS_LISTEN.
import base64, http.client, os, socket, subprocess, sys, tempfile, threading, time
BIN = sys.argv[1]; N = int(sys.argv[2]); ROUNDS = int(sys.argv[3])
BOOT_ID = "0b0075f2-0000-4000-8000-00000000b007"; SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
TICK = os.sysconf("SC_CLK_TCK")
def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK
def run(metrics):
    tmp = tempfile.mkdtemp(); port = free_port()
    env = {"PATH": os.environ["PATH"], "GATEHOUSE_LISTEN": f"127.0.0.1:{port}", "GATEHOUSE_DATABASE": f"{tmp}/g.db",
           "GATEHOUSE_BOOTSTRAP_CLIENT_ID": BOOT_ID, "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET": SECRET,
           "GATEHOUSE_ADMIN_PASSWORD": "bench-admin-pass", "GATEHOUSE_LOG": "warn"}
    if metrics: env["GATEHOUSE_METRICS_LISTEN"] = "127.0.0.1:0"
    p = subprocess.Popen([BIN], env=env, stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        if line.startswith("gatehouse: listening"): break
    auth = "Basic " + base64.b64encode(f"{BOOT_ID}:{SECRET}".encode()).decode()
    def worker(n):
        c = http.client.HTTPConnection("127.0.0.1", port)
        for _ in range(n):
            c.request("POST", "/identity/connect/token", "grant_type=client_credentials",
                      {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
            r = c.getresponse(); r.read(); assert r.status == 200, r.status
    worker(200)  # warm up
    before = cpu(p.pid); t0 = time.time()
    ts = [threading.Thread(target=worker, args=(N // 4,)) for _ in range(4)]
    [t.start() for t in ts]; [t.join() for t in ts]
    used = cpu(p.pid) - before; wall = time.time() - t0
    p.terminate(); p.wait()
    return used / N * 1e6, N / wall
for r in range(ROUNDS):
    for m in (False, True):
        us, rate = run(m)
        print(f"round {r} metrics={'on ' if m else 'off'} server CPU {us:.1f} us/op  {rate:.0f} ops/s", flush=True)
