//! ilinkd: a low-latency CME Globex gateway.
//!
//! The library holds every piece of the daemon; `src/main.rs` is the `ilinkd` command line.
//! Protocol code (`auth`, `ilink3`, `fix`) is sans-IO: it takes bytes and a timestamp and returns
//! bytes, events and deadlines, so every scenario is a deterministic test with a fake clock.
//! `unsafe` is only allowed in `shm` and `runtime`.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod auth;
pub mod client;
pub mod config;
pub mod daemon;
pub mod dropcopy;
pub mod ilink3;
pub mod latency;
pub mod net;
pub mod runtime;
pub mod shm;
pub mod sim;
pub mod store;
pub mod types;
