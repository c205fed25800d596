//! Single-producer, many-reader broadcast ring in a shared file (see the module docs in `shm`).

use super::file::{create_temp, io_err, pid_alive};
use super::mapping::{view, Header, Mapping, HEADER_LEN};
use memmap2::MmapOptions;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{fence, Ordering};

/// `b"ILKDBRCT"` read as a little-endian u64.
pub const MAGIC: u64 = u64::from_le_bytes(*b"ILKDBRCT");
/// Layout version of the file; readers refuse any other.
pub const ABI_VERSION: u32 = 1;
/// Smallest data capacity accepted (one page).
pub const MIN_CAPACITY: usize = 4096;
/// Largest data capacity accepted (4 GiB).
pub const MAX_CAPACITY: usize = 1 << 32;
/// Default directory for ring files.
pub const DEFAULT_DIR: &str = "/dev/shm";
/// Record kind reserved for the padding record that fills the end of the data area.
pub const PADDING_KIND: u32 = u32::MAX;
/// Bytes of the record header: u32 length, u32 kind, u64 sequence number.
pub const RECORD_HEADER_LEN: usize = 16;

const ALIGN: usize = 8;

fn align8(n: usize) -> usize {
    (n + (ALIGN - 1)) & !(ALIGN - 1)
}

fn header_word(len: u32, kind: u32) -> u64 {
    u64::from(len) | (u64::from(kind) << 32)
}

/// Errors creating or opening a ring file.
#[derive(Debug, thiserror::Error)]
pub enum ShmError {
    #[error("shm ring {path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },
    #[error("shm ring {path}: bad magic {found:#018x}: not an ilinkd broadcast ring")]
    BadMagic { path: PathBuf, found: u64 },
    #[error("shm ring {path}: ABI version {found}, this build reads version {expected}")]
    Version {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error(
        "shm ring {path}: capacity {capacity} is not a power of two in {MIN_CAPACITY}..={MAX_CAPACITY}"
    )]
    BadCapacity { path: PathBuf, capacity: u64 },
    #[error("shm ring {path}: file is {len} bytes, header says {expected}")]
    BadLength {
        path: PathBuf,
        len: u64,
        expected: u64,
    },
    #[error("shm ring {path}: header length {found}, expected {expected}")]
    BadHeaderLen {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("shm ring {path}: mode {mode:#o} has bits outside 0o777")]
    BadMode { path: PathBuf, mode: u32 },
    #[error("shm ring {path}: in use by live producer pid {pid}")]
    InUse { path: PathBuf, pid: u64 },
}

/// Errors publishing one record (the ring is unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error("shm ring: payload of {len} bytes exceeds the ring's maximum {max} (capacity / 8)")]
    TooLarge { len: usize, max: usize },
    #[error("shm ring: record kind {0:#x} is reserved for padding")]
    ReservedKind(u32),
}

/// Errors reading: `Lapped` is recoverable (the reader has already moved on), `Corrupt` means
/// the producer (or whatever wrote the file) broke the format; the reader stays where it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error(
        "shm ring: reader lapped by the producer: records from position {lost_from} up to \
         {resumed_at} lost (last delivered seq {last_seq:?}); reading resumes at {resumed_at}"
    )]
    Lapped {
        /// Position of the first record not delivered.
        lost_from: u64,
        /// Position the reader continues from (a record boundary).
        resumed_at: u64,
        /// Sequence number of the last record delivered before the loss, if any.
        last_seq: Option<u64>,
    },
    #[error("shm ring: corrupt at position {pos}: {reason}")]
    Corrupt { pos: u64, reason: &'static str },
}

/// Options for [`BroadcastProducer::create`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingOptions {
    /// Data bytes, a power of two in `MIN_CAPACITY..=MAX_CAPACITY`; the largest payload is
    /// `capacity / 8`.
    pub capacity: usize,
    /// File mode, set exactly (not filtered by the umask): 0o600 owner only, 0o640 for a group.
    pub mode: u32,
}

