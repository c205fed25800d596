//! Party details on the daemon side (CME PartyDetailsDefinitionRequest 518, its Ack 519,
//! PartyDetailsListRequest 537 and Report 538; see `../shared/spec/CERTIFICATION.md` section 3).
//!
//! Each `[[ilink3.party]]` block of a session becomes a [`PartySpec`]. An on-demand party is
//! registered with a 518 when its session is established with a UUID it was not yet accepted
//! under (each new week's Negotiate, and again at the next Establish while no accepting 519
//! came or the 519 refused it); a pre-registered party's id is trusted. The core keeps a
//! [`PartyState`] per party and tells the router which strategies' orders to refuse locally
//! (`RejectReason::PartyNotRegistered`) until their party is usable. The state is published in
//! [`PartyShared`] for `ilinkd status --parties`.
//!
//! Sans-IO like the rest of the core: encoders write into caller buffers; no clock, no log.

use super::wire::FirmFields;
use crate::config::{Ilink3Config, PartyConfig, PartyOrigin, PartyRegistration, SmpInstruction};
use crate::ilink3::{
    EncodeError, PartyDetailsDefinitionRequestWriter, PartyDetailsListRequestWriter,
};
use crate::types::StrategyIdx;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// PartyDetailRole (1693) values of the v9 schema.
pub const ROLE_EXECUTING_FIRM: u16 = 1;
pub const ROLE_CUSTOMER_ACCOUNT: u16 = 24;
pub const ROLE_TAKE_UP_FIRM: u16 = 96;
pub const ROLE_OPERATOR: u16 = 118;
pub const ROLE_TAKE_UP_ACCOUNT: u16 = 1000;

/// Templates the core acts on for party details (the router does not).
pub fn acts_on(template_id: u16) -> bool {
    matches!(template_id, 519 | 538)
}

/// Whether a 519's PartyDetailRequestStatus (1878) accepts the definition. CME's codes are
/// unconfirmed (CERTIFICATION.md open item 3); FIX convention: 0 accepted, 1 accepted with
/// changes, anything else rejected.
pub fn accepted(request_status: u8) -> bool {
    request_status <= 1
}

/// One party of one iLink 3 session, as the core needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartySpec {
    pub name: String,
    /// PartyDetailsListReqID (1505).
    pub id: u64,
    pub pre_registered: bool,
    /// SenderID / Location / PartyDetailsListReqID of every message naming this party.
    pub firm: FirmFields,
    /// Global indices of the strategies whose orders on this session name it.
    pub strategies: Vec<StrategyIdx>,
    /// The UUID a 519 accepted it under before a restart (`parties.json`); 0: none.
    pub accepted_uuid: u64,
    /// NoPartyDetails entries: (PartyDetailRole, PartyDetailID).
    pub roles: Vec<(u16, String)>,
    pub cust_order_handling: Option<u8>,
    pub cti: Option<u8>,
    pub clearing_account_type: Option<u8>,
    pub smp_id: Option<u64>,
    pub smp_instruction: Option<u8>,
    pub avg_px_group_id: String,
    pub avg_px_indicator: Option<u8>,
    pub clearing_trade_price_type: Option<u8>,
    pub cmta_giveup: Option<u8>,
}

fn first_byte(s: &Option<String>) -> Option<u8> {
    s.as_ref().and_then(|s| s.bytes().next())
}

