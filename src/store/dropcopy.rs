//! Drop Copy journal and fan-out: every business message the Drop Copy [`Session`] accepts is
//! de-duplicated by ExecID, appended to a crash-safe [`Journal`] and only then published on a
//! shared-memory [`BroadcastProducer`] ring that any number of local readers follow.
//!
//! * [`DropCopyRecorder`] is the writer, owned by the housekeeping side (it does file IO). Feed
//!   it every [`Event::Application`](crate::dropcopy::DropCopyEvent::Application) with
//!   [`DropCopyRecorder::record`]; start the session with [`DropCopyRecorder::restored_seqs`] and
//!   persist its numbers with [`DropCopyRecorder::save_seqs`] (on logon, logout, disconnect and
//!   from the housekeeping timer).
//! * [`DropCopyTail`] is a reader (`ilinkd dropcopy tail`): it reads the journal first (read-only)
//!   and switches to the ring, yielding records in MsgSeqNum order with no gap and no duplicate,
//!   even when it starts from a sequence number older than the ring's window, is lapped by the
//!   producer, or the daemon restarts (the ring file is replaced).
//!
//! # Files ([`DropCopyPaths`])
//!
//! ```text
//! <state_dir>/<session>/dropcopy-inbound.journal   store::journal format (shared with iLink 3)
//! <state_dir>/<session>/dropcopy.ring              shm broadcast ring (mapped by readers)
//! <state_dir>/<session>/dropcopy.lock              flock: one recorder per session
//! ```
//!
//! # Records
//!
//! Journal: [`kind::INBOUND`] records, `seq` = MsgSeqNum (34), payload = the raw FIX message as
//! received (`8=` to the trailer's SOH); and [`KIND_SEQ_STATE`] records (payload: `u64` next
//! outbound, `u64` next inbound, little-endian), whose `seq` is the last inbound MsgSeqNum
//! recorded so far so the journal's sequence stays monotonic. Ring: kind [`RING_KIND_FIX`],
//! `seq` = MsgSeqNum, payload = the same raw bytes.
//!
//! # Ordering and crash safety
//!
//! A message is appended to the journal (one `pwrite`: it survives a process crash as soon as
//! `append` returns; fdatasync per [`FsyncPolicy`]) before it is published, so anything a reader
//! saw on the ring is in the journal. The ring is not republished on restart: a restarted daemon
//! creates a fresh, empty ring; history lives in the journal, which readers consult first.
//!
//! # De-duplication
//!
//! CME resends executions with PossDupFlag after a failover under *new* sequence numbers, and a
//! restarted daemon may ask again for messages it already recorded, so sequence numbers alone do
//! not catch duplicates: ExecID (17) does. The set of recorded ExecIDs is rebuilt from the journal
//! at open (the journal is the source of truth). In memory it is a map from a 64-bit hash of the
//! ExecID to the MsgSeqNum of the record that carried it: ~32 bytes per execution, i.e. ~32 MiB
//! for a million executions in a week, independent of ExecID length. A hash hit is confirmed by
//! reading that record back from the journal and comparing the ExecIDs, so a hash collision can
//! never drop a real execution (colliding ExecIDs go to a small exact overflow map). Messages
//! without an ExecID (or that do not parse as a report) are recorded and published as they are;
//! any message whose MsgSeqNum is not above the last recorded one is a duplicate by sequence.
//!
//! # Weekly cycle
//!
//! The journal covers one CME week: sequence numbers restart at 1 at the weekly start-up (Sunday
//! 10:30 Chicago, [`crate::week`]). [`DropCopyRecorder::start_new_week`] renames the
//! journal `dropcopy-inbound-<YYYYMMDD>.journal` (never deleted) and starts a fresh one at 1/1:
//! at start-up when a start-up passed since the journal's last activity
//! ([`DropCopyRecorder::roll_week_if_due`]), when the session reports its weekly reset, and when a
//! message with a lower MsgSeqNum was sent after a start-up. State records carry the wall-clock
//! time of the save (24 bytes; 16-byte ones from older versions are read as "time unknown").

