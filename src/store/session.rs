//! Durable per-session state: UUIDs, sequence numbers, outbound reservations, and the
//! outbound business message journal.
//!
//! # State file
//!
//! `<dir>/<name>/state` holds two 72-byte slots, at byte offsets 0 and 4096 (different disk
//! sectors and pages). Every write goes to slot `generation % 2` with a fresh generation, one
//! `pwrite` and (unless the policy is `Never`) an fdatasync. Open picks the valid slot (magic +
//! CRC32) with the highest generation, so a torn write of one slot falls back to the other,
//! which holds the previous completed write. A write is only relied on (a reservation
//! published, a UUID used) after its fdatasync returned.
//!
//! # Durability rules
//!
//! 1. **Outbound sequence numbers are never reused.** CME terminates a session whose sequence
//!    goes backwards, while a forward jump is answered with NotApplied, which we gap-fill. So a
//!    number is durable before the message carrying it leaves: the hot thread takes numbers only
//!    below the durable *reservation* (`SeqHandle::try_next_outbound`), and the housekeeping
//!    thread (`SessionStore::maintain`) moves the reservation `reserve_block` numbers ahead of
//!    use whenever fewer than `reserve_low_water` remain. The hot path never waits on fsync.
//! 2. **Recovery.** After an *unclean* stop (no clean-close flag): next outbound =
//!    `max(state.next_outbound, last journaled outbound seq + 1, state.reserved)`. Every number
//!    used was below the durable reservation, so this is above every number that may have left.
//!    The numbers between the last journaled one and the new next outbound are reported in
//!    [`Recovered::unjournaled_outbound`]: they may or may not have been sent, their bytes are
//!    not in the journal, so a NotApplied covering them must be answered with a gap-fill
//!    (Sequence), not a resend. After a *clean* close: next outbound =
//!    `max(state.next_outbound, last journaled + 1)`, i.e. exact.
//! 3. **Inbound next-expected may lag.** It is written with the other fields (on `maintain`,
//!    reservations, `sync`, `close`) but not on every message. After a crash it can be behind
//!    what was processed: the session then asks for a retransmission of messages it already
//!    saw (they come back with PossRetransFlag/PossDupFlag set and must be deduplicated by the
//!    consumer). It is never ahead, provided the caller sets it after processing a message.
//! 4. **New UUID** (weekly reset): the old journal is synced, the new UUID's journal is created
//!    and synced (with a UUID marker as first record), then the state (UUID, previous UUID,
//!    sequences 1, fresh reservation) is written and synced; only then may the UUID be used.
//!    A crash before the state write leaves the old UUID in force (the new one was never used).
//! 5. Opening marks the state "running" (clean flag cleared) with a new reservation, durably,
//!    before returning.
//!
//! Drop Copy has no UUID: it uses a strictly increasing "epoch" (e.g. the logon week) in the
//! UUID fields and the same rules.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::journal::{kind, Journal, OpenMode, Recovery};
use super::{
    create_dir_private, datasync, io_err, open_or_create, sync_dir, ReservationExhausted,
    StoreError,
};
use crate::types::FsyncPolicy;

const STATE_FILE: &str = "state";
const SLOT_MAGIC: [u8; 8] = *b"ILKDSST1";
const SLOT_LEN: usize = 72;
/// Byte offsets of the two state slots.
pub const SLOT_OFFSETS: [u64; 2] = [0, 4096];
const STATE_FILE_LEN: u64 = 8192;
const FLAG_CLEAN: u32 = 1;

/// Tunables of a [`SessionStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    pub fsync: FsyncPolicy,
    /// How far ahead of use a reservation extension reaches.
    pub reserve_block: u64,
    /// `maintain` extends the reservation when fewer than this many numbers remain. Keep it
    /// below `reserve_block` (otherwise every `maintain` call writes the state file).
    pub reserve_low_water: u64,
}

impl StoreOptions {
    /// Defaults: blocks of 1024, extend when fewer than 512 remain.
    pub fn new(fsync: FsyncPolicy) -> StoreOptions {
        StoreOptions {
            fsync,
            reserve_block: 1024,
            reserve_low_water: 512,
        }
    }
}

