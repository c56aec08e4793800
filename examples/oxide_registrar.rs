//! Asks Gatehouse's registry, through oxide-auth's `Registrar` trait, what it says of a client.
//!
//! ```text
//! cargo run --example oxide_registrar --features oxide-auth -- [DATABASE] CLIENT_ID [SECRET]
//! ```
//!
//! `DATABASE` defaults to `$GATEHOUSE_DATABASE`, then to `gatehouse-data/gatehouse.db`; it may
//! be left out because client ids are UUIDs and a path is not. The registrar is called from
//! this plain (synchronous) thread, as an oxide-auth endpoint would call it, and runs the
//! store's async calls on a multi-thread tokio runtime.

use std::borrow::Cow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use gatehouse_registry::oxide::oxide_auth::primitives::registrar::{ClientUrl, Registrar};
use gatehouse_registry::oxide::OxideRegistrar;
use gatehouse_store_sqlite::SqliteStore;
use uuid::Uuid;

const USAGE: &str = "usage: oxide_registrar [DATABASE] CLIENT_ID [SECRET]";

#[allow(clippy::print_stdout)]
fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let database = match args.first() {
        Some(first) if Uuid::parse_str(first).is_err() => PathBuf::from(args.remove(0)),
        _ => std::env::var_os("GATEHOUSE_DATABASE")
            .map_or_else(|| PathBuf::from("gatehouse-data/gatehouse.db"), PathBuf::from),
    };
    let (client_id, secret) = match args.as_slice() {
        [client_id] => (client_id.clone(), None),
        [client_id, secret] => (client_id.clone(), Some(secret.clone())),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start a tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let store = match SqliteStore::open(&database) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("cannot open {}: {e}", database.display());
            return ExitCode::FAILURE;
        }
    };
    let registrar = OxideRegistrar::new(Arc::new(store), runtime.handle().clone());
    println!("database: {}", database.display());
    println!("client:   {client_id}");

    let request = ClientUrl { client_id: Cow::Borrowed(&client_id), redirect_uri: None };
    match registrar.bound_redirect(request) {
        Ok(bound) => {
            println!("bound_redirect: {}", bound.redirect_uri.as_str());
            let asked = "openid profile email offline_access".parse().ok();
            for scope in [None, asked] {
                let shown = scope.as_ref().map_or_else(|| "(none)".to_owned(), ToString::to_string);
                match registrar.negotiate(bound.clone(), scope) {
                    Ok(grant) => println!("negotiate {shown}: granted {}", grant.scope),
                    Err(e) => println!("negotiate {shown}: refused ({e:?})"),
                }
            }
        }
        // Several registered redirect URIs also land here: oxide-auth then needs the request's.
        Err(e) => println!("bound_redirect: refused ({e:?})"),
    }

    let check = registrar.check(&client_id, secret.as_deref().map(str::as_bytes));
    let presented = if secret.is_some() { "the given secret" } else { "no secret" };
    match check {
        Ok(()) => println!("check with {presented}: passes"),
        Err(e) => println!("check with {presented}: fails ({e:?})"),
    }
    ExitCode::SUCCESS
}
