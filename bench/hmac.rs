//! HMAC-SHA256 signing of the iLink 3 Establish canonical message:
//! - `precomputed`: ilinkd's signer (ipad/opad states saved once, compress256 driven directly);
//! - `keyed_clone`: the `hmac` crate keyed once, its state cloned per signature;
//! - `fresh`: `Hmac::new_from_slice` per signature (what a naive client does).
//!
//! All three sign the same canonical message written field by field, in the same run.

#[path = "common.rs"]
mod common;

use common::{median_ns_per_iter, result_median, Batches};
use hmac::{Hmac, Mac};
use ilinkd::auth::Canonical as _;
use ilinkd::auth::{CanonicalSink, EstablishCanonical, FixLogonCanonical, HmacSigner};
use sha2::Sha256;
use std::hint::black_box;

struct HmacSink(Hmac<Sha256>);

impl CanonicalSink for HmacSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn establish(ts: u64) -> EstablishCanonical<'static> {
    EstablishCanonical {
        request_timestamp: 1_763_769_600_000_000_000 + ts,
        uuid: 1_763_769_600_000_000,
        session: "ABC",
        firm: "007",
        trading_system_name: "ilinkd",
        trading_system_version: "0.1.0",
        trading_system_vendor: "ACME",
        next_seq_no: 1,
        keep_alive_interval: 30000,
    }
}

fn main() {
    let key = [0x5au8; 32];
    let signer = HmacSigner::new(&key);
    let keyed = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    let len = establish(0).canonical_bytes().len();
    const BATCHES: usize = 7;
    const ITERS: u64 = 100_000;
    const ROUNDS: usize = 15;

    // The three variants are measured in interleaved rounds (median and best round each), so
    // a burst of load on the shared machine cannot favour one of them.
    let (mut precomputed, mut keyed_clone, mut fresh) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        precomputed.push(
            median_ns_per_iter(1, ITERS, |i| {
                black_box(signer.sign(&establish(black_box(i))));
            })
            .median,
        );
        keyed_clone.push(
            median_ns_per_iter(1, ITERS, |i| {
                let mut sink = HmacSink(keyed.clone());
                establish(black_box(i)).write_canonical(&mut sink);
                black_box(sink.0.finalize().into_bytes());
            })
            .median,
        );
        fresh.push(
            median_ns_per_iter(1, ITERS, |i| {
                let mut sink = HmacSink(Hmac::<Sha256>::new_from_slice(black_box(&key)).unwrap());
                establish(black_box(i)).write_canonical(&mut sink);
                black_box(sink.0.finalize().into_bytes());
            })
            .median,
        );
    }
    let (precomputed, keyed_clone, fresh) = (
        Batches::of(precomputed),
        Batches::of(keyed_clone),
        Batches::of(fresh),
    );
    let fix = median_ns_per_iter(BATCHES, ITERS, |i| {
        let msg = FixLogonCanonical {
            msg_seq_num: black_box(i),
            sender_comp_id: "B08004N",
            sender_sub_id: "MSG",
            sending_time: "20170623-14:48:42.855",
            target_sub_id: "G",
            heart_bt_int: 30,
            sender_location_id: "US,IL",
            last_msg_seq_num_processed: 0,
            app_system_name: "ilinkd",
            app_system_version: "0.1.0",
            app_system_vendor: "ACME",
        };
        black_box(signer.sign_fix_logon(&msg));
    });
    struct Buf([u8; 256], usize);
    impl CanonicalSink for Buf {
        fn put(&mut self, b: &[u8]) {
            self.0[self.1..self.1 + b.len()].copy_from_slice(b);
            self.1 += b.len();
        }
    }
    let build = median_ns_per_iter(BATCHES, ITERS, |i| {
        let mut b = Buf([0; 256], 0);
        establish(black_box(i)).write_canonical(&mut b);
        black_box(&b);
    });
    result_median("hmac.establish.canonical_build_ns", build, "ns");
    let bytes = establish(0).canonical_bytes();
    let contiguous = median_ns_per_iter(BATCHES, ITERS, |_| {
        black_box(signer.sign_bytes(black_box(&bytes)));
    });
    result_median("hmac.establish.precomputed_contiguous_ns", contiguous, "ns");
    let mut state = [0u32; 8];
    let block = sha2::digest::generic_array::GenericArray::clone_from_slice(&[7u8; 64]);
    let compress = median_ns_per_iter(BATCHES, ITERS, |_| {
        sha2::compress256(
            black_box(&mut state),
            std::slice::from_ref(black_box(&block)),
        );
    });
    let build = median_ns_per_iter(BATCHES, 20_000, |_| {
        black_box(HmacSigner::new(black_box(&key)));
    });

    println!("# Establish canonical: {len} bytes; median (and best) of {ROUNDS} interleaved rounds x {ITERS}");
    result_median("hmac.establish.precomputed_ns", precomputed, "ns");
    result_median("hmac.establish.keyed_clone_ns", keyed_clone, "ns");
    result_median("hmac.establish.fresh_ns", fresh, "ns");
    println!(
        "RESULT hmac.establish.speedup {:.2} x",
        fresh.median / precomputed.median
    );
    result_median("hmac.fix_logon.precomputed_ns", fix, "ns");
    result_median("hmac.key_schedule.build_ns", build, "ns");
    // The floor: the Establish canonical needs 3 compressions (2 inner, 1 outer) once keyed.
    result_median("hmac.sha256.compress_block_ns", compress, "ns");
}
