//! Shared measuring loop for the `bench/` programs (included with `#[path]`).
//!
//! Each figure is the best of several batches, in nanoseconds per iteration: the best batch is
//! the one least disturbed by the other core's work, which is what a pinned hot thread sees.

#![allow(dead_code)]

use std::time::Instant;

/// Runs `f` in `batches` batches of `iters` calls (after one warm-up batch) and returns the best
/// batch's nanoseconds per call.
pub fn best_ns_per_iter(batches: usize, iters: u64, mut f: impl FnMut(u64)) -> f64 {
    for i in 0..iters {
        f(i);
    }
    let mut best = f64::INFINITY;
    for b in 0..batches {
        let base = (b as u64 + 1) * iters;
        let t = Instant::now();
        for i in 0..iters {
            f(base + i);
        }
        let ns = t.elapsed().as_nanos() as f64 / iters as f64;
        best = best.min(ns);
    }
    best
}

/// Prints one figure in the project's `RESULT <name> <value> <unit>` form.
pub fn result(name: &str, value: f64, unit: &str) {
    if value >= 100.0 {
        println!("RESULT {name} {value:.0} {unit}");
    } else {
        println!("RESULT {name} {value:.1} {unit}");
    }
}
