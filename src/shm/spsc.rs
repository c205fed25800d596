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
//! Sequence word (the request ring, [`SeqWord`]): one word of each record carries the record's
//! index + 1 (the request id). The producer stores that word last, with Release, before its
//! index; the consumer first looks at the word in the next slot and, when it says `tail + 1`,
//! takes the record without reading the producer index: a record then crosses cores as one
//! cache-line transfer instead of two dependent ones (the index line, then the record line).
//! Having read a record, the consumer zeroes its sequence word (before releasing the slot), so
//! a slot never shows a stale match. A record whose word says anything else is still delivered
//! once the producer index covers it (the index stays authoritative, and every producer still
//! stores it). Because the consumer may take a record before the producer's index store
//! becomes visible, a producer index one behind the consumer's is not corrupt.
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

/// A ring's shared parts, borrowed from the mapping: records of `W` words.
#[derive(Clone, Copy)]
pub(crate) struct RingRef<'a, const W: usize> {
    pub(crate) indices: &'a RingIndices,
    /// The records (a power-of-two count, when built from a validated layout).
    slots: &'a [[AtomicU64; W]],
    /// Record count - 1.
    mask: u64,
}

impl<'a, const W: usize> RingRef<'a, W> {
    /// `None` unless `slots` is a power-of-two number of whole `W`-word records.
    pub(crate) fn new(indices: &'a RingIndices, slots: &'a [AtomicU64]) -> Option<Self> {
        let ring = Self::from_checked(indices, slots);
        let (_, rest) = slots.as_chunks::<W>();
        (rest.is_empty() && ring.slots.len().is_power_of_two()).then_some(ring)
    }

    /// As [`RingRef::new`] for words already checked there (once, at create or attach): no
    /// checks. Given unchecked words the ring would misbehave (wrong slots) but stay in bounds.
    #[inline]
    pub(crate) fn from_checked(indices: &'a RingIndices, slots: &'a [AtomicU64]) -> Self {
        let (slots, _) = slots.as_chunks::<W>();
        Self {
            indices,
            slots,
            mask: (slots.len() as u64).wrapping_sub(1),
        }
    }

    /// Records (a power of two).
    pub(crate) fn capacity(&self) -> u64 {
        self.mask.wrapping_add(1)
    }

    #[inline]
    fn slot(&self, index: u64) -> Option<&'a [AtomicU64; W]> {
        self.slots.get((index & self.mask) as usize)
    }
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

