//! Single-producer single-consumer ring of fixed-size records in shared memory (Rigtorp /
//! Aeron style): a producer index and a consumer index, each alone on its 64-byte cache line,
//! then a power-of-two array of records. Indices are `u64` counts of records since creation
//! (never wrap in practice); record `i` lives in slot `i & (capacity - 1)`.
//!
//! Each side owns its index (keeps the authoritative value in process memory and only stores
//! it to the shared line) and caches the other side's index, re-reading the shared line only
//! when the cached value says the ring is full (producer) or empty (consumer), so in steady
//! state the two cache lines are not bounced on every record.
//!
//! Memory ordering: the producer writes the record words (relaxed atomic stores), then stores
//! its index with Release; the consumer loads the producer index with Acquire, copies the
//! record (relaxed loads), then stores its own index with Release, which the producer loads
//! with Acquire before reusing the slot. All shared bytes are atomics, so even a peer that
//! breaks the protocol (writes anywhere at any time) causes no undefined behaviour here:
//! only garbage values, which the callers validate.
//!
//! The other side's index is untrusted: a value that implies more than `capacity` records in
//! flight, or a consumer ahead of the producer, is reported as [`Corrupt`].

use super::mapping::Line;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of the two index lines before a ring's records.
pub const RING_INDEX_LEN: usize = 128;

/// The two index lines at the start of a ring.
#[repr(C)]
pub(crate) struct RingIndices {
    pub(crate) producer: Line,
    pub(crate) consumer: Line,
}

const _: () = assert!(std::mem::size_of::<RingIndices>() == RING_INDEX_LEN);
const _: () = assert!(std::mem::offset_of!(RingIndices, consumer) == 64);

// SAFETY: repr(C) struct of two `Line`s (atomics only), alignment 64.
unsafe impl super::mapping::AtomicOnly for RingIndices {}

/// A ring's shared parts, borrowed from the mapping.
pub(crate) struct RingRef<'a> {
    pub(crate) indices: &'a RingIndices,
    /// `capacity * record_words` words.
    pub(crate) slots: &'a [AtomicU64],
    /// Words per record.
    pub(crate) record_words: usize,
    /// Records (a power of two).
    pub(crate) capacity: u64,
}

/// The peer's index is impossible: the peer broke the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Corrupt {
    pub(crate) producer: u64,
    pub(crate) consumer: u64,
}

/// Why a push did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushFail {
    Full,
    Corrupt(Corrupt),
}

impl RingRef<'_> {
    fn slot(&self, index: u64) -> Option<&[AtomicU64]> {
        let start = ((index & (self.capacity - 1)) as usize).checked_mul(self.record_words)?;
        self.slots.get(start..start.checked_add(self.record_words)?)
    }
}

/// The producer's private state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Producer {
    /// Next index to write (the authoritative producer index).
    head: u64,
    /// Last consumer index read from the shared line.
    cached_tail: u64,
}

impl Producer {
    /// A producer continuing from the indices in shared memory (a fresh ring has both at 0; a
    /// re-attaching strategy continues where its predecessor stopped).
    pub(crate) fn resume(ring: &RingRef<'_>) -> Result<Self, Corrupt> {
        let head = ring.indices.producer.0.load(Ordering::Acquire);
        let tail = ring.indices.consumer.0.load(Ordering::Acquire);
        if head.wrapping_sub(tail) > ring.capacity {
            return Err(Corrupt {
                producer: head,
                consumer: tail,
            });
        }
        Ok(Self {
            head,
            cached_tail: tail,
        })
    }

    /// Index the next record will get.
    pub(crate) fn head(&self) -> u64 {
        self.head
    }

    /// Writes one record (`words.len()` must equal the ring's record words) and publishes it.
    pub(crate) fn push(&mut self, ring: &RingRef<'_>, words: &[u64]) -> Result<(), PushFail> {
        self.push_with(ring, words.len(), |slot| {
            for (dst, &w) in slot.iter().zip(words) {
                dst.store(w, Ordering::Relaxed);
            }
        })
    }

