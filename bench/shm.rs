//! Shared-memory broadcast ring, single-threaded (the machine has two shared cores; a spinning
//! reader thread would measure the neighbours):
//! - `publish_ns`: one 256-byte record appended by the producer (ring wrapping continuously);
//! - `read_ns`: one 256-byte record copied out by a reader, measured over a batch the producer
//!   published just before (the batch fits in the ring, so nothing is lapped).
//!
//! - `spsc.enqueue_ns`: one strategy request (new order, 64-byte record, stamped with the
//!   CLOCK_REALTIME read that every real request pays) enqueued by `ilinkd::client::Client`,
//!   timed over batches that fit the request ring, drained untimed in between;
//! - `spsc.round_trip_ns`: client enqueue + daemon `poll_request` (with validation) + daemon
//!   `push_event` (128-byte ack) + client `poll_event` (with decoding), all on one thread:
//!   two busy-polling threads would need two dedicated cores, which this shared two-core
//!   machine does not have, so this is the pure CPU cost without the cross-core cache-line
//!   transfers (about 2 x 60-100 ns on one socket) that a real daemon/strategy pair adds.
//!
//! Across two pinned cores (the first two the process may use; the only figures here that need
//! two threads, so they are measured last):
//! - `shm.cacheline_pingpong.p50_ns`: the hardware floor: one 8-byte word in its own cache line
//!   passed back and forth between the two threads; half a round trip.
//! - `shm.spsc.one_way_p50_ns` (headline): the ring's transport of one 64-byte request record
//!   between the two threads: client `send_raw` (the record written into its slot, request id
//!   last as the ring's sequence word, producer index stored) → daemon `poll_request_record`
//!   (slot found by its sequence word, record copied out, slot released), answered the same
//!   way through a second segment in the other direction; half a round trip. The record is
//!   pre-encoded and not validated: `poll_request_record` is the ring half of the daemon's
//!   `poll_request`, which the daemon calls (it is `poll_request_record` then
//!   `Request::decode`); validation is the handler's cost (`daemon.handler_send_ns`).
//! - `shm.spsc.one_way_validated_p50_ns`: the same with the daemon's `poll_request` (transport
//!   plus `Request::decode` of every record), on both ends.
//! - `shm.spsc.one_way_vs_cacheline`: `one_way_p50_ns` / `cacheline_pingpong.p50_ns`.
//! - `shm.spsc.msgs_per_s` (headline): one thread enqueues request records (`send_raw`, spinning
//!   while the 4096-record ring is full) as fast as the ring takes them, the other drains them
//!   with `poll_request_record` (storing its index every 64 records and when it finds the
//!   ring empty, as the daemon does); records per second at the consumer, median of 5 runs.
//! - `shm.spsc.validated_msgs_per_s`: the same, draining with `poll_request` (validated).
//!
//! Both p50s are the median over batches of 16 round trips (the clock read once per batch), so
//! the two are measured alike. On this shared 2-core VM the neighbours' builds preempt the
//! spinning threads now and then: the median is robust to that, the mean is not. What it is
//! not robust to is where the hypervisor puts the two vCPUs: on this VM the floor is bimodal
//! from one run to the next (about 17-40 ns, the two vCPUs on sibling threads of one core,
//! an L1-shared handoff; about 215-230 ns, on different cores), and every cross-core figure
//! moves with it (before the sequence word, the ring's one way was 116-123 ns against the
//! first kind of floor and 369-376 ns against the second, in consecutive runs of one build).
//! Compare figures only within one run, as ratios.
//!
//! The rings live in /dev/shm when it exists (as in production), else in a temporary directory.
//!
//! `SHM_BENCH_INSTR=<n>` runs only `n` single-thread transfers of the headline (`send_raw` →
//! `poll_request_record`) and `n` validated ones (`send_raw` → `poll_request`) and exits, for
//! instruction counts that load on the machine does not disturb:
//! `valgrind --tool=callgrind` (per-function inclusive counts) or `perf stat -e instructions`
//! at two values of `n`.

#[path = "common.rs"]
mod common;

use common::{best_ns_per_iter, result};
use ilinkd::client::Client;
use ilinkd::shm::strategy::{request_offsets, Request, RequestBody, REQUEST_RECORD_SIZE};
use ilinkd::shm::strategy::{
    Event, EventKind, OrdType, Order, SegmentOptions, Side, StrategySegment, TimeInForce,
};
use ilinkd::shm::{BroadcastProducer, BroadcastReader, RingOptions};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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
    if let Some(n) = std::env::var("SHM_BENCH_INSTR")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        instr(&dir, n);
        return;
    }
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
    spsc(&dir);
    cross_core(&dir);
}

/// Round trips per timed batch of the cross-core ping-pongs.
const PER_BATCH: usize = 16;
const PINGPONG_BATCHES: usize = 20_000;
const PINGPONG_WARMUP: usize = 1_000;

