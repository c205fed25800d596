//! The one place where a file mapping becomes typed shared memory.
//!
//! Everything in the mapping is accessed through atomics only (the header fields and the data
//! area as `[AtomicU64]`), so a reader copying a record while the producer overwrites it is an
//! ordinary (relaxed) atomic race, detected afterwards, never undefined behaviour. Plain `&[u8]`
//! views of the shared bytes are never created.

use memmap2::MmapRaw;
use std::mem::{align_of, size_of};
use std::sync::atomic::{AtomicU32, AtomicU64};

#[cfg(not(target_has_atomic = "64"))]
compile_error!("the shm broadcast ring needs lock-free 64-bit atomics");

/// Size of one cache line: every producer-written counter has a line of its own.
pub(crate) const CACHE_LINE: usize = 64;
/// Bytes before the data area (the header, with reserved lines for later ABI versions).
pub(crate) const HEADER_LEN: usize = 512;

/// One counter alone on its cache line.
#[repr(C, align(64))]
pub(crate) struct Line(pub(crate) AtomicU64);

/// Fields written once by the producer before the file is renamed into place.
#[repr(C, align(64))]
pub(crate) struct Meta {
    pub(crate) magic: AtomicU64,
    pub(crate) version: AtomicU32,
    pub(crate) header_len: AtomicU32,
    pub(crate) capacity: AtomicU64,
    pub(crate) producer_pid: AtomicU64,
}

/// The ring header at offset 0 of the file.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) meta: Meta,
    /// Position the producer is about to write up to (stored before any data byte).
    pub(crate) tail_intent: Line,
    /// Position just after the last complete record.
    pub(crate) tail: Line,
    /// Start position of the last complete record.
    pub(crate) latest: Line,
    /// Producer's last `heartbeat(now_ns)`.
    pub(crate) heartbeat_ns: Line,
    _reserved: [Line; 3],
}

const _: () = assert!(size_of::<Header>() == HEADER_LEN);
const _: () = assert!(align_of::<Header>() == CACHE_LINE);
const _: () = assert!(HEADER_LEN.is_multiple_of(CACHE_LINE));

/// A mapping of a ring file, checked to cover the header and `words` data words.
pub(crate) struct Mapping {
    raw: MmapRaw,
    words: usize,
}

impl Mapping {
    /// Wraps `raw` with an empty data area; `None` if it cannot hold the header or is not
    /// cache-line aligned (mmap returns page-aligned addresses, so that means a broken platform).
    pub(crate) fn new(raw: MmapRaw) -> Option<Self> {
        if raw.len() < HEADER_LEN || !(raw.as_ptr() as usize).is_multiple_of(CACHE_LINE) {
            return None;
        }
        Some(Self { raw, words: 0 })
    }

