//! The operator's kill switch (`ilinkd kill`): engaged on everything, one iLink 3 session or
//! one strategy, it blocks new orders and modifies on that scope (refused with
//! [`RejectReason::KillSwitch`](crate::shm::RejectReason), text "kill switch") and cancels
//! every open order there, until `ilinkd kill --release`.
//!
//! - The book of engaged switches lives in `<state_dir>/kill.json` (written atomically on every
//!   change, read at start-up), so a switch survives a restart.
//! - The CLI talks to the daemon over `<state_dir>/control.sock`: one JSON request line, one
//!   JSON reply line. Housekeeping serves it; the caller's uid and pid come from `SO_PEERCRED`
//!   and are logged and kept with the switch.
//! - Housekeeping publishes the book as atomics in [`DaemonShared`] (`kill_all`, each session's
//!   and strategy's `killed`, then bumps `kill_gen`); an engine reads `kill_gen` once per request
//!   and, when it moved, applies the flags to its router (no lock on the hot path).

use super::shared::{DaemonShared, SessionKind};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The persisted book, under `state_dir`.
pub const KILL_FILE: &str = "kill.json";
/// The control socket, under `state_dir`.
pub const CONTROL_SOCKET: &str = "control.sock";

/// What a switch covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KillScope {
    All,
    Session,
    Strategy,
}

impl KillScope {
    pub fn name(self) -> &'static str {
        match self {
            KillScope::All => "all",
            KillScope::Session => "session",
            KillScope::Strategy => "strategy",
        }
    }
}

/// One engaged switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillEntry {
    pub scope: KillScope,
    /// Session or strategy name; `*` for [`KillScope::All`].
    pub target: String,
    pub since_unix_s: f64,
    /// Who pulled it (`SO_PEERCRED` of the control-socket caller).
    pub uid: Option<u32>,
    pub pid: Option<i32>,
    pub reason: Option<String>,
}

