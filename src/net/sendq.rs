//! Bookkeeping of a connection's send buffer: a byte ring of fixed capacity.
//!
//! `push` reserves room for a message (all or nothing) and says where to copy it (one range, or
//! two when it wraps); `chunk` is the next contiguous run of queued bytes to hand to the kernel;
//! `consume` releases what the kernel took (partial writes included). The memory itself belongs to
//! the backend (a registered buffer for io_uring), so this type only does arithmetic.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendQueue {
    capacity: usize,
    /// Total bytes ever consumed (handed to the kernel).
    head: u64,
    /// Total bytes ever queued.
    tail: u64,
}

impl SendQueue {
    pub fn new(capacity: usize) -> Self {
        SendQueue {
            capacity: capacity.max(1),
            head: 0,
            tail: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes queued and not yet consumed.
    #[inline]
    pub fn len(&self) -> usize {
        (self.tail - self.head) as usize
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.tail == self.head
    }

    #[inline]
    pub fn free(&self) -> usize {
        self.capacity - self.len()
    }

    /// Reserves `len` bytes at the tail and returns the buffer ranges to copy them into, in
    /// order (the second is empty unless the message wraps); `None` when they do not fit.
    #[inline]
    pub fn push(&mut self, len: usize) -> Option<(Range<usize>, Range<usize>)> {
        if len > self.free() {
            return None;
        }
        let start = (self.tail % self.capacity as u64) as usize;
        let first = len.min(self.capacity - start);
        self.tail += len as u64;
        Some((start..start + first, 0..len - first))
    }

    /// The next contiguous run of queued bytes (empty when nothing is queued).
    #[inline]
    pub fn chunk(&self) -> Range<usize> {
        let start = (self.head % self.capacity as u64) as usize;
        let len = self.len().min(self.capacity - start);
        start..start + len
    }

    /// Releases `n` bytes from the head (what the kernel accepted); clamped to what is queued.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        self.head += n.min(self.len()) as u64;
    }

    /// Drops everything queued (connection closed or reused).
    pub fn clear(&mut self) {
        self.head = 0;
        self.tail = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wraps_and_refuses_what_does_not_fit() {
        let mut q = SendQueue::new(10);
        assert_eq!(q.push(6), Some((0..6, 0..0)));
        assert_eq!(q.chunk(), 0..6);
        q.consume(4);
        assert_eq!(q.chunk(), 4..6);
        assert_eq!(q.free(), 8);
        assert_eq!(q.push(9), None);
        assert_eq!(q.push(7), Some((6..10, 0..3)));
        assert_eq!(q.chunk(), 4..10);
        q.consume(6);
        assert_eq!(q.chunk(), 0..3);
        q.consume(3);
        assert!(q.is_empty());
        assert_eq!(q.chunk(), 3..3);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// A byte model: what comes out of chunk/consume equals what went in, in order.
        #[test]
        fn bytes_come_out_in_order(ops in proptest::collection::vec((1usize..40, 0usize..50), 1..60)) {
            let cap = 37;
            let mut q = SendQueue::new(cap);
            let mut mem = vec![0u8; cap];
            let mut sent = Vec::new();
            let mut got = Vec::new();
            let mut next = 0u8;
            for (len, take) in ops {
                if let Some((a, b)) = q.push(len) {
                    for i in a.chain(b) {
                        mem[i] = next;
                        sent.push(next);
                        next = next.wrapping_add(1);
                    }
                } else {
                    prop_assert!(len > q.free());
                }
                let c = q.chunk();
                let n = take.min(c.len());
                got.extend_from_slice(&mem[c.start..c.start + n]);
                q.consume(n);
            }
            while !q.is_empty() {
                let c = q.chunk();
                got.extend_from_slice(&mem[c.clone()]);
                q.consume(c.len());
            }
            prop_assert_eq!(got, sent);
        }
    }
}
