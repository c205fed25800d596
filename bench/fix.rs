//! Drop Copy ExecutionReport decode: framing, CheckSum, every tag checked and the typed
//! `DropCopyReport` extracted, for a realistic 265-byte 35=8.
//!
//! Run: `cargo bench --bench fix` (or `scripts/bench.sh fix`).
//!
//! Method: short rounds (2,000 messages each) spread over about three seconds, interleaved with
//! rounds of the general field indexer and of a fixed SHA-256 compression. On a shared VM the
//! host's other work comes and goes in phases of seconds, so a single burst can land entirely in
//! a slow phase. The headline figure is the median round (what a user gets on this machine); the
//! best round (an undisturbed core) is printed beside it as `.best`.
//!
//! `FIX_BENCH_QUICK=1`: a few rounds only (for instruction counting under valgrind).

#[path = "common.rs"]
mod common;

use common::{result_median, Batches};
use ilinkd::dropcopy::{checksum, frame, FieldIndex, Frame, ReportParser};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn exec_report() -> Vec<u8> {
    let body = "35=8|34=1234567|49=CME|56=ABC123N|50=G|57=OPS|52=20240315-13:30:00.125|\
37=7364212345|11=ORD-0000012345|17=64533:1234567|150=F|39=1|20=0|55=ESM4|48=5602|\
54=1|38=10|40=2|44=5250.75|59=0|32=4|31=5250.50|14=4|151=6|\
60=20240315-13:30:00.120123456|"
        .replace('|', "\x01");
    let mut m = format!("8=FIX.4.2\x019={}\x01{}", body.len(), body).into_bytes();
    let sum = checksum(&m);
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    m
}

fn main() {
    let msg = exec_report();
    let mut parser = ReportParser::new();
    // Sanity: the message must frame and decode to the expected report.
    let Frame::Complete(len) = frame(&msg) else {
        panic!("benchmark message does not frame")
    };
    assert_eq!(len, msg.len());
    let r = parser.parse(&msg).expect("benchmark message decodes");
    assert_eq!(r.exec_id, Some("64533:1234567"));
    assert_eq!(r.last_px.map(|p| p.0), Some(5_250_500_000_000));
    eprintln!("message: {} bytes", msg.len());

    let quick = std::env::var_os("FIX_BENCH_QUICK").is_some();
    let per_round: u32 = if quick { 1_000 } else { 2_000 };
    let budget = if quick {
        Duration::ZERO
    } else {
        Duration::from_secs(3)
    };
    let min_rounds = if quick { 3 } else { 50 };

    let mut idx = FieldIndex::new();
    let mut state = [0u32; 8];
    let block = sha2::digest::generic_array::GenericArray::clone_from_slice(&[7u8; 64]);
    let round = |f: &mut dyn FnMut()| -> f64 {
        let t = Instant::now();
        for _ in 0..per_round {
            f();
        }
        t.elapsed().as_nanos() as f64 / f64::from(per_round)
    };
    let decode = |parser: &mut ReportParser| {
        let m = black_box(&msg[..]);
        let Frame::Complete(n) = frame(m) else {
            panic!("frame")
        };
        let r = parser.parse(&m[..n]).expect("decode");
        black_box(r.last_px);
        black_box(r.exec_id);
    };
    // Warm-up.
    round(&mut || decode(&mut parser));

    let (mut report, mut indexed, mut calib) = (Vec::new(), Vec::new(), Vec::new());
    let start = Instant::now();
    while report.len() < min_rounds || start.elapsed() < budget {
        report.push(round(&mut || decode(&mut parser)));
        indexed.push(round(&mut || {
            black_box(ilinkd::dropcopy::parse(black_box(&msg[..]), &mut idx).is_ok());
        }));
        calib.push(round(&mut || {
            sha2::compress256(&mut state, std::slice::from_ref(&block));
            black_box(&state);
        }));
    }
    let rounds = report.len();
    let report = Batches::of(report);
    let indexed = Batches::of(indexed);
    let calib = Batches::of(calib);
    eprintln!(
        "{rounds} rounds of {per_round}; calibration sha2::compress256 one block: best \
         {:.1} ns, median {:.1} ns (35 ns on the PROTOCOL.md reference machine)",
        calib.best, calib.median
    );
    eprintln!(
        "general field indexer (codec::parse, no extraction): median {:.1} ns, best {:.1} ns",
        indexed.median, indexed.best
    );
    result_median("fix.parse.exec_report_ns", report, "ns");
    result_median(
        "fix.parse.exec_report_msgs_per_s",
        report.map(|ns| 1e9 / ns),
        "msgs/s",
    );
}
