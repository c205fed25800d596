//! `<state_dir>/parties.json`: which party definitions CME accepted under which UUID, so a
//! daemon restarted within the week (Establish with the same UUID) does not define them again
//! (CME keeps one definition per id and a week; a second 518 for it may be refused). Written
//! atomically by housekeeping when an engine reports a change; read at start-up.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name under `state_dir`.
pub const PARTIES_FILE: &str = "parties.json";

/// One accepted definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedParty {
    /// The `[[ilink3]]` session name.
    pub session: String,
    /// PartyDetailsListReqID.
    pub id: u64,
    /// The UUID the 519 accepted it under.
    pub uuid: u64,
}

pub fn parties_path(state_dir: &Path) -> PathBuf {
    state_dir.join(PARTIES_FILE)
}

/// Why `parties.json` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PartyStoreError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a party registration file: {source}", .path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// The accepted definitions recorded in `state_dir` (none when the file does not exist).
pub fn load(state_dir: &Path) -> Result<Vec<AcceptedParty>, PartyStoreError> {
    let path = parties_path(state_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(PartyStoreError::Io { path, source }),
    };
    serde_json::from_str(&text).map_err(|source| PartyStoreError::Parse { path, source })
}

/// Replaces the file atomically (temporary file in the same folder, then rename).
pub fn save(state_dir: &Path, accepted: &[AcceptedParty]) -> Result<(), PartyStoreError> {
    let path = parties_path(state_dir);
    super::status::write_json_atomically(&path, accepted)
        .map_err(|source| PartyStoreError::Io { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_definitions_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), Vec::new(), "no file: none");
        let a = vec![AcceptedParty {
            session: "eq".into(),
            id: 1001,
            uuid: 77,
        }];
        save(dir.path(), &a).unwrap();
        assert_eq!(load(dir.path()).unwrap(), a);
        std::fs::write(parties_path(dir.path()), "{").unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("parties.json: not a party registration file"),
            "{e}"
        );
    }
}
