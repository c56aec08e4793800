//! The JWT target: the JWS parser and verifier (`KeyRing::verify`) and the claim checks
//! behind it, at each place a token comes in: `id_token_hint` at end session
//! (`Provider::logout`, `read_id_token_hint`), the bearer token of userinfo
//! (`verify_access_token`) and of the admin API (`Provider::caller`).
//!
//! The bytes go in twice. As they are, they are the token (a fuzzer cannot forge a
//! signature, so this reaches the header, the key look-up and the signature check). And
//! when they are JSON, they are the payload of a token signed with the provider's own key,
//! once as an ID token (`typ` JWT) and once as an access token (`typ` at+jwt), so that the
//! claims are read and checked as the server reads a token it issued.

use gatehouse_provider::params::Params;
use gatehouse_provider::Alg;
use serde::de::IgnoredAny;

use crate::world::{world, NOW, POST_LOGOUT};

pub fn jwt(data: &[u8]) {
    let world = world();
    world.block_on(async {
        if let Ok(token) = std::str::from_utf8(data) {
            check(token).await;
        }
        if serde_json::from_slice::<IgnoredAny>(data).is_ok() {
            for typ in ["JWT", "at+jwt"] {
                if let Ok(token) = world.keys.sign_payload(Alg::ES256, typ, data, NOW) {
                    check(&token).await;
                }
            }
        }
    });
}

async fn check(token: &str) {
    let world = world();
    let pairs = [("id_token_hint", token), ("post_logout_redirect_uri", POST_LOGOUT), ("state", "s")];
    let params = Params::new(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
    for session in [Some(&world.session), None] {
        std::hint::black_box(world.provider.logout(&params, session.map(|s| &s.record)).await.ok());
    }
    std::hint::black_box(world.provider.userinfo(token).await.ok());
    std::hint::black_box(world.provider.caller(token).await.ok());
}
