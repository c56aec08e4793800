"""Two Gatehouse instances on one PostgreSQL database under the shared kit's load, split in two.

Usage (from the project root, after `cargo build --release`; the database must exist and be empty):
    python3 scripts/bench_two_instances.py postgres://postgres@127.0.0.1:5432/<fresh db> <scenario> [seconds]
Reuses ../shared/bench/compare.py (its load generator and helpers). Prints one JSON line.
"""
import sys, os, json, subprocess, time, uuid, base64, datetime as dt, signal
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench"))
import compare as C
db = sys.argv[1]; scen = sys.argv[2]; dur = int(sys.argv[3]) if len(sys.argv) > 3 else 10
tenant, boot_id, boot_secret = str(uuid.uuid4()), str(uuid.uuid4()), os.urandom(32).hex()
procs = []
for port in (3971, 3972):
    env = {**os.environ, "GATEHOUSE_LISTEN": f"127.0.0.1:{port}", "GATEHOUSE_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "GATEHOUSE_DATABASE": db, "GATEHOUSE_TENANT_ID": tenant, "GATEHOUSE_ADMIN_PASSWORD": "Bench-Admin-Pass-1",
           "GATEHOUSE_BOOTSTRAP_CLIENT_ID": boot_id, "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET": boot_secret, "GATEHOUSE_LOG": "warn",
           "GATEHOUSE_DATABASE_POOL_SIZE": "16"}
    p = subprocess.Popen(["target/release/gatehouse", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append((port, p))
for port, p in procs:
    C.wait_up(f"http://127.0.0.1:{port}/identity/.well-known/openid-configuration", p)
iss = "http://127.0.0.1:3971/identity"
basic = base64.b64encode(f"{boot_id}:{boot_secret}".encode()).decode()
tok = C.http("POST", iss + "/connect/token", form={"grant_type": "client_credentials"}, headers={"Authorization": "Basic " + basic})["access_token"]
auth = {"Authorization": "Bearer " + tok}
root = f"http://127.0.0.1:3971/api/v1/Tenants/{tenant}"
exp = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
spa = C.http("POST", f"{root}/AuthorizationCodeClients", {"Name": "s", "RedirectUris": [f"{C.RP}/callback"], "AllowedCorsOrigins": [C.RP]}, auth)
while True:
    hyb = C.http("POST", f"{root}/HybridClients", {"Name": "h", "RedirectUris": [f"{C.RP}/callback"], "AllowOfflineAccess": True, "SecretDescription": "b", "SecretExpirationDate": exp}, auth)
    if not hyb["Secret"].startswith("-"): break
while True:
    m2m = C.http("POST", f"{root}/ClientCredentialClients", {"Name": "m", "SecretDescription": "b", "SecretExpirationDate": exp}, auth)
    if not m2m["Secret"].startswith("-"): break
C.http("POST", f"{root}/Users", {"UserName": "alice", "GivenName": "A", "Surname": "B", "Email": "a@example.com", "Password": "alice-pass-123"}, auth)
args = ["--m2m-client-id", m2m["Client"]["Id"], "--m2m-client-secret", m2m["Secret"], "--m2m-scope", "ocsapi",
        "--spa-client-id", spa["Id"], "--hybrid-client-id", hyb["Client"]["Id"], "--hybrid-client-secret", hyb["Secret"],
        "--offline-extra-params", "", "--login", "html-form", "--username", "alice", "--password", "alice-pass-123"]
c0 = [C.cpu_s(p.pid) for _, p in procs]
loads = [subprocess.Popen([C.LOAD, "--issuer", f"http://127.0.0.1:{port}/identity", "--scenario", scen, "--duration", str(dur), "-c", "8", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for port, _ in procs]
outs = [l.communicate() for l in loads]
c1 = [C.cpu_s(p.pid) for _, p in procs]
rs = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
ops = sum(r.get("ops", 0) for r in rs)
print(json.dumps({"scenario": scen, "instances": 2, "ops": ops, "ops_per_s": round(sum(r.get("ops_per_s", 0) for r in rs), 1),
                  "p50_ms": [r.get("p50_ms") for r in rs], "p99_ms": [r.get("p99_ms") for r in rs], "errors": sum(r.get("errors", 0) for r in rs),
                  "server_cpu_us_per_op": round((sum(c1) - sum(c0)) * 1e6 / ops, 1) if ops else None}))
for _, p in procs:
    p.send_signal(signal.SIGTERM); p.wait(timeout=10)
