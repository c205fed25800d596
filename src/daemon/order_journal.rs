//! The order journal: `<state_dir>/orders.journal`, one record per change of an order's state
//! (an [`OrderSnapshot`] opened or updated, or finished), appended by the housekeeping thread.
//! At start-up it is replayed into the open orders of the previous run and compacted: the file
//! is rewritten with only those orders, which [`Router::restore`](super::router::Router::restore)
//! then takes back.

use super::router::{OrderSnapshot, RestoreError, SNAPSHOT_LEN};
use crate::store::journal::{Journal, FILE_HEADER_LEN, RECORD_HEADER_LEN};
use crate::store::StoreError;
use crate::types::FsyncPolicy;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// File name under the state directory.
pub const FILE_NAME: &str = "orders.journal";

/// `on_restart`: what happens to a previous run's orders once a session is established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnRestart {
    /// One OrderMassStatusRequest (530); the restored orders are reconciled with the Status
    /// (532) reports: those the exchange no longer has are finished, unknown ones counted.
    #[default]
    Recover,
    /// Mass-cancel (529) everything on the session, once.
    Cancel,
}

impl OnRestart {
    pub fn name(self) -> &'static str {
        match self {
            OnRestart::Recover => "recover",
            OnRestart::Cancel => "cancel",
        }
    }
}

/// What happened to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OrderChange {
    /// Sent or restored (snapshot as it stands).
    Open = 1,
    /// Acknowledged, filled in part or replaced: the new snapshot.
    Update = 2,
    /// Filled, cancelled, eliminated or rejected: gone.
    Finished = 3,
}

/// Order journal failures.
#[derive(Debug, thiserror::Error)]
pub enum OrderJournalError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}: record at byte {offset}: {source}", path.display())]
    Record {
        path: PathBuf,
        offset: u64,
        source: RestoreError,
    },
    #[error("{}: record at byte {offset}: unknown change kind {kind}", path.display())]
    Kind {
        path: PathBuf,
        offset: u64,
        kind: u8,
    },
    #[error("compacting {}: {source}", path.display())]
    Compact {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// See the module documentation.
#[derive(Debug)]
pub struct OrderJournal {
    journal: Journal,
    seq: u64,
    policy: FsyncPolicy,
    dir: PathBuf,
    /// The open orders the records so far leave, by ClOrdID: (sequence number of the record
    /// that opened it, latest snapshot). Kept so that the file can be compacted while running.
    open: HashMap<[u8; 20], (u64, OrderSnapshot)>,
}

impl OrderJournal {
    /// Opens `<dir>/orders.journal`, replays it and compacts it to the orders still open,
    /// which it returns in the order they were first opened.
    pub fn open(
        dir: &Path,
        policy: FsyncPolicy,
    ) -> Result<(OrderJournal, Vec<OrderSnapshot>), OrderJournalError> {
        let path = dir.join(FILE_NAME);
        let open = {
            let (journal, _) = Journal::open(&path, policy)?;
            replay(&journal, &path)?
        };
        let journal = rewrite(dir, &open, policy)?;
        Ok((
            OrderJournal {
                journal,
                seq: open.len() as u64,
                policy,
                dir: dir.to_path_buf(),
                open: open
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.cl_ord_id, (i as u64, *s)))
                    .collect(),
            },
            open,
        ))
    }

    /// Appends one change (housekeeping thread).
    pub fn append(&mut self, change: OrderChange, s: &OrderSnapshot) -> Result<(), StoreError> {
        self.journal.append(change as u8, self.seq, &s.encode())?;
        self.applied(change, s);
        Ok(())
    }

    /// Appends the changes drained from the hot threads' queue with one write (a write per
    /// record cost housekeeping a syscall each: at a few hundred thousand orders a second it
    /// fell behind). `scratch` is the caller's reusable encoding buffer.
    pub fn append_batch(
        &mut self,
        changes: &[(OrderChange, OrderSnapshot)],
        scratch: &mut Vec<u8>,
    ) -> Result<(), StoreError> {
        scratch.clear();
        for (_, s) in changes {
            scratch.extend_from_slice(&s.encode());
        }
        let first = self.seq;
        self.journal.append_batch(
            changes
                .iter()
                .zip(scratch.chunks_exact(SNAPSHOT_LEN))
                .zip(first..)
                .map(|(((c, _), bytes), seq)| (*c as u8, seq, bytes)),
        )?;
        for (c, s) in changes {
            self.applied(*c, s);
        }
        Ok(())
    }

    /// The open-order table after a record of `change` was written with sequence `self.seq`.
    fn applied(&mut self, change: OrderChange, s: &OrderSnapshot) {
        match change {
            OrderChange::Open | OrderChange::Update => {
                let seq = self.seq;
                self.open
                    .entry(s.cl_ord_id)
                    .and_modify(|e| e.1 = *s)
                    .or_insert((seq, *s));
            }
            OrderChange::Finished => {
                self.open.remove(&s.cl_ord_id);
            }
        }
        self.seq += 1;
    }

    /// Orders open as the records so far leave them.
    pub fn open_orders(&self) -> usize {
        self.open.len()
    }

    /// When the file has grown past `limit` bytes and is mostly finished orders, rewrites it
    /// with only the open ones (as at start-up). Returns whether it did.
    pub fn compact_if_over(&mut self, limit: u64) -> Result<bool, OrderJournalError> {
        let live =
            FILE_HEADER_LEN + self.open.len() as u64 * (RECORD_HEADER_LEN + SNAPSHOT_LEN) as u64;
        let len = self.journal.len_bytes();
        if len <= limit || len <= 2 * live {
            return Ok(false);
        }
        let mut open: Vec<(u64, OrderSnapshot)> = self.open.values().copied().collect();
        open.sort_unstable_by_key(|&(seq, _)| seq);
        let snaps: Vec<OrderSnapshot> = open.iter().map(|&(_, s)| s).collect();
        self.journal = rewrite(&self.dir, &snaps, self.policy)?;
        self.open = snaps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.cl_ord_id, (i as u64, *s)))
            .collect();
        self.seq = snaps.len() as u64;
        Ok(true)
    }

    /// fdatasync what was appended (batched by housekeeping).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if self.journal.has_unsynced() {
            self.journal.sync()?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        self.journal.path()
    }

    /// Bytes in the file.
    pub fn len_bytes(&self) -> u64 {
        self.journal.len_bytes()
    }
}

