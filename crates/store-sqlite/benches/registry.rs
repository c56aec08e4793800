//! What the token path and the admin API cost in the registry, and how that scales.
//!
//! Compare within one run (the machine is shared): `find_client` at 1,000 and at 50,000
//! clients in a tenant should cost the same; a secret check should cost a hash, not a
//! password hash. Run with `cargo bench -p gatehouse-store-sqlite`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use gatehouse_registry::store::{ClientStore, TenantStore};
use gatehouse_registry::user::{hash_password, verify_password, PasswordMemory};
use gatehouse_registry::{
    secret, Client, ClientChanges, ClientKind, ListQuery, NewSecret, SecretValue, Tenant, TenantSeed,
};
use gatehouse_store_sqlite::SqliteStore;
use time::OffsetDateTime;
use uuid::Uuid;

fn populated(rt: &tokio::runtime::Runtime, clients: usize) -> (SqliteStore, tempfile::TempDir, Uuid, Uuid) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("bench.db")).expect("open");
    let now = OffsetDateTime::now_utc();
    let tenant_id = Uuid::new_v4();
    let seeded: Vec<(Client, Option<NewSecret>)> = (0..clients)
        .map(|i| {
            let changes = ClientChanges {
                name: Some(format!("client {i}")),
                redirect_uris: Some(vec![format!("https://app{i}.example.com/cb")]),
                tags: Some(vec![format!("t{}", i % 100)]),
                ..Default::default()
            };
            let client = Client::create(tenant_id, ClientKind::Hybrid, changes, now).expect("client");
            let (_, secret) = NewSecret::generate(String::new(), None, now).expect("secret");
            (client, Some(secret))
        })
        .collect();
    let probe = seeded[clients / 2].0.id;
    let seed = TenantSeed {
        tenant: Tenant { id: tenant_id, name: "bench".into(), created: now },
        users: vec![],
        clients: seeded,
    };
    rt.block_on(store.create_tenant(seed)).expect("seed");
    (store, dir, tenant_id, probe)
}

fn lookups(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let mut group = c.benchmark_group("sqlite");
    for size in [1_000usize, 50_000] {
        let (store, _dir, tenant_id, probe) = populated(&rt, size);
        group.bench_with_input(BenchmarkId::new("find_client", size), &probe, |b, id| {
            b.iter(|| rt.block_on(store.find_client(black_box(*id))).expect("find"))
        });
        let last_page = ListQuery { skip: size as u64 - 100, count: 100, ..Default::default() };
        group.bench_with_input(BenchmarkId::new("list_last_page", size), &last_page, |b, q| {
            b.iter(|| rt.block_on(store.list_clients(tenant_id, ClientKind::Hybrid, black_box(q))).expect("list"))
        });
        let by_tag = ListQuery { tags: vec!["t7".into()], count: 100, ..Default::default() };
        group.bench_with_input(BenchmarkId::new("list_by_tag", size), &by_tag, |b, q| {
            b.iter(|| rt.block_on(store.list_clients(tenant_id, ClientKind::Hybrid, black_box(q))).expect("list"))
        });
    }
    group.finish();
}

fn secret_checks(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let values: Vec<SecretValue> = (0..10).map(|_| SecretValue::generate().expect("rng")).collect();
    let stored: Vec<_> = values
        .iter()
        .enumerate()
        .map(|(i, v)| secret::ClientSecret {
            id: i as u32 + 1,
            description: String::new(),
            expiration: None,
            hash: v.hash(),
            created: now,
        })
        .collect();
    let presented = values[9].clone();
    let mut group = c.benchmark_group("secret_check");
    group.bench_function("sha256_ct_10_secrets", |b| b.iter(|| secret::verify(black_box(&stored), &presented, now)));
    let password = SecretValue::new("a password of some length");
    let memory = &mut PasswordMemory::default();
    let phc = hash_password(&password, memory).expect("hash");
    group.sample_size(10);
    group.bench_function("argon2id_password_for_comparison", |b| {
        b.iter(|| verify_password(black_box(&phc), &password, memory))
    });
    group.finish();
}

criterion_group!(benches, lookups, secret_checks);
criterion_main!(benches);