use crate::dropcopy::report::{DropCopyReport, ReportError, ReportParser, ReportSource};
use crate::dropcopy::session::SeqNums;
use crate::shm::{
    BroadcastProducer, BroadcastReader, PublishError, ReadError, RingOptions, ShmError,
};
use crate::store::journal::{kind, Journal};
use crate::store::StoreError;
use crate::types::FsyncPolicy;
use nohash_hasher::IntMap;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// Ring record kind of a Drop Copy message: payload = raw FIX bytes, seq = MsgSeqNum.
/// (`"DCFX"` read as a little-endian u32.)
pub const RING_KIND_FIX: u32 = u32::from_le_bytes(*b"DCFX");
/// Journal record kind of the persisted session sequence numbers (payload: u64 next outbound,
/// u64 next inbound, little-endian). Chosen well above the kinds in [`kind`].
pub const KIND_SEQ_STATE: u8 = 0x40;
/// File names under `<state_dir>/<session>/`.
pub const JOURNAL_FILE: &str = "dropcopy-inbound.journal";
pub const RING_FILE: &str = "dropcopy.ring";
pub const LOCK_FILE: &str = "dropcopy.lock";
/// Journal records read per batch by [`DropCopyTail`].
const TAIL_BATCH: usize = 256;

/// Errors of the recorder and the tail reader.
#[derive(Debug, thiserror::Error)]
pub enum DropCopyStoreError {
    #[error("invalid Drop Copy session name {name:?}: must be a non-empty single path component of [A-Za-z0-9._-], not . or ..")]
    InvalidSessionName { name: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Shm(#[from] ShmError),
    #[error("{}: locked by another process (a second ilinkd on the same Drop Copy session?)", path.display())]
    Locked { path: PathBuf },
    #[error("lock {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: sequence state record at byte offset {offset} has {len} bytes, expected 16", path.display())]
    BadStateRecord {
        path: PathBuf,
        offset: u64,
        len: usize,
    },
    /// The message is journaled but could not be published (readers still find it in the
    /// journal).
    #[error("MsgSeqNum {seq} journaled but not published: {source}")]
    Publish {
        seq: u64,
        #[source]
        source: PublishError,
    },
    #[error("reading the ring {}: {source}", path.display())]
    RingRead {
        path: PathBuf,
        #[source]
        source: ReadError,
    },
}

/// Where a Drop Copy session's journal and ring live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropCopyPaths {
    /// `<state_dir>/<session>`.
    pub dir: PathBuf,
    pub journal: PathBuf,
    pub ring: PathBuf,
    pub lock: PathBuf,
}

impl DropCopyPaths {
    /// Paths of session `session` under `state_dir` (the config's `[daemon] state_dir`).
    pub fn new(state_dir: &Path, session: &str) -> Result<Self, DropCopyStoreError> {
        let ok = !session.is_empty()
            && session != "."
            && session != ".."
            && session
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
        if !ok {
            return Err(DropCopyStoreError::InvalidSessionName {
                name: session.into(),
            });
        }
        let dir = state_dir.join(session);
        Ok(DropCopyPaths {
            journal: dir.join(JOURNAL_FILE),
            ring: dir.join(RING_FILE),
            lock: dir.join(LOCK_FILE),
            dir,
        })
    }
}

/// 64-bit hash of an ExecID (SipHash-1-3 with fixed keys: deterministic, in memory only).
fn exec_id_hash(exec_id: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    exec_id.hash(&mut h);
    h.finish()
}

/// ExecIDs recorded so far (see the module documentation).
#[derive(Debug, Default)]
struct ExecIdSet {
    /// hash(ExecID) -> MsgSeqNum of the journal record that carried it.
    /// The keys already are hashes, so the map does not hash them again.
    by_hash: IntMap<u64, u64>,
    /// ExecIDs whose hash collided with a different recorded ExecID.
    overflow: HashMap<String, u64>,
}

/// What [`DropCopyRecorder::record`] did with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Journaled and published at ring position `pos`. `unparsed`: the message is not a usable
    /// report (recorded anyway, without de-duplication).
    Published {
        seq: u64,
        pos: u64,
        unparsed: Option<ReportError>,
    },
    /// Its ExecID was already recorded (under MsgSeqNum `first_seq`): dropped.
    DuplicateExecId {
        seq: u64,
        exec_id: String,
        first_seq: u64,
    },
    /// MsgSeqNum not above the last recorded one: dropped.
    DuplicateSeq { seq: u64, last_seq: u64 },
}