/// The persisted fields of one state slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    generation: u64,
    uuid: u64,
    previous_uuid: u64,
    next_outbound: u64,
    next_inbound: u64,
    /// Outbound numbers below this may have been used.
    reserved_outbound: u64,
    /// Next expected inbound seq on the previous UUID when it was replaced.
    previous_next_inbound: u64,
    clean: bool,
}

impl State {
    fn encode(&self) -> [u8; SLOT_LEN] {
        let mut b = [0u8; SLOT_LEN];
        b[0..8].copy_from_slice(&SLOT_MAGIC);
        b[8..16].copy_from_slice(&self.generation.to_le_bytes());
        b[16..24].copy_from_slice(&self.uuid.to_le_bytes());
        b[24..32].copy_from_slice(&self.previous_uuid.to_le_bytes());
        b[32..40].copy_from_slice(&self.next_outbound.to_le_bytes());
        b[40..48].copy_from_slice(&self.next_inbound.to_le_bytes());
        b[48..56].copy_from_slice(&self.reserved_outbound.to_le_bytes());
        b[56..64].copy_from_slice(&self.previous_next_inbound.to_le_bytes());
        let flags = if self.clean { FLAG_CLEAN } else { 0 };
        b[64..68].copy_from_slice(&flags.to_le_bytes());
        let crc = crc32fast::hash(&b[..68]);
        b[68..72].copy_from_slice(&crc.to_le_bytes());
        b
    }

    fn decode(b: &[u8; SLOT_LEN]) -> Result<State, SlotDamage> {
        let u64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b.get(o..o + 8).unwrap_or(&[0; 8]));
            u64::from_le_bytes(a)
        };
        if b[0..8] != SLOT_MAGIC {
            return Err(SlotDamage::Magic);
        }
        let stored = u32::from_le_bytes([b[68], b[69], b[70], b[71]]);
        let computed = crc32fast::hash(&b[..68]);
        if stored != computed {
            return Err(SlotDamage::Checksum { stored, computed });
        }
        let flags = u32::from_le_bytes([b[64], b[65], b[66], b[67]]);
        Ok(State {
            generation: u64_at(8),
            uuid: u64_at(16),
            previous_uuid: u64_at(24),
            next_outbound: u64_at(32),
            next_inbound: u64_at(40),
            reserved_outbound: u64_at(48),
            previous_next_inbound: u64_at(56),
            clean: flags & FLAG_CLEAN != 0,
        })
    }
}

/// A state slot that failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotError {
    /// Byte offset of the slot in the state file.
    pub offset: u64,
    pub reason: SlotDamage,
}

/// What is wrong with a state-file slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlotDamage {
    #[error("bad slot magic")]
    Magic,
    #[error("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum { stored: u32, computed: u32 },
}

struct StateFile {
    path: PathBuf,
    file: File,
    generation: u64,
    policy: FsyncPolicy,
}

impl StateFile {
    /// Write `st` (with the next generation) to the older slot; fdatasync per policy.
    fn write(&mut self, st: &mut State) -> Result<(), StoreError> {
        st.generation = self.generation + 1;
        let slot = SLOT_OFFSETS[(st.generation % 2) as usize];
        self.file
            .write_all_at(&st.encode(), slot)
            .map_err(io_err("write", &self.path))?;
        datasync(&self.file, &self.path, self.policy)?;
        self.generation = st.generation;
        Ok(())
    }
}

/// The counters the hot thread uses without locks or syscalls. Shared (`Arc`) between the hot
/// thread (takes outbound numbers, sets inbound next-expected) and the housekeeping thread
/// (publishes reservations after they are durable).
#[derive(Debug)]
pub struct SeqHandle {
    next_outbound: AtomicU64,
    reserved: AtomicU64,
    next_inbound: AtomicU64,
}