impl PartySpec {
    /// The party `p` of session `s` (a validated config), used by `strategies`.
    pub fn from_config(s: &Ilink3Config, p: &PartyConfig, strategies: Vec<StrategyIdx>) -> Self {
        let operator = p.operator.clone().unwrap_or_else(|| s.sender_id.clone());
        let mut roles = Vec::new();
        for (role, v) in [
            (ROLE_EXECUTING_FIRM, &p.executing_firm),
            (ROLE_CUSTOMER_ACCOUNT, &p.account),
            (ROLE_TAKE_UP_FIRM, &p.take_up_firm),
            (ROLE_TAKE_UP_ACCOUNT, &p.take_up_account),
        ] {
            if let Some(v) = v {
                roles.push((role, v.clone()));
            }
        }
        roles.push((ROLE_OPERATOR, operator.clone()));
        roles.sort_by_key(|r| r.0);
        PartySpec {
            name: p.name.clone(),
            id: p.id,
            pre_registered: p.registration == PartyRegistration::PreRegistered,
            firm: FirmFields::new(
                operator,
                p.location.clone().unwrap_or_else(|| s.location.clone()),
                p.id,
            ),
            strategies,
            accepted_uuid: 0,
            roles,
            cust_order_handling: first_byte(&p.customer_order_handling),
            cti: p.cti,
            clearing_account_type: p.origin.map(|o| match o {
                PartyOrigin::Customer => 0,
                PartyOrigin::Firm => 1,
            }),
            smp_id: p.self_match_prevention_id,
            smp_instruction: p.self_match_prevention_instruction.map(|i| match i {
                SmpInstruction::CancelNewest => b'N',
                SmpInstruction::CancelOldest => b'O',
            }),
            avg_px_group_id: p.avg_px_group_id.clone().unwrap_or_default(),
            avg_px_indicator: p.avg_px_indicator,
            clearing_trade_price_type: p.clearing_trade_price_type,
            cmta_giveup: first_byte(&p.cmta_giveup),
        }
    }

    /// The parties of session `s`, each with the strategies (global indices) naming it
    /// (`strategies`: every `[[strategy]]` as (its `party`, its session names)).
    pub fn of_session(s: &Ilink3Config, strategies: &[(Option<&str>, &[String])]) -> Vec<Self> {
        s.party
            .iter()
            .map(|p| {
                let users = strategies
                    .iter()
                    .enumerate()
                    .filter(|(_, (party, sessions))| {
                        *party == Some(p.name.as_str()) && sessions.contains(&s.name)
                    })
                    .map(|(i, _)| StrategyIdx::new(i))
                    .collect();
                PartySpec::from_config(s, p, users)
            })
            .collect()
    }

    /// Writes the PartyDetailsDefinitionRequest (518, ListUpdateAction A) with sequence
    /// number `seq`, stamped `sending_time` (ns since the epoch); returns the frame length.
    pub fn encode_definition(
        &self,
        seq: u32,
        sending_time: u64,
        buf: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let n = u8::try_from(self.roles.len()).unwrap_or(u8::MAX);
        let mut w = PartyDetailsDefinitionRequestWriter::with_counts(buf, [n, 0])?;
        w.set_avg_px_group_id(&self.avg_px_group_id)?;
        w.set_party_details_list_req_id(self.id)
            .set_sending_time_epoch(sending_time)
            .set_list_update_action(b'A')
            .set_seq_num(seq)
            .set_self_match_prevention_id(self.smp_id)
            .set_self_match_prevention_instruction(self.smp_instruction)
            .set_cmta_giveup_cd(self.cmta_giveup)
            .set_cust_order_capacity(self.cti)
            .set_clearing_account_type(self.clearing_account_type)
            .set_avg_px_indicator(self.avg_px_indicator)
            .set_clearing_trade_price_type(self.clearing_trade_price_type)
            .set_cust_order_handling_inst(self.cust_order_handling);
        for (i, (role, id)) in self.roles.iter().enumerate() {
            if let Some(mut e) = w.party_detail_mut(i) {
                e.set_party_detail_id(id)?;
                e.set_party_detail_role(*role);
            }
        }
        Ok(w.finish())
    }
}

/// Writes a PartyDetailsListRequest (537) `req_id` asking for every definition of `firm`
/// (NoRequestingPartyIDs: the firm, source C, role 1; no NoPartyIDs); returns the length.
pub fn encode_list_request(
    req_id: u64,
    firm: &str,
    seq: u32,
    sending_time: u64,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let mut w = PartyDetailsListRequestWriter::with_counts(buf, [1, 0])?;
    w.set_party_details_list_req_id(req_id)
        .set_sending_time_epoch(sending_time)
        .set_seq_num(seq);
    if let Some(mut e) = w.requesting_party_id_mut(0) {
        e.set_requesting_party_id(firm)?;
        e.set_requesting_party_id_source(b'C')
            .set_requesting_party_role(b'1');
    }
    Ok(w.finish())
}

