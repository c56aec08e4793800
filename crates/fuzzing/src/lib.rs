//! The bodies of Gatehouse's fuzz targets. Each takes the raw bytes libFuzzer hands
//! `fuzz/fuzz_targets/<target>.rs` and drives the server's own parsing and rules with them:
//!
//! - [`authorize`]: an authorize request's query string, through `Provider::authorize`.
//! - [`token`]: a token request (`Authorization` header and form body), through
//!   `Provider::token`, `introspect` and `revoke`, and the server's error mapping.
//! - [`admin_json`]: an admin API request body, through the admin handlers' parsing and the
//!   registry's rules for clients of the three kinds, secrets, users, passwords and roles.
//! - [`jwt`]: a compact JWS as `id_token_hint` and as a bearer token, and (with a valid
//!   signature) a claims payload of the fuzzer's own.
//!
//! None may panic, whatever the input: a panic is a bug in the server. They live here, not
//! in `fuzz/`, so that `tests/seeds.rs` runs every seed and every regression input through
//! them on stable Rust, and they cannot rot where nightly is missing (docs/security.md).

mod admin;
mod authorize;
mod jwt;
mod token;
mod world;

pub use admin::admin_json;
pub use authorize::authorize;
pub use jwt::jwt;
pub use token::token;

/// A target's body: the bytes of one input.
pub type Target = fn(&[u8]);

/// Every target, by the name of its directory under `fuzz/seeds` and `fuzz/regressions`.
pub const TARGETS: [(&str, Target); 4] =
    [("authorize", authorize), ("token", token), ("admin_json", admin_json), ("jwt", jwt)];