impl SeqHandle {
    /// Take the next outbound sequence number if the durable reservation covers it. Never
    /// blocks; on `Err` the message must wait until the reservation is extended.
    #[inline]
    pub fn try_next_outbound(&self) -> Result<u64, ReservationExhausted> {
        let mut next = self.next_outbound.load(Ordering::Relaxed);
        loop {
            let reserved = self.reserved.load(Ordering::Acquire);
            if next >= reserved {
                return Err(ReservationExhausted { next, reserved });
            }
            match self.next_outbound.compare_exchange_weak(
                next,
                next + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(next),
                Err(actual) => next = actual,
            }
        }
    }

    /// The next outbound number `try_next_outbound` would hand out.
    #[inline]
    pub fn next_outbound(&self) -> u64 {
        self.next_outbound.load(Ordering::Acquire)
    }

    /// Numbers below this are durably reserved.
    #[inline]
    pub fn reserved(&self) -> u64 {
        self.reserved.load(Ordering::Acquire)
    }

    /// How many numbers may still be taken without an extension.
    #[inline]
    pub fn headroom(&self) -> u64 {
        self.reserved().saturating_sub(self.next_outbound())
    }

    /// Record the next expected inbound sequence number (after processing a message).
    #[inline]
    pub fn set_next_inbound(&self, next: u64) {
        self.next_inbound.store(next, Ordering::Release);
    }

    /// The next expected inbound sequence number.
    #[inline]
    pub fn next_inbound(&self) -> u64 {
        self.next_inbound.load(Ordering::Acquire)
    }
}

/// What `SessionStore::open` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// No state existed: the session has no UUID yet (`uuid == 0`).
    pub fresh: bool,
    /// The previous run closed the store cleanly (sequences are exact).
    pub clean_shutdown: bool,
    pub uuid: u64,
    pub previous_uuid: u64,
    pub next_outbound: u64,
    pub next_inbound: u64,
    /// Next expected inbound seq on the previous UUID (for a retransmit request with LastUUID).
    pub previous_next_inbound: u64,
    /// Highest outbound seq in the current UUID's journal.
    pub last_journaled_outbound: Option<u64>,
    /// Outbound numbers skipped or possibly sent without being journaled: answer a NotApplied
    /// for these with a gap-fill, not a resend.
    pub unjournaled_outbound: Range<u64>,
    /// A state slot that failed verification (the other one was used).
    pub slot_error: Option<SlotError>,
    /// What recovering the current UUID's journal did.
    pub journal: Option<Recovery>,
}

/// What one `maintain` call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Maintenance {
    pub journal_synced: bool,
    /// The reservation was extended to this (exclusive) bound.
    pub reserved_to: Option<u64>,
    pub state_written: bool,
}

/// One journaled outbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournaledMessage {
    pub seq: u64,
    pub uuid: u64,
    /// The encoded message as sent.
    pub bytes: Vec<u8>,
}

/// Durable state of one session. Owned by the housekeeping side; the hot thread uses the
/// [`SeqHandle`] from [`SessionStore::handle`]. Dropping it without [`SessionStore::close`]
/// is an unclean stop (recovery applies the reservation rule).
pub struct SessionStore {
    name: String,
    dir: PathBuf,
    opts: StoreOptions,
    state_file: StateFile,
    state: State,
    seqs: Arc<SeqHandle>,
    journal: Option<Journal>,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore")
            .field("name", &self.name)
            .field("dir", &self.dir)
            .field("uuid", &self.state.uuid)
            .field("next_outbound", &self.seqs.next_outbound())
            .field("reserved", &self.seqs.reserved())
            .field("next_inbound", &self.seqs.next_inbound())
            .finish()
    }
}

fn validate_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidSessionName { name: name.into() })
    }
}

/// File name of the outbound journal of `uuid`.
pub fn journal_file_name(uuid: u64) -> String {
    format!("outbound-{uuid:020}.journal")
}

