//! A global allocator that counts each thread's heap allocations, for tests and benchmarks that
//! prove a path allocates nothing (`#[global_allocator] static A: CountingAlloc = CountingAlloc;`
//! in the test binary, then compare [`thread_allocations`] before and after).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Forwards to [`System`] and counts allocations (and reallocations) per thread.
pub struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Allocations made so far by the calling thread (only while `CountingAlloc` is installed).
pub fn thread_allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// Every method forwards to the system allocator with the caller's arguments unchanged, so it
// upholds `GlobalAlloc`'s contract exactly as `System` does; the counter is a const-initialised
// thread-local `Cell` with no destructor, which never allocates when touched.
// SAFETY: a pure forwarder to `System` plus a non-allocating counter (see above).
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged; the caller guarantees `layout` is valid for `alloc`.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System` via `alloc`/`realloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