impl Default for RingOptions {
    /// 4 MiB (512 KiB max payload, hundreds of 9 KB Drop Copy messages), mode 0o600.
    fn default() -> Self {
        Self {
            capacity: 4 << 20,
            mode: 0o600,
        }
    }
}

/// One record copied out of the ring; `payload` borrows the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub kind: u32,
    pub seq: u64,
    pub payload: &'a [u8],
    /// Position of the record in the ring's byte stream.
    pub pos: u64,
}

fn valid_capacity(capacity: u64) -> bool {
    capacity.is_power_of_two() && capacity >= MIN_CAPACITY as u64 && capacity <= MAX_CAPACITY as u64
}

/// The single writer of a ring. Not `Clone`; `publish` takes `&mut self`.
pub struct BroadcastProducer {
    map: Mapping,
    path: PathBuf,
    capacity: usize,
    mask: u64,
    tail: u64,
}

impl std::fmt::Debug for BroadcastProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastProducer")
            .field("path", &self.path)
            .field("capacity", &self.capacity)
            .field("tail", &self.tail)
            .finish()
    }
}

impl BroadcastProducer {
    /// Creates a fresh ring at `path`: the file is built under a temporary name in the same
    /// directory (exact `opts.mode`, sized, pages pre-faulted, header written) and renamed into
    /// place, so readers never see a half-initialised file. A previous ring at `path` is
    /// replaced (its readers keep the old mapping; see [`BroadcastReader::replaced`]) unless its
    /// producer is another live process ([`ShmError::InUse`]).
    pub fn create(path: impl AsRef<Path>, opts: RingOptions) -> Result<Self, ShmError> {
        let path = path.as_ref();
        if !valid_capacity(opts.capacity as u64) {
            return Err(ShmError::BadCapacity {
                path: path.to_path_buf(),
                capacity: opts.capacity as u64,
            });
        }
        let me = u64::from(std::process::id());
        if let Ok(old) = BroadcastReader::open(path) {
            let pid = old.producer_pid();
            if pid != me && old.producer_alive() == Some(true) {
                return Err(ShmError::InUse {
                    path: path.to_path_buf(),
                    pid,
                });
            }
        }
        let len = (HEADER_LEN + opts.capacity) as u64;
        let new = create_temp(path, opts.mode, None, len)?;
        let map = match Self::init(&new.tmp, &new.raw, opts) {
            Ok(()) => new.install(path)?,
            Err(e) => {
                new.discard();
                return Err(e);
            }
        };
        let mut map = Mapping::new(map).ok_or_else(|| ShmError::BadLength {
            path: path.to_path_buf(),
            len,
            expected: len,
        })?;
        if !map.set_capacity(opts.capacity) {
            return Err(ShmError::BadLength {
                path: path.to_path_buf(),
                len,
                expected: len,
            });
        }
        Ok(Self {
            map,
            path: path.to_path_buf(),
            capacity: opts.capacity,
            mask: opts.capacity as u64 - 1,
            tail: 0,
        })
    }

    /// Writes the header into the freshly created (not yet renamed) file.
    fn init(tmp: &Path, raw: &memmap2::MmapRaw, opts: RingOptions) -> Result<(), ShmError> {
        let len = (HEADER_LEN + opts.capacity) as u64;
        let bad_len = || ShmError::BadLength {
            path: tmp.to_path_buf(),
            len,
            expected: len,
        };
        let h = view::<Header>(raw, 0).ok_or_else(bad_len)?;
        h.meta.version.store(ABI_VERSION, Ordering::Relaxed);
        h.meta
            .header_len
            .store(HEADER_LEN as u32, Ordering::Relaxed);
        h.meta
            .capacity
            .store(opts.capacity as u64, Ordering::Relaxed);
        h.meta
            .producer_pid
            .store(u64::from(std::process::id()), Ordering::Relaxed);
        h.meta.magic.store(MAGIC, Ordering::Release);
        Ok(())
    }