/// Where a party's registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PartyState {
    /// On-demand, no 518 sent under the current UUID yet.
    Unregistered = 0,
    /// 518 sent, no 519 yet.
    Pending = 1,
    /// A 519 accepted it under the current UUID.
    Accepted = 2,
    /// A 519 (or a BusinessReject of the 518) refused it; sent again at the next Establish.
    Rejected = 3,
    /// `registration = "pre_registered"`: trusted.
    PreRegistered = 4,
}

impl PartyState {
    pub fn from_u8(v: u8) -> PartyState {
        match v {
            1 => PartyState::Pending,
            2 => PartyState::Accepted,
            3 => PartyState::Rejected,
            4 => PartyState::PreRegistered,
            _ => PartyState::Unregistered,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PartyState::Unregistered => "unregistered",
            PartyState::Pending => "pending",
            PartyState::Accepted => "accepted",
            PartyState::Rejected => "rejected",
            PartyState::PreRegistered => "pre-registered",
        }
    }

    /// Orders naming the party may be sent.
    pub fn usable(self) -> bool {
        matches!(self, PartyState::Accepted | PartyState::PreRegistered)
    }
}

/// A party's state as published for status (written by its engine, read by housekeeping).
#[derive(Debug)]
pub struct PartyShared {
    pub name: String,
    pub id: u64,
    pub pre_registered: bool,
    state: AtomicU8,
    /// UUID the state refers to (0: none yet).
    pub uuid: AtomicU64,
    /// Wall-clock ns of the last 518 sent (0: never).
    pub sent_wall: AtomicU64,
    /// Wall-clock ns of the last 519 or reject received (0: never).
    pub answered_wall: AtomicU64,
    /// The last 519's PartyDetailRequestStatus (1878), or a BusinessReject's reason + 1000;
    /// `u64::MAX`: none.
    pub status: AtomicU64,
    /// Wall-clock ns when a PartyDetailsListReport (538) last listed the id (0: never).
    pub listed_wall: AtomicU64,
}

impl PartyShared {
    pub fn new(p: &PartySpec) -> Self {
        PartyShared {
            name: p.name.clone(),
            id: p.id,
            pre_registered: p.pre_registered,
            state: AtomicU8::new(Party::initial(p).0 as u8),
            uuid: AtomicU64::new(Party::initial(p).1),
            sent_wall: AtomicU64::new(0),
            answered_wall: AtomicU64::new(0),
            status: AtomicU64::new(u64::MAX),
            listed_wall: AtomicU64::new(0),
        }
    }

    pub fn state(&self) -> PartyState {
        PartyState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub fn set_state(&self, s: PartyState) {
        self.state.store(s as u8, Ordering::Release);
    }
}

/// A party in the core: its definition and registration state.
#[derive(Debug, Clone)]
pub struct Party {
    pub spec: PartySpec,
    pub state: PartyState,
    /// UUID under which `state` holds.
    pub uuid: u64,
    /// Sequence number of the last 518 sent (0: none).
    pub seq: u32,
}

impl Party {
    pub fn new(spec: PartySpec) -> Self {
        let (state, uuid) = Party::initial(&spec);
        Party {
            spec,
            state,
            uuid,
            seq: 0,
        }
    }

    /// State and UUID at start-up: pre-registered, accepted under a UUID before a restart, or
    /// unregistered.
    pub fn initial(spec: &PartySpec) -> (PartyState, u64) {
        if spec.pre_registered {
            (PartyState::PreRegistered, 0)
        } else if spec.accepted_uuid != 0 {
            (PartyState::Accepted, spec.accepted_uuid)
        } else {
            (PartyState::Unregistered, 0)
        }
    }