/// Which word of a record carries its sequence (index + 1); see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SeqWord(pub(crate) usize);

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
    /// re-attaching strategy continues where its predecessor stopped, also past a last record
    /// the consumer took by its sequence word before the predecessor stored its index).
    pub(crate) fn resume<const W: usize>(ring: &RingRef<'_, W>) -> Result<Self, Corrupt> {
        let head = ring.indices.producer.0.load(Ordering::Acquire);
        let tail = ring.indices.consumer.0.load(Ordering::Acquire);
        let head = if tail.wrapping_sub(head) == 1 {
            tail
        } else {
            head
        };
        if head.wrapping_sub(tail) > ring.capacity() {
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

    /// Publishes one record: `write` stores its words into the slot (relaxed stores, a
    /// sequence word last with Release: see [`store_record`]), then this stores the index.
    #[inline]
    pub(crate) fn push_with<const W: usize>(
        &mut self,
        ring: &RingRef<'_, W>,
        write: impl FnOnce(&[AtomicU64; W]),
    ) -> Result<(), PushFail> {
        let capacity = ring.capacity();
        if self.head.wrapping_sub(self.cached_tail) >= capacity {
            self.cached_tail = ring.indices.consumer.0.load(Ordering::Acquire);
            let used = self.head.wrapping_sub(self.cached_tail);
            if used > capacity {
                return Err(PushFail::Corrupt(Corrupt {
                    producer: self.head,
                    consumer: self.cached_tail,
                }));
            }
            if used == capacity {
                return Err(PushFail::Full);
            }
        }
        let Some(slot) = ring.slot(self.head) else {
            // Unreachable: `slot` masks the index into the slots.
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
    pub(crate) fn in_flight<const W: usize>(&mut self, ring: &RingRef<'_, W>) -> u64 {
        self.cached_tail = ring.indices.consumer.0.load(Ordering::Acquire);
        self.head
            .wrapping_sub(self.cached_tail)
            .min(ring.capacity())
    }
}

/// The consumer's private state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Consumer {
    /// Next index to read (the authoritative consumer index).
    tail: u64,
    /// Last producer index read from the shared line.
    cached_head: u64,
    /// The records' sequence word, on a ring that has one.
    seq: Option<usize>,
    /// Last consumer index stored to the shared line.
    released: u64,
    /// Records taken between two stores of the consumer index (at least 1); it is also
    /// stored whenever the ring is found empty.
    release_every: u64,
}

impl Consumer {
    /// A consumer continuing from the consumer index in shared memory (see
    /// [`Producer::resume`]), looking for records by `seq` first if given (a word index
    /// past the record is ignored), and storing its index every `release_every` records
    /// (1: every record; any value is kept within 1..=capacity/4) and whenever it finds the
    /// ring empty. Releasing less often keeps the consumer index line from bouncing to a
    /// producer that finds the ring full, at the price of the producer seeing it full up to
    /// `release_every - 1` records longer: only for rings whose producer retries (requests),
    /// not for one that drops what does not fit (events).
    pub(crate) fn resume<const W: usize>(
        ring: &RingRef<'_, W>,
        seq: Option<SeqWord>,
        release_every: u64,
    ) -> Result<Self, Corrupt> {
        let tail = ring.indices.consumer.0.load(Ordering::Acquire);
        let head = ring.indices.producer.0.load(Ordering::Acquire);
        if head.wrapping_sub(tail) > ring.capacity() {
            return Err(Corrupt {
                producer: head,
                consumer: tail,
            });
        }
        Ok(Self {
            tail,
            cached_head: tail,
            seq: seq.map(|s| s.0).filter(|&s| s < W),
            released: tail,
            release_every: release_every.min(ring.capacity() / 4).max(1),
        })
    }

    /// Index of the next record to read.
    pub(crate) fn tail(&self) -> u64 {
        self.tail
    }

    /// Takes the next record: `read` copies it out of the slot (relaxed loads), then the slot
    /// is released. `Ok(None)` if the ring is empty. Bounded work whatever the producer wrote.
    #[inline]
    pub(crate) fn pop_with<const W: usize, R>(
        &mut self,
        ring: &RingRef<'_, W>,
        read: impl FnOnce(&[AtomicU64; W]) -> R,
    ) -> Result<Option<R>, Corrupt> {
        let Some(slot) = ring.slot(self.tail) else {
            // Unreachable: `slot` masks the index into the slots.
            return Err(Corrupt {
                producer: self.cached_head,
                consumer: self.tail,
            });
        };
        let next = self.tail.wrapping_add(1);
        let seq_word = self.seq.and_then(|s| slot.get(s));
        let flagged = seq_word.is_some_and(|w| w.load(Ordering::Acquire) == next);
        let capacity = ring.capacity();
        // Records known published by the last producer index read: 1..=capacity, or none.
        let known = self.cached_head.wrapping_sub(self.tail);
        if !flagged && known.wrapping_sub(1) >= capacity {
            let head = ring.indices.producer.0.load(Ordering::Acquire);
            let avail = head.wrapping_sub(self.tail);
            // One behind (`avail` = -1): the producer's index store for the record taken
            // by its sequence word is not visible yet.
            if avail == 0 || (self.seq.is_some() && avail == u64::MAX) {
                if self.released != self.tail {
                    self.released = self.tail;
                    ring.indices.consumer.0.store(self.tail, Ordering::Release);
                }
                return Ok(None);
            }
            if avail > capacity {
                return Err(Corrupt {
                    producer: head,
                    consumer: self.tail,
                });
            }
            self.cached_head = head;
        }
        let out = read(slot);
        if let Some(w) = seq_word {
            // Ordered before the slot's release below: the producer's next record there
            // cannot be overwritten by this.
            w.store(0, Ordering::Relaxed);
        }
        self.tail = next;
        if next.wrapping_sub(self.released) >= self.release_every {
            self.released = next;
            ring.indices.consumer.0.store(next, Ordering::Release);
        }
        Ok(Some(out))
    }

    /// Records waiting by the producer index (re-read now); `None` if that index is
    /// impossible.
    pub(crate) fn available<const W: usize>(&self, ring: &RingRef<'_, W>) -> Option<u64> {
        let head = ring.indices.producer.0.load(Ordering::Acquire);
        let avail = head.wrapping_sub(self.tail);
        if avail <= ring.capacity() {
            Some(avail)
        } else if self.seq.is_some() && avail == u64::MAX {
            Some(0)
        } else {
            None
        }
    }
}

/// Stores a record given as bytes (native-endian words) into `slot`, relaxed, except the
/// sequence word `seq` (if any), which is stored last with Release.
#[inline]
pub(crate) fn store_record(slot: &[AtomicU64], record: &[u8], seq: Option<SeqWord>) {
    let (words, _) = record.as_chunks::<8>();
    let seq = seq.map(|s| s.0);
    for (i, (dst, src)) in slot.iter().zip(words).enumerate() {
        if Some(i) != seq {
            dst.store(u64::from_ne_bytes(*src), Ordering::Relaxed);
        }
    }
    if let Some((dst, src)) = seq.and_then(|s| Some((slot.get(s)?, words.get(s)?))) {
        dst.store(u64::from_ne_bytes(*src), Ordering::Release);
    }
}

/// Copies a record out of `slot` as bytes (native-endian words), relaxed loads.
#[inline]
pub(crate) fn load_record(slot: &[AtomicU64], out: &mut [u8]) {
    let (words, _) = out.as_chunks_mut::<8>();
    for (dst, src) in words.iter_mut().zip(slot) {
        *dst = src.load(Ordering::Relaxed).to_ne_bytes();
    }
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

    fn ring<const W: usize>(h: &Heap) -> RingRef<'_, W> {
        RingRef::new(&h.indices, &h.slots).expect("a power-of-two ring")
    }

    fn push<const W: usize>(
        p: &mut Producer,
        r: &RingRef<'_, W>,
        words: [u64; W],
        seq: Option<SeqWord>,
    ) -> Result<(), PushFail> {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        p.push_with(r, |slot| store_record(slot, &bytes, seq))
    }

    fn pop<const W: usize>(
        c: &mut Consumer,
        r: &RingRef<'_, W>,
    ) -> Result<Option<[u64; W]>, Corrupt> {
        c.pop_with(r, |slot| {
            let mut out = [0u64; W];
            for (o, s) in out.iter_mut().zip(slot) {
                *o = s.load(Ordering::Relaxed);
            }
            out
        })
    }

    #[test]
    fn ring_geometry_is_checked() {
        let h = heap(4, 2);
        assert!(RingRef::<2>::new(&h.indices, &h.slots).is_some());
        assert!(
            RingRef::<3>::new(&h.indices, &h.slots).is_none(),
            "8 words are not 3-word records"
        );
        assert!(
            RingRef::<4>::new(&h.indices, &h.slots[..6]).is_none(),
            "1.5 records"
        );
        let h = heap(3, 2);
        assert!(
            RingRef::<2>::new(&h.indices, &h.slots).is_none(),
            "3 is not a power of two"
        );
    }

    #[test]
    fn fills_empties_and_wraps_in_order() {
        for seq in [None, Some(SeqWord(1))] {
            let h = heap(4, 2);
            let r = ring::<2>(&h);
            let mut p = Producer::resume(&r).unwrap();
            let mut c = Consumer::resume(&r, seq, 1).unwrap();
            let mut next_out = 0u64;
            for round in 0..10u64 {
                for i in 0..4 {
                    let index = round * 4 + i;
                    push(&mut p, &r, [!index, index + 1], seq).unwrap();
                }
                assert_eq!(push(&mut p, &r, [99, 99], seq), Err(PushFail::Full));
                assert_eq!(c.available(&r), Some(4));
                for _ in 0..4 {
                    assert_eq!(pop(&mut c, &r).unwrap(), Some([!next_out, next_out + 1]));
                    next_out += 1;
                }
                assert_eq!(pop(&mut c, &r).unwrap(), None);
            }
            assert_eq!(p.head(), 40);
            assert_eq!(c.tail(), 40);
            assert_eq!(h.indices.producer.0.load(Ordering::Relaxed), 40);
            assert_eq!(h.indices.consumer.0.load(Ordering::Relaxed), 40);
            let seq_words: Vec<u64> = h
                .slots
                .iter()
                .skip(1)
                .step_by(2)
                .map(|w| w.load(Ordering::Relaxed))
                .collect();
            if seq.is_some() {
                assert_eq!(
                    seq_words, [0; 4],
                    "taken records have their sequence word zeroed"
                );
            } else {
                assert_eq!(
                    seq_words,
                    [37, 38, 39, 40],
                    "no sequence word: records untouched"
                );
            }
        }
    }

    #[test]
    fn a_flagged_record_is_taken_before_the_producer_index_moves() {
        let h = heap(4, 2);
        let r = ring::<2>(&h);
        let mut c = Consumer::resume(&r, Some(SeqWord(1)), 1).unwrap();
        // Record 0 written, its sequence word stored, the producer index not yet.
        h.slots[0].store(7, Ordering::Relaxed);
        h.slots[1].store(1, Ordering::Release);
        assert_eq!(pop(&mut c, &r).unwrap(), Some([7, 1]));
        assert_eq!(
            h.slots[1].load(Ordering::Relaxed),
            0,
            "sequence word zeroed"
        );
        // Producer index one behind the consumer: empty, not corrupt.
        assert_eq!(pop(&mut c, &r).unwrap(), None);
        assert_eq!(c.available(&r), Some(0));
        // A producer re-attaching continues after the record that was taken.
        assert_eq!(Producer::resume(&r).unwrap().head(), 1);
        // A stale or wrong sequence word is not enough: record 1 says 5, not 2.
        h.slots[2].store(8, Ordering::Relaxed);
        h.slots[3].store(5, Ordering::Relaxed);
        assert_eq!(pop(&mut c, &r).unwrap(), None);
        // ... until the producer index covers it; then it is delivered as written.
        h.indices.producer.0.store(2, Ordering::Release);
        assert_eq!(pop(&mut c, &r).unwrap(), Some([8, 5]));
        assert_eq!(c.tail(), 2);
        // The same ring without sequence words: a consumer waits for the index.
        let h = heap(4, 2);
        let r = ring::<2>(&h);
        let mut c = Consumer::resume(&r, None, 1).unwrap();
        h.slots[1].store(1, Ordering::Release);
        assert_eq!(pop(&mut c, &r).unwrap(), None);
    }

    #[test]
    fn a_lazy_consumer_releases_in_batches_and_when_empty() {
        let h = heap(16, 1);
        let r = ring::<1>(&h);
        let mut p = Producer::resume(&r).unwrap();
        // Asked for 8, kept to a quarter of the ring.
        let mut c = Consumer::resume(&r, Some(SeqWord(0)), 8).unwrap();
        let released = || h.indices.consumer.0.load(Ordering::Relaxed);
        for i in 0..16 {
            push(&mut p, &r, [i + 1], Some(SeqWord(0))).unwrap();
        }
        assert_eq!(
            push(&mut p, &r, [17], Some(SeqWord(0))),
            Err(PushFail::Full)
        );
        let mut seen = Vec::new();
        for i in 0..10 {
            assert_eq!(pop(&mut c, &r).unwrap(), Some([i + 1]));
            seen.push(released());
        }
        assert_eq!(seen, [0, 0, 0, 4, 4, 4, 4, 8, 8, 8]);
        // The producer sees room only as released: 8 slots, not 10.
        for i in 16..24 {
            push(&mut p, &r, [i + 1], Some(SeqWord(0))).unwrap();
        }
        assert_eq!(
            push(&mut p, &r, [25], Some(SeqWord(0))),
            Err(PushFail::Full)
        );
        for i in 10..24 {
            assert_eq!(pop(&mut c, &r).unwrap(), Some([i + 1]));
        }
        assert_eq!(released(), 24);
        push(&mut p, &r, [25], Some(SeqWord(0))).unwrap();
        assert_eq!(pop(&mut c, &r).unwrap(), Some([25]));
        assert_eq!(released(), 24, "not yet: one record since the last release");
        assert_eq!(pop(&mut c, &r).unwrap(), None);
        assert_eq!(released(), 25, "released when found empty");
    }

    #[test]
    fn impossible_peer_indices_are_corrupt() {
        for seq in [None, Some(SeqWord(0))] {
            let h = heap(4, 1);
            let r = ring::<1>(&h);
            let mut c = Consumer::resume(&r, seq, 1).unwrap();
            h.indices.producer.0.store(5, Ordering::Relaxed);
            assert_eq!(
                pop(&mut c, &r),
                Err(Corrupt {
                    producer: 5,
                    consumer: 0
                })
            );
            assert_eq!(c.tail(), 0, "nothing consumed from a corrupt ring");
            assert_eq!(c.available(&r), None);
            assert!(Producer::resume(&r).is_err());
            // Two behind is corrupt even on a sequence-word ring.
            h.indices.producer.0.store(u64::MAX - 1, Ordering::Relaxed);
            assert!(pop(&mut c, &r).is_err());
        }

        let h = heap(4, 1);
        let r = ring::<1>(&h);
        let mut p = Producer::resume(&r).unwrap();
        for i in 0..4 {
            push(&mut p, &r, [i], None).unwrap();
        }
        // A consumer claiming to be ahead of the producer.
        h.indices.consumer.0.store(9, Ordering::Relaxed);
        assert!(matches!(
            push(&mut p, &r, [0], None),
            Err(PushFail::Corrupt(_))
        ));
    }

    #[test]
    fn records_round_trip_through_bytes() {
        let h = heap(2, 2);
        let bytes: [u8; 16] = std::array::from_fn(|i| i as u8);
        let slot = &h.slots[..2];
        store_record(slot, &bytes, Some(SeqWord(1)));
        let mut out = [0u8; 16];
        load_record(slot, &mut out);
        assert_eq!(out, bytes);
    }
}
