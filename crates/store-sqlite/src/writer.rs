//! The store's one writer: a thread that owns a connection and runs every write (decision 51).
//!
//! SQLite lets one writer at a time hold a database. Writers on a pool of connections take
//! turns at its lock (a writer that finds it taken sleeps in SQLite's busy handler, a
//! millisecond at least), and each one that writes empties the page cache of every other
//! connection, so the next write on another connection reads its pages again. One thread that
//! runs every write on one connection has neither cost: its cache stays warm, and writes queue
//! in memory instead of sleeping on a lock.
//!
//! What is queued when the writer is free to begin is run in one transaction, each write in
//! its own savepoint (group commit): a write that fails is rolled back to its savepoint and
//! answered at once; the others are answered once the transaction has committed, with the
//! commit's failure if it fails. So a caller sees its write done only when it is on disk in
//! the WAL, and nothing of a failed write is kept.
//!
//! The writer does not copy the WAL back into the database (a checkpoint: page copies and two
//! `fsync`s, which would stall every queued write): a second thread does, passively (beside
//! readers and the writer), every [`CHECKPOINT_EVERY`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use gatehouse_registry::error::Result;

use crate::{metrics, storage};

/// At most this many writes share one transaction.
const BATCH_MAX: usize = 64;
/// At most this many writes wait for the writer; more callers wait to queue (back-pressure
/// on the requests, not memory).
const QUEUE_MAX: usize = 1024;
/// How often the WAL is copied back into the database (SQLite's own default, a checkpoint
/// per 1000 pages written, comes about this often under load).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// How a write ended, for the transaction it ran in: `None` if it failed (and has been
/// answered); else what answers it once the transaction's outcome is known.
type Finish = Box<dyn FnOnce(std::result::Result<(), &str>) + Send>;
/// A queued write: given the connection (or why it cannot run), it runs.
type Job = Box<dyn FnOnce(std::result::Result<&Connection, &str>) -> Option<Finish> + Send>;

/// The handle to the writer thread and the checkpointer; both end when the last handle is
/// dropped.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
    _checkpoints: std_mpsc::Sender<()>,
}

const STOPPED: &str = "the store's writer has stopped";

