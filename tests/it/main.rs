//! Black-box tests: each starts the real `gatehouse` binary and talks HTTP to it.

mod access;
mod browser;
mod clients;
mod console;
mod dialect;
mod flows;
mod lifecycle;
mod python;
mod rules;
mod secrets;
mod support;
mod token;
