//! Crash-safe session state and message journals.
//!
//! Two building blocks, shared by the iLink 3 session and the Drop Copy session:
//!
//! - [`journal::Journal`]: an append-only file of checksummed records (`kind`, `seq`, payload).
//!   Opening it recovers: a torn tail (the partial or corrupt last record a crash leaves) is cut
//!   off and reported in a [`journal::Recovery`]; a corrupt record followed by valid ones is a
//!   [`StoreError::CorruptRecord`] naming the file and byte offset, never silently dropped.
//! - [`session::SessionStore`]: per session, the durable UUID / sequence state in a two-slot
//!   state file, outbound sequence *reservations* (so the hot path never waits on fsync and a
//!   sequence number is never reused after a crash), and the outbound business message journal
//!   (one journal file per UUID).
//!
//! Layout under `state_dir` (directories 0700, files 0600):
//!
//! ```text
//! <state_dir>/<session_name>/state                          two 4 KiB-apart state slots
//! <state_dir>/<session_name>/outbound-<uuid, 20 digits>.journal   one per UUID
//! ```
//!
//! Durability follows [`FsyncPolicy`]: `Always` fdatasyncs after every journal append and every
//! state write; `Batch` fdatasyncs every state write (reservations, new UUID, open, close,
//! inbound persistence: all on the housekeeping side, never per message) and leaves journal
//! appends to [`journal::Journal::sync`] / [`session::SessionStore::maintain`] on the
//! housekeeping thread; `Never` never syncs (tests, demo: data survives a process crash through
//! the page cache, not a power loss). Under every policy the outbound reservation is written
//! before the numbers it covers are handed out, so the reuse rule holds across process crashes
//! even with `Never`, and across power loss with `Always` and `Batch`.
//!
//! Filesystem IO happens here (the store is not sans-IO) but nothing logs: every failure is a
//! typed [`StoreError`] that names the file (and the byte offset where one applies).

#![forbid(unsafe_code)]

pub mod dropcopy;
pub mod journal;
pub mod keys;
pub mod session;

use std::fmt;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::types::FsyncPolicy;

pub use dropcopy::{
    DropCopyPaths, DropCopyRecorder, DropCopyStoreError, DropCopyTail, Recorded, RecorderOptions,
    RecorderRecovery, ReportLine, TailRecord, TailStart, RING_KIND_FIX,
};
pub use journal::{Journal, Record, Recovery};
pub use session::{JournaledMessage, Recovered, SeqHandle, SessionStore, StoreOptions};

/// Permission bits of every file the store creates.
pub const FILE_MODE: u32 = 0o600;
/// Permission bits of every directory the store creates.
pub const DIR_MODE: u32 = 0o700;

/// Why a journal record or state slot failed verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorruptReason {
    /// The file ends inside the record (`have` of `need` bytes present).
    Truncated { have: u64, need: u64 },
    /// The record does not start with the record magic.
    BadMagic,
    /// A reserved header byte is not zero.
    BadReserved,
    /// The payload length is larger than [`journal::MAX_PAYLOAD`].
    LengthOutOfRange(u32),
    /// The stored CRC32 does not match the one computed over header and payload.
    ChecksumMismatch { stored: u32, computed: u32 },
}

impl fmt::Display for CorruptReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorruptReason::Truncated { have, need } => {
                write!(
                    f,
                    "file ends inside the record ({have} of {need} bytes present)"
                )
            }
            CorruptReason::BadMagic => f.write_str("bad record magic"),
            CorruptReason::BadReserved => f.write_str("reserved header byte is not zero"),
            CorruptReason::LengthOutOfRange(len) => write!(
                f,
                "payload length {len} exceeds the {} byte limit",
                journal::MAX_PAYLOAD
            ),
            CorruptReason::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
        }
    }
}

/// Outbound sequence numbers at and above the durable reservation may not be used yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("outbound sequence {next} is not covered by the durable reservation (numbers below {reserved} only); extend it first")]
pub struct ReservationExhausted {
    /// The next outbound sequence number.
    pub next: u64,
    /// Numbers below this may be used.
    pub reserved: u64,
}

