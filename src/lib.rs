//! ilinkd: a low-latency CME Globex gateway.
//!
//! The library holds every piece of the daemon; `src/main.rs` is the `ilinkd` command line.
//! Protocol code (`auth`, `ilink3`, `dropcopy`) is sans-IO: it takes bytes and a timestamp and
//! returns bytes, events and deadlines, so every scenario is a deterministic test with a fake
//! clock (`layering_tests` checks the source for IO).
//! `unsafe` is only allowed in `shm`, `net` and `runtime`: the `[lints]` table of Cargo.toml
//! denies it everywhere and the three `#[allow(unsafe_code)]` below let it back in; each block
//! has a `// SAFETY:` comment (clippy's `undocumented_unsafe_blocks`).

pub mod auth;
pub mod cert;
pub mod client;
pub mod config;
pub mod daemon;
pub mod dropcopy;
pub mod ilink3;
pub mod latency;
#[allow(unsafe_code)]
pub mod net;
#[allow(unsafe_code)]
pub mod runtime;
#[allow(unsafe_code)]
pub mod shm;
pub mod sim;
pub mod store;
pub mod types;
pub mod week;

#[cfg(test)]
mod layering_tests;
