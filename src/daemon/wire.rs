//! Encoding the router's [`Outbound`] decisions as iLink 3 order-entry messages (514, 515, 516,
//! 529) with the session's sequence number, UUID-independent fields and firm fields. No heap
//! allocation.

use super::router::{OutKind, Outbound};
use crate::ilink3::{
    EncodeError, NewOrderSingleWriter, OrderCancelReplaceRequestWriter, OrderCancelRequestWriter,
    OrderMassActionRequestWriter, OrderMassStatusRequestWriter, OrderStatusRequestWriter,
};

/// Per-session fields every order carries (from `[[ilink3]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmFields {
    /// SenderID (tag 50), at most 20 characters.
    pub sender_id: String,
    /// Location (tag 9537), at most 5 characters.
    pub location: String,
    pub party_details_list_req_id: u64,
}

impl FirmFields {
    pub fn from_config(c: &crate::config::Ilink3Config) -> Self {
        FirmFields {
            sender_id: c.sender_id.clone(),
            location: c.location.clone(),
            party_details_list_req_id: c.party_details_list_req_id,
        }
    }
}

/// ManualOrderIndicator: 0 = automated.
const AUTOMATED: u8 = 0;
/// MassActionScope 10: instrument group (SecurityGroup).
const SCOPE_GROUP: u8 = 10;

/// Largest frame [`encode`] produces (OrderCancelReplaceRequest: 8 + 133 bytes).
pub const MAX_ORDER_FRAME: usize = 8 + 133;

/// Writes `out` into `buf` with sequence number `seq`, stamped `sending_time` (ns since the
/// epoch); returns the frame length.
pub fn encode(
    out: &Outbound,
    firm: &FirmFields,
    seq: u32,
    sending_time: u64,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let cl = out.cl_ord_id.as_bytes();
    match out.kind {
        OutKind::New => {
            let mut w = NewOrderSingleWriter::new(buf)?;
            w.set_sender_id(&firm.sender_id)?
                .set_cl_ord_id(cl)?
                .set_location(&firm.location)?;
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
        OutKind::Replace => {
            let mut w = OrderCancelReplaceRequestWriter::new(buf)?;
            w.set_sender_id(&firm.sender_id)?
                .set_cl_ord_id(cl)?
                .set_location(&firm.location)?;
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
            w.set_sender_id(&firm.sender_id)?
                .set_cl_ord_id(cl)?
                .set_location(&firm.location)?;
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
            w.set_sender_id(&firm.sender_id)?
                .set_location(&firm.location)?;
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
            w.set_sender_id(&firm.sender_id)?
                .set_location(&firm.location)?;
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
            w.set_sender_id(&firm.sender_id)?
                .set_location(&firm.location)?;
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