/// Writes `open` as a fresh `<dir>/orders.journal` (a temporary file, synced, renamed over
/// the old one) and opens it for appending.
fn rewrite(
    dir: &Path,
    open: &[OrderSnapshot],
    policy: FsyncPolicy,
) -> Result<Journal, OrderJournalError> {
    let path = dir.join(FILE_NAME);
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let compact_err = |source| OrderJournalError::Compact {
        path: path.clone(),
        source,
    };
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(compact_err(e)),
    }
    {
        // Durable before it replaces the old file (one fdatasync, unless `Never`).
        let batch = match policy {
            FsyncPolicy::Never => FsyncPolicy::Never,
            _ => FsyncPolicy::Batch,
        };
        let (mut fresh, _) = Journal::open(&tmp, batch)?;
        for (i, s) in open.iter().enumerate() {
            fresh.append(OrderChange::Open as u8, i as u64, &s.encode())?;
        }
        fresh.sync()?;
    }
    std::fs::rename(&tmp, &path).map_err(compact_err)?;
    let (journal, _) = Journal::open(&path, policy)?;
    Ok(journal)
}

/// The open orders a journal's records leave, by ClOrdID, in first-opened order.
fn replay(journal: &Journal, path: &Path) -> Result<Vec<OrderSnapshot>, OrderJournalError> {
    let mut open: Vec<OrderSnapshot> = Vec::new();
    let mut at: std::collections::HashMap<[u8; 20], usize> = std::collections::HashMap::new();
    for rec in journal.iter() {
        let rec = rec?;
        let s =
            OrderSnapshot::decode(&rec.payload).map_err(|source| OrderJournalError::Record {
                path: path.to_path_buf(),
                offset: rec.offset,
                source,
            })?;
        debug_assert_eq!(rec.payload.len(), SNAPSHOT_LEN);
        match rec.kind {
            k if k == OrderChange::Open as u8 || k == OrderChange::Update as u8 => {
                match at.get(&s.cl_ord_id) {
                    Some(&i) => {
                        if let Some(slot) = open.get_mut(i) {
                            *slot = s;
                        }
                    }
                    None => {
                        at.insert(s.cl_ord_id, open.len());
                        open.push(s);
                    }
                }
            }
            k if k == OrderChange::Finished as u8 => {
                if let Some(i) = at.remove(&s.cl_ord_id) {
                    // Tombstone: cleared below, keeping the others' order.
                    if let Some(slot) = open.get_mut(i) {
                        slot.qty = 0;
                        slot.cl_ord_id = [0; 20];
                    }
                }
            }
            kind => {
                return Err(OrderJournalError::Kind {
                    path: path.to_path_buf(),
                    offset: rec.offset,
                    kind,
                })
            }
        }
    }
    open.retain(|s| s.cl_ord_id != [0; 20]);
    Ok(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(n: u8, cum: u32) -> OrderSnapshot {
        let mut cl_ord_id = *b"0abcdefghij000000000";
        cl_ord_id[19] = b'0' + n;
        OrderSnapshot {
            strategy: 0,
            strategy_session: 0,
            session: 0,
            client_id: u64::from(n),
            cl_ord_id,
            security_id: 42,
            side: 1,
            ord_type: b'2',
            tif: Some(0),
            qty: 10,
            price: Some(100),
            stop_px: None,
            display_qty: None,
            expire_date: None,
            exchange_id: Some(1000 + u64::from(n)),
            cum_qty: cum,
        }
    }

    #[test]
    fn replay_keeps_open_orders_latest_state_and_compacts() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (mut j, open) = OrderJournal::open(dir.path(), FsyncPolicy::Never).expect("open");
            assert!(open.is_empty());
            for n in 1..=4 {
                j.append(OrderChange::Open, &snap(n, 0)).expect("append");
            }
            j.append(OrderChange::Update, &snap(2, 3)).expect("append");
            j.append(OrderChange::Finished, &snap(1, 0))
                .expect("append");
            j.append(OrderChange::Finished, &snap(3, 0))
                .expect("append");
            // Dropped without a clean close, as after kill -9.
        }
        let before = std::fs::metadata(dir.path().join(FILE_NAME))
            .expect("file")
            .len();
        let (_, open) = OrderJournal::open(dir.path(), FsyncPolicy::Never).expect("reopen");
        assert_eq!(open, vec![snap(2, 3), snap(4, 0)]);
        let after = std::fs::metadata(dir.path().join(FILE_NAME))
            .expect("file")
            .len();
        assert!(after < before, "compacted: {after} < {before}");
        let (_, again) = OrderJournal::open(dir.path(), FsyncPolicy::Never).expect("reopen");
        assert_eq!(again, open, "compaction keeps the open orders");
    }

    /// A batch written with one write is the same file, record for record, as the same
    /// changes appended one at a time, and replays to the same open orders.
    #[test]
    fn a_batch_of_changes_writes_the_same_records_as_single_appends() {
        let changes = [
            (OrderChange::Open, snap(1, 0)),
            (OrderChange::Open, snap(2, 0)),
            (OrderChange::Update, snap(2, 3)),
            (OrderChange::Finished, snap(1, 0)),
            (OrderChange::Open, snap(3, 0)),
        ];
        let single = tempfile::tempdir().expect("tempdir");
        let batched = tempfile::tempdir().expect("tempdir");
        {
            let (mut a, _) = OrderJournal::open(single.path(), FsyncPolicy::Never).expect("open");
            let (mut b, _) = OrderJournal::open(batched.path(), FsyncPolicy::Never).expect("open");
            for (c, s) in &changes[..2] {
                a.append(*c, s).expect("append");
                b.append(*c, s).expect("append");
            }
            for (c, s) in &changes[2..] {
                a.append(*c, s).expect("append");
            }
            let mut scratch = Vec::new();
            b.append_batch(&changes[2..], &mut scratch)
                .expect("append_batch");
            b.append_batch(&[], &mut scratch).expect("empty batch");
            assert_eq!(a.open_orders(), 2);
            assert_eq!(b.open_orders(), 2);
            a.sync().expect("sync");
            b.sync().expect("sync");
        }
        let bytes = |d: &tempfile::TempDir| std::fs::read(d.path().join(FILE_NAME)).expect("read");
        assert_eq!(bytes(&single), bytes(&batched));
        let (_, open) = OrderJournal::open(batched.path(), FsyncPolicy::Never).expect("reopen");
        assert_eq!(open, vec![snap(2, 3), snap(3, 0)]);
    }

    #[test]
    fn a_running_journal_is_compacted_to_its_open_orders_past_the_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut j, _) = OrderJournal::open(dir.path(), FsyncPolicy::Never).expect("open");
        for n in 1..=9 {
            j.append(OrderChange::Open, &snap(n, 0)).expect("append");
            j.append(OrderChange::Update, &snap(n, 1)).expect("append");
        }
        for n in [1, 2, 3, 5, 6, 7, 8] {
            j.append(OrderChange::Finished, &snap(n, 1))
                .expect("append");
        }
        assert_eq!(j.open_orders(), 2);
        let before = j.len_bytes();
        assert!(
            !j.compact_if_over(before).expect("compact"),
            "not over the limit"
        );
        assert!(j.compact_if_over(1024).expect("compact"));
        assert!(j.len_bytes() < before / 4, "{} vs {before}", j.len_bytes());
        // Appends go on in the compacted file; a restart sees the same open orders.
        j.append(OrderChange::Update, &snap(4, 2)).expect("append");
        drop(j);
        let (_, open) = OrderJournal::open(dir.path(), FsyncPolicy::Never).expect("reopen");
        assert_eq!(open, vec![snap(4, 2), snap(9, 1)]);
    }

    #[test]
    fn a_record_of_another_size_is_an_error_with_its_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (mut j, _) =
                Journal::open(&dir.path().join(FILE_NAME), FsyncPolicy::Never).expect("open");
            j.append(OrderChange::Open as u8, 0, b"short")
                .expect("append");
        }
        let err = OrderJournal::open(dir.path(), FsyncPolicy::Never).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(FILE_NAME) && msg.contains("5 bytes"), "{msg}");
    }
}