    /// Exposes `capacity` data bytes after the header; `false` (and no change) if the mapping is
    /// too short for them or `capacity` is not a whole number of words.
    pub(crate) fn set_capacity(&mut self, capacity: usize) -> bool {
        match HEADER_LEN.checked_add(capacity) {
            Some(need) if need <= self.raw.len() && capacity.is_multiple_of(8) => {
                self.words = capacity / 8;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn header(&self) -> &Header {
        // `new` checked that the mapping is at least HEADER_LEN (= size_of::<Header>()) bytes
        // and 64-byte aligned (= align_of::<Header>()); `Header` is repr(C) and made only of
        // atomics, for which every bit pattern is valid and shared mutation (by this or another
        // process) is allowed through `&`. The mapping lives as long as `self` (the borrow ties
        // the reference to it) and is never remapped. Read-only mappings are only ever loaded
        // from: the reader code has no store path (a store would fault, not corrupt memory).
        // SAFETY: in bounds, aligned, valid for any bits, lives as long as `self` (see above).
        unsafe { &*self.raw.as_ptr().cast::<Header>() }
    }

    pub(crate) fn data(&self) -> &[AtomicU64] {
        // `set_capacity` checked HEADER_LEN + words * 8 <= mapping length, so the range is
        // inside the mapping; HEADER_LEN is a multiple of 64 on a page-aligned base, so the
        // pointer is 8-byte aligned as AtomicU64 requires; any bits are a valid AtomicU64 and
        // concurrent mutation goes through atomic operations only. Lifetime as in `header`.
        // SAFETY: in bounds, 8-byte aligned, valid for any bits, lives as long as `self`.
        unsafe {
            std::slice::from_raw_parts(
                self.raw.as_ptr().add(HEADER_LEN).cast::<AtomicU64>(),
                self.words,
            )
        }
    }
}

/// Types that may be viewed in a shared mapping through `&`: made only of atomics (and arrays
/// or `repr(C)` structs of them), so that every bit pattern is a valid value and concurrent
/// mutation by this or another process goes through atomic operations only.
///
/// # Safety
/// Implement only for such types, with no padding-dependent invariants and an alignment of at
/// most [`CACHE_LINE`].
pub(crate) unsafe trait AtomicOnly {}

// SAFETY: a single atomic.
unsafe impl AtomicOnly for AtomicU64 {}
// SAFETY: repr(C, align(64)) around one AtomicU64.
unsafe impl AtomicOnly for Line {}
// SAFETY: repr(C) struct of atomics (Meta and Lines), alignment 64.
unsafe impl AtomicOnly for Header {}

/// A typed view of `T` at `offset` bytes into the mapping; `None` if it does not fit, the
/// offset is not aligned for `T`, or the mapping base is not cache-line aligned (mmap returns
/// page-aligned addresses, so that means a broken platform).
pub(crate) fn view<T: AtomicOnly>(raw: &MmapRaw, offset: usize) -> Option<&T> {
    let end = offset.checked_add(size_of::<T>())?;
    let base = raw.as_ptr() as usize;
    if end > raw.len()
        || align_of::<T>() > CACHE_LINE
        || !base.is_multiple_of(CACHE_LINE)
        || !offset.is_multiple_of(align_of::<T>())
    {
        return None;
    }
    // `offset..end` lies inside the mapping (checked above); base is 64-byte aligned
    // and offset a multiple of align_of::<T>() <= 64, so the pointer is aligned for T. T is
    // AtomicOnly: every bit pattern is valid and shared mutation (by this or another process)
    // is allowed through `&`. The reference borrows `raw`, which keeps the mapping alive and is
    // never remapped. Read-only mappings are only ever loaded from by their users (a store
    // would fault, not corrupt memory).
    // SAFETY: in bounds and aligned (checked above), T valid for any bits, borrow keeps the mapping.
    Some(unsafe { &*raw.as_ptr().add(offset).cast::<T>() })
}

/// `n` words (`[AtomicU64]`) at `offset` bytes into the mapping; `None` if they do not fit or
/// `offset` is not a multiple of 8 (see [`view`]).
pub(crate) fn words(raw: &MmapRaw, offset: usize, n: usize) -> Option<&[AtomicU64]> {
    let end = n.checked_mul(8)?.checked_add(offset)?;
    let base = raw.as_ptr() as usize;
    if end > raw.len() || !base.is_multiple_of(CACHE_LINE) || !offset.is_multiple_of(8) {
        return None;
    }
    // the `n * 8` bytes at `offset` lie inside the mapping (checked above) and start
    // 8-byte aligned (64-aligned base, offset a multiple of 8), as AtomicU64 requires; any bits
    // are a valid AtomicU64 and concurrent mutation goes through atomic operations only.
    // Lifetime as in `view`.
    // SAFETY: in bounds, 8-byte aligned, atomics only, borrow keeps the mapping.
    Some(unsafe { std::slice::from_raw_parts(raw.as_ptr().add(offset).cast::<AtomicU64>(), n) })
}

/// A mapping that starts with a header of type `H`, checked once at construction so that
/// [`header`](Self::header) cannot fail.
pub(crate) struct HeaderMap<H> {
    raw: MmapRaw,
    _header: std::marker::PhantomData<H>,
}

impl<H: AtomicOnly> HeaderMap<H> {
    /// `None` if `raw` cannot hold an `H` at offset 0 (see [`view`]).
    pub(crate) fn new(raw: MmapRaw) -> Option<Self> {
        view::<H>(&raw, 0)?;
        Some(Self {
            raw,
            _header: std::marker::PhantomData,
        })
    }

    pub(crate) fn header(&self) -> &H {
        // `new` checked (through `view`) that an H fits at offset 0 of this mapping,
        // suitably aligned; the same reasoning as in `view` applies (H is AtomicOnly, the
        // reference borrows the mapping, which is never remapped).
        // SAFETY: checked by `view` in `new`: in bounds, aligned, AtomicOnly.
        unsafe { &*self.raw.as_ptr().cast::<H>() }
    }
}

/// A [`HeaderMap`] with `N` regions, each a `T` followed by a run of words (a ring: its index
/// lines, then its record words), located and bounds-checked once at construction, so that
/// getting one on a hot path ([`region`](Self::region)) is two pointer additions.
pub(crate) struct Regions<H, T, const N: usize> {
    map: HeaderMap<H>,
    /// Per region: byte offset of its `T`, and the number of words right after the `T`.
    at: [(usize, usize); N],
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<H: AtomicOnly, T: AtomicOnly, const N: usize> Regions<H, T, N> {
    /// Checks every region against the mapping (see [`view`] and [`words`]); gives the map
    /// back if one does not fit.
    pub(crate) fn new(map: HeaderMap<H>, at: [(usize, usize); N]) -> Result<Self, HeaderMap<H>> {
        let fits = at.iter().all(|&(offset, n)| {
            view::<T>(&map.raw, offset).is_some()
                && offset
                    .checked_add(size_of::<T>())
                    .and_then(|w| words(&map.raw, w, n))
                    .is_some()
        });
        if !fits {
            return Err(map);
        }
        Ok(Self {
            map,
            at,
            _t: std::marker::PhantomData,
        })
    }

    pub(crate) fn header(&self) -> &H {
        self.map.header()
    }

    /// The mapping without its regions.
    pub(crate) fn into_header_map(self) -> HeaderMap<H> {
        self.map
    }

    /// Region `I` (a constant: an index past `N` does not compile).
    #[inline]
    pub(crate) fn region<const I: usize>(&self) -> (&T, &[AtomicU64]) {
        const { assert!(I < N, "no such region") };
        let (offset, n) = self.at[I];
        let base = self.map.raw.as_ptr();
        // `new` checked, for this very mapping (owned by `self`, never remapped, and `at` is
        // never changed after `new`), that a `T` fits at `offset` suitably aligned and that
        // `n` words fit 8-byte aligned right after it (`view` and `words`), so both pointers
        // are in bounds and aligned; `T` and `AtomicU64` are AtomicOnly (any bits valid,
        // shared mutation through atomics only); the references borrow `self`, which keeps
        // the mapping alive.
        // SAFETY: bounds and alignment checked in `new` for this mapping; atomics only.
        unsafe {
            (
                &*base.add(offset).cast::<T>(),
                std::slice::from_raw_parts(
                    base.add(offset + size_of::<T>()).cast::<AtomicU64>(),
                    n,
                ),
            )
        }
    }
}