    /// Appends one record and returns its position. No allocation, no syscall, no lock.
    pub fn publish(&mut self, kind: u32, seq: u64, payload: &[u8]) -> Result<u64, PublishError> {
        if kind == PADDING_KIND {
            return Err(PublishError::ReservedKind(kind));
        }
        let max = self.max_payload();
        if payload.len() > max {
            return Err(PublishError::TooLarge {
                len: payload.len(),
                max,
            });
        }
        let rec = RECORD_HEADER_LEN + align8(payload.len());
        let off = (self.tail & self.mask) as usize;
        let to_end = self.capacity - off;
        let (start, pad) = if rec > to_end {
            (self.tail + to_end as u64, to_end)
        } else {
            (self.tail, 0)
        };
        let new_tail = start + rec as u64;
        let h = self.map.header();
        let data = self.map.data();
        h.tail_intent.0.store(new_tail, Ordering::Relaxed);
        // Orders the intent store before every data store below: a reader that loads any of
        // them and then issues an Acquire fence sees this intent (fence-fence synchronisation).
        fence(Ordering::Release);
        if pad >= RECORD_HEADER_LEN {
            // A remainder of 8 bytes cannot hold a header; readers skip it implicitly.
            let w = off / 8;
            data[w].store(
                header_word((pad - RECORD_HEADER_LEN) as u32, PADDING_KIND),
                Ordering::Relaxed,
            );
            data[w + 1].store(0, Ordering::Relaxed);
        }
        let w = (start & self.mask) as usize / 8;
        let words = &data[w..w + rec / 8];
        words[0].store(header_word(payload.len() as u32, kind), Ordering::Relaxed);
        words[1].store(seq, Ordering::Relaxed);
        let body = &words[2..];
        let mut chunks = payload.chunks_exact(8);
        for (slot, chunk) in body.iter().zip(&mut chunks) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            slot.store(u64::from_ne_bytes(b), Ordering::Relaxed);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            if let Some(slot) = body.last() {
                slot.store(u64::from_ne_bytes(b), Ordering::Relaxed);
            }
        }
        h.latest.0.store(start, Ordering::Release);
        h.tail.0.store(new_tail, Ordering::Release);
        self.tail = new_tail;
        Ok(start)
    }

    /// Records the producer's clock (nanoseconds, caller's choice of clock) for readers to judge
    /// liveness; call it from the daemon's timer, not per record.
    pub fn heartbeat(&self, now_ns: u64) {
        self.map
            .header()
            .heartbeat_ns
            .0
            .store(now_ns, Ordering::Release);
    }

    /// Largest payload `publish` accepts: `capacity / 8`.
    pub fn max_payload(&self) -> usize {
        self.capacity / 8
    }

    /// Data bytes of the ring.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Position after the last published record.
    pub fn position(&self) -> u64 {
        self.tail
    }

    /// Path the ring was created at.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What lies at a reader position.
enum Step {
    /// Nothing published there yet.
    End,
    /// Padding (or an 8-byte remainder) up to the next lap: continue at `next`.
    Skip { next: u64 },
    /// A record (payload copied into the buffer if one was given).
    Record {
        kind: u32,
        seq: u64,
        len: usize,
        next: u64,
    },
}

enum StepError {
    Lapped,
    Corrupt(&'static str),
}

/// One reader of a ring, with its own position. Readers never write to the ring.
pub struct BroadcastReader {
    map: Mapping,
    path: PathBuf,
    capacity: usize,
    mask: u64,
    cursor: u64,
    last_seq: Option<u64>,
    dev_ino: (u64, u64),
}

impl std::fmt::Debug for BroadcastReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastReader")
            .field("path", &self.path)
            .field("capacity", &self.capacity)
            .field("cursor", &self.cursor)
            .finish()
    }
}