fn pin(core: Option<core_affinity::CoreId>) {
    if let Some(c) = core {
        core_affinity::set_for_current(c);
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// One word on its own cache line (and the next one, against the adjacent-line prefetcher).
#[repr(align(128))]
struct Padded(AtomicU64);

/// The floor: a word bounced between two cores; nanoseconds per one-way trip (p50 of batches).
fn cacheline_pingpong(a: Option<core_affinity::CoreId>, b: Option<core_affinity::CoreId>) -> f64 {
    let total = ((PINGPONG_WARMUP + PINGPONG_BATCHES) * PER_BATCH) as u64;
    let line = Arc::new(Padded(AtomicU64::new(0)));
    let other = Arc::clone(&line);
    let echo = std::thread::spawn(move || {
        pin(b);
        for i in 0..total {
            let ping = 2 * i + 1;
            while other.0.load(Ordering::Acquire) != ping {
                std::hint::spin_loop();
            }
            other.0.store(ping + 1, Ordering::Release);
        }
    });
    pin(a);
    let mut samples = Vec::with_capacity(PINGPONG_BATCHES);
    let mut v = 0u64;
    for batch in 0..PINGPONG_WARMUP + PINGPONG_BATCHES {
        let t = Instant::now();
        for _ in 0..PER_BATCH {
            line.0.store(v + 1, Ordering::Release);
            while line.0.load(Ordering::Acquire) != v + 2 {
                std::hint::spin_loop();
            }
            v += 2;
        }
        if batch >= PINGPONG_WARMUP {
            samples.push(t.elapsed().as_nanos() as f64 / (2 * PER_BATCH) as f64);
        }
    }
    echo.join().expect("echo thread");
    median(&mut samples)
}

fn segment(dir: &tempfile::TempDir, name: &str, capacity: u32) -> (StrategySegment, Client) {
    let path = dir.path().join(name);
    let seg = StrategySegment::create(
        &path,
        &SegmentOptions {
            name: "bench".into(),
            sessions: 1,
            request_capacity: capacity,
            event_capacity: 16,
            group: None,
        },
    )
    .expect("create strategy segment");
    let client = Client::attach(&path).expect("attach");
    (seg, client)
}

/// A new order record, encoded once; [`stamp`] gives it each send's request id.
fn record() -> [u8; REQUEST_RECORD_SIZE] {
    Request {
        request_id: 1,
        enqueue_ns: 1,
        body: RequestBody::NewOrder(Order {
            session: 0,
            security_id: 42,
            side: Side::Buy,
            qty: 1,
            price: Some(4_500_250_000_000),
            ord_type: OrdType::Limit,
            tif: TimeInForce::Day,
            stop_px: None,
            min_qty: None,
            display_qty: None,
            expire_date: None,
        }),
    }
    .encode()
}

/// Sends `rec` as the client's next request (its request id, the ring's sequence word, set to
/// the client's `next_request_id`, as `Client::send` does), spinning while the ring is full.
#[inline(always)]
fn send(client: &mut Client, rec: &mut [u8; REQUEST_RECORD_SIZE]) {
    let at = request_offsets::REQUEST_ID;
    rec[at..at + 8].copy_from_slice(&client.next_request_id().to_ne_bytes());
    while client.send_raw(rec).is_err() {
        std::hint::spin_loop();
    }
}

/// Takes one record (validated with `poll_request`, or the raw record with
/// `poll_request_record`), spinning while the ring is empty.
#[inline(always)]
fn take(seg: &mut StrategySegment, validated: bool) {
    loop {
        if validated {
            if let Some(r) = seg.poll_request() {
                black_box(r.expect("valid request"));
                return;
            }
        } else if let Some(r) = seg.poll_request_record() {
            black_box(r.expect("ring intact"));
            return;
        }
        std::hint::spin_loop();
    }
}

/// A request record bounced between two cores through two strategy segments' request rings;
/// nanoseconds per one-way trip (p50 of batches).
fn spsc_pingpong(
    dir: &tempfile::TempDir,
    a: Option<core_affinity::CoreId>,
    b: Option<core_affinity::CoreId>,
    validated: bool,
) -> f64 {
    let total = (PINGPONG_WARMUP + PINGPONG_BATCHES) * PER_BATCH;
    let (mut there_seg, mut there) =
        segment(dir, &format!("ilinkd-pingpong-there-{validated}"), 64);
    let (mut back_seg, mut back) = segment(dir, &format!("ilinkd-pingpong-back-{validated}"), 64);
    let mut rec = record();
    let echo = std::thread::spawn(move || {
        pin(b);
        let mut rec = record();
        for _ in 0..total {
            take(&mut there_seg, validated);
            send(&mut back, &mut rec);
        }
    });
    pin(a);
    let mut samples = Vec::with_capacity(PINGPONG_BATCHES);
    for batch in 0..PINGPONG_WARMUP + PINGPONG_BATCHES {
        let t = Instant::now();
        for _ in 0..PER_BATCH {
            send(&mut there, &mut rec);
            take(&mut back_seg, validated);
        }
        if batch >= PINGPONG_WARMUP {
            samples.push(t.elapsed().as_nanos() as f64 / (2 * PER_BATCH) as f64);
        }
    }
    echo.join().expect("echo thread");
    median(&mut samples)
}

/// Records per second streamed one way through a request ring (median of 5 runs).
fn spsc_stream(
    dir: &tempfile::TempDir,
    a: Option<core_affinity::CoreId>,
    b: Option<core_affinity::CoreId>,
    validated: bool,
) -> f64 {
    const N: u64 = 2_000_000;
    let mut rates = Vec::new();
    for run in 0..5 {
        let (mut seg, mut client) = segment(dir, &format!("ilinkd-stream-{run}-{validated}"), 4096);
        let mut rec = record();
        let consumer = std::thread::spawn(move || {
            pin(b);
            take(&mut seg, validated);
            let t = Instant::now();
            for _ in 1..N {
                take(&mut seg, validated);
            }
            (N - 1) as f64 / t.elapsed().as_secs_f64()
        });
        pin(a);
        for _ in 0..N {
            send(&mut client, &mut rec);
        }
        rates.push(consumer.join().expect("consumer thread"));
    }
    median(&mut rates)
}

/// `n` raw then `n` validated transfers on one thread (see the module docs).
#[inline(never)]
fn instr(dir: &tempfile::TempDir, n: u64) {
    let (mut seg, mut client) = segment(dir, "ilinkd-instr", 64);
    let mut rec = record();
    for _ in 0..n {
        send(&mut client, &mut rec);
        take(&mut seg, false);
    }
    for _ in 0..n {
        send(&mut client, &mut rec);
        take(&mut seg, true);
    }
    println!("# {n} raw and {n} validated single-thread transfers");
}

fn cross_core(dir: &tempfile::TempDir) {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let (a, b) = (cores.first().copied(), cores.get(1).copied());
    match (a, b) {
        (Some(a), Some(b)) => println!(
            "# cross-core: threads pinned to cores {} and {}",
            a.id, b.id
        ),
        _ => println!("# cross-core: fewer than two cores available, threads not pinned"),
    }
    let floor = cacheline_pingpong(a, b);
    let one_way = spsc_pingpong(dir, a, b, false);
    let one_way_validated = spsc_pingpong(dir, a, b, true);
    let rate = spsc_stream(dir, a, b, false);
    let rate_validated = spsc_stream(dir, a, b, true);
    println!(
        "# cross-core p50s: median of {PINGPONG_BATCHES} batches of {PER_BATCH} round trips, \
         half a round trip each"
    );
    result("shm.cacheline_pingpong.p50_ns", floor, "ns");
    result("shm.spsc.one_way_p50_ns", one_way, "ns");
    result("shm.spsc.one_way_validated_p50_ns", one_way_validated, "ns");
    result("shm.spsc.one_way_vs_cacheline", one_way / floor, "x");
    result("shm.spsc.msgs_per_s", rate, "msg/s");
    result("shm.spsc.validated_msgs_per_s", rate_validated, "msg/s");
}

fn spsc(dir: &tempfile::TempDir) {
    const SLOTS: u32 = 4096;
    let path = dir.path().join("ilinkd-strategy-bench");
    let mut seg = StrategySegment::create(
        &path,
        &SegmentOptions {
            name: "bench".into(),
            sessions: 1,
            request_capacity: SLOTS,
            event_capacity: SLOTS,
            group: None,
        },
    )
    .expect("create strategy segment");
    let mut client = Client::attach(&path).expect("attach");
    let order = Order {
        session: 0,
        security_id: 42,
        side: Side::Buy,
        qty: 1,
        price: Some(4_500_250_000_000),
        ord_type: OrdType::Limit,
        tif: TimeInForce::Day,
        stop_px: None,
        min_qty: None,
        display_qty: None,
        expire_date: None,
    };
    const ROUNDS: usize = 50;
    let mut enqueue = f64::INFINITY;
    for round in 0..=ROUNDS {
        let t = Instant::now();
        for _ in 0..SLOTS {
            black_box(
                client
                    .new_order(black_box(&order))
                    .expect("room in the ring"),
            );
        }
        let ns = t.elapsed().as_nanos() as f64 / f64::from(SLOTS);
        let mut drained = 0;
        while let Some(r) = seg.poll_request() {
            black_box(r.expect("valid request"));
            drained += 1;
        }
        assert_eq!(drained, SLOTS, "daemon side lost requests");
        if round > 0 {
            enqueue = enqueue.min(ns);
        }
    }

    const ITERS: u64 = 100_000;
    let round_trip = best_ns_per_iter(7, ITERS, |_| {
        let id = client.new_order(black_box(&order)).expect("room");
        let req = seg.poll_request().expect("a request").expect("valid");
        let ack = Event {
            request_id: req.request_id,
            order_id: id,
            request_enqueue_ns: req.enqueue_ns,
            ..Event::new(EventKind::Ack)
        };
        seg.push_event(&ack).expect("room");
        black_box(client.poll_event().expect("an event").expect("decodes"));
    });
    println!(
        "# strategy segment: {SLOTS}-slot rings, 64-byte requests, 128-byte events; enqueue \
         best of {ROUNDS} x {SLOTS}, round trip best of 7 x {ITERS}, single thread"
    );
    result("shm.spsc.enqueue_ns", enqueue, "ns");
    result("shm.spsc.round_trip_ns", round_trip, "ns");
}