fn has_journals(dir: &Path) -> Result<bool, StoreError> {
    let entries = std::fs::read_dir(dir).map_err(io_err("read directory", dir))?;
    for e in entries {
        let e = e.map_err(io_err("read directory", dir))?;
        let n = e.file_name();
        let n = n.to_string_lossy();
        if n.starts_with("outbound-") && n.ends_with(".journal") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Open the journal of `uuid`, check its marker, write the marker when new.
fn open_uuid_journal(
    dir: &Path,
    uuid: u64,
    previous_uuid: u64,
    policy: FsyncPolicy,
) -> Result<(Journal, Recovery), StoreError> {
    let path = dir.join(journal_file_name(uuid));
    let (mut j, rec) = Journal::open(&path, policy)?;
    let first = j.iter().next().transpose()?;
    match first {
        None => {
            let mut m = [0u8; 16];
            m[..8].copy_from_slice(&uuid.to_le_bytes());
            m[8..].copy_from_slice(&previous_uuid.to_le_bytes());
            j.append(kind::UUID_MARKER, 0, &m)?;
            j.sync_now()?;
            if policy != FsyncPolicy::Never {
                sync_dir(dir)?;
            }
        }
        Some(r) => {
            let found = r
                .payload
                .get(..8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_le_bytes);
            if r.kind != kind::UUID_MARKER || found != Some(uuid) {
                return Err(StoreError::UuidMismatch {
                    path,
                    expected: uuid,
                    found: found.unwrap_or(0),
                });
            }
        }
    }
    Ok((j, rec))
}

impl SessionStore {
    /// Open (creating when missing) the store of session `name` under `state_dir`, with the
    /// default reservation block.
    pub fn open(
        state_dir: &Path,
        name: &str,
        fsync: FsyncPolicy,
    ) -> Result<(SessionStore, Recovered), StoreError> {
        Self::open_with(state_dir, name, StoreOptions::new(fsync))
    }

    /// Open with explicit options.
    pub fn open_with(
        state_dir: &Path,
        name: &str,
        opts: StoreOptions,
    ) -> Result<(SessionStore, Recovered), StoreError> {
        validate_name(name)?;
        let dir = state_dir.join(name);
        create_dir_private(&dir)?;
        let path = dir.join(STATE_FILE);
        let (file, created) = open_or_create(&path)?;
        // One writer per session: held until the store is dropped (the file stays open).
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked { path: path.clone() })
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err("lock", &path)(e)),
        }
        if created && opts.fsync != FsyncPolicy::Never {
            sync_dir(&dir)?;
        }

        // Read both slots (missing bytes read as zero).
        let mut slots = [[0u8; SLOT_LEN]; 2];
        let file_len = file.metadata().map_err(io_err("stat", &path))?.len();
        for (buf, &off) in slots.iter_mut().zip(SLOT_OFFSETS.iter()) {
            let avail = file_len.saturating_sub(off).min(SLOT_LEN as u64) as usize;
            if let Some(part) = buf.get_mut(..avail) {
                file.read_exact_at(part, off)
                    .map_err(io_err("read", &path))?;
            }
        }
        let mut best: Option<State> = None;
        let mut slot_error = None;
        let mut any_written = false;
        for (buf, &off) in slots.iter().zip(SLOT_OFFSETS.iter()) {
            if buf.iter().all(|&b| b == 0) {
                continue;
            }
            any_written = true;
            match State::decode(buf) {
                Ok(st) => {
                    if best.is_none_or(|b| st.generation > b.generation) {
                        best = Some(st);
                    }
                }
                Err(reason) => {
                    slot_error = Some(SlotError {
                        offset: off,
                        reason,
                    })
                }
            }
        }
        let fresh = best.is_none();
        if fresh && (any_written || has_journals(&dir)?) {
            let detail = match &slot_error {
                Some(e) => format!(
                    "no valid state slot (slot at byte offset {}: {}); refusing to restart sequences at 1",
                    e.offset, e.reason
                ),
                None => "state file is empty but outbound journals exist; refusing to restart sequences at 1".into(),
            };
            return Err(StoreError::StateCorrupt { path, detail });
        }
        if file_len < STATE_FILE_LEN {
            file.set_len(STATE_FILE_LEN)
                .map_err(io_err("extend", &path))?;
        }
        let prev = best.unwrap_or(State {
            generation: 0,
            uuid: 0,
            previous_uuid: 0,
            next_outbound: 1,
            next_inbound: 1,
            reserved_outbound: 1,
            previous_next_inbound: 0,
            clean: true,
        });
        let mut state_file = StateFile {
            path,
            file,
            generation: prev.generation,
            policy: opts.fsync,
        };

        let (journal, journal_rec) = if prev.uuid != 0 {
            let (j, r) = open_uuid_journal(&dir, prev.uuid, prev.previous_uuid, opts.fsync)?;
            (Some(j), Some(r))
        } else {
            (None, None)
        };
        let last_journaled = journal
            .as_ref()
            .and_then(|j| j.last_seq())
            .filter(|&s| s > 0);
        let journal_next = last_journaled.map_or(1, |s| s + 1);
        let mut next_out = prev.next_outbound.max(journal_next);
        if !prev.clean {
            next_out = next_out.max(prev.reserved_outbound);
        }
        let mut state = State {
            clean: false,
            next_outbound: next_out,
            reserved_outbound: next_out,
            ..prev
        };
        if state.uuid != 0 {
            state.reserved_outbound =
                next_out.checked_add(opts.reserve_block).ok_or_else(|| {
                    StoreError::SeqOverflow {
                        session: name.into(),
                    }
                })?;
        }
        state_file.write(&mut state)?;

        let seqs = Arc::new(SeqHandle {
            next_outbound: AtomicU64::new(next_out),
            reserved: AtomicU64::new(state.reserved_outbound),
            next_inbound: AtomicU64::new(state.next_inbound),
        });
        let recovered = Recovered {
            fresh,
            clean_shutdown: prev.clean,
            uuid: state.uuid,
            previous_uuid: state.previous_uuid,
            next_outbound: next_out,
            next_inbound: state.next_inbound,
            previous_next_inbound: state.previous_next_inbound,
            last_journaled_outbound: last_journaled,
            unjournaled_outbound: journal_next..next_out,
            slot_error,
            journal: journal_rec,
        };
        Ok((
            SessionStore {
                name: name.into(),
                dir,
                opts,
                state_file,
                state,
                seqs,
                journal,
            },
            recovered,
        ))
    }

    /// The lock-free counters for the hot thread.
    pub fn handle(&self) -> Arc<SeqHandle> {
        Arc::clone(&self.seqs)
    }

    /// Session name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `<state_dir>/<name>`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Current UUID (0: none yet).
    pub fn uuid(&self) -> u64 {
        self.state.uuid
    }

    /// The UUID before the current one (0: none).
    pub fn previous_uuid(&self) -> u64 {
        self.state.previous_uuid
    }

    /// Next expected inbound seq on the previous UUID when it was replaced.
    pub fn previous_next_inbound(&self) -> u64 {
        self.state.previous_next_inbound
    }

    /// Next outbound sequence number.
    pub fn next_outbound(&self) -> u64 {
        self.seqs.next_outbound()
    }

    /// Outbound numbers below this are durably reserved.
    pub fn reserved_outbound(&self) -> u64 {
        self.seqs.reserved()
    }

    /// Next expected inbound sequence number.
    pub fn next_inbound(&self) -> u64 {
        self.seqs.next_inbound()
    }

    /// Set the next expected inbound sequence number (persisted lazily, see rule 3).
    pub fn set_next_inbound(&self, next: u64) {
        self.seqs.set_next_inbound(next);
    }

    /// Take the next outbound number; when the reservation is exhausted, extend it first
    /// (blocking on fdatasync). For single-threaded users; the hot thread uses the handle.
    pub fn take_outbound(&mut self) -> Result<u64, StoreError> {
        if self.state.uuid == 0 {
            return Err(StoreError::NoUuid {
                session: self.name.clone(),
            });
        }
        match self.seqs.try_next_outbound() {
            Ok(n) => Ok(n),
            Err(_) => {
                let up_to = self.extension_target()?;
                self.reserve_outbound(up_to)?;
                Ok(self.seqs.try_next_outbound()?)
            }
        }
    }

    fn extension_target(&self) -> Result<u64, StoreError> {
        self.seqs
            .next_outbound()
            .checked_add(self.opts.reserve_block)
            .ok_or_else(|| StoreError::SeqOverflow {
                session: self.name.clone(),
            })
    }

    fn snapshot(&mut self) {
        self.state.next_outbound = self.seqs.next_outbound();
        self.state.next_inbound = self.seqs.next_inbound();
    }

    /// Durably record that outbound numbers below `up_to` may be used, then publish it to the
    /// hot thread. No-op when already reserved that far.
    pub fn reserve_outbound(&mut self, up_to: u64) -> Result<(), StoreError> {
        if self.state.uuid == 0 {
            return Err(StoreError::NoUuid {
                session: self.name.clone(),
            });
        }
        if up_to <= self.state.reserved_outbound {
            return Ok(());
        }
        self.snapshot();
        let mut st = State {
            reserved_outbound: up_to,
            ..self.state
        };
        self.state_file.write(&mut st)?;
        self.state = st;
        // Published only after the write is durable.
        self.seqs.reserved.store(up_to, Ordering::Release);
        Ok(())
    }

    /// Housekeeping: sync the journal (`Batch`), extend the reservation when fewer than
    /// `reserve_low_water` numbers remain, and persist a changed inbound next-expected.
    pub fn maintain(&mut self) -> Result<Maintenance, StoreError> {
        let mut m = Maintenance::default();
        if let Some(j) = self.journal.as_mut() {
            if j.has_unsynced() {
                j.sync()?;
                m.journal_synced = true;
            }
        }
        if self.state.uuid != 0 && self.seqs.headroom() < self.opts.reserve_low_water {
            let up_to = self.extension_target()?;
            self.reserve_outbound(up_to)?;
            m.reserved_to = Some(up_to);
            m.state_written = true;
        } else if self.seqs.next_inbound() != self.state.next_inbound {
            self.snapshot();
            let mut st = self.state;
            self.state_file.write(&mut st)?;
            self.state = st;
            m.state_written = true;
        }
        Ok(m)
    }

    /// Journal an outbound business message sent (or about to be sent) with `seq` on the
    /// current UUID. fdatasynced here only with `FsyncPolicy::Always`.
    pub fn append_outbound(&mut self, seq: u64, message: &[u8]) -> Result<(), StoreError> {
        match self.journal.as_mut() {
            Some(j) => j.append(kind::OUTBOUND, seq, message).map(|_| ()),
            None => Err(StoreError::NoUuid {
                session: self.name.clone(),
            }),
        }
    }

    /// Journals several outbound messages `(seq, bytes)` of the current UUID with one write
    /// (a writer draining a queue of sent frames); on an error none of them is in the journal.
    pub fn append_outbound_batch<'a>(
        &mut self,
        messages: impl IntoIterator<Item = (u64, &'a [u8])>,
    ) -> Result<usize, StoreError> {
        match self.journal.as_mut() {
            Some(j) => j.append_batch(
                messages
                    .into_iter()
                    .map(|(seq, m)| (kind::OUTBOUND, seq, m)),
            ),
            None => Err(StoreError::NoUuid {
                session: self.name.clone(),
            }),
        }
    }

    /// The current UUID's outbound journal (audit, iteration).
    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// Journaled outbound messages of `uuid` with `from_seq <= seq < from_seq + count`, in
    /// journal order (for answering NotApplied(FromSeqNo, MsgCount) by resending, and audit).
    /// Numbers with no journaled message are simply absent.
    pub fn read_outbound(
        &self,
        uuid: u64,
        from_seq: u64,
        count: u64,
    ) -> Result<Vec<JournaledMessage>, StoreError> {
        let end = from_seq.saturating_add(count);
        let collect = |j: &Journal| -> Result<Vec<JournaledMessage>, StoreError> {
            let mut out = Vec::new();
            for r in j.iter_from(from_seq) {
                let r = r?;
                if r.seq >= end {
                    break;
                }
                if r.kind == kind::OUTBOUND {
                    out.push(JournaledMessage {
                        seq: r.seq,
                        uuid,
                        bytes: r.payload,
                    });
                }
            }
            Ok(out)
        };
        match self.journal.as_ref() {
            Some(j) if uuid == self.state.uuid => collect(j),
            _ => {
                let path = self.dir.join(journal_file_name(uuid));
                if !path.exists() {
                    return Err(StoreError::UnknownUuid { path, uuid });
                }
                let (j, _) = Journal::open_with(&path, FsyncPolicy::Never, OpenMode::ReadOnly)?;
                collect(&j)
            }
        }
    }

    /// Start a new UUID (weekly reset, or first use): previous UUID := current, both
    /// sequences := 1, a new journal file. `uuid` must be greater than the current one. The
    /// hot thread must not be sending while this runs. See rule 4 for the write order.
    pub fn new_uuid(&mut self, uuid: u64) -> Result<(), StoreError> {
        self.start_uuid(uuid, None)
    }

    /// [`SessionStore::new_uuid`] naming the previous UUID explicitly: the one whose messages a
    /// gap on the new UUID's EstablishmentAck refers to, with its next inbound number. Differs
    /// from the stored UUID when that one was never negotiated with the exchange (a crash
    /// between persisting it and the NegotiationResponse): it is skipped, and the UUID before it
    /// stays "previous".
    pub fn new_uuid_after(
        &mut self,
        uuid: u64,
        previous_uuid: u64,
        previous_next_inbound: u64,
    ) -> Result<(), StoreError> {
        self.start_uuid(uuid, Some((previous_uuid, previous_next_inbound)))
    }

    fn start_uuid(&mut self, uuid: u64, previous: Option<(u64, u64)>) -> Result<(), StoreError> {
        if uuid <= self.state.uuid {
            return Err(StoreError::UuidNotIncreasing {
                session: self.name.clone(),
                new: uuid,
                current: self.state.uuid,
            });
        }
        if let Some(j) = self.journal.as_mut() {
            j.sync_now()?;
        }
        let previous_uuid = previous.map_or(self.state.uuid, |p| p.0);
        let (j, _) = open_uuid_journal(&self.dir, uuid, previous_uuid, self.opts.fsync)?;
        if j.records() > 1 || j.last_seq().is_some_and(|s| s > 0) {
            return Err(StoreError::UuidAlreadyUsed {
                path: j.path().to_path_buf(),
                uuid,
            });
        }
        self.snapshot();
        // After the snapshot: the current next inbound number lives in the atomics until then.
        let previous_next_inbound = previous.map_or(self.state.next_inbound, |p| p.1);
        let reserved =
            1u64.checked_add(self.opts.reserve_block)
                .ok_or_else(|| StoreError::SeqOverflow {
                    session: self.name.clone(),
                })?;
        let mut st = State {
            generation: 0,
            uuid,
            previous_uuid,
            next_outbound: 1,
            next_inbound: 1,
            reserved_outbound: reserved,
            previous_next_inbound,
            clean: false,
        };
        // Synced (unless Never) before the UUID can be used.
        self.state_file.write(&mut st)?;
        self.state = st;
        self.journal = Some(j);
        self.seqs.next_outbound.store(1, Ordering::Release);
        self.seqs.next_inbound.store(1, Ordering::Release);
        self.seqs.reserved.store(reserved, Ordering::Release);
        Ok(())
    }

    /// Sync the journal and write the current sequences to the state file.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if let Some(j) = self.journal.as_mut() {
            j.sync()?;
        }
        self.snapshot();
        let mut st = self.state;
        self.state_file.write(&mut st)?;
        self.state = st;
        Ok(())
    }

    /// Clean close: sync the journal, then write the exact sequences with the clean flag. The
    /// hot thread must have stopped using the handle.
    pub fn close(mut self) -> Result<(), StoreError> {
        if let Some(j) = self.journal.as_mut() {
            j.sync_now()?;
        }
        self.snapshot();
        let mut st = State {
            clean: true,
            ..self.state
        };
        self.state_file.write(&mut st)?;
        Ok(())
    }
}