    /// As [`Producer::push`], but `write` stores the record's `len` words into the slot itself
    /// (relaxed stores; publishing is this function's), so a caller encoding a record can write
    /// it straight into the ring without staging it in a buffer first.
    pub(crate) fn push_with(
        &mut self,
        ring: &RingRef<'_>,
        len: usize,
        write: impl FnOnce(&[AtomicU64]),
    ) -> Result<(), PushFail> {
        if self.head.wrapping_sub(self.cached_tail) >= ring.capacity {
            self.cached_tail = ring.indices.consumer.0.load(Ordering::Acquire);
            let used = self.head.wrapping_sub(self.cached_tail);
            if used > ring.capacity {
                return Err(PushFail::Corrupt(Corrupt {
                    producer: self.head,
                    consumer: self.cached_tail,
                }));
            }
            if used == ring.capacity {
                return Err(PushFail::Full);
            }
        }
        let Some(slot) = ring.slot(self.head).filter(|s| s.len() == len) else {
            // Unreachable with a validated layout; refuse rather than write a partial record.
            return Err(PushFail::Corrupt(Corrupt {
                producer: self.head,
                consumer: self.cached_tail,
            }));
        };
        write(slot);
        self.head = self.head.wrapping_add(1);
        ring.indices.producer.0.store(self.head, Ordering::Release);
        Ok(())
    }

    /// Records published and not yet consumed, by the last consumer index seen (re-read now).
    pub(crate) fn in_flight(&mut self, ring: &RingRef<'_>) -> u64 {
        self.cached_tail = ring.indices.consumer.0.load(Ordering::Acquire);
        self.head.wrapping_sub(self.cached_tail).min(ring.capacity)
    }
}

/// The consumer's private state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Consumer {
    /// Next index to read (the authoritative consumer index).
    tail: u64,
    /// Last producer index read from the shared line.
    cached_head: u64,
}

impl Consumer {
    /// A consumer continuing from the consumer index in shared memory (see
    /// [`Producer::resume`]).
    pub(crate) fn resume(ring: &RingRef<'_>) -> Result<Self, Corrupt> {
        let tail = ring.indices.consumer.0.load(Ordering::Acquire);
        let head = ring.indices.producer.0.load(Ordering::Acquire);
        if head.wrapping_sub(tail) > ring.capacity {
            return Err(Corrupt {
                producer: head,
                consumer: tail,
            });
        }
        Ok(Self {
            tail,
            cached_head: tail,
        })
    }

    /// Index of the next record to read.
    pub(crate) fn tail(&self) -> u64 {
        self.tail
    }

    /// Copies the next record into `out` (the ring's record words) and releases its slot;
    /// `Ok(false)` if the ring is empty.
    pub(crate) fn pop(&mut self, ring: &RingRef<'_>, out: &mut [u64]) -> Result<bool, Corrupt> {
        if self.tail == self.cached_head {
            self.cached_head = ring.indices.producer.0.load(Ordering::Acquire);
            let avail = self.cached_head.wrapping_sub(self.tail);
            if avail > ring.capacity {
                let c = Corrupt {
                    producer: self.cached_head,
                    consumer: self.tail,
                };
                self.cached_head = self.tail;
                return Err(c);
            }
            if avail == 0 {
                return Ok(false);
            }
        }
        let Some(slot) = ring.slot(self.tail).filter(|s| s.len() == out.len()) else {
            return Err(Corrupt {
                producer: self.cached_head,
                consumer: self.tail,
            });
        };
        for (dst, src) in out.iter_mut().zip(slot) {
            *dst = src.load(Ordering::Relaxed);
        }
        self.tail = self.tail.wrapping_add(1);
        ring.indices.consumer.0.store(self.tail, Ordering::Release);
        Ok(true)
    }

