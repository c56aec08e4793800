//! A database of its own for each test, on the server named by `GATEHOUSE_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the guard goes,
//! also when the test fails. When the server cannot be reached, a test with `CI` set fails;
//! elsewhere it is skipped with the reason written to stderr.

use std::io::Write;

use rand::Rng;

use crate::{connect, PgStore};

/// The variable naming the test server (a libpq URL of a user that may create databases).
pub const SERVER_VARIABLE: &str = "GATEHOUSE_TEST_POSTGRES";
pub const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh database, dropped (`WITH (FORCE)`, ending its connections) on drop.
#[derive(Debug)]
pub struct TestDatabase {
    server: String,
    name: String,
    url: String,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// `url` with its database replaced by `name` (parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl TestDatabase {
    /// Creates the database, or answers `None` (the test skips) when the server cannot be
    /// reached and `CI` is unset. Panics when it cannot be reached under CI, or when the
    /// server answers but refuses to create it.
    pub async fn create() -> Option<Self> {
        let server = std::env::var(SERVER_VARIABLE).ok().filter(|v| !v.is_empty()).unwrap_or(DEFAULT_SERVER.into());
        let admin = match connect::client(&server).await {
            Ok(client) => client,
            Err(e) if in_ci() => panic!("PostgreSQL for the tests cannot be reached (CI is set, so this fails): {e}"),
            Err(e) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: PostgreSQL for the tests cannot be reached ({e}); start it or set {SERVER_VARIABLE}"
                );
                return None;
            }
        };
        let name = format!("gatehouse_test_{:016x}", rand::thread_rng().gen::<u64>());
        // The name is ours (no outside input) and quoted; identifiers cannot be parameters.
        admin.0.batch_execute(&format!("CREATE DATABASE \"{name}\"")).await.expect("create the test database");
        let url = with_database(&server, &name);
        Some(Self { server, name, url })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A store on the database, its schema migrated, with room for the suite's parallel cases.
    pub async fn store(&self) -> PgStore {
        PgStore::connect(&self.url, 12).await.expect("connect to the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own
        // with a runtime of its own drops the database.
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let admin = connect::client(&server).await.map_err(|e| e.to_string())?;
                admin
                    .0
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        if let Ok(Err(e)) | Err(e) = dropped.map_err(|_| "panicked".to_owned()) {
            let _ = writeln!(std::io::stderr(), "could not drop the test database {}: {e}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_is_replaced_and_parameters_kept() {
        use super::with_database;
        assert_eq!(with_database("postgres://u@h:5/postgres", "t"), "postgres://u@h:5/t");
        assert_eq!(with_database("postgres://u@h", "t"), "postgres://u@h/t");
        assert_eq!(with_database("postgresql://u:p@h/db?sslmode=disable", "t"), "postgresql://u:p@h/t?sslmode=disable");
    }
}
