//! Append-only journal of checksummed records.
//!
//! File format (all integers little-endian):
//!
//! ```text
//! file header  16 bytes: b"ILKDJRNL", u32 format version (1), u32 zero
//! record       20-byte header + payload
//!   0..2   magic A7 1D
//!   2      kind (caller-defined, see [`kind`])
//!   3      reserved, 0
//!   4..8   u32 payload length (at most MAX_PAYLOAD)
//!   8..16  u64 seq (caller-defined key: the message sequence number)
//!   16..20 u32 CRC32 (crc32fast, IEEE) over bytes 0..16 and the payload
//! ```
//!
//! Recovery on open scans every record. The first record that fails (short, bad magic, length
//! out of range, checksum) is either
//! - a **torn tail**: nothing valid follows it within the rest of the file, and the rest is no
//!   longer than one maximal record. A read-write open truncates it and reports it in
//!   [`Recovery`]; or
//! - **mid-file corruption**: a valid record follows it (or more bytes follow than one append
//!   can leave behind). That is [`StoreError::CorruptRecord`] naming the file and the offset:
//!   accepted data is never dropped silently.
//!
//! A flipped bit in the last record cannot be told apart from a torn write, so it is cut like
//! one (and reported). Appends build the record in a reusable buffer (no per-record heap
//! allocation once the buffer has grown to the largest payload) and write it with one
//! `pwrite`, so a record survives a process crash as soon as `append` returns.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{datasync, io_err, open_or_create, sync_dir, CorruptReason, StoreError};
use crate::types::FsyncPolicy;

/// First bytes of every journal file.
pub const FILE_MAGIC: [u8; 8] = *b"ILKDJRNL";
/// Format version written in the file header.
pub const FORMAT_VERSION: u32 = 1;
/// Length of the file header.
pub const FILE_HEADER_LEN: u64 = 16;
/// First two bytes of every record.
pub const RECORD_MAGIC: [u8; 2] = [0xA7, 0x1D];
/// Length of a record header.
pub const RECORD_HEADER_LEN: usize = 20;
/// Largest payload a record may carry (1 MiB).
pub const MAX_PAYLOAD: u32 = 1 << 20;
/// Largest record on disk.
pub const MAX_RECORD_LEN: u64 = RECORD_HEADER_LEN as u64 + MAX_PAYLOAD as u64;
/// One sparse index entry per this many bytes of journal.
const INDEX_STRIDE: u64 = 64 * 1024;

/// Record kinds used by ilinkd. The journal itself does not interpret them.
pub mod kind {
    /// First record of a per-UUID outbound journal: payload = u64 UUID, u64 previous UUID.
    pub const UUID_MARKER: u8 = 1;
    /// An outbound business message (payload = the encoded message), seq = its sequence number.
    pub const OUTBOUND: u8 = 2;
    /// An inbound business message (Drop Copy execution reports), seq = its sequence number.
    pub const INBOUND: u8 = 3;
}

/// How a journal is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Recover (truncate a torn tail) and allow appends; creates the file when missing.
    ReadWrite,
    /// Verify and read only: a torn tail is reported and ignored, the file is not modified.
    ReadOnly,
}

/// What `open` found and did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recovery {
    /// The file did not exist (or held only part of the file header) and was created.
    pub created: bool,
    /// Complete, verified records.
    pub records: u64,
    /// `seq` of the last complete record.
    pub last_seq: Option<u64>,
    /// Byte length of the verified part (file header + complete records).
    pub valid_len: u64,
    /// Bytes of torn tail cut off (read-write) or ignored (read-only).
    pub truncated_bytes: u64,
    /// Why the tail was considered torn, when it was.
    pub torn: Option<CorruptReason>,
}

/// One record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: u8,
    pub seq: u64,
    /// Byte offset of the record header in the file.
    pub offset: u64,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Header {
    kind: u8,
    len: u32,
    seq: u64,
    crc: u32,
}

fn encode_header_prefix(kind: u8, len: u32, seq: u64) -> [u8; 16] {
    let mut h = [0u8; 16];
    let [m0, m1] = RECORD_MAGIC;
    let l = len.to_le_bytes();
    let s = seq.to_le_bytes();
    h[0] = m0;
    h[1] = m1;
    h[2] = kind;
    h[3] = 0;
    h[4..8].copy_from_slice(&l);
    h[8..16].copy_from_slice(&s);
    h
}

