//! Runtime: the threads, idle strategies and network backends the daemon runs on.
//!
//! - [`idle`]: what a busy-polling loop does when a pass found no work ([`idle::Idler`]).
//! - [`threads`]: named hot and housekeeping threads pinned to configured cores, talking through
//!   bounded lock-free queues ([`threads::Link`]).
//! - [`net`]: non-blocking TCP client backends driven by a hot thread: io_uring (registered send
//!   buffers, multishot receive into a provided-buffer ring, fixed files) and a busy-polled
//!   non-blocking socket backend, plus the [`net::Reconnector`] backoff state machine.
//!
//! - [`clock`]: the raw TSC read behind `latency::clock` (the one `unsafe` intrinsic it needs).
//! - [`alloc_count`]: a counting global allocator for tests that prove a path allocates nothing.
//!
//! This module and `shm` are the only places with `unsafe`; each block says why it is sound.

pub mod alloc_count;
pub mod clock;
pub mod idle;
pub mod threads;
