//! The one place a rayon thread pool is built: every command that takes `--threads` (run, probe,
//! speed, peers) gets the same validation and the same error.

use crate::error::{Error, Result};

/// Most worker threads per core a command accepts: more only adds switching (and a typo such as
/// `--threads 100000000` would otherwise spawn threads until memory runs out).
pub const MAX_THREADS_PER_CORE: usize = 4;

/// The cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// A pool of `threads` workers (None = one per core); 1 to [`MAX_THREADS_PER_CORE`] × cores.
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        let max = MAX_THREADS_PER_CORE * cores();
        if !(1..=max).contains(&t) {
            return Err(Error::InvalidPlan {
                field: "--threads",
                reason: format!(
                    "must be between 1 and {max} ({MAX_THREADS_PER_CORE} × the {} cores here; got {t})",
                    cores()
                ),
            });
        }
        builder = builder.num_threads(t);
    }
    builder.build().map_err(|e| Error::InvalidPlan {
        field: "--threads",
        reason: e.to_string(),
    })
}
