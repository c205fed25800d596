//! Persistence of the Drop Copy gateway's per-account state across simulator restarts: one
//! [`Journal`] per account.
//!
//! ```text
//! <dir>/<SenderCompID>.journal
//!   OUTBOUND  seq = MsgSeqNum        payload = sent-at ns u64 LE, MsgType u8, body fields
//!   NEXT_OUT  seq = next outbound MsgSeqNum (after admin messages and sequence jumps)
//!   INBOUND   seq = next MsgSeqNum expected from the client
//! ```

use super::dropcopy_gateway::{DcKey, DropCopyStore, RecoveredAccount, StoredMessage};
use crate::store::journal::{kind, Journal};
use crate::store::StoreError;
use crate::types::FsyncPolicy;
use std::path::Path;

/// Record kind: the next outbound MsgSeqNum.
pub const KIND_NEXT_OUT: u8 = 17;

/// The file-backed [`DropCopyStore`].
pub struct DropCopyFileStore {
    journals: Vec<Journal>,
}

impl std::fmt::Debug for DropCopyFileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DropCopyFileStore")
            .field("accounts", &self.journals.len())
            .finish()
    }
}

impl DropCopyFileStore {
    /// Opens (creating) the journals of `sender_comp_ids` under `dir` and returns what each
    /// had, in the same order.
    pub fn open(
        dir: &Path,
        policy: FsyncPolicy,
        sender_comp_ids: &[&str],
    ) -> Result<(Self, Vec<RecoveredAccount>), StoreError> {
        crate::store::create_dir_private(dir)?;
        let mut journals = Vec::with_capacity(sender_comp_ids.len());
        let mut recovered = Vec::with_capacity(sender_comp_ids.len());
        for id in sender_comp_ids {
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(StoreError::InvalidSessionName {
                    name: (*id).to_string(),
                });
            }
            let (j, _) = Journal::open(&dir.join(format!("{id}.journal")), policy)?;
            let mut r = RecoveredAccount::default();
            for rec in j.iter() {
                let rec = rec?;
                match rec.kind {
                    kind::OUTBOUND => {
                        let p = &rec.payload;
                        let sent_at = p
                            .get(..8)
                            .and_then(|b| b.try_into().ok())
                            .map_or(0, u64::from_le_bytes);
                        let msg_type = p.get(8).copied().unwrap_or(b'8');
                        let body = p.get(9..).unwrap_or_default().to_vec();
                        r.next_out = r.next_out.max(rec.seq + 1);
                        r.messages.push(StoredMessage {
                            seq: rec.seq,
                            sent_at,
                            msg_type,
                            body,
                        });
                    }
                    KIND_NEXT_OUT => r.next_out = r.next_out.max(rec.seq),
                    kind::INBOUND => r.next_in = rec.seq,
                    _ => {}
                }
            }
            journals.push(j);
            recovered.push(r);
        }
        Ok((DropCopyFileStore { journals }, recovered))
    }

    fn journal(&mut self, key: DcKey) -> Option<&mut Journal> {
        self.journals.get_mut(key.0 as usize)
    }
}

impl DropCopyStore for DropCopyFileStore {
    fn business(&mut self, account: DcKey, msg: &StoredMessage) -> Result<(), StoreError> {
        match self.journal(account) {
            Some(j) => j
                .append_parts(
                    kind::OUTBOUND,
                    msg.seq,
                    &[&msg.sent_at.to_le_bytes(), &[msg.msg_type], &msg.body],
                )
                .map(|_| ()),
            None => Ok(()),
        }
    }

    fn next_out(&mut self, account: DcKey, next_out: u64) -> Result<(), StoreError> {
        match self.journal(account) {
            Some(j) => j.append(KIND_NEXT_OUT, next_out, &[]).map(|_| ()),
            None => Ok(()),
        }
    }

    fn next_in(&mut self, account: DcKey, next_in: u64) -> Result<(), StoreError> {
        match self.journal(account) {
            Some(j) => j.append(kind::INBOUND, next_in, &[]).map(|_| ()),
            None => Ok(()),
        }
    }
}