impl BroadcastReader {
    /// Maps the ring at `path` read-only and validates its header; the reader starts at the
    /// live end (see [`seek_start`](Self::seek_start) and [`seek_seq`](Self::seek_seq)).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ShmError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(io_err(path, "open"))?;
        let meta = file.metadata().map_err(io_err(path, "stat"))?;
        let len = meta.len();
        if len < HEADER_LEN as u64 {
            return Err(ShmError::BadLength {
                path: path.to_path_buf(),
                len,
                expected: HEADER_LEN as u64,
            });
        }
        let raw = MmapOptions::new()
            .map_raw_read_only(&file)
            .map_err(io_err(path, "mmap"))?;
        let mut map = Mapping::new(raw).ok_or_else(|| ShmError::BadLength {
            path: path.to_path_buf(),
            len,
            expected: HEADER_LEN as u64,
        })?;
        let h = map.header();
        let magic = h.meta.magic.load(Ordering::Acquire);
        if magic != MAGIC {
            return Err(ShmError::BadMagic {
                path: path.to_path_buf(),
                found: magic,
            });
        }
        let version = h.meta.version.load(Ordering::Relaxed);
        if version != ABI_VERSION {
            return Err(ShmError::Version {
                path: path.to_path_buf(),
                found: version,
                expected: ABI_VERSION,
            });
        }
        let header_len = h.meta.header_len.load(Ordering::Relaxed);
        if header_len != HEADER_LEN as u32 {
            return Err(ShmError::BadHeaderLen {
                path: path.to_path_buf(),
                found: header_len,
                expected: HEADER_LEN as u32,
            });
        }
        let capacity = h.meta.capacity.load(Ordering::Relaxed);
        if !valid_capacity(capacity) {
            return Err(ShmError::BadCapacity {
                path: path.to_path_buf(),
                capacity,
            });
        }
        let expected = HEADER_LEN as u64 + capacity;
        // valid_capacity bounds it by MAX_CAPACITY, which fits usize on 64-bit targets.
        let capacity = usize::try_from(capacity).map_err(|_| ShmError::BadCapacity {
            path: path.to_path_buf(),
            capacity,
        })?;
        if len != expected || !map.set_capacity(capacity) {
            return Err(ShmError::BadLength {
                path: path.to_path_buf(),
                len,
                expected,
            });
        }
        let mut reader = Self {
            map,
            path: path.to_path_buf(),
            capacity,
            mask: capacity as u64 - 1,
            cursor: 0,
            last_seq: None,
            dev_ino: (meta.dev(), meta.ino()),
        };
        reader.seek_end();
        Ok(reader)
    }

    fn header(&self) -> &Header {
        self.map.header()
    }

    /// Moves to the live end: the next record read is the next one published.
    pub fn seek_end(&mut self) {
        self.cursor = self.header().tail.0.load(Ordering::Acquire);
        self.last_seq = None;
    }

    /// Moves to the oldest record whose start is known: position 0 while the producer has not
    /// wrapped, else the start of the current lap (every lap begins with a record at offset 0),
    /// so between 0 and `capacity` bytes of history are replayed. If the producer overwrites it
    /// before it is read, the next `poll` reports `Lapped` and jumps to the latest record.
    pub fn seek_start(&mut self) {
        let tail = self.header().tail.0.load(Ordering::Acquire);
        let cap = self.capacity as u64;
        self.cursor = if tail <= cap {
            0
        } else {
            let lap = tail & !self.mask;
            if lap == tail {
                tail - cap
            } else {
                lap
            }
        };
        self.last_seq = None;
    }

    /// Moves to the first record, scanning forward from [`seek_start`](Self::seek_start), whose
    /// sequence number is `>= seq`, and returns that record's sequence number (greater than
    /// `seq` means the ones before it are no longer in the ring or never existed). `Ok(None)`:
    /// no such record yet, the reader is at the live end. Sequence numbers are the producer's;
    /// the scan assumes they increase along the ring.
    pub fn seek_seq(&mut self, seq: u64) -> Result<Option<u64>, ReadError> {
        const ATTEMPTS: usize = 4;
        // The scan covers at most 2 * capacity bytes (from at most a capacity behind the tail to
        // the tail snapshot) and each step advances by 8 bytes or more.
        let max_steps = self.capacity / 4 + 4;
        for _ in 0..ATTEMPTS {
            self.seek_start();
            let mut pos = self.cursor;
            // Records published after this point are read by `poll` from wherever the scan
            // stops, so the scan need not chase the producer.
            let end = self.header().tail.0.load(Ordering::Acquire);
            let mut lapped = false;
            for _ in 0..max_steps {
                if pos >= end {
                    self.cursor = pos;
                    return Ok(None);
                }
                match self.step(pos, None) {
                    Ok(Step::End) => {
                        self.cursor = pos;
                        return Ok(None);
                    }
                    Ok(Step::Skip { next }) => pos = next,
                    Ok(Step::Record { seq: s, next, .. }) => {
                        if s >= seq {
                            self.cursor = pos;
                            return Ok(Some(s));
                        }
                        pos = next;
                    }
                    Err(StepError::Lapped) => {
                        lapped = true;
                        break;
                    }
                    Err(StepError::Corrupt(reason)) => {
                        return Err(ReadError::Corrupt { pos, reason })
                    }
                }
            }
            if !lapped {
                return Err(ReadError::Corrupt {
                    pos,
                    reason: "seek scan did not reach the tail",
                });
            }
        }
        let lost_from = self.cursor;
        self.seek_end();
        Err(ReadError::Lapped {
            lost_from,
            resumed_at: self.cursor,
            last_seq: None,
        })
    }

    /// Copies the next record into `buf` (resized as needed; reuse it to avoid allocating) and
    /// returns it, or `Ok(None)` if the reader is at the live end. `Err(Lapped)`: the producer
    /// overwrote records this reader had not read yet; the reader has moved to the latest record
    /// (or the live end) and the next `poll` continues from there. Never returns bytes that
    /// were overwritten during the copy.
    pub fn poll<'b>(&mut self, buf: &'b mut Vec<u8>) -> Result<Option<Record<'b>>, ReadError> {
        // At most one padding skip before a record, or before the end.
        for _ in 0..2 {
            let pos = self.cursor;
            match self.step(pos, Some(&mut *buf)) {
                Ok(Step::End) => return Ok(None),
                Ok(Step::Skip { next }) => self.cursor = next,
                Ok(Step::Record {
                    kind,
                    seq,
                    len,
                    next,
                }) => {
                    self.cursor = next;
                    self.last_seq = Some(seq);
                    buf.truncate(len);
                    return Ok(Some(Record {
                        kind,
                        seq,
                        payload: buf.as_slice(),
                        pos,
                    }));
                }
                Err(StepError::Lapped) => return Err(self.recover_lap()),
                Err(StepError::Corrupt(reason)) => return Err(ReadError::Corrupt { pos, reason }),
            }
        }
        Ok(None)
    }

    /// Moves past a lap to the latest complete record (or the live end if that does not move
    /// forward) and describes the loss.
    fn recover_lap(&mut self) -> ReadError {
        let lost_from = self.cursor;
        let h = self.header();
        let latest = h.latest.0.load(Ordering::Acquire);
        let tail = h.tail.0.load(Ordering::Acquire);
        let resumed_at = if latest > lost_from && latest <= tail {
            latest
        } else {
            tail.max(lost_from)
        };
        let err = ReadError::Lapped {
            lost_from,
            resumed_at,
            last_seq: self.last_seq,
        };
        self.cursor = resumed_at;
        err
    }

    /// Reads what lies at `pos` (copying a record's payload into `copy` if given), then checks
    /// that the producer cannot have overwritten it meanwhile. Every value read from the mapping
    /// is bounds-checked before use.
    fn step(&self, pos: u64, copy: Option<&mut Vec<u8>>) -> Result<Step, StepError> {
        let h = self.header();
        let cap = self.capacity as u64;
        let tail = h.tail.0.load(Ordering::Acquire);
        if pos == tail {
            return Ok(Step::End);
        }
        if pos > tail {
            return Err(StepError::Corrupt(
                "reader position beyond the producer's tail",
            ));
        }
        if tail - pos > cap {
            return Err(StepError::Lapped);
        }
        let off = (pos & self.mask) as usize;
        let to_end = self.capacity - off;
        let lap_end = pos
            .checked_add(to_end as u64)
            .ok_or(StepError::Corrupt("position overflow"))?;
        if to_end < RECORD_HEADER_LEN {
            // Too small for a header: the producer skipped it without writing.
            return Ok(Step::Skip { next: lap_end });
        }
        let data = self.map.data();
        let w = off / 8;
        let (Some(h0), Some(h1)) = (data.get(w), data.get(w + 1)) else {
            return Err(StepError::Corrupt("record header outside the data area"));
        };
        let h0 = h0.load(Ordering::Relaxed);
        let seq = h1.load(Ordering::Relaxed);
        let len = (h0 & 0xffff_ffff) as usize;
        let kind = (h0 >> 32) as u32;
        let rec = RECORD_HEADER_LEN + align8(len);
        let problem = if kind == PADDING_KIND {
            (len + RECORD_HEADER_LEN != to_end).then_some("padding record does not reach the end")
        } else if len > self.capacity / 8 {
            Some("record length above capacity / 8")
        } else if rec > to_end {
            Some("record crosses the end of the data area")
        } else if rec as u64 > tail - pos {
            Some("record extends past the producer's tail")
        } else {
            None
        };
        if problem.is_none() && kind != PADDING_KIND {
            if let Some(buf) = copy {
                let src = data
                    .get(w + 2..w + rec / 8)
                    .ok_or(StepError::Corrupt("payload outside the data area"))?;
                buf.clear();
                buf.resize(rec - RECORD_HEADER_LEN, 0);
                for (dst, word) in buf.chunks_exact_mut(8).zip(src) {
                    dst.copy_from_slice(&word.load(Ordering::Relaxed).to_ne_bytes());
                }
            }
        }
        // Pairs with the producer's Release fence: if any word read above was written by a
        // later record, the intent loaded below covers that record.
        fence(Ordering::Acquire);
        let intent = h.tail_intent.0.load(Ordering::Relaxed);
        match intent.checked_sub(pos) {
            None => return Err(StepError::Corrupt("producer intent behind reader position")),
            Some(ahead) if ahead > cap => return Err(StepError::Lapped),
            Some(_) => {}
        }
        if let Some(reason) = problem {
            return Err(StepError::Corrupt(reason));
        }
        if kind == PADDING_KIND {
            return Ok(Step::Skip { next: lap_end });
        }
        Ok(Step::Record {
            kind,
            seq,
            len,
            next: pos + rec as u64,
        })
    }

    /// The reader's position (start of the next record to read).
    pub fn position(&self) -> u64 {
        self.cursor
    }

    /// Bytes published but not yet read by this reader.
    pub fn lag_bytes(&self) -> u64 {
        self.header()
            .tail
            .0
            .load(Ordering::Acquire)
            .saturating_sub(self.cursor)
    }

    /// Data bytes of the ring.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Largest payload the producer may publish.
    pub fn max_payload(&self) -> usize {
        self.capacity / 8
    }

    /// Pid of the process that created the ring.
    pub fn producer_pid(&self) -> u64 {
        self.header().meta.producer_pid.load(Ordering::Relaxed)
    }

    /// The producer's last heartbeat (0 if it never sent one).
    pub fn heartbeat_ns(&self) -> u64 {
        self.header().heartbeat_ns.0.load(Ordering::Acquire)
    }

    /// Whether the producer process still exists (`None` if this system cannot tell). Pair it
    /// with [`heartbeat_ns`](Self::heartbeat_ns) to catch a producer that is alive but stuck.
    pub fn producer_alive(&self) -> Option<bool> {
        pid_alive(self.producer_pid())
    }

    /// Whether `path` now names a different file than the one mapped (a restarted producer
    /// created a new ring): reopen to follow it. A missing file counts as replaced.
    pub fn replaced(&self) -> bool {
        match fs::metadata(&self.path) {
            Ok(m) => (m.dev(), m.ino()) != self.dev_ino,
            Err(_) => true,
        }
    }

    /// Path the ring was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
