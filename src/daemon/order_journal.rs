//! The order journal: `<state_dir>/orders.journal`, one record per change of an order's state
//! (an [`OrderSnapshot`] opened or updated, or finished), appended by the housekeeping thread.
//! At start-up it is replayed into the open orders of the previous run and compacted: the file
//! is rewritten with only those orders, which [`Router::restore`](super::router::Router::restore)
//! then takes back.

use super::router::{OrderSnapshot, RestoreError, SNAPSHOT_LEN};
use crate::store::journal::Journal;
use crate::store::StoreError;
use crate::types::FsyncPolicy;
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
            let (mut fresh, _) = Journal::open(&tmp, FsyncPolicy::Never)?;
            for (i, s) in open.iter().enumerate() {
                fresh.append(OrderChange::Open as u8, i as u64, &s.encode())?;
            }
            fresh.sync()?;
        }
        std::fs::rename(&tmp, &path).map_err(compact_err)?;
        let (journal, _) = Journal::open(&path, policy)?;
        Ok((
            OrderJournal {
                journal,
                seq: open.len() as u64,
            },
            open,
        ))
    }

    /// Appends one change (housekeeping thread).
    pub fn append(&mut self, change: OrderChange, s: &OrderSnapshot) -> Result<(), StoreError> {
        self.journal.append(change as u8, self.seq, &s.encode())?;
        self.seq += 1;
        Ok(())
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