/// What [`DropCopyRecorder::open`] found in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecorderRecovery {
    pub journal: crate::store::Recovery,
    /// Inbound messages in the journal.
    pub messages: u64,
    /// Distinct ExecIDs among them.
    pub exec_ids: usize,
    /// MsgSeqNum of the last inbound message.
    pub last_inbound_seq: Option<u64>,
    /// The last persisted [`KIND_SEQ_STATE`] record.
    pub saved: Option<SeqNums>,
    /// What the session should start with (see [`DropCopyRecorder::restored_seqs`]).
    pub seqs: SeqNums,
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecorderStats {
    pub published: u64,
    pub duplicate_exec_ids: u64,
    pub duplicate_seqs: u64,
    pub unparsed: u64,
    /// Hash hits that turned out to be different ExecIDs.
    pub hash_collisions: u64,
}

/// Options of [`DropCopyRecorder::open`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderOptions {
    pub fsync: FsyncPolicy,
    pub ring: RingOptions,
}

impl RecorderOptions {
    pub fn new(fsync: FsyncPolicy) -> Self {
        RecorderOptions {
            fsync,
            ring: RingOptions::default(),
        }
    }
}

/// The journal-then-publish writer of one Drop Copy session. See the module documentation.
pub struct DropCopyRecorder {
    paths: DropCopyPaths,
    journal: Journal,
    ring: BroadcastProducer,
    parser: ReportParser,
    exec_ids: ExecIdSet,
    last_inbound: Option<u64>,
    /// Wall-clock ns of the week's last activity: the latest SendingTime recorded or state save.
    last_wall: u64,
    /// FsyncPolicy of the journal (a rotated week's journal is reopened with it).
    fsync: FsyncPolicy,
    seqs: SeqNums,
    stats: RecorderStats,
    /// Holds the flock for the recorder's lifetime.
    _lock: File,
}

impl std::fmt::Debug for DropCopyRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DropCopyRecorder")
            .field("dir", &self.paths.dir)
            .field("last_inbound", &self.last_inbound)
            .field("exec_ids", &self.exec_ids.by_hash.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn state_payload(s: SeqNums, wall_ns: u64) -> [u8; 24] {
    let mut p = [0u8; 24];
    for (dst, v) in p.chunks_exact_mut(8).zip([s.next_out, s.next_in, wall_ns]) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
    p
}

/// A state record: 16 bytes (next out, next in), or 24 with the wall-clock time of the save.
fn decode_state(p: &[u8]) -> Option<(SeqNums, u64)> {
    let word = |i: usize| -> Option<u64> {
        Some(u64::from_le_bytes(
            p.get(8 * i..8 * i + 8)?.try_into().ok()?,
        ))
    };
    let wall = match p.len() {
        16 => 0,
        24 => word(2)?,
        _ => return None,
    };
    Some((
        SeqNums {
            next_out: word(0)?.max(1),
            next_in: word(1)?.max(1),
        },
        wall,
    ))
}

/// `dropcopy-inbound-<YYYYMMDD>[-n].journal` next to the journal: the archived week starting on
/// that (UTC) date.
fn archive_path(journal: &Path, week_start_ns: u64) -> PathBuf {
    let date = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(week_start_ns))
        .map(|t| {
            let d = t.date();
            format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
        })
        .unwrap_or_else(|_| "unknown".into());
    let dir = journal.parent().unwrap_or_else(|| Path::new("."));
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("dropcopy-inbound-{date}.journal")
        } else {
            format!("dropcopy-inbound-{date}-{n}.journal")
        };
        let p = dir.join(name);
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}

