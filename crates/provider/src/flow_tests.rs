//! Protocol units on a fixed clock: code lifetime, refresh lifetimes and grace, max_age,
//! response types per client kind. (Wire behaviour is in the black-box tests.)

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_registry::grant::{Session, WithUser};
use gatehouse_registry::store::memory::MemoryStore;
use gatehouse_registry::store::TenantStore;
use gatehouse_registry::{
    Client, ClientChanges, ClientKind, NewSecret, SecretValue, Tenant, TenantSeed, User, UserChanges,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::authorize::Authorize;
use crate::clock::FixedClock;
use crate::error::ErrorCode;
use crate::params::Params;
use crate::{Provider, Settings, TokenRequest, TokenResponse};

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);
const APP: &str = "https://app.example.com/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct World {
    provider: Provider,
    clock: Arc<FixedClock>,
    client: Client,
    secret: SecretValue,
    user: User,
    session: WithUser<Session>,
}

fn pairs(p: &[(&str, &str)]) -> Params {
    Params::new(p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
}

async fn world(changes: ClientChanges) -> World {
    world_of(ClientKind::Hybrid, changes).await
}

async fn world_of(kind: ClientKind, changes: ClientChanges) -> World {
    let store = Arc::new(MemoryStore::new());
    let tenant_id = Uuid::new_v4();
    let changes = ClientChanges { name: Some("web".into()), redirect_uris: Some(vec![APP.into()]), ..changes };
    let client = Client::create(tenant_id, kind, changes, NOW).expect("client");
    let (secret, record) = NewSecret::generate(String::new(), None, NOW).expect("secret");
    let user_changes =
        UserChanges { user_name: Some("alice".into()), password_hash: Some("x".into()), ..Default::default() };
    let user = User::create(tenant_id, user_changes, NOW).expect("user");
    store
        .create_tenant(TenantSeed {
            tenant: Tenant { id: tenant_id, name: "t".into(), created: NOW },
            users: vec![user.clone()],
            clients: vec![(client.clone(), Some(record))],
        })
        .await
        .expect("seed");
    let clock = Arc::new(FixedClock::at(NOW));
    let provider =
        Provider::new(crate::Stores::of(store), clock.clone(), Settings::new("https://id.example.com/identity"))
            .await
            .expect("provider");
    let (_, session) = provider.start_session(&user, &Default::default()).await.expect("session");
    let session = WithUser { record: session, user: Some(user.clone()) };
    World { provider, clock, client, secret, user, session }
}

impl World {
    async fn authorize(&self, extra: &[(&str, &str)]) -> Authorize {
        let id = self.client.id.to_string();
        let mut p = vec![
            ("client_id", id.as_str()),
            ("redirect_uri", APP),
            ("response_type", "code"),
            ("scope", "openid offline_access"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in extra {
            p.retain(|(key, _)| key != k);
            p.push((k, v));
        }
        self.provider.authorize(&pairs(&p), Some(&self.session)).await.expect("authorize")
    }

    async fn code(&self) -> String {
        let Authorize::Respond(answer) = self.authorize(&[]).await else { panic!("respond") };
        answer.params.iter().find(|(k, _)| k == "code").map(|(_, v)| v.clone()).expect("code")
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<TokenResponse, crate::ProtocolError> {
        let mut form: Vec<(String, String)> = form.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let authorization = if self.client.kind.has_secrets() {
            Some(format!("Basic {}", STANDARD.encode(format!("{}:{}", self.client.id, self.secret.expose()))))
        } else {
            form.push(("client_id".into(), self.client.id.to_string()));
            None
        };
        self.provider.token(TokenRequest { form, authorization, ..Default::default() }).await
    }

    async fn exchange(&self, code: &str) -> Result<TokenResponse, crate::ProtocolError> {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", APP),
            ("code_verifier", VERIFIER),
        ])
        .await
    }

    async fn refresh(&self, token: &str) -> Result<TokenResponse, crate::ProtocolError> {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", token)]).await
    }
}

fn offline() -> ClientChanges {
    ClientChanges { allow_offline_access: Some(true), ..Default::default() }
}

#[tokio::test]
async fn codes_live_300_seconds() {
    let w = world(offline()).await;
    let code = w.code().await;
    w.clock.advance(Duration::seconds(299));
    assert!(w.exchange(&code).await.is_ok());
    let late = w.code().await;
    w.clock.advance(Duration::seconds(300));
    assert_eq!(w.exchange(&late).await.expect_err("expired").code, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn refresh_tokens_slide_within_the_absolute_lifetime() {
    let w = world(offline()).await;
    let first = w.exchange(&w.code().await).await.expect("tokens").refresh_token.expect("refresh");
    // Unused for the whole sliding lifetime (15 days): expired.
    w.clock.advance(Duration::days(15));
    assert_eq!(w.refresh(&first).await.expect_err("slid out").code, ErrorCode::InvalidGrant);

    let w = world(offline()).await;
    let mut token = w.exchange(&w.code().await).await.expect("tokens").refresh_token.expect("refresh");
    // Used every 14 days it lives on, but never past 30 days from the sign-in.
    for _ in 0..2 {
        w.clock.advance(Duration::days(14));
        token = w.refresh(&token).await.expect("within both lifetimes").refresh_token.expect("successor");
    }
    w.clock.advance(Duration::days(2));
    assert_eq!(w.refresh(&token).await.expect_err("absolute end").code, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn the_grace_window_is_exact() {
    let w = world(offline()).await;
    let first = w.exchange(&w.code().await).await.expect("tokens").refresh_token.expect("refresh");
    let second = w.refresh(&first).await.expect("rotate").refresh_token.expect("successor");
    w.clock.advance(Duration::seconds(5));
    assert_eq!(w.refresh(&first).await.expect("retry at the edge").refresh_token.as_deref(), Some(second.as_str()));
    w.clock.advance(Duration::seconds(1));
    assert_eq!(w.refresh(&first).await.expect_err("reuse").code, ErrorCode::InvalidGrant);
    assert_eq!(w.refresh(&second).await.expect_err("family revoked").code, ErrorCode::InvalidGrant);
}

/// A public client has no grace window: its refresh token is bound by `client_id` alone, so
/// a second presentation, however soon, is reuse (issue 9, item 11).
#[tokio::test]
async fn a_public_clients_refresh_token_has_no_grace() {
    let w = world_of(ClientKind::AuthorizationCode, offline()).await;
    let first = w.exchange(&w.code().await).await.expect("tokens").refresh_token.expect("refresh");
    let second = w.refresh(&first).await.expect("rotate").refresh_token.expect("successor");
    assert_eq!(w.refresh(&first).await.expect_err("at once: reuse").code, ErrorCode::InvalidGrant);
    assert_eq!(w.refresh(&second).await.expect_err("family revoked").code, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn max_age_and_prompt_login_ask_for_a_fresh_sign_in() {
    let w = world(offline()).await;
    w.clock.advance(Duration::minutes(10));
    assert!(matches!(w.authorize(&[("max_age", "600")]).await, Authorize::Respond(_)));
    assert!(matches!(w.authorize(&[("max_age", "599")]).await, Authorize::Login { .. }));
    assert!(matches!(w.authorize(&[("prompt", "login")]).await, Authorize::Login { .. }));
}

/// The way back from the sign-in keeps `prompt=login` / `max_age` and is bound to a sign-in
/// after the request started: replaying it with the old session signs in again (issue 9).
#[tokio::test]
async fn the_way_back_from_a_sign_in_needs_that_sign_in() {
    let w = world(offline()).await;
    for ask in [("prompt", "login"), ("max_age", "0")] {
        w.clock.advance(Duration::minutes(10));
        let Authorize::Login { return_to, .. } = w.authorize(&[ask]).await else { panic!("login") };
        assert!(return_to.contains(&format!("{}={}", ask.0, ask.1)), "{return_to}");
        let back = Params::new(
            url::form_urlencoded::parse(return_to.split_once('?').expect("query").1.as_bytes()).into_owned().collect(),
        );
        let old = w.provider.authorize(&back, Some(&w.session)).await.expect("old session");
        assert!(matches!(old, Authorize::Login { .. }), "{ask:?}: the old session does not pass");
        let stripped = Params::new(back.pairs().iter().filter(|(k, _)| k != crate::resume::MARK).cloned().collect());
        let old = w.provider.authorize(&stripped, Some(&w.session)).await.expect("no mark");
        assert!(matches!(old, Authorize::Login { .. }), "{ask:?}: nor without the mark");
        w.clock.advance(Duration::seconds(20));
        let (_, signed_in) = w.provider.start_session(&w.user, &Default::default()).await.expect("sign in");
        let signed_in = WithUser { record: signed_in, user: Some(w.user.clone()) };
        w.clock.advance(Duration::seconds(20));
        let new = w.provider.authorize(&back, Some(&signed_in)).await.expect("new session");
        assert!(matches!(new, Authorize::Respond(ref r) if r.params.iter().any(|(k, _)| k == "code")), "{ask:?}");
        w.clock.advance(crate::resume::MARK_LIFETIME);
        let late = w.provider.authorize(&back, Some(&signed_in)).await.expect("late");
        assert!(matches!(late, Authorize::Login { .. }), "{ask:?}: a way back does not last for ever");
    }
}

#[tokio::test]
async fn token_response_types_need_allow_access_tokens_via_browser() {
    let hybrid =
        [("response_type", "code id_token token"), ("nonce", "n"), ("response_mode", "fragment"), ("scope", "openid")];
    let w = world(ClientChanges::default()).await;
    let Authorize::Respond(refused) = w.authorize(&hybrid).await else { panic!("respond") };
    assert!(refused.params.iter().any(|(k, v)| k == "error" && v == "unsupported_response_type"));
    let w = world(ClientChanges { allow_access_tokens_via_browser: Some(true), ..Default::default() }).await;
    let Authorize::Respond(granted) = w.authorize(&hybrid).await else { panic!("respond") };
    for key in ["code", "id_token", "access_token", "token_type", "expires_in", "iss"] {
        assert!(granted.params.iter().any(|(k, _)| k == key), "{key}");
    }
    assert!(granted.location().contains('#'), "fragment mode");
    let Authorize::Respond(query) = w
        .authorize(&[
            ("response_type", "code id_token"),
            ("nonce", "n"),
            ("response_mode", "query"),
            ("scope", "openid"),
        ])
        .await
    else {
        panic!("respond")
    };
    assert!(query.params.iter().any(|(k, v)| k == "error" && v == "invalid_request"), "no tokens in a query string");
}

/// An access token is good from its `nbf` (= `iat`) up to, not including, its `exp`: one
/// second either side it is `invalid_token`, wherever it is presented.
#[tokio::test]
async fn access_tokens_hold_from_nbf_until_exp_and_not_a_second_beyond() {
    let w = world(ClientChanges { access_token_lifetime: Some(600), ..offline() }).await;
    let token = w.exchange(&w.code().await).await.expect("tokens").access_token;
    let (claims, _) = w.provider.verify_access_token(&token).await.expect("fresh");
    assert_eq!((claims.nbf, claims.exp - claims.iat), (claims.iat, 600));
    w.clock.advance(Duration::seconds(-1));
    assert_eq!(w.provider.verify_access_token(&token).await.expect_err("before nbf").code, ErrorCode::InvalidToken);
    w.clock.advance(Duration::seconds(600));
    w.provider.verify_access_token(&token).await.expect("the last second");
    w.clock.advance(Duration::seconds(1));
    assert_eq!(w.provider.verify_access_token(&token).await.expect_err("at exp").code, ErrorCode::InvalidToken);
    assert_eq!(w.provider.userinfo(&token).await.expect_err("userinfo").code, ErrorCode::InvalidToken);
}

/// The JOSE header's `alg` of a compact JWS.
fn alg_of(jwt: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = URL_SAFE_NO_PAD.decode(jwt.split('.').next().expect("header")).expect("base64");
    serde_json::from_slice::<serde_json::Value>(&header).expect("json")["alg"].as_str().expect("alg").to_owned()
}

/// Every ID token of a client that asked for ES256 is ES256: the front channel's, the code
/// exchange's, a refresh's; and it is read back as an `id_token_hint`. Others stay RS256.
#[tokio::test]
async fn id_tokens_are_signed_with_the_clients_algorithm() {
    let es256 = ClientChanges { id_token_signing_algorithm: Some("ES256".into()), ..offline() };
    let front =
        [("response_type", "code id_token"), ("nonce", "n"), ("response_mode", "form_post"), ("scope", "openid")];
    for (changes, alg) in [(es256, "ES256"), (offline(), "RS256")] {
        let w = world(changes).await;
        let Authorize::Respond(answer) = w.authorize(&front).await else { panic!("respond") };
        let front_token =
            answer.params.iter().find(|(k, _)| k == "id_token").map(|(_, v)| v.clone()).expect("id_token");
        assert_eq!(alg_of(&front_token), alg, "front channel");
        let tokens = w.exchange(&w.code().await).await.expect("tokens");
        let id_token = tokens.id_token.expect("id token");
        assert_eq!(alg_of(&id_token), alg, "code exchange");
        let refreshed = w.refresh(&tokens.refresh_token.expect("refresh")).await.expect("refresh");
        assert_eq!(alg_of(&refreshed.id_token.expect("id token")), alg, "refresh");
        let hint = w.provider.read_id_token_hint(&id_token).expect("our own id token");
        assert_eq!(hint.subject().as_str(), w.user.id.to_string());
    }
}
