//! Encoding the router's [`Outbound`] decisions as iLink 3 order-entry messages (514, 515, 516,
//! 529) with the session's sequence number, UUID-independent fields and firm fields. No heap
//! allocation.

use super::router::{OutKind, Outbound};
use crate::ilink3::{
    EncodeError, NewOrderSingleWriter, OrderCancelReplaceRequestWriter, OrderCancelRequestWriter,
    OrderMassActionRequestWriter, OrderMassStatusRequestWriter, OrderStatusRequestWriter,
};

/// Per-session fields every order carries (from `[[ilink3]]`), with their NUL-padded wire
/// images made once here, so that encoding copies fixed-size arrays (no length check, no
/// `memcpy` call per order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmFields {
    sender_id: String,
    location: String,
    party_details_list_req_id: u64,
    /// SenderID NUL-padded to its field; `None` when too long (encoding then fails as the
    /// writer says).
    sender_image: Option<[u8; SENDER_ID_LEN]>,
    location_image: Option<[u8; LOCATION_LEN]>,
}

/// SenderID (tag 50) field length.
const SENDER_ID_LEN: usize = 20;
/// Location (tag 9537) field length.
const LOCATION_LEN: usize = 5;

/// `s` NUL-padded to `L` bytes, `None` if longer.
fn image<const L: usize>(s: &str) -> Option<[u8; L]> {
    let mut t = [0u8; L];
    t.get_mut(..s.len())?.copy_from_slice(s.as_bytes());
    Some(t)
}

impl FirmFields {
    /// SenderID (tag 50, at most 20 characters), Location (tag 9537, at most 5) and
    /// PartyDetailsListReqID.
    pub fn new(
        sender_id: impl Into<String>,
        location: impl Into<String>,
        party_details_list_req_id: u64,
    ) -> Self {
        let (sender_id, location) = (sender_id.into(), location.into());
        FirmFields {
            sender_image: image(&sender_id),
            location_image: image(&location),
            sender_id,
            location,
            party_details_list_req_id,
        }
    }

    pub fn from_config(c: &crate::config::Ilink3Config) -> Self {
        FirmFields::new(
            c.sender_id.clone(),
            c.location.clone(),
            c.party_details_list_req_id,
        )
    }

