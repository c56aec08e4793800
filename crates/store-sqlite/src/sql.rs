//! Statements through each connection's cache: a statement is parsed once per pooled
//! connection and reused, instead of parsed again on every call (issue 10: SQLite's parser
//! was on the hot path of every grant).

use rusqlite::{Connection, Params, Row};

/// How many statements each connection keeps prepared: every fixed statement of the store
/// fits, so the hot ones are never pushed out by the lists' generated ones.
pub(crate) const CACHE_CAPACITY: usize = 256;

/// The one row a statement answers (`QueryReturnedNoRows` when none: see `optional()`).
pub(crate) fn row<T, P: Params>(
    c: &Connection,
    sql: &str,
    params: P,
    f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    c.prepare_cached(sql)?.query_row(params, f)
}

/// Runs a statement; answers how many rows it changed.
pub(crate) fn exec<P: Params>(c: &Connection, sql: &str, params: P) -> rusqlite::Result<usize> {
    c.prepare_cached(sql)?.execute(params)
}
