//! Persistence of the gateway's per-session state across simulator restarts.
//!
//! The [`SessionRegistry`](super::SessionRegistry) calls a [`GatewayStore`] whenever state that
//! must survive a restart changes; the protocol code itself never touches a file. [`FileStore`]
//! keeps one [`Journal`] per session and UUID:
//!
//! ```text
//! <state_dir>/<SessionID>/uuid-<UUID, 20 digits>.journal
//!   UUID_MARKER  seq = UUID       payload = previous UUID u64, negotiated-at ns u64, first-of-week u8
//!   ESTABLISHED  seq = UUID       (the UUID was established at least once)
//!   OUTBOUND     seq = SeqNum     payload = the business frame as sent (PossRetransFlag 0)
//!   INBOUND      seq = next expected inbound SeqNum (no payload)
//! ```
//!
//! On open the newest file of a session is its current UUID and the one before it the previous
//! UUID (whose messages a client may still request with LastUUID); older files are deleted when a
//! new UUID is negotiated.

use crate::store::journal::{kind, Journal};
use crate::store::StoreError;
use crate::types::FsyncPolicy;
use std::path::{Path, PathBuf};

use super::SessionKey;

/// Record kind: the UUID was established at least once.
pub const KIND_ESTABLISHED: u8 = 16;

/// Where the registry reports changes that must survive a restart.
pub trait GatewayStore: Send {
    /// A new UUID was negotiated: sequences restart at 1 both ways.
    fn new_uuid(
        &mut self,
        session: SessionKey,
        uuid: u64,
        previous_uuid: u64,
        negotiated_at: u64,
        first_of_week: bool,
    ) -> Result<(), StoreError>;
    /// The current UUID was established (at least once).
    fn established(&mut self, session: SessionKey, uuid: u64) -> Result<(), StoreError>;
    /// A business message was sent on `uuid` with `seq`.
    fn outbound(
        &mut self,
        session: SessionKey,
        uuid: u64,
        seq: u32,
        frame: &[u8],
    ) -> Result<(), StoreError>;
    /// The next inbound sequence number expected on `uuid` is now `next_in`.
    fn inbound(&mut self, session: SessionKey, uuid: u64, next_in: u32) -> Result<(), StoreError>;
}

/// One UUID's messages as recovered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveredUuid {
    pub uuid: u64,
    pub previous_uuid: u64,
    pub negotiated_at: u64,
    pub first_of_week: bool,
    pub established: bool,
    pub next_in: u32,
    /// `(seq, frame)` in sequence order.
    pub outbound: Vec<(u32, Vec<u8>)>,
}

/// What a session had before the restart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveredSession {
    pub current: Option<RecoveredUuid>,
    pub previous: Option<RecoveredUuid>,
}

struct SessionFiles {
    dir: PathBuf,
    current: Option<(u64, Journal)>,
}

