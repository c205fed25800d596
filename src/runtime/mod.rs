//! Runtime: the threads and idle strategies the daemon runs on.
//!
//! - [`idle`]: what a busy-polling loop does when a pass found no work ([`idle::Idler`]).
//! - [`threads`]: named hot and housekeeping threads pinned to configured cores, talking through
//!   bounded lock-free queues ([`threads::Link`]).
//! - [`clock`]: the raw TSC read behind `latency::clock` (the one `unsafe` intrinsic it needs).
//! - [`alloc_count`]: a counting global allocator for tests that prove a path allocates nothing.
//!
//! This module, `shm` and `net` are the only places with `unsafe`; each block says why it is
//! sound.

pub mod alloc_count;
pub mod clock;
pub mod idle;
pub mod threads;
