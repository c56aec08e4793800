//! Black-box tests: each starts the real `gatehouse` binary and talks HTTP to it.

mod access;
mod clients;
mod lifecycle;
mod secrets;
mod support;
mod token;