fn parse_header(h: &[u8; RECORD_HEADER_LEN]) -> Result<Header, CorruptReason> {
    if [h[0], h[1]] != RECORD_MAGIC {
        return Err(CorruptReason::BadMagic);
    }
    if h[3] != 0 {
        return Err(CorruptReason::BadReserved);
    }
    let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    if len > MAX_PAYLOAD {
        return Err(CorruptReason::LengthOutOfRange(len));
    }
    Ok(Header {
        kind: h[2],
        len,
        seq: u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]),
        crc: u32::from_le_bytes([h[16], h[17], h[18], h[19]]),
    })
}

fn record_crc(header: &[u8; RECORD_HEADER_LEN], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header.get(..16).unwrap_or(&[]));
    hasher.update(payload);
    hasher.finalize()
}

fn file_header() -> [u8; FILE_HEADER_LEN as usize] {
    let mut h = [0u8; FILE_HEADER_LEN as usize];
    h[..8].copy_from_slice(&FILE_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

/// Offset (within `buf`, at or after `from`) of the first complete, valid record, if any.
fn find_valid_record(buf: &[u8], from: usize) -> Option<usize> {
    let mut q = from;
    while q + RECORD_HEADER_LEN <= buf.len() {
        let found = buf
            .get(q..q + RECORD_HEADER_LEN)
            .and_then(|h| <&[u8; RECORD_HEADER_LEN]>::try_from(h).ok())
            .and_then(|h| {
                let hdr = parse_header(h).ok()?;
                let end = q + RECORD_HEADER_LEN + hdr.len as usize;
                let payload = buf.get(q + RECORD_HEADER_LEN..end)?;
                (record_crc(h, payload) == hdr.crc).then_some(())
            });
        if found.is_some() {
            return Some(q);
        }
        q += 1;
    }
    None
}

struct Scan {
    valid_len: u64,
    records: u64,
    last_seq: Option<u64>,
    monotonic: bool,
    index: Vec<(u64, u64)>,
    next_index_at: u64,
    bad: Option<CorruptReason>,
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or(&mut [])) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Scan the records of a file whose header is valid.
fn scan(file: &File, path: &Path, file_len: u64) -> Result<Scan, StoreError> {
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut skip = [0u8; FILE_HEADER_LEN as usize];
    reader.read_exact(&mut skip).map_err(io_err("read", path))?;
    let mut s = Scan {
        valid_len: FILE_HEADER_LEN,
        records: 0,
        last_seq: None,
        monotonic: true,
        index: Vec::with_capacity((file_len / INDEX_STRIDE) as usize + 16),
        next_index_at: 0,
        bad: None,
    };
    let mut payload = Vec::new();
    let mut off = FILE_HEADER_LEN;
    while off < file_len {
        let remaining = file_len - off;
        let mut h = [0u8; RECORD_HEADER_LEN];
        let got = read_full(&mut reader, &mut h).map_err(io_err("read", path))?;
        if got < RECORD_HEADER_LEN {
            s.bad = Some(CorruptReason::Truncated {
                have: got as u64,
                need: RECORD_HEADER_LEN as u64,
            });
            break;
        }
        let hdr = match parse_header(&h) {
            Ok(hdr) => hdr,
            Err(reason) => {
                s.bad = Some(reason);
                break;
            }
        };
        let rec_len = RECORD_HEADER_LEN as u64 + u64::from(hdr.len);
        if rec_len > remaining {
            s.bad = Some(CorruptReason::Truncated {
                have: remaining,
                need: rec_len,
            });
            break;
        }
        payload.resize(hdr.len as usize, 0);
        reader
            .read_exact(&mut payload)
            .map_err(io_err("read", path))?;
        let computed = record_crc(&h, &payload);
        if computed != hdr.crc {
            s.bad = Some(CorruptReason::ChecksumMismatch {
                stored: hdr.crc,
                computed,
            });
            break;
        }
        if off >= s.next_index_at {
            s.index.push((hdr.seq, off));
            s.next_index_at = off + INDEX_STRIDE;
        }
        if s.last_seq.is_some_and(|l| hdr.seq < l) {
            s.monotonic = false;
        }
        s.last_seq = Some(hdr.seq);
        s.records += 1;
        off += rec_len;
        s.valid_len = off;
    }
    Ok(s)
}

/// An append-only journal file. See the module documentation for the format.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    mode: OpenMode,
    policy: FsyncPolicy,
    /// End of the last complete record: where the next append goes.
    len: u64,
    records: u64,
    last_seq: Option<u64>,
    /// Every record's seq is >= the previous one's (lets `iter_from` use the index).
    monotonic: bool,
    /// Sparse `(seq, offset)` index: one entry per `INDEX_STRIDE` bytes.
    index: Vec<(u64, u64)>,
    next_index_at: u64,
    /// Appended since the last fdatasync.
    unsynced: bool,
    /// Reused for every append.
    buf: Vec<u8>,
    /// (seq, offset within `buf`) of each record of an [`Journal::append_batch`].
    batch: Vec<(u64, u64)>,
}

impl Journal {
    /// Open (creating when missing, mode 0600) and recover `path` for appending.
    pub fn open(path: &Path, policy: FsyncPolicy) -> Result<(Journal, Recovery), StoreError> {
        Self::open_with(path, policy, OpenMode::ReadWrite)
    }

    /// Open and verify `path` without modifying it. Fails when it does not exist.
    pub fn open_read_only(path: &Path) -> Result<(Journal, Recovery), StoreError> {
        Self::open_with(path, FsyncPolicy::Never, OpenMode::ReadOnly)
    }

    /// Open `path` in `mode`.
    pub fn open_with(
        path: &Path,
        policy: FsyncPolicy,
        mode: OpenMode,
    ) -> Result<(Journal, Recovery), StoreError> {
        let (file, mut created) = match mode {
            OpenMode::ReadWrite => open_or_create(path)?,
            OpenMode::ReadOnly => (
                OpenOptions::new()
                    .read(true)
                    .open(path)
                    .map_err(io_err("open", path))?,
                false,
            ),
        };
        let file_len = file.metadata().map_err(io_err("stat", path))?.len();
        let expected = file_header();
        let mut recovery = Recovery::default();

        let mut head = [0u8; FILE_HEADER_LEN as usize];
        let head_len = file_len.min(FILE_HEADER_LEN) as usize;
        let head_part = head.get_mut(..head_len).unwrap_or(&mut []);
        file.read_exact_at(head_part, 0)
            .map_err(io_err("read", path))?;
        if file_len < FILE_HEADER_LEN {
            // New file, or a crash while writing the header: the bytes present must be a
            // prefix of the header we write.
            if head.get(..head_len) != expected.get(..head_len) {
                return Err(StoreError::BadFileHeader {
                    path: path.to_path_buf(),
                });
            }
            if mode == OpenMode::ReadOnly {
                recovery.truncated_bytes = file_len;
                recovery.valid_len = 0;
                return Ok((
                    Journal::new(path, file, mode, policy, 0, Scan::empty()),
                    recovery,
                ));
            }
            file.set_len(0).map_err(io_err("truncate", path))?;
            file.write_all_at(&expected, 0)
                .map_err(io_err("write", path))?;
            datasync(&file, path, policy)?;
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                if policy != FsyncPolicy::Never {
                    sync_dir(parent)?;
                }
            }
            created = true;
            recovery.created = created;
            recovery.valid_len = FILE_HEADER_LEN;
            return Ok((
                Journal::new(path, file, mode, policy, FILE_HEADER_LEN, Scan::empty()),
                recovery,
            ));
        }
        if head[..8] != FILE_MAGIC {
            return Err(StoreError::BadFileHeader {
                path: path.to_path_buf(),
            });
        }
        let version = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        if version != FORMAT_VERSION {
            return Err(StoreError::UnsupportedVersion {
                path: path.to_path_buf(),
                version,
            });
        }

        let s = scan(&file, path, file_len)?;
        if let Some(reason) = s.bad {
            let bad_at = s.valid_len;
            let tail_len = file_len - bad_at;
            if tail_len > MAX_RECORD_LEN {
                return Err(StoreError::CorruptRecord {
                    path: path.to_path_buf(),
                    offset: bad_at,
                    reason,
                    detail: format!(
                        "{tail_len} bytes follow it, more than one record can hold, so it is not a torn tail"
                    ),
                });
            }
            let mut tail = vec![0u8; tail_len as usize];
            file.read_exact_at(&mut tail, bad_at)
                .map_err(io_err("read", path))?;
            if let Some(q) = find_valid_record(&tail, 1) {
                return Err(StoreError::CorruptRecord {
                    path: path.to_path_buf(),
                    offset: bad_at,
                    reason,
                    detail: format!(
                        "a valid record follows at byte offset {}, refusing to drop accepted data",
                        bad_at + q as u64
                    ),
                });
            }
            recovery.torn = Some(reason);
            recovery.truncated_bytes = tail_len;
            if mode == OpenMode::ReadWrite {
                file.set_len(bad_at).map_err(io_err("truncate", path))?;
                datasync(&file, path, policy)?;
            }
        }
        recovery.created = created;
        recovery.records = s.records;
        recovery.last_seq = s.last_seq;
        recovery.valid_len = s.valid_len;
        let len = s.valid_len;
        Ok((Journal::new(path, file, mode, policy, len, s), recovery))
    }

    fn new(
        path: &Path,
        file: File,
        mode: OpenMode,
        policy: FsyncPolicy,
        len: u64,
        s: Scan,
    ) -> Journal {
        Journal {
            path: path.to_path_buf(),
            file,
            mode,
            policy,
            len,
            records: s.records,
            last_seq: s.last_seq,
            monotonic: s.monotonic,
            index: s.index,
            next_index_at: s.next_index_at,
            unsynced: false,
            buf: Vec::with_capacity(4096),
            batch: Vec::new(),
        }
    }

    /// Append one record. Returns its byte offset. With `FsyncPolicy::Always` the record is
    /// fdatasynced before this returns; otherwise call [`Journal::sync`].
    pub fn append(&mut self, kind: u8, seq: u64, payload: &[u8]) -> Result<u64, StoreError> {
        self.append_parts(kind, seq, &[payload])
    }

    /// Append one record whose payload is the concatenation of `parts` (saves the caller a
    /// copy when the payload has a prefix).
    pub fn append_parts(&mut self, kind: u8, seq: u64, parts: &[&[u8]]) -> Result<u64, StoreError> {
        self.writable()?;
        self.buf.clear();
        self.encode_record(kind, parts.iter().copied(), seq)?;
        let off = self.len;
        self.write_buf()?;
        self.note_record(seq, off);
        self.after_write()?;
        Ok(off)
    }

    /// Append several records `(kind, seq, payload)` with one write (and, with
    /// `FsyncPolicy::Always`, one fdatasync): for a writer that drains a queue of records, a
    /// write per record would cost a syscall each. Returns how many were appended; on an error
    /// none of the batch is in the file.
    pub fn append_batch<'a>(
        &mut self,
        records: impl IntoIterator<Item = (u8, u64, &'a [u8])>,
    ) -> Result<usize, StoreError> {
        self.writable()?;
        self.buf.clear();
        self.batch.clear();
        for (kind, seq, payload) in records {
            let at = self.buf.len() as u64;
            self.encode_record(kind, std::iter::once(payload), seq)?;
            self.batch.push((seq, at));
        }
        if self.batch.is_empty() {
            return Ok(0);
        }
        let base = self.len;
        self.write_buf()?;
        let batch = std::mem::take(&mut self.batch);
        for &(seq, at) in &batch {
            self.note_record(seq, base + at);
        }
        let n = batch.len();
        self.batch = batch;
        self.after_write()?;
        Ok(n)
    }

    fn writable(&self) -> Result<(), StoreError> {
        if self.mode == OpenMode::ReadOnly {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// Appends one encoded record (header, CRC, payload) to `buf`.
    fn encode_record<'a>(
        &mut self,
        kind: u8,
        parts: impl Iterator<Item = &'a [u8]> + Clone,
        seq: u64,
    ) -> Result<(), StoreError> {
        let total: usize = parts.clone().map(<[u8]>::len).sum();
        let len = match u32::try_from(total) {
            Ok(l) if l <= MAX_PAYLOAD => l,
            _ => {
                return Err(StoreError::PayloadTooLarge {
                    path: self.path.clone(),
                    len: total,
                    max: MAX_PAYLOAD,
                })
            }
        };
        let prefix = encode_header_prefix(kind, len, seq);
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&prefix);
        for p in parts.clone() {
            hasher.update(p);
        }
        let crc = hasher.finalize();
        self.buf.extend_from_slice(&prefix);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        for p in parts {
            self.buf.extend_from_slice(p);
        }
        Ok(())
    }

    /// Writes `buf` at the end of the file.
    fn write_buf(&mut self) -> Result<(), StoreError> {
        let off = self.len;
        if let Err(e) = self.file.write_all_at(&self.buf, off) {
            // Best effort: do not leave a partial record behind a later, shorter one.
            let _ = self.file.set_len(off);
            return Err(io_err("write", &self.path)(e));
        }
        self.len = off + self.buf.len() as u64;
        Ok(())
    }

    /// Index, sequence and count bookkeeping of a record written at `off`.
    fn note_record(&mut self, seq: u64, off: u64) {
        if off >= self.next_index_at {
            self.index.push((seq, off));
            self.next_index_at = off + INDEX_STRIDE;
        }
        if self.last_seq.is_some_and(|l| seq < l) {
            self.monotonic = false;
        }
        self.last_seq = Some(seq);
        self.records += 1;
    }

    fn after_write(&mut self) -> Result<(), StoreError> {
        if self.policy == FsyncPolicy::Always {
            datasync(&self.file, &self.path, self.policy)?;
        } else {
            self.unsynced = true;
        }
        Ok(())
    }

    /// fdatasync the appended records (no-op when nothing is pending or the policy is `Never`).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if self.unsynced {
            datasync(&self.file, &self.path, self.policy)?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Force an fdatasync whatever the policy says (used on clean close).
    pub(crate) fn sync_now(&mut self) -> Result<(), StoreError> {
        if self.mode == OpenMode::ReadWrite && self.policy != FsyncPolicy::Never {
            self.file
                .sync_data()
                .map_err(io_err("fdatasync", &self.path))?;
        }
        self.unsynced = false;
        Ok(())
    }

    /// Whether appends are waiting for [`Journal::sync`].
    pub fn has_unsynced(&self) -> bool {
        self.unsynced
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Byte length of the journal (file header + complete records).
    pub fn len_bytes(&self) -> u64 {
        self.len
    }

    /// Number of complete records.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// `seq` of the last record.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// All records from the start.
    pub fn iter(&self) -> Records<'_> {
        Records {
            journal: self,
            offset: FILE_HEADER_LEN,
            end: self.len,
            min_seq: None,
            done: false,
        }
    }

    /// Records from the first one whose `seq >= seq` to the end. Uses the sparse index when
    /// every record's seq is >= the one before (the usual case); otherwise scans from the start.
    pub fn iter_from(&self, seq: u64) -> Records<'_> {
        let mut offset = FILE_HEADER_LEN;
        if self.monotonic {
            let i = self.index.partition_point(|&(s, _)| s < seq);
            if let Some(&(_, off)) = i.checked_sub(1).and_then(|j| self.index.get(j)) {
                offset = off;
            }
        }
        Records {
            journal: self,
            offset,
            end: self.len,
            min_seq: Some(seq),
            done: false,
        }
    }

    fn read_record(&self, offset: u64) -> Result<(Record, u64), StoreError> {
        let mut h = [0u8; RECORD_HEADER_LEN];
        let corrupt = |reason| StoreError::CorruptRecord {
            path: self.path.clone(),
            offset,
            reason,
            detail: "found while reading back".into(),
        };
        if offset + RECORD_HEADER_LEN as u64 > self.len {
            return Err(corrupt(CorruptReason::Truncated {
                have: self.len.saturating_sub(offset),
                need: RECORD_HEADER_LEN as u64,
            }));
        }
        self.file
            .read_exact_at(&mut h, offset)
            .map_err(io_err("read", &self.path))?;
        let hdr = parse_header(&h).map_err(corrupt)?;
        let rec_len = RECORD_HEADER_LEN as u64 + u64::from(hdr.len);
        if offset + rec_len > self.len {
            return Err(corrupt(CorruptReason::Truncated {
                have: self.len - offset,
                need: rec_len,
            }));
        }
        let mut payload = vec![0u8; hdr.len as usize];
        self.file
            .read_exact_at(&mut payload, offset + RECORD_HEADER_LEN as u64)
            .map_err(io_err("read", &self.path))?;
        let computed = record_crc(&h, &payload);
        if computed != hdr.crc {
            return Err(corrupt(CorruptReason::ChecksumMismatch {
                stored: hdr.crc,
                computed,
            }));
        }
        Ok((
            Record {
                kind: hdr.kind,
                seq: hdr.seq,
                offset,
                payload,
            },
            offset + rec_len,
        ))
    }
}

impl Scan {
    fn empty() -> Scan {
        Scan {
            valid_len: FILE_HEADER_LEN,
            records: 0,
            last_seq: None,
            monotonic: true,
            index: Vec::new(),
            next_index_at: 0,
            bad: None,
        }
    }
}

/// Iterator over journal records (re-verifies every checksum while reading).
#[derive(Debug)]
pub struct Records<'a> {
    journal: &'a Journal,
    offset: u64,
    end: u64,
    min_seq: Option<u64>,
    done: bool,
}

impl Iterator for Records<'_> {
    type Item = Result<Record, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done && self.offset < self.end {
            match self.journal.read_record(self.offset) {
                Ok((rec, next)) => {
                    self.offset = next;
                    if let Some(min) = self.min_seq {
                        if rec.seq < min {
                            continue;
                        }
                        self.min_seq = None;
                    }
                    return Some(Ok(rec));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}
