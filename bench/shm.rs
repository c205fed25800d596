//! Shared-memory broadcast ring, single-threaded (the machine has two shared cores; a spinning
//! reader thread would measure the neighbours):
//! - `publish_ns`: one 256-byte record appended by the producer (ring wrapping continuously);
//! - `read_ns`: one 256-byte record copied out by a reader, measured over a batch the producer
//!   published just before (the batch fits in the ring, so nothing is lapped).
//!
//! The ring lives in /dev/shm when it exists (as in production), else in a temporary directory.

#[path = "common.rs"]
mod common;

use common::{best_ns_per_iter, result};
use ilinkd::shm::{BroadcastProducer, BroadcastReader, RingOptions};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

const CAPACITY: usize = 1 << 20;
const PAYLOAD: usize = 256;

fn ring_dir() -> tempfile::TempDir {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(&shm) {
            return d;
        }
    }
    tempfile::tempdir().expect("temporary directory")
}

fn main() {
    let dir = ring_dir();
    let path = dir.path().join("bench.ring");
    let mut producer = BroadcastProducer::create(
        &path,
        RingOptions {
            capacity: CAPACITY,
            mode: 0o600,
        },
    )
    .expect("create ring");
    let mut reader = BroadcastReader::open(&path).expect("open ring");
    let payload = [0x5au8; PAYLOAD];
    const BATCHES: usize = 7;
    const ITERS: u64 = 200_000;

    let publish = best_ns_per_iter(BATCHES, ITERS, |i| {
        black_box(producer.publish(8, black_box(i), black_box(&payload))).ok();
    });

    // Records per read batch: 272 bytes each, well under the 1 MiB ring.
    let per_batch = (CAPACITY / 2) / (PAYLOAD + 16);
    let mut buf = Vec::with_capacity(PAYLOAD);
    let mut best = f64::INFINITY;
    let mut seq = 0u64;
    for round in 0..(BATCHES * 20 + 1) {
        reader.seek_end();
        for _ in 0..per_batch {
            producer.publish(8, seq, &payload).expect("publish");
            seq += 1;
        }
        let t = Instant::now();
        let mut got = 0;
        while let Ok(Some(rec)) = reader.poll(&mut buf) {
            black_box(rec.payload);
            got += 1;
        }
        let ns = t.elapsed().as_nanos() as f64 / per_batch as f64;
        assert_eq!(got, per_batch, "reader lost records in the read benchmark");
        if round > 0 {
            best = best.min(ns);
        }
    }

    println!(
        "# ring {} KiB, {PAYLOAD}-byte payloads; publish best of {BATCHES} x {ITERS}, \
         read best of {} x {per_batch}",
        CAPACITY / 1024,
        BATCHES * 20
    );
    result("shm.broadcast.publish_ns", publish, "ns");
    result("shm.broadcast.read_ns", best, "ns");
}