/// The file-backed [`GatewayStore`].
pub struct FileStore {
    policy: FsyncPolicy,
    sessions: Vec<SessionFiles>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

fn file_name(uuid: u64) -> String {
    format!("uuid-{uuid:020}.journal")
}

fn parse_file_name(name: &str) -> Option<u64> {
    name.strip_prefix("uuid-")?
        .strip_suffix(".journal")?
        .parse()
        .ok()
}

fn list_uuids(dir: &Path) -> Result<Vec<u64>, StoreError> {
    let mut v = Vec::new();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(v),
        Err(source) => {
            return Err(StoreError::Io {
                op: "read directory",
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    for entry in rd {
        let entry = entry.map_err(|source| StoreError::Io {
            op: "read directory",
            path: dir.to_path_buf(),
            source,
        })?;
        if let Some(uuid) = entry.file_name().to_str().and_then(parse_file_name) {
            v.push(uuid);
        }
    }
    v.sort_unstable();
    Ok(v)
}

fn read_uuid(journal: &Journal, uuid: u64) -> Result<RecoveredUuid, StoreError> {
    let mut r = RecoveredUuid {
        uuid,
        next_in: 1,
        ..RecoveredUuid::default()
    };
    for rec in journal.iter() {
        let rec = rec?;
        match rec.kind {
            kind::UUID_MARKER => {
                let p = &rec.payload;
                let word = |i: usize| {
                    p.get(i..i + 8)
                        .and_then(|b| b.try_into().ok())
                        .map_or(0, u64::from_le_bytes)
                };
                r.previous_uuid = word(0);
                r.negotiated_at = word(8);
                r.first_of_week = p.get(16).is_some_and(|&b| b == 1);
            }
            KIND_ESTABLISHED => r.established = true,
            kind::OUTBOUND => {
                let seq = u32::try_from(rec.seq).unwrap_or(u32::MAX);
                r.outbound.push((seq, rec.payload));
            }
            kind::INBOUND => r.next_in = u32::try_from(rec.seq).unwrap_or(u32::MAX),
            _ => {}
        }
    }
    Ok(r)
}

impl FileStore {
    /// Opens (creating) the state of `session_ids` under `dir` and returns what each had, in
    /// the same order.
    pub fn open(
        dir: &Path,
        policy: FsyncPolicy,
        session_ids: &[&str],
    ) -> Result<(FileStore, Vec<RecoveredSession>), StoreError> {
        let mut sessions = Vec::with_capacity(session_ids.len());
        let mut recovered = Vec::with_capacity(session_ids.len());
        for id in session_ids {
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(StoreError::InvalidSessionName {
                    name: (*id).to_string(),
                });
            }
            let sdir = dir.join(id);
            crate::store::create_dir_private(&sdir)?;
            let uuids = list_uuids(&sdir)?;
            let mut rs = RecoveredSession::default();
            let mut current = None;
            if let Some(&cur) = uuids.last() {
                let (j, _) = Journal::open(&sdir.join(file_name(cur)), policy)?;
                rs.current = Some(read_uuid(&j, cur)?);
                current = Some((cur, j));
            }
            if let Some(&prev) = uuids.len().checked_sub(2).and_then(|i| uuids.get(i)) {
                let (j, _) = Journal::open_read_only(&sdir.join(file_name(prev)))?;
                rs.previous = Some(read_uuid(&j, prev)?);
            }
            sessions.push(SessionFiles { dir: sdir, current });
            recovered.push(rs);
        }
        Ok((FileStore { policy, sessions }, recovered))
    }

    fn journal(&mut self, session: SessionKey, uuid: u64) -> Option<&mut Journal> {
        let s = self.sessions.get_mut(session.0 as usize)?;
        match &mut s.current {
            Some((u, j)) if *u == uuid => Some(j),
            _ => None,
        }
    }
}

impl GatewayStore for FileStore {
    fn new_uuid(
        &mut self,
        session: SessionKey,
        uuid: u64,
        previous_uuid: u64,
        negotiated_at: u64,
        first_of_week: bool,
    ) -> Result<(), StoreError> {
        let policy = self.policy;
        let Some(s) = self.sessions.get_mut(session.0 as usize) else {
            return Ok(());
        };
        let path = s.dir.join(file_name(uuid));
        let (mut j, _) = Journal::open(&path, policy)?;
        let mut payload = [0u8; 17];
        payload[..8].copy_from_slice(&previous_uuid.to_le_bytes());
        payload[8..16].copy_from_slice(&negotiated_at.to_le_bytes());
        payload[16] = u8::from(first_of_week);
        j.append(kind::UUID_MARKER, uuid, &payload)?;
        j.sync()?;
        s.current = Some((uuid, j));
        // Keep the current and the previous UUID only.
        for old in list_uuids(&s.dir)? {
            if old != uuid && old != previous_uuid {
                let p = s.dir.join(file_name(old));
                std::fs::remove_file(&p).map_err(|source| StoreError::Io {
                    op: "remove",
                    path: p.clone(),
                    source,
                })?;
            }
        }
        Ok(())
    }

    fn established(&mut self, session: SessionKey, uuid: u64) -> Result<(), StoreError> {
        match self.journal(session, uuid) {
            Some(j) => j.append(KIND_ESTABLISHED, uuid, &[]).map(|_| ()),
            None => Ok(()),
        }
    }

    fn outbound(
        &mut self,
        session: SessionKey,
        uuid: u64,
        seq: u32,
        frame: &[u8],
    ) -> Result<(), StoreError> {
        match self.journal(session, uuid) {
            Some(j) => j.append(kind::OUTBOUND, u64::from(seq), frame).map(|_| ()),
            None => Ok(()),
        }
    }

    fn inbound(&mut self, session: SessionKey, uuid: u64, next_in: u32) -> Result<(), StoreError> {
        match self.journal(session, uuid) {
            Some(j) => j.append(kind::INBOUND, u64::from(next_in), &[]).map(|_| ()),
            None => Ok(()),
        }
    }
}
