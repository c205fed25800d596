//! Shared-memory transport between the daemon and local tools.
//!
//! [`strategy`]: one segment per local strategy process, with a request ring and an event ring
//! (single-producer single-consumer, fixed-size records; see that module for the layout, the
//! C mirror is `include/ilinkd.h`, the Rust client `ilinkd::client`).
//!
//! [`BroadcastProducer`] / [`BroadcastReader`]: a single-producer, many-reader broadcast ring in
//! a file (by default under [`DEFAULT_DIR`], `/dev/shm`), after Aeron's broadcast buffer. The
//! daemon appends every accepted Drop Copy business message; any number of reader processes
//! (e.g. `ilinkd dropcopy tail`) follow it, each with its own position, and never write to it.
//! A producer never waits for readers: a reader that falls more than a capacity behind is told
//! it was lapped (`ReadError::Lapped`) and continues from the latest record, never given
//! overwritten bytes.
//!
//! File layout (ABI version [`ABI_VERSION`], native endianness, one machine):
//! - header, 512 bytes, each producer-written counter on its own 64-byte line:
//!   line 0: magic `u64`, version `u32`, header length `u32`, capacity `u64`, producer pid `u64`;
//!   then `tail_intent`, `tail`, `latest`, `heartbeat_ns` (`u64` each), then reserved lines;
//! - data area, `capacity` bytes (a power of two), at offset 512.
//!
//! Positions are `u64` byte counts since the ring was created; a position's offset in the data
//! area is `pos % capacity`. A record is `{len: u32, kind: u32, seq: u64}` then `len` payload
//! bytes, padded to 8 bytes; it never wraps: if it does not fit before the end of the data area
//! the rest is filled by a padding record (kind [`PADDING_KIND`]; an 8-byte remainder is skipped
//! without one) and the record starts at offset 0. The largest payload is `capacity / 8`.
//!
//! Publishing: store `tail_intent` = end of the new record, Release fence, write the record
//! (relaxed atomic word stores), store `latest` and `tail` (Release). Reading: load `tail`
//! (Acquire), copy the record (relaxed atomic word loads), Acquire fence, load `tail_intent`: if
//! it is more than a capacity past the record's position the copy may be torn and is dropped.
//! All shared bytes are accessed as atomics, so this race is well-defined; the only `unsafe` is
//! the typed view of the mapping in `mapping.rs`.
//!
//! Limits: the file must not be truncated while mapped (only the producer opens it for writing,
//! mode 0600 or 0640, and never truncates it); a truncation by a third party would crash readers
//! with SIGBUS, as with any mapped file.

#![deny(clippy::undocumented_unsafe_blocks)]

mod broadcast;
mod file;
mod mapping;
mod records;
mod spsc;
pub mod strategy;

pub use broadcast::{
    BroadcastProducer, BroadcastReader, PublishError, ReadError, Record, RingOptions, ShmError,
    ABI_VERSION, DEFAULT_DIR, MAGIC, MAX_CAPACITY, MIN_CAPACITY, PADDING_KIND, RECORD_HEADER_LEN,
};

#[cfg(test)]
mod tests;