    /// CME did not apply messages `from..from + count` (NotApplied answered by a gap fill): a
    /// pending definition among them never reaches CME and is due again. Returns whether it
    /// was.
    pub fn not_applied(&mut self, from: u32, count: u32) -> bool {
        let hit = self.state == PartyState::Pending
            && self.seq >= from
            && u64::from(self.seq) < u64::from(from) + u64::from(count);
        if hit {
            self.state = PartyState::Unregistered;
        }
        hit
    }

    /// At Establish with `uuid`: whether a 518 must go (not accepted under this UUID yet).
    pub fn needs_definition(&self, uuid: u64) -> bool {
        let accepted_now = self.state == PartyState::Accepted && self.uuid == uuid;
        !(self.spec.pre_registered || accepted_now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ilink3::{decode, Message};

    fn spec() -> PartySpec {
        let cfg: crate::config::Config = toml::from_str(
            r#"
[daemon]
state_dir = "/tmp/x"
[[ilink3]]
name = "a"
session_id = "ABC"
firm_id = "007"
key_file = "demo:a"
sender_id = "OPS01"
[[ilink3.party]]
name = "desk"
id = 77
executing_firm = "007"
account = "ACCT1"
take_up_firm = "123"
customer_order_handling = "W"
cti = 2
origin = "firm"
self_match_prevention_id = 55
self_match_prevention_instruction = "cancel_newest"
avg_px_group_id = "G1"
"#,
        )
        .unwrap();
        PartySpec::from_config(&cfg.ilink3[0], &cfg.ilink3[0].party[0], Vec::new())
    }

    /// Every configured field reaches its tag in the 518, roles in the NoPartyDetails group
    /// (operator defaulting to the session's SenderID).
    #[test]
    fn the_definition_request_carries_every_configured_field() {
        let p = spec();
        let mut buf = [0u8; 512];
        let n = p.encode_definition(9, 1234, &mut buf).unwrap();
        let Ok(Message::PartyDetailsDefinitionRequest(m)) = decode(&buf[..n]) else {
            panic!("not a 518");
        };
        assert_eq!(m.party_details_list_req_id(), 77);
        assert_eq!((m.seq_num(), m.sending_time_epoch()), (9, 1234));
        assert_eq!(m.list_update_action(), b'A');
        assert_eq!(m.self_match_prevention_id(), Some(55));
        assert_eq!(m.self_match_prevention_instruction(), Some(b'N'));
        assert_eq!(m.cust_order_handling_inst(), Some(b'W'));
        assert_eq!(m.cust_order_capacity(), Some(2));
        assert_eq!(m.clearing_account_type(), Some(1));
        assert_eq!(m.avg_px_group_id().as_bytes(), b"G1");
        assert_eq!(m.cmta_giveup_cd(), None);
        let roles: Vec<(u16, Vec<u8>)> = m
            .party_details()
            .into_iter()
            .map(|e| {
                (
                    e.party_detail_role(),
                    e.party_detail_id().as_bytes().to_vec(),
                )
            })
            .collect();
        assert_eq!(
            roles,
            vec![
                (1, b"007".to_vec()),
                (24, b"ACCT1".to_vec()),
                (96, b"123".to_vec()),
                (118, b"OPS01".to_vec()),
            ]
        );
        assert_eq!(p.firm.sender_id(), "OPS01");
        assert_eq!(p.firm.party_details_list_req_id(), 77);
    }

    #[test]
    fn a_definition_is_sent_again_unless_accepted_under_the_same_uuid() {
        let mut p = Party::new(spec());
        assert!(p.needs_definition(5));
        p.state = PartyState::Accepted;
        p.uuid = 5;
        assert!(!p.needs_definition(5));
        assert!(
            p.needs_definition(6),
            "a new UUID (new week) registers again"
        );
        p.state = PartyState::Rejected;
        assert!(p.needs_definition(5));
        let mut pre = spec();
        pre.pre_registered = true;
        assert!(!Party::new(pre).needs_definition(5));
    }
}
