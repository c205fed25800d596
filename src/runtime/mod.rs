//! Runtime support for the daemon's threads: the pieces that touch the CPU or the kernel directly.
//!
//! This is one of the two places (with `shm`) where `unsafe` is allowed; every block carries a
//! `// SAFETY:` comment.

pub mod clock;
