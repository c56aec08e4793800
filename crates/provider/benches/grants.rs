//! What a grant costs beside its signatures, on the in-memory store (so the figures are
//! the protocol's own work). Compare within one run: `authorize_and_exchange` signs once
//! with ES256 (access token) and once with RS256 (ID token); `refresh` the same; their
//! `_es256_id_token` twins do the same for a client whose `IdTokenSigningAlgorithm` is ES256
//! (decision 44); `client_credentials` once with ES256. Run with `cargo bench -p gatehouse-provider`.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use gatehouse_provider::authorize::Authorize;
use gatehouse_provider::keys::{Alg, KeyRing};
use gatehouse_provider::params::Params;
use gatehouse_provider::{Provider, Settings, SystemClock, TokenRequest};
use gatehouse_registry::store::memory::MemoryStore;
use gatehouse_registry::store::TenantStore;
use gatehouse_registry::user::{hash_password, PasswordMemory};
use gatehouse_registry::{
    Client, ClientChanges, ClientKind, NewSecret, SecretValue, Tenant, TenantSeed, User, UserChanges,
};
use time::OffsetDateTime;
use uuid::Uuid;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const APP: &str = "https://app.example.com/cb";

struct Setup {
    provider: Provider,
    hybrid: Client,
    hybrid_secret: SecretValue,
    /// The same, its ID tokens ES256.
    es256: Client,
    es256_secret: SecretValue,
    machine: Client,
    machine_secret: SecretValue,
    user: User,
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

async fn setup() -> Setup {
    let store = Arc::new(MemoryStore::new());
    let now = OffsetDateTime::now_utc();
    let tenant_id = Uuid::new_v4();
    let hybrid_changes = ClientChanges {
        name: Some("web".into()),
        redirect_uris: Some(vec![APP.into()]),
        allow_offline_access: Some(true),
        ..Default::default()
    };
    let es256_changes = ClientChanges { id_token_signing_algorithm: Some("ES256".into()), ..hybrid_changes.clone() };
    let hybrid = Client::create(tenant_id, ClientKind::Hybrid, hybrid_changes, now).expect("client");
    let es256 = Client::create(tenant_id, ClientKind::Hybrid, es256_changes, now).expect("client");
    let machine_changes = ClientChanges { name: Some("m2m".into()), ..Default::default() };
    let machine = Client::create(tenant_id, ClientKind::ClientCredential, machine_changes, now).expect("client");
    let (hybrid_secret, h) = NewSecret::generate(String::new(), None, now).expect("secret");
    let (machine_secret, m) = NewSecret::generate(String::new(), None, now).expect("secret");
    let (es256_secret, e) = NewSecret::generate(String::new(), None, now).expect("secret");
    let hash = hash_password(&SecretValue::new("a password"), &mut PasswordMemory::default()).expect("hash");
    let user_changes = UserChanges { user_name: Some("alice".into()), password_hash: Some(hash), ..Default::default() };
    let user = User::create(tenant_id, user_changes, now).expect("user");
    store
        .create_tenant(TenantSeed {
            tenant: Tenant { id: tenant_id, name: "t".into(), created: now },
            users: vec![user.clone()],
            clients: vec![(hybrid.clone(), Some(h)), (es256.clone(), Some(e)), (machine.clone(), Some(m))],
        })
        .await
        .expect("seed");
    let provider = Provider::new(
        gatehouse_provider::Stores::of(store),
        Arc::new(SystemClock),
        Settings::new("https://id.example.com/identity"),
    )
    .await
    .expect("provider");
    Setup { provider, hybrid, hybrid_secret, es256, es256_secret, machine, machine_secret, user }
}

fn basic(client: &Client, secret: &SecretValue) -> Option<String> {
    Some(format!("Basic {}", STANDARD.encode(format!("{}:{}", client.id, secret.expose()))))
}

async fn authorize_and_exchange(
    s: &Setup,
    (client, secret): (&Client, &SecretValue),
    session: &gatehouse_registry::grant::WithUser<gatehouse_registry::grant::Session>,
) -> String {
    let id = client.id.to_string();
    let request = Params::new(pairs(&[
        ("client_id", &id),
        ("redirect_uri", APP),
        ("response_type", "code"),
        ("scope", "openid offline_access"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]));
    let Ok(Authorize::Respond(answer)) = s.provider.authorize(&request, Some(session)).await else {
        panic!("authorize");
    };
    let code = answer.params.iter().find(|(k, _)| k == "code").map(|(_, v)| v.clone()).expect("code");
    let form = pairs(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", APP),
        ("code_verifier", VERIFIER),
    ]);
    let tokens = s
        .provider
        .token(TokenRequest { form, authorization: basic(client, secret), ..Default::default() })
        .await
        .expect("tokens");
    tokens.refresh_token.expect("refresh")
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let s = rt.block_on(setup());
    let (_, session) = rt.block_on(s.provider.start_session(&s.user, &Default::default())).expect("session");
    // As the store answers it: the session with its user.
    let session = gatehouse_registry::grant::WithUser { record: session, user: Some(s.user.clone()) };
    let ring = rt
        .block_on(KeyRing::load(&MemoryStore::new(), OffsetDateTime::now_utc(), time::Duration::hours(1)))
        .expect("keys");
    let claims = serde_json::json!({"iss": "https://id.example.com/identity", "sub": Uuid::new_v4(), "exp": 1});
    let now = OffsetDateTime::now_utc();

    let mut g = c.benchmark_group("grants");
    g.bench_function("sign_es256", |b| b.iter(|| ring.sign(Alg::ES256, "at+jwt", &claims, now).expect("sign")));
    g.bench_function("sign_rs256", |b| b.iter(|| ring.sign(Alg::RS256, "JWT", &claims, now).expect("sign")));
    g.bench_function("client_credentials", |b| {
        b.to_async(&rt).iter(|| async {
            let form = pairs(&[("grant_type", "client_credentials")]);
            s.provider
                .token(TokenRequest { form, authorization: basic(&s.machine, &s.machine_secret), ..Default::default() })
                .await
                .expect("token")
        })
    });
    for (name, client) in [("", (&s.hybrid, &s.hybrid_secret)), ("_es256_id_token", (&s.es256, &s.es256_secret))] {
        g.bench_function(format!("authorize_and_exchange{name}"), |b| {
            b.to_async(&rt).iter(|| authorize_and_exchange(&s, client, &session))
        });
        let mut refresh = rt.block_on(authorize_and_exchange(&s, client, &session));
        g.bench_function(format!("refresh{name}"), |b| {
            b.iter(|| {
                let form = pairs(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
                let request = TokenRequest { form, authorization: basic(client.0, client.1), ..Default::default() };
                let tokens = rt.block_on(s.provider.token(request)).expect("refresh");
                refresh = tokens.refresh_token.expect("successor");
            })
        });
    }
    g.finish();
}

criterion_group!(grants, benches);
criterion_main!(grants);
