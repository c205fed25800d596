//! Raw CPU time-stamp counter.
//!
//! `latency::clock` calibrates it against `CLOCK_MONOTONIC` and converts ticks to nanoseconds;
//! this file only reads the counter (an intrinsic Rust marks `unsafe`).

/// Whether [`rdtsc`] reads a real counter on this architecture.
pub const TSC_SUPPORTED: bool = cfg!(target_arch = "x86_64");

/// Reads the time-stamp counter (RDTSC, not serialising: a few nanoseconds, and the CPU may
/// execute it a few instructions early or late, which is far below what a hop stamp resolves).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads the time-stamp counter: no memory access, no side effect, present on every x86_64 CPU, and Linux leaves it enabled for user space (CR4.TSD clear).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// No time-stamp counter on this architecture: always 0 ([`TSC_SUPPORTED`] is false, so the
/// latency clock never picks it).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub fn rdtsc() -> u64 {
    0
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_counter_moves_forward() {
        let a = super::rdtsc();
        std::thread::sleep(std::time::Duration::from_millis(1));
        let b = super::rdtsc();
        assert!(b > a, "{a} then {b}");
    }
}
