//! iLink 3 SBE codecs (sans-IO, no allocation on the hot path).
//!
//! Wire format: Simple Open Framing Header (u16 LE MessageSize including itself, u16 LE
//! EncodingType 0xCAFE), SBE message header (blockLength, templateId, schemaId 8, version 8|9),
//! root block, repeating groups, var data; layouts as in CME's `ilinkbinary-v9.xml`.
//!
//! - Cut a receive buffer into frames with [`next_frame`] or [`Frames`].
//! - Decode a frame with [`decode`] (enum over every supported template) or a typed
//!   `X::decode(frame)`; readers are `Copy` flyweights over the frame bytes. Decoding goes by
//!   the header's blockLength, so version 8 and 9 peers both decode (version 9 adds
//!   EnvironmentIndicator to 501/502/504/505; absent reads as `None`).
//! - Encode with `XWriter::new(&mut buf)?`, setters (`set_*`), then `finish()` for the frame
//!   length. Writers emit version 9. Optional fields start at their null value.
//! - Malformed input is a [`DecodeError`], never a panic.
//!
//! Prices are `i64` mantissas with exponent [`PRICE_EXPONENT`] (-9); optional prices are
//! `Option<i64>` (`None` on the wire is `i64::MAX`). Fixed-length char fields read as
//! [`FixedStr`] (trimmed at the first NUL) and are NUL-padded when written.
//!
//! [`MESSAGES`] lists the layout of every supported message ([`MessageDesc`]); the conformance
//! test checks it against the official schema.

pub mod codec;
pub mod codes;
pub mod messages;
pub mod session;

pub use codec::{
    decode_header, next_frame, Decimal32, Decimal64, DecodeError, EncodeError, Entry, FieldDesc,
    FixedStr, Frames, Group, GroupDesc, GroupIter, MaturityMonthYear, MessageDesc, MessageHeader,
    NextFrame, Primitive, FRAME_HEADER_LEN, MESSAGE_HEADER_LEN, MIN_SCHEMA_VERSION, PRICE_EXPONENT,
    SBE_ENCODING_TYPE, SCHEMA_ID, SCHEMA_VERSION, SOFH_LEN,
};
pub use codes::{
    FaultToleranceIndicator, KeepAliveLapsed, OrdType, RejectCode, RetransmitRejectCode, Side,
    TerminateCode, TimeInForce,
};
pub use messages::*;

macro_rules! message_enum {
    ($($variant:ident / $writer:ident = $id:literal,)*) => {
        /// Any decoded iLink 3 message supported by this codec.
        #[derive(Debug, Clone, Copy)]
        pub enum Message<'a> {
            $(
                #[doc = concat!("Template ", stringify!($id), ".")]
                $variant($variant<'a>),
            )*
        }

        impl<'a> Message<'a> {
            /// SBE template id.
            pub fn template_id(&self) -> u16 {
                match self {
                    $(Message::$variant(_) => $id,)*
                }
            }

            /// The SBE header as received.
            pub fn header(&self) -> MessageHeader {
                match self {
                    $(Message::$variant(m) => m.header(),)*
                }
            }

            /// `PossRetransFlag` of any template that carries one (every exchange business
            /// message), `None` for templates without the field: true when CME marks the
            /// message as a retransmission.
            #[inline]
            pub fn poss_retrans(&self) -> Option<bool> {
                match self {
                    $(Message::$variant(m) => m.poss_retrans(),)*
                }
            }

            /// Test support: reads every field and group entry of the message.
            #[cfg(test)]
            pub(crate) fn __read_all(&self) -> Vec<String> {
                match self {
                    $(Message::$variant(m) => m.__read_all(),)*
                }
            }

            /// Message name (`"NewOrderSingle"`).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Message::$variant(_) => stringify!($variant),)*
                }
            }
        }

        /// Decodes one complete frame (SOFH included, exactly `MessageSize` bytes).
        #[inline]
        pub fn decode(frame: &[u8]) -> Result<Message<'_>, DecodeError> {
            let (header, body) = decode_header(frame)?;
            match header.template_id {
                $($id => $variant::from_body(header, body).map(Message::$variant),)*
                t => Err(DecodeError::UnknownTemplate(t)),
            }
        }

        /// Layout of every supported message, in template order.
        pub const MESSAGES: &[MessageDesc] = &[$($variant::DESC,)*];

        /// Test support: the generated round-trip check of every message.
        #[cfg(test)]
        pub(crate) const ROUNDTRIPS: &[(&str, fn(u64))] = &[$((stringify!($variant), $writer::__roundtrip),)*];

        const _: () = {
            $(assert!($variant::TEMPLATE_ID == $id);)*
        };
    };
}