/// Everything the store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (a second daemon?) has this session's store open.
    #[error(
        "{} is locked by another process: is a second ilinkd running with the same state_dir? \
         Two writers would reuse sequence numbers",
        path.display()
    )]
    Locked { path: PathBuf },
    /// An IO call failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done (`"open"`, `"write"`, `"fdatasync"`, ...).
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A record in the middle of a journal is corrupt: valid records follow it, so cutting the
    /// file there would drop accepted data. Needs an operator.
    #[error("{}: corrupt journal record at byte offset {offset}: {reason}; {detail}", path.display())]
    CorruptRecord {
        path: PathBuf,
        /// Byte offset of the first bad record.
        offset: u64,
        reason: CorruptReason,
        /// Where the next valid record is, or why the damage is not a torn tail.
        detail: String,
    },
    /// The file does not start with the journal file header.
    #[error("{}: not an ilinkd journal (bad file header at byte offset 0)", path.display())]
    BadFileHeader { path: PathBuf },
    /// The journal was written by a newer format version.
    #[error("{}: unsupported journal format version {version}", path.display())]
    UnsupportedVersion { path: PathBuf, version: u32 },
    /// A payload larger than [`journal::MAX_PAYLOAD`].
    #[error("{}: payload of {len} bytes exceeds the {max} byte record limit", path.display())]
    PayloadTooLarge { path: PathBuf, len: usize, max: u32 },
    /// Append to a journal opened read-only.
    #[error("{}: journal is open read-only", path.display())]
    ReadOnly { path: PathBuf },
    /// No valid state slot, and the session has journals (so it is not a fresh session).
    #[error("{}: session state unreadable: {detail}", path.display())]
    StateCorrupt { path: PathBuf, detail: String },
    /// The first record of an outbound journal names another UUID.
    #[error("{}: journal belongs to UUID {found}, expected {expected}", path.display())]
    UuidMismatch {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    /// A new UUID must be strictly greater than the current one.
    #[error("session {session}: new UUID {new} is not greater than the current UUID {current}")]
    UuidNotIncreasing {
        session: String,
        new: u64,
        current: u64,
    },
    /// The journal of this UUID already holds business messages: the UUID was used before.
    #[error("{}: UUID {uuid} already has journaled messages; refusing to reuse it", path.display())]
    UuidAlreadyUsed { path: PathBuf, uuid: u64 },
    /// Operation needs a UUID and the session has none yet (call `new_uuid` first).
    #[error("session {session}: no UUID yet (call new_uuid first)")]
    NoUuid { session: String },
    /// No journal for the requested UUID.
    #[error("{}: no outbound journal for UUID {uuid}", path.display())]
    UnknownUuid { path: PathBuf, uuid: u64 },
    /// Session names become directory names: one path component, no separators.
    #[error("invalid session name {name:?}: must be a non-empty single path component of [A-Za-z0-9._-], not . or ..")]
    InvalidSessionName { name: String },
    /// Sequence arithmetic would overflow.
    #[error("session {session}: outbound sequence space exhausted")]
    SeqOverflow { session: String },
    #[error(transparent)]
    Reservation(#[from] ReservationExhausted),
}

pub(crate) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Create `path` and its missing parents with mode 0700.
pub(crate) fn create_dir_private(path: &Path) -> Result<(), StoreError> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)
        .map_err(io_err("create directory", path))
}

/// Open `path` read-write, creating it with mode 0600 when missing. Returns `(file, created)`.
pub(crate) fn open_or_create(path: &Path) -> Result<(File, bool), StoreError> {
    match OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(f) => Ok((f, true)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map(|f| (f, false))
            .map_err(io_err("open", path)),
        Err(e) => Err(io_err("create", path)(e)),
    }
}

/// fsync a directory so a newly created entry in it survives a power loss.
pub(crate) fn sync_dir(path: &Path) -> Result<(), StoreError> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", path))
}

/// fdatasync unless the policy is `Never`.
pub(crate) fn datasync(file: &File, path: &Path, policy: FsyncPolicy) -> Result<(), StoreError> {
    if policy == FsyncPolicy::Never {
        return Ok(());
    }
    file.sync_data().map_err(io_err("fdatasync", path))
}