impl Writer {
    /// Starts the writer thread on `conn` and the checkpointer on `checkpointer`, two
    /// connections to one database.
    pub(crate) fn start(mut conn: Connection, checkpointer: Connection) -> Result<Self> {
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(storage)?;
        let (checkpoints, stop) = std_mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("gatehouse-sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(std_mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
                    // Busy (another process checkpoints) or failed: the next round tries again.
                    let _ = checkpointer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .map_err(storage)?;
        let (queue, mut jobs) = mpsc::channel::<Job>(QUEUE_MAX);
        std::thread::Builder::new()
            .name("gatehouse-sqlite-writer".into())
            .spawn(move || {
                while let Some(first) = jobs.blocking_recv() {
                    let mut batch = vec![first];
                    while batch.len() < BATCH_MAX {
                        match jobs.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    run_batch(&mut conn, batch);
                }
            })
            .map_err(storage)?;
        Ok(Self { queue, _checkpoints: checkpoints })
    }

    /// Runs `f` as one write and answers once it has committed. `op` names the store method,
    /// for the metrics: the wait for the writer is the connection wait, the transaction time
    /// runs from the write's start to its commit.
    pub(crate) async fn write<T, F>(&self, op: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T>>();
        let queued = Instant::now();
        let job: Job = Box::new(move |conn| {
            metrics::connection_wait(queued.elapsed());
            let conn = match conn {
                Ok(c) => c,
                Err(why) => {
                    let _ = answer.send(Err(storage(why)));
                    return None;
                }
            };
            let timer = metrics::Transaction::start(op, metrics::Kind::Write);
            match f(conn) {
                Ok(value) => Some(Box::new(move |committed: std::result::Result<(), &str>| {
                    drop(timer);
                    let _ = answer.send(committed.map(|()| value).map_err(storage));
                })),
                Err(e) => {
                    let _ = answer.send(Err(e));
                    None
                }
            }
        });
        self.queue.send(job).await.map_err(|_| storage(STOPPED))?;
        answered.await.map_err(|_| storage("the store's writer failed on this write"))?
    }
}

/// Runs `batch` in one immediate transaction, each job in its own savepoint.
fn run_batch(conn: &mut Connection, batch: Vec<Job>) {
    if let Err(e) = statement(conn, "BEGIN IMMEDIATE") {
        let why = e.to_string();
        batch.into_iter().for_each(|job| drop(job(Err(&why))));
        return;
    }
    let mut done: Vec<Finish> = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    let mut broken: Option<String> = None;
    for job in jobs.by_ref() {
        if let Err(e) = statement(conn, "SAVEPOINT w") {
            drop(job(Err(&e.to_string())));
            broken = Some(e.to_string());
            break;
        }
        let ran = catch_unwind(AssertUnwindSafe(|| job(Ok(conn))));
        // Some failures (a full disk, an I/O error) make SQLite roll back the whole
        // transaction: what ran before this job is gone, and nothing more may run outside it.
        if conn.is_autocommit() {
            broken = Some("the transaction was rolled back".into());
            if let Ok(Some(finish)) = ran {
                done.push(finish);
            }
            break;
        }
        let kept = match ran {
            Ok(Some(finish)) => {
                done.push(finish);
                statement(conn, "RELEASE w")
            }
            // Failed (and answered) or panicked (answered by its dropped channel): undone.
            Ok(None) | Err(_) => statement(conn, "ROLLBACK TO w").and_then(|_| statement(conn, "RELEASE w")),
        };
        if let Err(e) = kept {
            broken = Some(e.to_string());
            break;
        }
    }
    let outcome = match broken {
        None => statement(conn, "COMMIT").map_err(|e| e.to_string()),
        Some(why) => Err(why),
    };
    if outcome.is_err() && !conn.is_autocommit() {
        let _ = statement(conn, "ROLLBACK");
    }
    match &outcome {
        Ok(()) => done.into_iter().for_each(|finish| finish(Ok(()))),
        Err(why) => {
            done.into_iter().for_each(|finish| finish(Err(why)));
            jobs.for_each(|job| drop(job(Err(why))));
        }
    }
}

fn statement(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    crate::sql::exec(conn, sql, []).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_registry::error::RegistryError;

    fn writer() -> (Writer, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("dir");
        let conn = Connection::open(dir.path().join("w.db")).expect("open");
        conn.busy_timeout(std::time::Duration::ZERO).expect("no wait");
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER UNIQUE)").expect("schema");
        let checkpointer = Connection::open(dir.path().join("w.db")).expect("open");
        (Writer::start(conn, checkpointer).expect("start"), dir)
    }

    fn count(dir: &tempfile::TempDir) -> i64 {
        let conn = Connection::open(dir.path().join("w.db")).expect("open");
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).expect("count")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_that_share_a_transaction_fail_alone() {
        let (w, dir) = writer();
        // The writer is kept busy while 200 writes queue, so that they share transactions
        // (64 at most each): the odd ones write a row and then fail, and nothing of theirs is
        // kept; the even ones are kept.
        let busy = tokio::spawn({
            let w = w.clone();
            async move {
                w.write("t", |_| {
                    std::thread::sleep(Duration::from_millis(300));
                    Ok(())
                })
                .await
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let writes: Vec<_> = (0..200)
            .map(|i| {
                let w = w.clone();
                tokio::spawn(async move {
                    w.write("t", move |c| {
                        c.execute("INSERT INTO t (v) VALUES (?1)", [i]).map_err(storage)?;
                        if i % 2 == 1 {
                            return Err(RegistryError::Conflict("odd".into()));
                        }
                        Ok(i)
                    })
                    .await
                })
            })
            .collect();
        busy.await.expect("join").expect("busy write");
        let mut kept = 0;
        for (i, w) in writes.into_iter().enumerate() {
            match w.await.expect("join") {
                Ok(v) => {
                    assert_eq!(v, i);
                    kept += 1;
                }
                Err(e) => assert!(matches!(e, RegistryError::Conflict(_)) && i % 2 == 1, "{i}: {e:?}"),
            }
        }
        assert_eq!(kept, 100);
        assert_eq!(count(&dir), 100);
    }

    #[tokio::test]
    async fn a_write_that_panics_is_undone_and_the_writer_goes_on() {
        let (w, dir) = writer();
        let failed = w
            .write("t", |c| -> Result<()> {
                c.execute("INSERT INTO t (v) VALUES (1)", []).map_err(storage)?;
                panic!("a bug in a write");
            })
            .await;
        assert!(failed.is_err());
        w.write("t", |c| c.execute("INSERT INTO t (v) VALUES (2)", []).map_err(storage)).await.expect("next write");
        assert_eq!(count(&dir), 1);
    }

    #[tokio::test]
    async fn a_failed_begin_fails_every_write_of_the_batch() {
        let (w, dir) = writer();
        // Another connection holds the write lock past the writer's busy timeout (none set).
        let holder = Connection::open(dir.path().join("w.db")).expect("open");
        holder.execute_batch("BEGIN IMMEDIATE").expect("lock");
        let e = w.write("t", |c| c.execute("INSERT INTO t (v) VALUES (3)", []).map_err(storage)).await;
        assert!(matches!(e, Err(RegistryError::Storage(_))), "{e:?}");
        holder.execute_batch("ROLLBACK").expect("unlock");
        w.write("t", |c| c.execute("INSERT INTO t (v) VALUES (4)", []).map_err(storage)).await.expect("after");
        assert_eq!(count(&dir), 1);
    }

    #[tokio::test]
    async fn the_checkpointer_copies_the_wal_back() {
        let (w, dir) = writer();
        w.write("t", |c| c.execute("INSERT INTO t (v) VALUES (5)", []).map_err(storage)).await.expect("write");
        // The table and its row are written in the WAL; the database file holds only its
        // first page until a checkpoint copies them back (the writer never does).
        let file = dir.path().join("w.db");
        let started = Instant::now();
        while std::fs::metadata(&file).expect("file").len() < 2 * 4096 {
            assert!(started.elapsed() < Duration::from_secs(10), "no checkpoint");
            std::thread::sleep(CHECKPOINT_EVERY);
        }
    }
}