    pub fn sender_id(&self) -> &str {
        &self.sender_id
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn party_details_list_req_id(&self) -> u64 {
        self.party_details_list_req_id
    }
}

/// Sets SenderID and Location from their images (or the strings, when too long: the writer's
/// error).
macro_rules! firm_strings {
    ($w:expr, $firm:expr) => {{
        match &$firm.sender_image {
            Some(img) => $w.set_sender_id(img)?,
            None => $w.set_sender_id(&$firm.sender_id)?,
        };
        match &$firm.location_image {
            Some(img) => $w.set_location(img)?,
            None => $w.set_location(&$firm.location)?,
        };
    }};
}

/// ManualOrderIndicator: 0 = automated.
const AUTOMATED: u8 = 0;
/// MassActionScope 10: instrument group (SecurityGroup).
const SCOPE_GROUP: u8 = 10;

/// Largest frame [`encode`] produces (OrderCancelReplaceRequest: 8 + 133 bytes).
pub const MAX_ORDER_FRAME: usize = 8 + 133;

/// Writes `out` into `buf` with sequence number `seq`, stamped `sending_time` (ns since the
/// epoch); returns the frame length. A new order (the hot path) is encoded inline in the
/// caller; the other messages out of line.
#[inline]
pub fn encode(
    out: &Outbound,
    firm: &FirmFields,
    seq: u32,
    sending_time: u64,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    match out.kind {
        OutKind::New => encode_new(out, firm, seq, sending_time, buf),
        _ => encode_other(out, firm, seq, sending_time, buf),
    }
}

/// NewOrderSingle (514).
#[inline(always)]
fn encode_new(
    out: &Outbound,
    firm: &FirmFields,
    seq: u32,
    sending_time: u64,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let mut w = NewOrderSingleWriter::new(buf)?;
    firm_strings!(w, firm);
    w.set_cl_ord_id(out.cl_ord_id.as_bytes())?;
    w.set_price(out.price)
        .set_order_qty(out.qty)
        .set_security_id(out.security_id)
        .set_side(out.side)
        .set_seq_num(seq)
        .set_party_details_list_req_id(firm.party_details_list_req_id)
        .set_order_request_id(out.order_request_id)
        .set_sending_time_epoch(sending_time)
        .set_ord_type(out.ord_type)
        .set_time_in_force(out.tif)
        .set_stop_px(out.stop_px)
        .set_min_qty(out.min_qty)
        .set_display_qty(out.display_qty)
        .set_expire_date(out.expire_date)
        .set_manual_order_indicator(AUTOMATED);
    Ok(w.finish())
}

/// Every message but NewOrderSingle.
#[inline(never)]
fn encode_other(
    out: &Outbound,
    firm: &FirmFields,
    seq: u32,
    sending_time: u64,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let cl = out.cl_ord_id.as_bytes();
    match out.kind {
        OutKind::New => encode_new(out, firm, seq, sending_time, buf),
        OutKind::Replace => {
            let mut w = OrderCancelReplaceRequestWriter::new(buf)?;
            firm_strings!(w, firm);
            w.set_cl_ord_id(cl)?;
            w.set_price(out.price)
                .set_order_qty(out.qty)
                .set_security_id(out.security_id)
                .set_side(out.side)
                .set_seq_num(seq)
                .set_party_details_list_req_id(firm.party_details_list_req_id)
                .set_order_id(out.exchange_order_id)
                .set_order_request_id(out.order_request_id)
                .set_sending_time_epoch(sending_time)
                .set_ord_type(out.ord_type)
                .set_time_in_force(out.tif)
                .set_stop_px(out.stop_px)
                .set_min_qty(out.min_qty)
                .set_display_qty(out.display_qty)
                .set_expire_date(out.expire_date)
                .set_manual_order_indicator(AUTOMATED)
                .set_ofm_override(0);
            Ok(w.finish())
        }
        OutKind::Cancel => {
            let mut w = OrderCancelRequestWriter::new(buf)?;
            firm_strings!(w, firm);
            w.set_cl_ord_id(cl)?;
            w.set_order_id(out.exchange_order_id)
                .set_party_details_list_req_id(firm.party_details_list_req_id)
                .set_manual_order_indicator(AUTOMATED)
                .set_seq_num(seq)
                .set_order_request_id(out.order_request_id)
                .set_sending_time_epoch(sending_time)
                .set_security_id(out.security_id)
                .set_side(out.side);
            Ok(w.finish())
        }
        OutKind::MassCancel => {
            let mut w = OrderMassActionRequestWriter::new(buf)?;
            firm_strings!(w, firm);
            if out.mass_scope == SCOPE_GROUP {
                let g = &out.security_group;
                let len = g.iter().position(|&b| b == 0).unwrap_or(g.len());
                w.set_security_group(g.get(..len).unwrap_or_default())?;
            }
            let security = (out.security_id != 0).then_some(out.security_id);
            w.set_party_details_list_req_id(firm.party_details_list_req_id)
                .set_order_request_id(out.order_request_id)
                .set_manual_order_indicator(AUTOMATED)
                .set_seq_num(seq)
                .set_sending_time_epoch(sending_time)
                .set_security_id(security)
                .set_mass_action_scope(out.mass_scope)
                .set_market_segment_id(out.market_segment_id)
                .set_side((out.side != 0).then_some(out.side))
                .set_ord_type((out.ord_type != 0).then_some(out.ord_type))
                .set_time_in_force(out.tif);
            Ok(w.finish())
        }
        OutKind::MassStatus => {
            let mut w = OrderMassStatusRequestWriter::new(buf)?;
            firm_strings!(w, firm);
            w.set_party_details_list_req_id(firm.party_details_list_req_id)
                .set_mass_status_req_id(out.order_request_id)
                .set_manual_order_indicator(AUTOMATED)
                .set_seq_num(seq)
                .set_sending_time_epoch(sending_time)
                .set_security_id((out.security_id != 0).then_some(out.security_id))
                .set_mass_status_req_type(out.mass_scope)
                .set_market_segment_id(out.market_segment_id);
            Ok(w.finish())
        }
        OutKind::OrderStatus => {
            let mut w = OrderStatusRequestWriter::new(buf)?;
            firm_strings!(w, firm);
            w.set_party_details_list_req_id(firm.party_details_list_req_id)
                .set_ord_status_req_id(out.request_id)
                .set_manual_order_indicator(AUTOMATED)
                .set_seq_num(seq)
                .set_order_id(out.exchange_order_id.unwrap_or(0))
                .set_sending_time_epoch(sending_time);
            Ok(w.finish())
        }
    }
}