    /// Records waiting (re-reads the producer index); `None` if that index is impossible.
    pub(crate) fn available(&mut self, ring: &RingRef<'_>) -> Option<u64> {
        let head = ring.indices.producer.0.load(Ordering::Acquire);
        let avail = head.wrapping_sub(self.tail);
        (avail <= ring.capacity).then_some(avail)
    }
}

/// Record bytes to native-endian words.
pub(crate) fn to_words<const B: usize, const W: usize>(bytes: &[u8; B]) -> [u64; W] {
    let mut w = [0u64; W];
    for (dst, chunk) in w.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *dst = u64::from_ne_bytes(b);
    }
    w
}

/// Native-endian words to record bytes.
pub(crate) fn to_bytes<const B: usize, const W: usize>(words: &[u64; W]) -> [u8; B] {
    let mut b = [0u8; B];
    for (chunk, w) in b.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&w.to_ne_bytes());
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring in process memory (same atomics as the mapping).
    struct Heap {
        indices: RingIndices,
        slots: Vec<AtomicU64>,
    }

    fn heap(capacity: u64, words: usize) -> Heap {
        Heap {
            indices: RingIndices {
                producer: Line(AtomicU64::new(0)),
                consumer: Line(AtomicU64::new(0)),
            },
            slots: (0..capacity as usize * words)
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    fn ring(h: &Heap, capacity: u64, words: usize) -> RingRef<'_> {
        RingRef {
            indices: &h.indices,
            slots: &h.slots,
            record_words: words,
            capacity,
        }
    }

    #[test]
    fn fills_empties_and_wraps_in_order() {
        let h = heap(4, 2);
        let r = ring(&h, 4, 2);
        let mut p = Producer::resume(&r).unwrap();
        let mut c = Consumer::resume(&r).unwrap();
        let mut out = [0u64; 2];
        let mut next_out = 0u64;
        for round in 0..10u64 {
            for i in 0..4 {
                p.push(&r, &[round * 4 + i, !(round * 4 + i)]).unwrap();
            }
            assert_eq!(p.push(&r, &[99, 99]), Err(PushFail::Full));
            assert_eq!(c.available(&r), Some(4));
            for _ in 0..4 {
                assert!(c.pop(&r, &mut out).unwrap());
                assert_eq!(out, [next_out, !next_out]);
                next_out += 1;
            }
            assert!(!c.pop(&r, &mut out).unwrap());
        }
        assert_eq!(p.head(), 40);
        assert_eq!(c.tail(), 40);
        assert_eq!(h.indices.producer.0.load(Ordering::Relaxed), 40);
        assert_eq!(h.indices.consumer.0.load(Ordering::Relaxed), 40);
    }

    #[test]
    fn impossible_peer_indices_are_corrupt() {
        let h = heap(4, 1);
        let r = ring(&h, 4, 1);
        let mut c = Consumer::resume(&r).unwrap();
        h.indices.producer.0.store(5, Ordering::Relaxed);
        let mut out = [0u64; 1];
        assert_eq!(
            c.pop(&r, &mut out),
            Err(Corrupt {
                producer: 5,
                consumer: 0
            })
        );
        assert_eq!(c.tail(), 0, "nothing consumed from a corrupt ring");
        assert!(Producer::resume(&r).is_err());

        let h = heap(4, 1);
        let r = ring(&h, 4, 1);
        let mut p = Producer::resume(&r).unwrap();
        for i in 0..4 {
            p.push(&r, &[i]).unwrap();
        }
        // A consumer claiming to be ahead of the producer.
        h.indices.consumer.0.store(9, Ordering::Relaxed);
        assert!(matches!(p.push(&r, &[0]), Err(PushFail::Corrupt(_))));
    }

    #[test]
    fn word_conversion_round_trips() {
        let bytes: [u8; 16] = std::array::from_fn(|i| i as u8);
        let w: [u64; 2] = to_words(&bytes);
        assert_eq!(to_bytes::<16, 2>(&w), bytes);
    }
}
