//! Shared measuring loop for the `bench/` programs (included with `#[path]`).
//!
//! A figure is measured in several batches, in nanoseconds per iteration. The headline is the
//! **median** batch (what a user of the code gets on this machine); the best batch, the one
//! least disturbed by the other core's work, is printed as an extra `<name>.best` line.

#![allow(dead_code)]

use std::time::Instant;

/// Median and best of several batch figures.
#[derive(Debug, Clone, Copy)]
pub struct Batches {
    pub median: f64,
    pub best: f64,
}

impl Batches {
    /// From per-batch figures (lower is better); empty input gives NaN.
    pub fn of(mut v: Vec<f64>) -> Batches {
        if v.is_empty() {
            return Batches {
                median: f64::NAN,
                best: f64::NAN,
            };
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Batches { median, best: v[0] }
    }

    /// Both figures mapped by `f` (e.g. ns per item → items per second: `best` stays the best
    /// batch's figure).
    pub fn map(self, f: impl Fn(f64) -> f64) -> Batches {
        Batches {
            median: f(self.median),
            best: f(self.best),
        }
    }
}

/// Runs `f` in `batches` batches of `iters` calls (after one warm-up batch) and returns the
/// median and best batches' nanoseconds per call.
pub fn median_ns_per_iter(batches: usize, iters: u64, mut f: impl FnMut(u64)) -> Batches {
    for i in 0..iters {
        f(i);
    }
    let mut per_batch = Vec::with_capacity(batches);
    for b in 0..batches {
        let base = (b as u64 + 1) * iters;
        let t = Instant::now();
        for i in 0..iters {
            f(base + i);
        }
        per_batch.push(t.elapsed().as_nanos() as f64 / iters as f64);
    }
    Batches::of(per_batch)
}

/// The best batch only (kept for benchmarks that report it as an extra line themselves).
pub fn best_ns_per_iter(batches: usize, iters: u64, f: impl FnMut(u64)) -> f64 {
    median_ns_per_iter(batches, iters, f).best
}

/// Prints one figure in the project's `RESULT <name> <value> <unit>` form.
pub fn result(name: &str, value: f64, unit: &str) {
    if value >= 100.0 {
        println!("RESULT {name} {value:.0} {unit}");
    } else {
        println!("RESULT {name} {value:.1} {unit}");
    }
}

/// Prints the headline (median) and the best batch as `<name>.best`.
pub fn result_median(name: &str, b: Batches, unit: &str) {
    result(name, b.median, unit);
    result(&format!("{name}.best"), b.best, unit);
}