impl DropCopyRecorder {
    /// Locks the session, opens (recovering a torn tail) the journal, rebuilds the ExecID set
    /// and the sequence numbers from it, and creates a fresh ring (replacing a previous one).
    pub fn open(
        paths: &DropCopyPaths,
        opts: RecorderOptions,
    ) -> Result<(Self, RecorderRecovery), DropCopyStoreError> {
        crate::store::create_dir_private(&paths.dir)?;
        let (lock, _) = crate::store::open_or_create(&paths.lock)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(DropCopyStoreError::Locked {
                    path: paths.lock.clone(),
                })
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(DropCopyStoreError::Lock {
                    path: paths.lock.clone(),
                    source,
                })
            }
        }
        let (journal, recovery) = Journal::open(&paths.journal, opts.fsync)?;
        let ring = BroadcastProducer::create(&paths.ring, opts.ring)?;
        let mut rec = DropCopyRecorder {
            paths: paths.clone(),
            journal,
            ring,
            parser: ReportParser::new(),
            exec_ids: ExecIdSet::default(),
            last_inbound: None,
            last_wall: 0,
            fsync: opts.fsync,
            seqs: SeqNums::BEGINNING_OF_WEEK,
            stats: RecorderStats::default(),
            _lock: lock,
        };
        let mut messages = 0;
        let mut saved = None;
        let mut pending: Vec<(u64, String)> = Vec::new();
        for r in rec.journal.iter() {
            let r = r?;
            match r.kind {
                kind::INBOUND => {
                    messages += 1;
                    rec.last_inbound = Some(rec.last_inbound.map_or(r.seq, |l| l.max(r.seq)));
                    if let Ok(report) = rec.parser.parse(&r.payload) {
                        if let Some(id) = report.exec_id {
                            pending.push((r.seq, id.to_owned()));
                        }
                        if let Ok(t) = report.sending_time_ns() {
                            rec.last_wall = rec.last_wall.max(t);
                        }
                    }
                }
                KIND_SEQ_STATE => {
                    let (seqs, wall) = decode_state(&r.payload).ok_or_else(|| {
                        DropCopyStoreError::BadStateRecord {
                            path: paths.journal.clone(),
                            offset: r.offset,
                            len: r.payload.len(),
                        }
                    })?;
                    saved = Some(seqs);
                    rec.last_wall = rec.last_wall.max(wall);
                }
                _ => {}
            }
        }
        for (seq, id) in pending {
            if rec.find_exec_id(&id)?.is_none() {
                rec.insert_exec_id(&id, seq);
            }
        }
        let from_journal = rec.last_inbound.map_or(1, |l| l + 1);
        rec.seqs = SeqNums {
            next_out: saved.map_or(1, |s| s.next_out),
            next_in: saved.map_or(1, |s| s.next_in).max(from_journal),
        };
        let recovered = RecorderRecovery {
            journal: recovery,
            messages,
            exec_ids: rec.exec_ids.by_hash.len() + rec.exec_ids.overflow.len(),
            last_inbound_seq: rec.last_inbound,
            saved,
            seqs: rec.seqs,
        };
        Ok((rec, recovered))
    }

    /// The sequence numbers a restarted session starts with: next inbound = the larger of the
    /// last saved state and the last journaled message + 1; next outbound = the last saved one
    /// (1 when none was saved; CME's Logout with 789 then corrects it).
    pub fn restored_seqs(&self) -> SeqNums {
        self.seqs
    }

    /// Persists the session's numbers ([`Session::seq_nums`](crate::dropcopy::DropCopySession::seq_nums)) as a
    /// small journal record with the wall-clock time of the week's last activity: the later of
    /// the latest SendingTime recorded and `wall_ns` (a time known to be in the current week, or
    /// 0) (fdatasynced unless the policy is `Never`).
    pub fn save_seqs(&mut self, seqs: SeqNums, wall_ns: u64) -> Result<(), DropCopyStoreError> {
        let seq = self.last_inbound.unwrap_or(0);
        self.last_wall = self.last_wall.max(wall_ns);
        self.journal
            .append(KIND_SEQ_STATE, seq, &state_payload(seqs, self.last_wall))?;
        self.seqs = seqs;
        self.sync()
    }

    /// Wall-clock ns of the journaled week's last activity (latest SendingTime recorded or
    /// state saved); 0 when unknown. Give it to
    /// [`DropCopySession::set_last_activity`](crate::dropcopy::DropCopySession::set_last_activity).
    pub fn last_activity_wall(&self) -> u64 {
        self.last_wall
    }

    /// At start-up: when CME's weekly start-up passed since the journal's last activity, the
    /// journal belongs to a week that ended: [`DropCopyRecorder::start_new_week`]. Returns the
    /// archived journal's path.
    pub fn roll_week_if_due(
        &mut self,
        now_wall: u64,
    ) -> Result<Option<PathBuf>, DropCopyStoreError> {
        if self.last_wall != 0 && crate::week::new_week_between(self.last_wall, now_wall) {
            return self.start_new_week(now_wall).map(Some);
        }
        Ok(None)
    }

    /// CME's weekly reset: the journal is renamed `dropcopy-inbound-<YYYYMMDD>.journal` (the
    /// week's start-up date; never deleted) and a fresh one started with sequence numbers 1/1
    /// and an empty ExecID set. Returns the archived journal's path.
    pub fn start_new_week(&mut self, now_wall: u64) -> Result<PathBuf, DropCopyStoreError> {
        self.journal.sync()?;
        let week = if self.last_wall != 0 {
            self.last_wall
        } else {
            now_wall
        };
        let archive = archive_path(&self.paths.journal, crate::week::last_open(week));
        std::fs::rename(&self.paths.journal, &archive).map_err(|source| StoreError::Io {
            op: "rename the ended week's journal to",
            path: archive.clone(),
            source,
        })?;
        let (journal, _) = Journal::open(&self.paths.journal, self.fsync)?;
        self.journal = journal;
        self.exec_ids = ExecIdSet::default();
        self.last_inbound = None;
        self.last_wall = 0;
        self.save_seqs(SeqNums::BEGINNING_OF_WEEK, now_wall)?;
        Ok(archive)
    }

    /// fdatasync pending journal appends (the housekeeping timer, with `FsyncPolicy::Batch`).
    pub fn sync(&mut self) -> Result<(), DropCopyStoreError> {
        Ok(self.journal.sync()?)
    }

    /// Producer liveness for readers (call from the housekeeping timer).
    pub fn heartbeat(&self, now_ns: u64) {
        self.ring.heartbeat(now_ns);
    }

    pub fn stats(&self) -> &RecorderStats {
        &self.stats
    }

    pub fn paths(&self) -> &DropCopyPaths {
        &self.paths
    }

    /// MsgSeqNum of the last recorded message.
    pub fn last_inbound_seq(&self) -> Option<u64> {
        self.last_inbound
    }

    /// Distinct ExecIDs recorded.
    pub fn exec_id_count(&self) -> usize {
        self.exec_ids.by_hash.len() + self.exec_ids.overflow.len()
    }

    /// Records one accepted business message (`Event::Application { seq, raw, .. }`): drops
    /// duplicates, journals, then publishes. An `Err` after the journal append is
    /// [`DropCopyStoreError::Publish`] (the message is journaled).
    pub fn record(&mut self, seq: u64, raw: &[u8]) -> Result<Recorded, DropCopyStoreError> {
        let sent = self
            .parser
            .parse(raw)
            .ok()
            .and_then(|r| r.sending_time_ns().ok());
        if let Some(t) = sent {
            if self.last_inbound.is_some_and(|l| seq <= l)
                && self.last_wall != 0
                && crate::week::new_week_between(self.last_wall, t)
            {
                // Numbers starting again, sent after a weekly start-up: a new week whose
                // reset marker did not come first.
                self.start_new_week(t)?;
            }
        }
        if let Some(last) = self.last_inbound.filter(|&l| seq <= l) {
            self.stats.duplicate_seqs += 1;
            return Ok(Recorded::DuplicateSeq {
                seq,
                last_seq: last,
            });
        }
        let (exec_id, unparsed) = match self.parser.parse(raw) {
            Ok(r) => (r.exec_id.map(str::to_owned), None),
            Err(e) => (None, Some(e)),
        };
        if let Some(id) = exec_id.as_deref() {
            if let Some(first_seq) = self.find_exec_id(id)? {
                self.stats.duplicate_exec_ids += 1;
                return Ok(Recorded::DuplicateExecId {
                    seq,
                    exec_id: id.to_owned(),
                    first_seq,
                });
            }
        }
        self.journal.append(kind::INBOUND, seq, raw)?;
        self.last_inbound = Some(seq);
        if let Some(t) = sent {
            self.last_wall = self.last_wall.max(t);
        }
        if let Some(id) = exec_id.as_deref() {
            self.insert_exec_id(id, seq);
        }
        if unparsed.is_some() {
            self.stats.unparsed += 1;
        }
        let pos = self
            .ring
            .publish(RING_KIND_FIX, seq, raw)
            .map_err(|source| DropCopyStoreError::Publish { seq, source })?;
        self.stats.published += 1;
        Ok(Recorded::Published { seq, pos, unparsed })
    }

    /// MsgSeqNum of the record that carried `id`, confirmed against the journal.
    fn find_exec_id(&mut self, id: &str) -> Result<Option<u64>, DropCopyStoreError> {
        if let Some(&seq) = self.exec_ids.overflow.get(id) {
            return Ok(Some(seq));
        }
        let Some(&seq) = self.exec_ids.by_hash.get(&exec_id_hash(id)) else {
            return Ok(None);
        };
        for r in self.journal.iter_from(seq) {
            let r = r?;
            if r.seq != seq {
                break;
            }
            if r.kind != kind::INBOUND {
                continue;
            }
            if let Ok(report) = self.parser.parse(&r.payload) {
                if report.exec_id == Some(id) {
                    return Ok(Some(seq));
                }
            }
        }
        self.stats.hash_collisions += 1;
        Ok(None)
    }

    fn insert_exec_id(&mut self, id: &str, seq: u64) {
        let h = exec_id_hash(id);
        match self.exec_ids.by_hash.entry(h) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.exec_ids.overflow.insert(id.to_owned(), seq);
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(seq);
            }
        }
    }
}

