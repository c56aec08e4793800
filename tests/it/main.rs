//! Black-box tests: each starts the real `gatehouse` binary and talks HTTP to it.

mod access;
mod authorize;
mod browser;
mod chrome;
mod clients;
mod console;
mod cookies;
mod copy;
mod cors;
mod crash;
mod deploy;
mod dialect;
mod flows;
mod health;
mod lifecycle;
mod logging;
mod multi;
mod postgres;
mod python;
mod relying_party;
mod revocation;
mod rules;
mod secrets;
mod support;
mod throttle;
mod token;
