//! A global allocator that counts the bytes one thread allocates, so a test can measure the peak
//! memory of a piece of work (a codec fit) without other tests' allocations in the count: the
//! work runs on the single worker of its own rayon pool (where its parallel loops run too) with
//! counting switched on for that thread only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// [`System`] plus per-thread counting.
pub struct Meter;

#[global_allocator]
static METER: Meter = Meter;

thread_local! {
    /// Counting on this thread.
    static ON: Cell<bool> = const { Cell::new(false) };
    /// Bytes allocated minus bytes freed on this thread since counting began.
    static NOW: Cell<i64> = const { Cell::new(0) };
    /// The largest `NOW` seen.
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn count(delta: i64) {
    let _ = ON.try_with(|on| {
        if on.get() {
            let now = NOW.with(|n| {
                n.set(n.get() + delta);
                n.get()
            });
            PEAK.with(|p| p.set(p.get().max(now)));
        }
    });
}

// SAFETY: every call is forwarded to `System` unchanged; the counting touches only
// const-initialised thread-locals without destructors (no allocation, no re-entry).
unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as i64);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as i64);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as i64));
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as i64 - layout.size() as i64);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Run `work` on a one-thread rayon pool with counting on; returns its result and the peak
/// bytes it held at once (what it keeps in its result included).
pub fn peak_bytes<T: Send>(work: impl FnOnce() -> T + Send) -> (T, u64) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("one-thread pool");
    pool.install(|| {
        NOW.with(|n| n.set(0));
        PEAK.with(|p| p.set(0));
        ON.with(|on| on.set(true));
        let out = work();
        ON.with(|on| on.set(false));
        (out, PEAK.with(Cell::get).max(0) as u64)
    })
}
