//! Store benchmarks: journal append cost (page-cache write, no fsync / batched fsync) and the
//! hot-path sequence reservation check.
//!
//! Prints `RESULT store.journal.append_ns`, `RESULT store.journal.append_batch_sync_ns`
//! (fdatasync every 1024 appends, amortized) and `RESULT store.seq.try_next_ns`.

#[path = "common.rs"]
mod common;

use common::{result_median, Batches};
use std::hint::black_box;
use std::time::Instant;

use ilinkd::config::FsyncPolicy;
use ilinkd::store::journal::{kind, Journal};
use ilinkd::store::{SessionStore, StoreOptions};

const N: u64 = 20_000;
const BATCHES: usize = 5;

fn journal_append(policy: FsyncPolicy, sync_every: u64) -> Batches {
    let dir = tempfile::tempdir().expect("tempdir");
    let msg = [0x5Au8; 128];
    let mut per_batch = Vec::with_capacity(BATCHES);
    for b in 0..=BATCHES {
        let path = dir.path().join(format!("j{b}"));
        let (mut j, _) = Journal::open(&path, policy).expect("open");
        let t = Instant::now();
        for seq in 1..=N {
            j.append(kind::OUTBOUND, seq, black_box(&msg))
                .expect("append");
            if sync_every != 0 && seq % sync_every == 0 {
                j.sync().expect("sync");
            }
        }
        j.sync().expect("sync");
        let ns = t.elapsed().as_nanos() as f64 / N as f64;
        if b > 0 {
            // batch 0 is warm-up
            per_batch.push(ns);
        }
    }
    Batches::of(per_batch)
}

fn seq_try_next() -> Batches {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = StoreOptions {
        fsync: FsyncPolicy::Never,
        reserve_block: 1 << 40,
        reserve_low_water: 1,
    };
    let (mut s, _) = SessionStore::open_with(dir.path(), "B", opts).expect("open");
    s.new_uuid(1).expect("uuid");
    let h = s.handle();
    let iters = 10_000_000u64;
    let mut per_batch = Vec::with_capacity(BATCHES);
    for b in 0..=BATCHES {
        let t = Instant::now();
        for _ in 0..iters {
            black_box(h.try_next_outbound().expect("reserved"));
        }
        let ns = t.elapsed().as_nanos() as f64 / iters as f64;
        if b > 0 {
            per_batch.push(ns);
        }
    }
    Batches::of(per_batch)
}

fn main() {
    println!("# median (and best) of {BATCHES} batches");
    result_median(
        "store.journal.append_ns",
        journal_append(FsyncPolicy::Never, 0),
        "ns",
    );
    result_median(
        "store.journal.append_batch_sync_ns",
        journal_append(FsyncPolicy::Batch, 1024),
        "ns",
    );
    result_median("store.seq.try_next_ns", seq_try_next(), "ns");
}