message_enum! {
    Negotiate / NegotiateWriter = 500,
    NegotiationResponse / NegotiationResponseWriter = 501,
    NegotiationReject / NegotiationRejectWriter = 502,
    Establish / EstablishWriter = 503,
    EstablishmentAck / EstablishmentAckWriter = 504,
    EstablishmentReject / EstablishmentRejectWriter = 505,
    Sequence / SequenceWriter = 506,
    Terminate / TerminateWriter = 507,
    RetransmitRequest / RetransmitRequestWriter = 508,
    Retransmission / RetransmissionWriter = 509,
    RetransmitReject / RetransmitRejectWriter = 510,
    NotApplied / NotAppliedWriter = 513,
    NewOrderSingle / NewOrderSingleWriter = 514,
    OrderCancelReplaceRequest / OrderCancelReplaceRequestWriter = 515,
    OrderCancelRequest / OrderCancelRequestWriter = 516,
    MassQuote / MassQuoteWriter = 517,
    PartyDetailsDefinitionRequest / PartyDetailsDefinitionRequestWriter = 518,
    PartyDetailsDefinitionRequestAck / PartyDetailsDefinitionRequestAckWriter = 519,
    BusinessReject / BusinessRejectWriter = 521,
    ExecutionReportNew / ExecutionReportNewWriter = 522,
    ExecutionReportReject / ExecutionReportRejectWriter = 523,
    ExecutionReportElimination / ExecutionReportEliminationWriter = 524,
    ExecutionReportTradeOutright / ExecutionReportTradeOutrightWriter = 525,
    ExecutionReportTradeSpread / ExecutionReportTradeSpreadWriter = 526,
    ExecutionReportTradeSpreadLeg / ExecutionReportTradeSpreadLegWriter = 527,
    QuoteCancel / QuoteCancelWriter = 528,
    OrderMassActionRequest / OrderMassActionRequestWriter = 529,
    OrderMassStatusRequest / OrderMassStatusRequestWriter = 530,
    ExecutionReportModify / ExecutionReportModifyWriter = 531,
    ExecutionReportStatus / ExecutionReportStatusWriter = 532,
    OrderStatusRequest / OrderStatusRequestWriter = 533,
    ExecutionReportCancel / ExecutionReportCancelWriter = 534,
    OrderCancelReject / OrderCancelRejectWriter = 535,
    OrderCancelReplaceReject / OrderCancelReplaceRejectWriter = 536,
    PartyDetailsListRequest / PartyDetailsListRequestWriter = 537,
    PartyDetailsListReport / PartyDetailsListReportWriter = 538,
    ExecutionAck / ExecutionAckWriter = 539,
    RequestForQuote / RequestForQuoteWriter = 543,
    NewOrderCross / NewOrderCrossWriter = 544,
    MassQuoteAck / MassQuoteAckWriter = 545,
    RequestForQuoteAck / RequestForQuoteAckWriter = 546,
    ExecutionReportTradeAddendumOutright / ExecutionReportTradeAddendumOutrightWriter = 548,
    ExecutionReportTradeAddendumSpread / ExecutionReportTradeAddendumSpreadWriter = 549,
    ExecutionReportTradeAddendumSpreadLeg / ExecutionReportTradeAddendumSpreadLegWriter = 550,
    SecurityDefinitionRequest / SecurityDefinitionRequestWriter = 560,
    SecurityDefinitionResponse / SecurityDefinitionResponseWriter = 561,
    OrderMassActionReport / OrderMassActionReportWriter = 562,
    QuoteCancelAck / QuoteCancelAckWriter = 563,
    ExecutionReportPendingCancel / ExecutionReportPendingCancelWriter = 564,
    ExecutionReportPendingReplace / ExecutionReportPendingReplaceWriter = 565,
    RequestForCross / RequestForCrossWriter = 566,
    MassQuoteRequest / MassQuoteRequestWriter = 567,
    QuoteCancelBySet / QuoteCancelBySetWriter = 568,
    QuoteCancelByGroup / QuoteCancelByGroupWriter = 569,
    QuoteCancelByInstrument / QuoteCancelByInstrumentWriter = 570,
    MassQuoteResponse / MassQuoteResponseWriter = 571,
}

/// True for templates that CME sends with `SeqNum u32 @0, UUID u64 @4` (business messages
/// from the exchange, each with a PossRetransFlag), whose sequence the session tracks.
pub fn is_inbound_business(template_id: u16) -> bool {
    matches!(
        template_id,
        519 | 521..=527 | 531 | 532 | 534..=536 | 538 | 545 | 546 | 548..=550 | 561..=565 | 571
    )
}

#[cfg(test)]
mod tests;