/// Where [`DropCopyTail`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailStart {
    /// The first message with MsgSeqNum >= this (journal first, then the ring).
    From(u64),
    /// Only messages published from now on.
    Live,
}

/// One message delivered by [`DropCopyTail::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailRecord {
    pub seq: u64,
    /// The raw FIX message.
    pub raw: Vec<u8>,
    /// Read from the journal (history) rather than the live ring.
    pub from_journal: bool,
}

enum Phase {
    /// Reading a read-only journal snapshot: records with `seq >= next` (and `< until`).
    Journal {
        journal: Option<Journal>,
        until: Option<u64>,
    },
    /// Following the ring.
    Ring,
    /// No ring file yet (daemon not running): only the journal is read.
    NoRing,
}

/// Follows a Drop Copy session: journal history first, then the live ring; MsgSeqNum order, no
/// gaps, no duplicates. Reads only; never blocks (poll again later when `poll` returns `None`).
pub struct DropCopyTail {
    paths: DropCopyPaths,
    ring: Option<BroadcastReader>,
    phase: Phase,
    /// Smallest MsgSeqNum still to deliver.
    next: u64,
    pending: VecDeque<TailRecord>,
    buf: Vec<u8>,
    /// Times the tail fell back to the journal (lapped, ring replaced, window too short).
    pub journal_fallbacks: u64,
}

