//! The one place a rayon thread pool is built: every command that takes `--threads` (run, probe,
//! speed, peers) gets the same validation and the same error.

use crate::error::{Error, Result};

/// A pool of `threads` workers (None = one per core).
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        builder = builder.num_threads(t);
    }
    builder.build().map_err(|e| Error::InvalidPlan {
        field: "--threads",
        reason: e.to_string(),
    })
}
