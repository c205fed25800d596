//! The exchange side of the simulator, sans-IO.
//!
//! - [`ilink3_gateway`]: CME's end of FIXP: one [`GatewaySession`] per TCP connection, validating
//!   Negotiate/Establish (HMAC, timestamps, UUIDs, keepalive, sequence numbers) and answering with
//!   CME's exact reject/terminate codes; a [`SessionRegistry`] holds what outlives a connection
//!   (UUIDs, sequence numbers both ways, bad-logon history, port closure, the outbound journal
//!   that retransmissions are served from).
//! - [`matching`]: a price-time-priority limit order book per instrument producing execution
//!   reports, or a benchmark mode that acknowledges every order without a book.
//! - [`record`]: an optional record of what was received and reported (for the soak).
//! - [`store`]: the optional file store that keeps the registry's sequence state and journals
//!   across simulator restarts (the only module here that touches files).
//! - [`Exchange`]: ties them together for a server or an in-memory test: connections in, frames
//!   out, execution reports routed to every session they concern.
//! - [`dropcopy_gateway`]: CME's end of Drop Copy 4.0 (FIX 4.2 acceptor): signed Logon checks,
//!   execution reports of the engine as 35=8 / 35=n, ResendRequest, TestRequest, Logout with
//!   789; [`dropcopy_store`] keeps its state across restarts.
//! - [`server`]: the TCP server driving all of it (embedded in tests and the demo, or standalone
//!   as `ilinkd sim`), with per-session fault injection and a summary of what happened;
//!   [`config`] is what a server runs from; its file (`config/sim.toml`) is read by
//!   `crate::config::sim`.
//!
//! Time is nanoseconds since the Unix epoch, passed in by the caller, as in the client session.

#![forbid(unsafe_code)]

pub mod config;
pub mod dropcopy_gateway;
pub mod dropcopy_store;
pub mod exchange;
pub mod ilink3_gateway;
pub mod matching;
pub mod record;
pub mod server;
pub mod store;

pub use config::{SessionFaults, SimConfig};
pub use dropcopy_gateway::{
    DcEvent, DcKey, DcState, DropCopyAccount, DropCopyFaults, DropCopyGatewayConfig,
    DropCopyRegistry, DropCopySession, FailoverJump,
};
pub use exchange::{ConnId, Exchange, MessagingControls};
pub use ilink3_gateway::{
    ConnState, Faults, GatewayConfig, GatewayEvent, GatewaySession, LogonAnswer, LogonStage,
    SessionAccount, SessionRegistry, SkipOutbound,
};
pub use matching::{
    AffectedOrder, EngineMode, Instrument, InstrumentInfo, LegFill, MatchingEngine, PartyDef,
    Report, ReportAux, ReportKind, SpreadLegDef, UDS_FIRST_ID,
};
pub use record::SimRecord;
pub use server::{SimError, SimHandle, SimServer, Summary};

/// Index of a session (a CME Session ID) in the [`SessionRegistry`]; also the owner of orders in
/// the [`MatchingEngine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey(pub u32);

/// A fixed-capacity copy of a fixed-length char field (ClOrdID, SenderID, Location): `Copy`, no
/// heap.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedText<const N: usize> {
    bytes: [u8; N],
    len: u8,
}

impl<const N: usize> FixedText<N> {
    /// Copies at most `N` bytes of `b`, stopping at the first NUL.
    pub fn new(b: &[u8]) -> Self {
        let mut bytes = [0u8; N];
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len()).min(N);
        let (src, _) = b.split_at(end);
        if let Some(dst) = bytes.get_mut(..end) {
            dst.copy_from_slice(src);
        }
        FixedText {
            bytes,
            len: u8::try_from(end).unwrap_or(u8::MAX),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> Default for FixedText<N> {
    fn default() -> Self {
        FixedText {
            bytes: [0u8; N],
            len: 0,
        }
    }
}

impl<const N: usize> std::fmt::Debug for FixedText<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}