/// Why the kill book or the control socket failed.
#[derive(Debug, thiserror::Error)]
pub enum KillError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a kill switch file: {source}", .path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: the daemon answered something else than a control reply: {source}", .path.display())]
    Reply {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// The engaged switches, persisted in `<state_dir>/kill.json`.
#[derive(Debug, Clone)]
pub struct KillBook {
    path: PathBuf,
    entries: Vec<KillEntry>,
}

impl KillBook {
    /// Reads the book (empty when the file does not exist).
    pub fn load(state_dir: &Path) -> Result<KillBook, KillError> {
        let path = state_dir.join(KILL_FILE);
        let entries = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|source| KillError::Parse {
                path: path.clone(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(KillError::Io { path, source }),
        };
        Ok(KillBook { path, entries })
    }

    pub fn entries(&self) -> &[KillEntry] {
        &self.entries
    }

    /// Writes atomically (temporary file, fsync, rename).
    fn save(&self) -> Result<(), KillError> {
        let io = |source| KillError::Io {
            path: self.path.clone(),
            source,
        };
        let text = serde_json::to_string_pretty(&self.entries).map_err(std::io::Error::other);
        let tmp = self.path.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text?.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(io)
    }

    /// Engages a switch (persisted before it returns); `false` if it was engaged already.
    pub fn engage(&mut self, e: KillEntry) -> Result<bool, KillError> {
        if self
            .entries
            .iter()
            .any(|x| x.scope == e.scope && x.target == e.target)
        {
            return Ok(false);
        }
        self.entries.push(e);
        self.save()?;
        Ok(true)
    }

    /// Releases a switch; `None` if it was not engaged.
    pub fn release(
        &mut self,
        scope: KillScope,
        target: &str,
    ) -> Result<Option<KillEntry>, KillError> {
        let Some(i) = self
            .entries
            .iter()
            .position(|x| x.scope == scope && x.target == target)
        else {
            return Ok(None);
        };
        let e = self.entries.remove(i);
        self.save()?;
        Ok(Some(e))
    }

    /// Publishes the book to the engines (flags first, then the generation they watch).
    pub fn apply(&self, shared: &DaemonShared) {
        let on = |scope: KillScope, name: &str| {
            self.entries
                .iter()
                .any(|e| e.scope == scope && e.target == name)
        };
        shared.kill_all.store(
            self.entries.iter().any(|e| e.scope == KillScope::All),
            Ordering::Release,
        );
        for s in &shared.sessions {
            s.killed
                .store(on(KillScope::Session, &s.name), Ordering::Release);
        }
        for s in &shared.strategies {
            s.killed
                .store(on(KillScope::Strategy, &s.name), Ordering::Release);
        }
        shared.kill_gen.fetch_add(1, Ordering::AcqRel);
    }
}

/// `ilinkd kill` → daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlRequest {
    /// `kill`, `release`, or `list-parties` (a PartyDetailsListRequest 537 on every
    /// established session with parties; scope and target ignored).
    pub op: String,
    pub scope: KillScope,
    /// Session or strategy name (ignored for `all`).
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Daemon → `ilinkd kill`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlReply {
    pub ok: bool,
    pub message: String,
}

/// The control socket, served by housekeeping without blocking.
#[derive(Debug)]
pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlServer {
    /// Binds `<state_dir>/control.sock` (a socket file left by a daemon that died is replaced:
    /// the stores' lock already keeps a second daemon away), owner-only.
    pub fn bind(state_dir: &Path) -> Result<ControlServer, KillError> {
        use std::os::unix::fs::PermissionsExt;
        let path = state_dir.join(CONTROL_SOCKET);
        let io = |source| KillError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
        let listener = UnixListener::bind(&path).map_err(io)?;
        listener.set_nonblocking(true).map_err(io)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        Ok(ControlServer { listener, path })
    }

    /// Serves the connections waiting now; `true` if the book changed.
    pub fn poll(&mut self, book: &mut KillBook, shared: &DaemonShared) -> bool {
        let mut changed = false;
        for _ in 0..8 {
            match self.listener.accept() {
                Ok((stream, _)) => changed |= serve(stream, book, shared),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::warn!("{}: accept failed: {e}", self.path.display());
                    break;
                }
            }
        }
        changed
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// One connection: read the request, act, answer. `true` if the book changed.
fn serve(stream: UnixStream, book: &mut KillBook, shared: &DaemonShared) -> bool {
    let cred = crate::net::peercred::peer_cred(&stream).ok();
    if stream.set_nonblocking(false).is_err()
        || stream
            .set_read_timeout(Some(Duration::from_secs(1)))
            .is_err()
    {
        return false;
    }
    let mut line = String::new();
    let mut reader = BufReader::new(&stream);
    let reply = match reader.read_line(&mut line) {
        Ok(_) => match serde_json::from_str::<ControlRequest>(&line) {
            Ok(req) => handle(&req, cred, book, shared),
            Err(e) => Err(format!("bad control request: {e}")),
        },
        Err(e) => Err(format!("cannot read the control request: {e}")),
    };
    let (changed, reply) = match reply {
        Ok((changed, message)) => (changed, ControlReply { ok: true, message }),
        Err(message) => (false, ControlReply { ok: false, message }),
    };
    if let Ok(mut text) = serde_json::to_string(&reply) {
        text.push('\n');
        let _ = (&stream).write_all(text.as_bytes());
    }
    changed
}

/// Acts on one request: `(book changed, message)` or why it was refused.
pub fn handle(
    req: &ControlRequest,
    cred: Option<crate::net::peercred::PeerCred>,
    book: &mut KillBook,
    shared: &DaemonShared,
) -> Result<(bool, String), String> {
    if req.op == "list-parties" {
        shared.party_list_gen.fetch_add(1, Ordering::AcqRel);
        return Ok((
            false,
            "PartyDetailsListRequest (537) sent on every established session with parties".into(),
        ));
    }
    let target = match req.scope {
        KillScope::All => "*".to_string(),
        KillScope::Session => {
            if !shared
                .sessions
                .iter()
                .any(|s| s.kind == SessionKind::Ilink3 && s.name == req.target)
            {
                return Err(format!("no iLink 3 session named {:?}", req.target));
            }
            req.target.clone()
        }
        KillScope::Strategy => {
            if !shared.strategies.iter().any(|s| s.name == req.target) {
                return Err(format!("no strategy named {:?}", req.target));
            }
            req.target.clone()
        }
    };
    let scope = req.scope.name();
    let (uid, pid) = (cred.map(|c| c.uid), cred.map(|c| c.pid));
    match req.op.as_str() {
        "kill" => {
            let engaged = book
                .engage(KillEntry {
                    scope: req.scope,
                    target: target.clone(),
                    since_unix_s: unix_now(),
                    uid,
                    pid,
                    reason: req.reason.clone(),
                })
                .map_err(|e| e.to_string())?;
            if !engaged {
                return Ok((
                    false,
                    format!("kill switch on {scope} {target} already engaged"),
                ));
            }
            book.apply(shared);
            tracing::warn!(
                scope,
                target = %target,
                uid = ?uid,
                pid = ?pid,
                reason = req.reason.as_deref().unwrap_or(""),
                "kill switch ENGAGED: open orders cancelled, new orders refused"
            );
            Ok((true, format!("kill switch on {scope} {target} engaged")))
        }
        "release" => match book
            .release(req.scope, &target)
            .map_err(|e| e.to_string())?
        {
            Some(_) => {
                book.apply(shared);
                tracing::warn!(
                    scope,
                    target = %target,
                    uid = ?uid,
                    pid = ?pid,
                    reason = req.reason.as_deref().unwrap_or(""),
                    "kill switch released"
                );
                Ok((true, format!("kill switch on {scope} {target} released")))
            }
            None => Err(format!("no kill switch engaged on {scope} {target}")),
        },
        op => Err(format!(
            "unknown control operation {op:?} (kill or release)"
        )),
    }
}

/// Sends one request to the daemon whose state dir is `state_dir` and returns its reply.
pub fn send(state_dir: &Path, req: &ControlRequest) -> Result<ControlReply, KillError> {
    let path = state_dir.join(CONTROL_SOCKET);
    let io = |source| KillError::Io {
        path: path.clone(),
        source,
    };
    let mut stream = UnixStream::connect(&path).map_err(io)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    let mut text = serde_json::to_string(req).map_err(|e| io(std::io::Error::other(e)))?;
    text.push('\n');
    stream.write_all(text.as_bytes()).map_err(io)?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).map_err(io)?;
    serde_json::from_str(&line).map_err(|source| KillError::Reply {
        path: path.clone(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::shared::{SessionShared, StrategyShared};

    fn shared() -> DaemonShared {
        DaemonShared::new(
            1,
            vec![
                SessionShared::new("eq", SessionKind::Ilink3),
                SessionShared::new("dc", SessionKind::DropCopy),
            ],
            vec![StrategyShared::new("mm1")],
        )
    }

    fn req(op: &str, scope: KillScope, target: &str) -> ControlRequest {
        ControlRequest {
            op: op.into(),
            scope,
            target: target.into(),
            reason: Some("test".into()),
        }
    }

    #[test]
    fn an_engaged_switch_is_published_persisted_and_released() {
        let dir = tempfile::tempdir().unwrap();
        let sh = shared();
        let mut book = KillBook::load(dir.path()).unwrap();
        let gen0 = sh.kill_gen.load(Ordering::Acquire);
        let r = handle(&req("kill", KillScope::Session, "eq"), None, &mut book, &sh);
        assert_eq!(r, Ok((true, "kill switch on session eq engaged".into())));
        assert!(sh.sessions[0].killed.load(Ordering::Acquire));
        assert!(!sh.kill_all.load(Ordering::Acquire));
        assert!(sh.kill_gen.load(Ordering::Acquire) > gen0);
        // A restart reads it back.
        let again = KillBook::load(dir.path()).unwrap();
        // (serde_json may read a float back 1 ulp off: compare the time loosely.)
        let (a, b) = (&again.entries()[0], &book.entries()[0]);
        assert_eq!(
            (a.scope, &a.target, &a.reason),
            (b.scope, &b.target, &b.reason)
        );
        assert!((a.since_unix_s - b.since_unix_s).abs() < 1e-3);
        assert_eq!(again.entries().len(), 1);
        let fresh = shared();
        again.apply(&fresh);
        assert!(fresh.sessions[0].killed.load(Ordering::Acquire));
        // Release.
        let r = handle(
            &req("release", KillScope::Session, "eq"),
            None,
            &mut book,
            &sh,
        );
        assert!(r.is_ok());
        assert!(!sh.sessions[0].killed.load(Ordering::Acquire));
        assert!(KillBook::load(dir.path()).unwrap().entries().is_empty());
    }

    #[test]
    fn list_parties_asks_the_engines_without_touching_the_book() {
        let sh = shared();
        let dir = tempfile::tempdir().unwrap();
        let mut book = KillBook::load(dir.path()).unwrap();
        let r = handle(
            &req("list-parties", KillScope::All, ""),
            None,
            &mut book,
            &sh,
        );
        assert!(
            matches!(r, Ok((false, ref m)) if m.contains("(537)")),
            "{r:?}"
        );
        assert_eq!(sh.party_list_gen.load(Ordering::Acquire), 1);
        assert_eq!(sh.kill_gen.load(Ordering::Acquire), 0);
        assert!(book.entries().is_empty());
    }

    #[test]
    fn unknown_targets_and_drop_copy_sessions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let sh = shared();
        let mut book = KillBook::load(dir.path()).unwrap();
        for (scope, t) in [(KillScope::Session, "dc"), (KillScope::Strategy, "nope")] {
            assert!(handle(&req("kill", scope, t), None, &mut book, &sh).is_err());
        }
        assert!(handle(&req("release", KillScope::All, ""), None, &mut book, &sh).is_err());
        assert!(book.entries().is_empty());
    }

    #[test]
    fn the_control_socket_records_who_pulled_it() {
        let dir = tempfile::tempdir().unwrap();
        let sh = shared();
        let mut book = KillBook::load(dir.path()).unwrap();
        let mut srv = ControlServer::bind(dir.path()).unwrap();
        let d = dir.path().to_path_buf();
        let client = std::thread::spawn(move || send(&d, &req("kill", KillScope::All, "")));
        // The client's request arrives while housekeeping polls.
        while !srv.poll(&mut book, &sh) {
            std::thread::yield_now();
        }
        let reply = client.join().unwrap().unwrap();
        assert!(reply.ok, "{}", reply.message);
        assert!(sh.kill_all.load(Ordering::Acquire));
        let e = &book.entries()[0];
        assert_eq!(e.pid, Some(std::process::id() as i32));
        assert_eq!(e.reason.as_deref(), Some("test"));
    }
}