impl std::fmt::Debug for DropCopyTail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DropCopyTail")
            .field("dir", &self.paths.dir)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

fn open_journal(path: &Path) -> Result<Option<Journal>, DropCopyStoreError> {
    match Journal::open_read_only(path) {
        Ok((j, _)) => Ok(Some(j)),
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

impl DropCopyTail {
    pub fn open(paths: &DropCopyPaths, start: TailStart) -> Result<Self, DropCopyStoreError> {
        let mut t = DropCopyTail {
            paths: paths.clone(),
            ring: None,
            phase: Phase::NoRing,
            next: 1,
            pending: VecDeque::new(),
            buf: Vec::new(),
            journal_fallbacks: 0,
        };
        match start {
            TailStart::From(seq) => {
                t.next = seq.max(1);
                t.ring = BroadcastReader::open(&paths.ring).ok();
                t.phase = Phase::Journal {
                    journal: open_journal(&paths.journal)?,
                    until: None,
                };
            }
            TailStart::Live => match BroadcastReader::open(&paths.ring) {
                Ok(mut r) => {
                    r.seek_end();
                    // Everything before the live end is history, also in the journal.
                    t.next = match open_journal(&paths.journal)? {
                        Some(j) => j.last_seq().map_or(1, |l| l + 1),
                        None => 1,
                    };
                    t.ring = Some(r);
                    t.phase = Phase::Ring;
                }
                Err(_) => {
                    t.next = match open_journal(&paths.journal)? {
                        Some(j) => j.last_seq().map_or(1, |l| l + 1),
                        None => 1,
                    };
                }
            },
        }
        Ok(t)
    }

    /// The smallest MsgSeqNum not delivered yet.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// Whether the live ring is being followed (false: journal only, no daemon running).
    pub fn following_ring(&self) -> bool {
        matches!(self.phase, Phase::Ring)
    }

    /// The next message, or `None` when there is nothing more right now.
    pub fn poll(&mut self) -> Result<Option<TailRecord>, DropCopyStoreError> {
        // Each pass delivers, skips a ring record, changes phase or returns.
        loop {
            if let Some(r) = self.pending.pop_front() {
                self.next = r.seq + 1;
                return Ok(Some(r));
            }
            match &mut self.phase {
                Phase::Journal { journal, until } => {
                    let until = *until;
                    if let Some(j) = journal.as_ref() {
                        for r in j.iter_from(self.next) {
                            let r = r?;
                            if until.is_some_and(|u| r.seq >= u) {
                                break;
                            }
                            if r.kind == kind::INBOUND && r.seq >= self.next {
                                self.pending.push_back(TailRecord {
                                    seq: r.seq,
                                    raw: r.payload,
                                    from_journal: true,
                                });
                                if self.pending.len() >= TAIL_BATCH {
                                    break;
                                }
                            }
                        }
                    }
                    if !self.pending.is_empty() {
                        continue;
                    }
                    if until.is_some() {
                        // The ring reader already stands on the first record >= until.
                        self.phase = Phase::Ring;
                    } else {
                        self.join_ring()?;
                    }
                }
                Phase::Ring => {
                    let Some(ring) = self.ring.as_mut() else {
                        self.phase = Phase::NoRing;
                        continue;
                    };
                    match ring.poll(&mut self.buf) {
                        Ok(Some(rec)) => {
                            if rec.kind == RING_KIND_FIX && rec.seq >= self.next {
                                self.pending.push_back(TailRecord {
                                    seq: rec.seq,
                                    raw: rec.payload.to_vec(),
                                    from_journal: false,
                                });
                            }
                        }
                        Ok(None) => {
                            if ring.replaced() {
                                // A restarted daemon: its ring starts empty; catch up from
                                // the journal, then follow the new ring.
                                self.ring = None;
                                self.fall_back_to_journal()?;
                                continue;
                            }
                            return Ok(None);
                        }
                        Err(ReadError::Lapped { .. }) => self.fall_back_to_journal()?,
                        Err(source) => {
                            return Err(DropCopyStoreError::RingRead {
                                path: self.paths.ring.clone(),
                                source,
                            })
                        }
                    }
                }
                Phase::NoRing => match BroadcastReader::open(&self.paths.ring) {
                    Ok(r) => {
                        self.ring = Some(r);
                        self.fall_back_to_journal()?;
                    }
                    Err(_) => return Ok(None),
                },
            }
        }
    }

    fn fall_back_to_journal(&mut self) -> Result<(), DropCopyStoreError> {
        self.journal_fallbacks += 1;
        if self.ring.is_none() {
            self.ring = BroadcastReader::open(&self.paths.ring).ok();
        }
        self.phase = Phase::Journal {
            journal: open_journal(&self.paths.journal)?,
            until: None,
        };
        Ok(())
    }

    /// The journal snapshot is exhausted: position the ring on the first record >= next. If the
    /// ring's first such record is later than `next`, records in between may have been journaled
    /// after the snapshot and already left the ring: read them from a fresh journal snapshot
    /// (every one of them was journaled before that ring record was published).
    fn join_ring(&mut self) -> Result<(), DropCopyStoreError> {
        let Some(ring) = self.ring.as_mut() else {
            self.phase = Phase::NoRing;
            return Ok(());
        };
        if ring.replaced() {
            self.ring = BroadcastReader::open(&self.paths.ring).ok();
            self.phase = Phase::Journal {
                journal: open_journal(&self.paths.journal)?,
                until: None,
            };
            return Ok(());
        }
        match ring.seek_seq(self.next) {
            Ok(Some(s)) if s > self.next => {
                self.phase = Phase::Journal {
                    journal: open_journal(&self.paths.journal)?,
                    until: Some(s),
                };
            }
            Ok(_) => self.phase = Phase::Ring,
            Err(ReadError::Lapped { .. }) => self.fall_back_to_journal()?,
            Err(source) => {
                return Err(DropCopyStoreError::RingRead {
                    path: self.paths.ring.clone(),
                    source,
                })
            }
        }
        Ok(())
    }
}

/// One line of `ilinkd dropcopy tail`: prices and quantities as exact decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReportLine<'a> {
    pub seq: u64,
    /// 43=Y on the outer or (35=n) the embedded message.
    pub poss_dup: bool,
    /// 97=Y on the outer or (35=n) the embedded message.
    pub poss_resend: bool,
    /// [`ReportSource::name`]: `execution_report` (35=8, bare or embedded in a 35=n),
    /// `cancel_reject` (35=9 OrderCancelReject, bare or embedded in a 35=n), `xml_non_fix` (a
    /// 35=n embedding another FIX message, e.g. BZ), `ilink_binary` (a 35=n embedding an
    /// iLink 3 SBE message), or `unparsed`.
    pub source: &'static str,
    /// The message came as XMLnonFIX (35=n); the fields are the embedded message's.
    pub encapsulated: bool,
    /// MsgType (35) of the business message (the embedded one for a 35=n).
    pub msg_type: Option<String>,
    /// Template id of an embedded iLink 3 message (`ilink_binary`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<u16>,
    pub order_id: Option<&'a str>,
    pub cl_ord_id: Option<&'a str>,
    pub exec_id: Option<&'a str>,
    pub exec_type: Option<String>,
    pub ord_status: Option<String>,
    pub symbol: Option<&'a str>,
    pub security_id: Option<&'a str>,
    pub side: Option<String>,
    pub order_qty: Option<String>,
    pub price: Option<String>,
    pub last_qty: Option<String>,
    pub last_px: Option<String>,
    pub cum_qty: Option<String>,
    pub leaves_qty: Option<String>,
    pub transact_time: Option<&'a str>,
    pub sending_time: Option<&'a str>,
    /// `cancel_reject` only: 41 OrigClOrdID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orig_cl_ord_id: Option<&'a str>,
    /// `cancel_reject` only: 434 CxlRejResponseTo (`1` cancel, `2` cancel/replace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cxl_rej_response_to: Option<String>,
    /// `cancel_reject` only: 102 CxlRejReason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cxl_rej_reason: Option<u32>,
    /// `cancel_reject` only: 58 Text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a str>,
    /// `cancel_reject` only: 1 Account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<&'a str>,
    /// Why the message is not a usable report (then the other fields are null).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl<'a> ReportLine<'a> {
    /// The line for a parsed report (`seq` is the journal/ring MsgSeqNum).
    pub fn from_report(seq: u64, r: &DropCopyReport<'a>) -> Self {
        let ch = |c: Option<u8>| c.map(|c| char::from(c).to_string());
        let dec = |d: Option<crate::dropcopy::report::Decimal9>| d.map(|d| d.to_string());
        let (encapsulated, msg_type, template_id) = match r.source {
            ReportSource::ExecutionReport => (false, Some("8".to_string()), None),
            ReportSource::CancelReject => (false, Some("9".to_string()), None),
            ReportSource::XmlNonFix { inner_msg_type } => {
                (true, Some(inner_msg_type.as_str().to_string()), None)
            }
            ReportSource::IlinkBinary { template_id } => (true, None, Some(template_id)),
        };
        ReportLine {
            seq,
            poss_dup: r.poss_dup,
            poss_resend: r.poss_resend,
            source: r.source.name(),
            encapsulated,
            msg_type,
            template_id,
            order_id: r.order_id,
            cl_ord_id: r.cl_ord_id,
            exec_id: r.exec_id,
            exec_type: ch(r.exec_type),
            ord_status: ch(r.ord_status),
            symbol: r.symbol,
            security_id: r.security_id,
            side: ch(r.side),
            order_qty: dec(r.order_qty),
            price: dec(r.price),
            last_qty: dec(r.last_qty),
            last_px: dec(r.last_px),
            cum_qty: dec(r.cum_qty),
            leaves_qty: dec(r.leaves_qty),
            transact_time: r.transact_time,
            sending_time: Some(r.sending_time),
            orig_cl_ord_id: r.reject.and_then(|j| j.orig_cl_ord_id),
            cxl_rej_response_to: ch(r.reject.and_then(|j| j.response_to)),
            cxl_rej_reason: r.reject.and_then(|j| j.reason),
            text: r.reject.and_then(|j| j.text),
            account: r.reject.and_then(|j| j.account),
            error: None,
        }
    }

    /// A line for a message that did not parse as a report.
    pub fn unparsed(seq: u64, error: &ReportError) -> Self {
        ReportLine {
            seq,
            poss_dup: false,
            poss_resend: false,
            source: "unparsed",
            encapsulated: false,
            msg_type: None,
            template_id: None,
            order_id: None,
            cl_ord_id: None,
            exec_id: None,
            exec_type: None,
            ord_status: None,
            symbol: None,
            security_id: None,
            side: None,
            order_qty: None,
            price: None,
            last_qty: None,
            last_px: None,
            cum_qty: None,
            leaves_qty: None,
            transact_time: None,
            sending_time: None,
            orig_cl_ord_id: None,
            cxl_rej_response_to: None,
            cxl_rej_reason: None,
            text: None,
            account: None,
            error: Some(error.to_string()),
        }
    }
}

/// Formats one tail record as a JSON line (no trailing newline).
pub fn json_line(parser: &mut ReportParser, seq: u64, raw: &[u8]) -> String {
    let line = match parser.parse(raw) {
        Ok(r) => ReportLine::from_report(seq, &r),
        Err(e) => ReportLine::unparsed(seq, &e),
    };
    // Serialising a struct of strings, bools and integers cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

#[cfg(test)]
#[path = "dropcopy_tests.rs"]
mod tests;
