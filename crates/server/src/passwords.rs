//! Password work (argon2id: 19 MiB of memory and tens of milliseconds of a core each) on a
//! bounded queue served by threads of its own: one per core. The rest wait a little, then
//! are refused (503 with `Retry-After`). So a burst of sign-ins can neither take the memory
//! nor the blocking pool that the store's work runs on: on the shared pool, every thread
//! that ever hashed kept its own allocator arena with the 19 MiB in it (40 sign-ins at once
//! took the server from 92 MB to 871 MB, bursts to gigabytes); here the same few threads
//! each keep one argon2 working memory ([`PasswordMemory`]) and reuse it for every check.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_registry::user::{hash_password, verify_password, PasswordMemory};
use gatehouse_registry::SecretValue;
use tokio::sync::{oneshot, Semaphore};

thread_local! {
    /// A password thread's argon2 memory, reused by every hash and check it runs.
    static MEMORY: std::cell::RefCell<PasswordMemory> = std::cell::RefCell::default();
}

/// How long password work waits for its turn before it is refused.
const WAIT: Duration = Duration::from_secs(2);
/// What a refused request is told (`Retry-After`, seconds).
pub const RETRY_AFTER: &str = "1";

type Job = Box<dyn FnOnce() + Send>;

#[derive(Debug, Clone)]
pub struct PasswordGate {
    turns: Arc<Semaphore>,
    jobs: SyncSender<Job>,
}

impl Default for PasswordGate {
    /// One thread per core.
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, usize::from))
    }
}

impl PasswordGate {
    /// `threads` threads of its own, started now; they end with the last gate.
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let (jobs, queue) = sync_channel::<Job>(threads);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            let spawned =
                std::thread::Builder::new().name(format!("gatehouse-passwords-{i}")).spawn(move || serve(&queue));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password thread");
            }
        }
        Self { turns: Arc::new(Semaphore::new(threads)), jobs }
    }

    /// Checks `password` against `hash`; `None` when its turn did not come within [`WAIT`]
    /// (the caller answers 503).
    pub async fn verify(&self, hash: String, password: SecretValue) -> Option<bool> {
        self.run(move || MEMORY.with_borrow_mut(|memory| verify_password(&hash, &password, memory))).await
    }

    /// Hashes `password` (its length checked); `None` as for [`PasswordGate::verify`].
    pub async fn hash(&self, password: SecretValue) -> Option<gatehouse_registry::Result<String>> {
        self.run(move || MEMORY.with_borrow_mut(|memory| hash_password(&password, memory))).await
    }

    /// Runs `work` on the password threads once its turn comes; `None` when it did not come
    /// within [`WAIT`].
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let turn = tokio::time::timeout(WAIT, Arc::clone(&self.turns).acquire_owned()).await.ok()?.ok()?;
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _turn = turn;
            let _ = done.send(work());
        });
        // Never blocks: a turn is held per queued job, and the queue has a place per turn.
        self.jobs.try_send(job).ok()?;
        result.await.ok()
    }
}

fn serve(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}
