//! What a [`SimServer`](super::server::SimServer) runs from: sessions with their keys and ports,
//! instruments, limits and injected faults. The simulator's file (`config/sim.toml`) is read and
//! checked by `crate::config::sim`, which maps it onto these.

use super::dropcopy_gateway::{DropCopyFaults, FailoverJump};
use super::exchange::MessagingControls;
use super::ilink3_gateway::{Faults, SkipOutbound};
use super::matching::{EngineMode, Instrument, InstrumentInfo};
use crate::auth::HmacSigner;
use crate::runtime::idle::IdleStrategy;
use crate::types::FsyncPolicy;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

/// `A after K`: after `after` messages, `count` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterCount {
    pub after: u64,
    pub count: u32,
}

/// Failover jump: after `after` business messages, jump by `by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterBy {
    pub after: u64,
    pub by: u64,
}

/// Faults injected into a session's connections (`[ilink3.faults]`, `[dropcopy.faults]`, or the
/// CLI's fault flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFaults {
    /// Apply to the first N connections of the session only (all when absent).
    pub connections: Option<u32>,
    /// Skip `count` outbound sequence numbers after `after` business messages (the client
    /// recovers them by retransmission / ResendRequest).
    pub skip: Option<AfterCount>,
    /// iLink 3: after the client's `after`-th business message, send NotApplied for `count`
    /// messages from that one.
    pub not_applied: Option<AfterCount>,
    /// Drop the TCP connection (no Terminate/Logout) after K business messages (iLink 3:
    /// received from the client; Drop Copy: sent to the client).
    pub disconnect_after: Option<u64>,
    /// Hold every outbound byte this long before writing it.
    pub delay_ms: Option<u64>,
    /// Go silent once logged on (the client's keepalive lapses).
    pub silent: bool,
    /// Reject every signature.
    pub reject_signatures: bool,
    /// Follow every business message with a PossRetrans (iLink 3) / PossDup (Drop Copy) copy.
    pub duplicate: bool,
    /// Drop Copy: jump the outbound sequence by `by` after `after` business messages.
    pub failover_jump: Option<AfterBy>,
    /// Drop Copy: after `after` execution reports offered to the account, never copy the next
    /// `count` (no sequence number used; only a reconciliation against iLink 3 finds them).
    pub withhold: Option<AfterCount>,
}

impl SessionFaults {
    /// No fault at all.
    pub fn is_empty(&self) -> bool {
        *self == SessionFaults::default()
    }

    /// `other`'s settings override these (flags are or-ed).
    pub fn merge(&mut self, other: &SessionFaults) {
        macro_rules! take {
            ($($f:ident),*) => {$( if other.$f.is_some() { self.$f = other.$f; } )*};
        }
        take!(
            connections,
            skip,
            not_applied,
            disconnect_after,
            delay_ms,
            failover_jump,
            withhold
        );
        self.silent |= other.silent;
        self.reject_signatures |= other.reject_signatures;
        self.duplicate |= other.duplicate;
    }

    /// The iLink 3 gateway's part (`silent`, `not_applied` and `delay_ms` are the server's).
    pub fn ilink3(&self) -> Faults {
        Faults {
            skip_outbound: self.skip.map(|s| SkipOutbound {
                after: s.after,
                count: s.count,
            }),
            reject_signatures: self.reject_signatures,
            silent: false,
            disconnect_after_inbound: self.disconnect_after,
            duplicate_poss_retrans: self.duplicate,
        }
    }

    /// The Drop Copy gateway's part (`delay_ms` is the server's).
    pub fn dropcopy(&self) -> DropCopyFaults {
        DropCopyFaults {
            skip_outbound: self.skip.map(|s| SkipOutbound {
                after: s.after,
                count: s.count,
            }),
            reject_signatures: self.reject_signatures,
            silent: self.silent,
            disconnect_after_outbound: self.disconnect_after,
            duplicate_poss_dup: self.duplicate,
            failover_jump: self.failover_jump.map(|j| FailoverJump {
                after: j.after,
                by: j.by,
            }),
        }
    }
}

/// A signing key the gateway knows.
#[derive(Clone)]
pub struct SimKey {
    pub access_key_id: String,
    pub signer: HmacSigner,
}

impl std::fmt::Debug for SimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimKey")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// An iLink 3 session and its port.
#[derive(Debug, Clone)]
pub struct Ilink3Endpoint {
    pub session_id: String,
    pub firm_id: String,
    pub keys: Vec<SimKey>,
    pub port: u16,
    pub faults: SessionFaults,
}

/// A Drop Copy session and its port.
#[derive(Debug, Clone)]
pub struct DropCopyEndpoint {
    pub sender_comp_id: String,
    pub firms: Vec<String>,
    pub keys: Vec<SimKey>,
    pub port: u16,
    pub xml_non_fix: bool,
    pub faults: SessionFaults,
}

/// Everything a simulator server runs from (keys loaded).
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub listen: IpAddr,
    pub mode: EngineMode,
    pub instruments: Vec<Instrument>,
    pub symbols: HashMap<i32, String>,
    pub ilink3: Vec<Ilink3Endpoint>,
    pub dropcopy: Vec<DropCopyEndpoint>,
    pub state_dir: Option<PathBuf>,
    pub fsync: FsyncPolicy,
    pub keepalive_min_ms: u16,
    pub keepalive_max_ms: u16,
    pub heartbeat_min_s: u32,
    pub heartbeat_max_s: u32,
    pub journal_retention: usize,
    /// Record what is received and reported here (the soak's evidence).
    pub record: Option<super::record::SimRecord>,
    /// Market segments, security groups and spread legs of the instruments.
    pub instrument_info: Vec<InstrumentInfo>,
    /// Orders must name a registered PartyDetailsListReqID.
    pub require_party_registration: bool,
    /// Pre-registered PartyDetailsListReqIDs.
    pub parties: Vec<u64>,
    pub messaging_controls: MessagingControls,
    pub cancel_on_disconnect: bool,
    /// Fault: bust / correct every Nth trade (0 never).
    pub bust_every: u64,
    pub correct_every: u64,
    /// What the server loop does when a turn finds nothing to do: `Spin` busy-polls,
    /// `SpinThenYield` yields a few turns then blocks on socket readiness, `Park` blocks on
    /// readiness at once. Blocking waits until a socket is readable (or writable with output
    /// pending) or the next timer (keepalive, heartbeat, delayed output) is due: no sleep is
    /// ever added to a message's path.
    pub idle: IdleStrategy,
    /// Core the server thread is pinned to (unpinned when absent or not available).
    pub core: Option<usize>,
}

impl SimConfig {
    /// An empty configuration on 127.0.0.1 with CME's limits (add sessions and instruments).
    pub fn new() -> Self {
        SimConfig {
            listen: IpAddr::V4(Ipv4Addr::LOCALHOST),
            mode: EngineMode::Book,
            instruments: Vec::new(),
            symbols: HashMap::new(),
            ilink3: Vec::new(),
            dropcopy: Vec::new(),
            state_dir: None,
            fsync: FsyncPolicy::Never,
            keepalive_min_ms: 5_000,
            keepalive_max_ms: 60_000,
            heartbeat_min_s: 5,
            heartbeat_max_s: 60,
            journal_retention: 1 << 20,
            record: None,
            instrument_info: Vec::new(),
            require_party_registration: false,
            parties: Vec::new(),
            messaging_controls: MessagingControls::default(),
            cancel_on_disconnect: false,
            bust_every: 0,
            correct_every: 0,
            idle: IdleStrategy::SpinThenYield,
            core: None,
        }
    }
}

impl SimConfig {
    /// Applies the order-entry rules (instrument details, parties, messaging controls, trade
    /// faults) to an exchange.
    pub fn apply_order_rules(&self, ex: &mut super::Exchange) {
        let engine = ex.engine_mut();
        for info in &self.instrument_info {
            engine.set_instrument_info(info);
        }
        engine.set_parties_required(self.require_party_registration);
        for &id in &self.parties {
            engine.register_party(
                id,
                super::PartyDef {
                    smp_id: None,
                    smp_instruction: None,
                },
            );
        }
        engine.set_trade_faults(self.bust_every, self.correct_every, false);
        ex.set_messaging_controls(self.messaging_controls);
        ex.set_cancel_on_disconnect(self.cancel_on_disconnect);
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_merge_overrides_and_ors() {
        let mut a = SessionFaults {
            delay_ms: Some(5),
            silent: true,
            ..SessionFaults::default()
        };
        a.merge(&SessionFaults {
            delay_ms: Some(9),
            duplicate: true,
            ..SessionFaults::default()
        });
        assert_eq!(a.delay_ms, Some(9));
        assert!(a.silent && a.duplicate);
        assert!(a.ilink3().duplicate_poss_retrans);
        assert!(a.dropcopy().silent);
    }
}
