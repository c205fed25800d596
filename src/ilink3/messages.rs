//! The iLink 3 messages this codec supports, as a field table.
//!
//! Each `sbe_message!`/`sbe_entry!` entry lists the fields of one message (or repeating group
//! entry) with the schema name, offset and encoding; the macros in `codec.rs` turn them into
//! zero-copy readers (getters) and writers (setters) plus the `DESC` layout constants that
//! `tests/it/sbe_conformance.rs` checks against CME's schemas (`spec/cme/ilinkbinary-v9.xml`,
//! `-v8.xml`).
//!
//! Table syntax: `getter / setter : Encoding = "SchemaName" @ offset;` where the encoding is one
//! of the [`Field`](super::codec::Field) types (`U8`, `U32N`, `PxN`, ...) in `num`, a char array
//! length in `str`, and `ext` (numeric) / `xstr` (char arrays) hold schema-version-9 additions
//! that a version 8 peer's shorter block may lack. `block` is the version 9 blockLength, `min`
//! the version 8 one; `since 9` marks a message version 8 does not have. Group entries take the
//! same `min` / `ext`.
//!
//! All 56 templates of `ilinkbinary-v9.xml` are here (the conformance test checks 56 of 56).
//! The tables of the templates added after the first 25 were generated from the schema (names
//! snake-cased from the schema's, entries named `<Message><Group>Entry` unless shared).
//!
//! Enum- and set-typed fields are read as their raw encoding (`u8`/char byte); the typed views
//! live in `codes.rs`.

use super::codec::{
    sbe_assert_fits, sbe_entry, sbe_field_descs, sbe_getters, sbe_message, sbe_setters, Ch, ChN,
    Mmy, Px, PxN, D32N, D64N, I32, I32N, U16, U16N, U32, U32N, U64, U64N, U8, U8N,
};

sbe_entry! {
    /// One entry of the `NoFills` repeating group of `ExecutionReportTradeOutright525`.
    FillEntry / FillEntryWriter = "NoFills", block 15;
    num {
        fill_px / set_fill_px : Px = "FillPx" @ 0;
        fill_qty / set_fill_qty : U32 = "FillQty" @ 8;
        fill_yield_type / set_fill_yield_type : U8 = "FillYieldType" @ 14;
    }
    str {
        fill_exec_id / set_fill_exec_id : 2 = "FillExecID" @ 12;
    }
}

sbe_entry! {
    /// One entry of the `NoOrderEvents` repeating group of `ExecutionReportTradeOutright525`.
    OrderEventEntry / OrderEventEntryWriter = "NoOrderEvents", block 41;
    num {
        order_event_px / set_order_event_px : Px = "OrderEventPx" @ 0;
        order_event_exec_id / set_order_event_exec_id : U32 = "OrderEventExecID" @ 13;
        order_event_qty / set_order_event_qty : U32 = "OrderEventQty" @ 17;
        order_event_type / set_order_event_type : U8N = "OrderEventType" @ 21;
        order_event_reason / set_order_event_reason : U8 = "OrderEventReason" @ 22;
        contra_gross_trade_amt / set_contra_gross_trade_amt : D64N = "ContraGrossTradeAmt" @ 23;
        contra_calculated_ccy_last_qty / set_contra_calculated_ccy_last_qty : D64N = "ContraCalculatedCcyLastQty" @ 32;
    }
    str {
        order_event_text / set_order_event_text : 5 = "OrderEventText" @ 8;
    }
}

sbe_entry! {
    /// One entry of the `NoAffectedOrders` repeating group of `OrderMassActionReport562`.
    AffectedOrderEntry / AffectedOrderEntryWriter = "NoAffectedOrders", block 32;
    num {
        affected_order_id / set_affected_order_id : U64 = "AffectedOrderID" @ 20;
        cxl_quantity / set_cxl_quantity : U32 = "CxlQuantity" @ 28;
    }
    str {
        orig_ci_ord_id / set_orig_ci_ord_id : 20 = "OrigCIOrdID" @ 0;
    }
}

sbe_message! {
    /// Negotiate (template 500, `Negotiate500`).
    Negotiate / NegotiateWriter = "Negotiate500", id 500, block 76, min 76;
    num {
        uuid / set_uuid : U64 = "UUID" @ 52;
        request_timestamp / set_request_timestamp : U64 = "RequestTimestamp" @ 60;
    }
    str {
        hmac_signature_text / set_hmac_signature : 32 = "HMACSignature" @ 0;
        access_key_id / set_access_key_id : 20 = "AccessKeyID" @ 32;
        session / set_session : 3 = "Session" @ 68;
        firm / set_firm : 5 = "Firm" @ 71;
    }
    ext {
    }
    groups [0] {
    }
    data [1] {
        0 credentials = "Credentials";
    }
}

sbe_message! {
    /// NegotiationResponse (template 501, `NegotiationResponse501`).
    NegotiationResponse / NegotiationResponseWriter = "NegotiationResponse501", id 501, block 33, min 32;
    num {
        uuid / set_uuid : U64 = "UUID" @ 0;
        request_timestamp / set_request_timestamp : U64 = "RequestTimestamp" @ 8;
        secret_key_secure_id_expiration / set_secret_key_secure_id_expiration : U16N = "SecretKeySecureIDExpiration" @ 16;
        fault_tolerance_indicator / set_fault_tolerance_indicator : U8N = "FaultToleranceIndicator" @ 18;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 19;
        previous_seq_no / set_previous_seq_no : U32 = "PreviousSeqNo" @ 20;
        previous_uuid / set_previous_uuid : U64 = "PreviousUUID" @ 24;
    }
    str {
    }
    ext {
        environment_indicator / set_environment_indicator : U8N = "EnvironmentIndicator" @ 32;
    }
    groups [0] {
    }
    data [1] {
        0 credentials = "Credentials";
    }
}

sbe_message! {
    /// NegotiationReject (template 502, `NegotiationReject502`).
    NegotiationReject / NegotiationRejectWriter = "NegotiationReject502", id 502, block 69, min 68;
    num {
        uuid / set_uuid : U64 = "UUID" @ 48;
        request_timestamp / set_request_timestamp : U64 = "RequestTimestamp" @ 56;
        error_codes / set_error_codes : U16 = "ErrorCodes" @ 64;
        fault_tolerance_indicator / set_fault_tolerance_indicator : U8N = "FaultToleranceIndicator" @ 66;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 67;
    }
    str {
        reason / set_reason : 48 = "Reason" @ 0;
    }
    ext {
        environment_indicator / set_environment_indicator : U8N = "EnvironmentIndicator" @ 68;
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// Establish (template 503, `Establish503`).
    Establish / EstablishWriter = "Establish503", id 503, block 132, min 132;
    num {
        uuid / set_uuid : U64 = "UUID" @ 102;
        request_timestamp / set_request_timestamp : U64 = "RequestTimestamp" @ 110;
        next_seq_no / set_next_seq_no : U32 = "NextSeqNo" @ 118;
        keep_alive_interval / set_keep_alive_interval : U16 = "KeepAliveInterval" @ 130;
    }
    str {
        hmac_signature_text / set_hmac_signature : 32 = "HMACSignature" @ 0;
        access_key_id / set_access_key_id : 20 = "AccessKeyID" @ 32;
        trading_system_name / set_trading_system_name : 30 = "TradingSystemName" @ 52;
        trading_system_version / set_trading_system_version : 10 = "TradingSystemVersion" @ 82;
        trading_system_vendor / set_trading_system_vendor : 10 = "TradingSystemVendor" @ 92;
        session / set_session : 3 = "Session" @ 122;
        firm / set_firm : 5 = "Firm" @ 125;
    }
    ext {
    }
    groups [0] {
    }
    data [1] {
        0 credentials = "Credentials";
    }
}

sbe_message! {
    /// EstablishmentAck (template 504, `EstablishmentAck504`).
    EstablishmentAck / EstablishmentAckWriter = "EstablishmentAck504", id 504, block 39, min 38;
    num {
        uuid / set_uuid : U64 = "UUID" @ 0;
        request_timestamp / set_request_timestamp : U64 = "RequestTimestamp" @ 8;
        next_seq_no / set_next_seq_no : U32 = "NextSeqNo" @ 16;
        previous_seq_no / set_previous_seq_no : U32 = "PreviousSeqNo" @ 20;
        previous_uuid / set_previous_uuid : U64 = "PreviousUUID" @ 24;
        keep_alive_interval / set_keep_alive_interval : U16 = "KeepAliveInterval" @ 32;
        secret_key_secure_id_expiration / set_secret_key_secure_id_expiration : U16N = "SecretKeySecureIDExpiration" @ 34;
        fault_tolerance_indicator / set_fault_tolerance_indicator : U8N = "FaultToleranceIndicator" @ 36;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 37;
    }
    str {
    }
    ext {
        environment_indicator / set_environment_indicator : U8N = "EnvironmentIndicator" @ 38;
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// EstablishmentReject (template 505, `EstablishmentReject505`).
    EstablishmentReject / EstablishmentRejectWriter = "EstablishmentReject505", id 505, block 73, min 72;
    num {
        uuid / set_uuid : U64 = "UUID" @ 48;
        request_timestamp / set_request_timestamp : U64 = "RequestTimestamp" @ 56;
        next_seq_no / set_next_seq_no : U32 = "NextSeqNo" @ 64;
        error_codes / set_error_codes : U16 = "ErrorCodes" @ 68;
        fault_tolerance_indicator / set_fault_tolerance_indicator : U8N = "FaultToleranceIndicator" @ 70;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 71;
    }
    str {
        reason / set_reason : 48 = "Reason" @ 0;
    }
    ext {
        environment_indicator / set_environment_indicator : U8N = "EnvironmentIndicator" @ 72;
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// Sequence (template 506, `Sequence506`).
    Sequence / SequenceWriter = "Sequence506", id 506, block 14, min 14;
    num {
        uuid / set_uuid : U64 = "UUID" @ 0;
        next_seq_no / set_next_seq_no : U32 = "NextSeqNo" @ 8;
        fault_tolerance_indicator / set_fault_tolerance_indicator : U8N = "FaultToleranceIndicator" @ 12;
        keep_alive_interval_lapsed / set_keep_alive_interval_lapsed : U8 = "KeepAliveIntervalLapsed" @ 13;
    }
    str {
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// Terminate (template 507, `Terminate507`).
    Terminate / TerminateWriter = "Terminate507", id 507, block 67, min 67;
    num {
        uuid / set_uuid : U64 = "UUID" @ 48;
        request_timestamp / set_request_timestamp : U64 = "RequestTimestamp" @ 56;
        error_codes / set_error_codes : U16 = "ErrorCodes" @ 64;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 66;
    }
    str {
        reason / set_reason : 48 = "Reason" @ 0;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// RetransmitRequest (template 508, `RetransmitRequest508`).
    RetransmitRequest / RetransmitRequestWriter = "RetransmitRequest508", id 508, block 30, min 30;
    num {
        uuid / set_uuid : U64 = "UUID" @ 0;
        last_uuid / set_last_uuid : U64N = "LastUUID" @ 8;
        request_timestamp / set_request_timestamp : U64 = "RequestTimestamp" @ 16;
        from_seq_no / set_from_seq_no : U32 = "FromSeqNo" @ 24;
        msg_count / set_msg_count : U16 = "MsgCount" @ 28;
    }
    str {
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// Retransmission (template 509, `Retransmission509`).
    Retransmission / RetransmissionWriter = "Retransmission509", id 509, block 31, min 31;
    num {
        uuid / set_uuid : U64 = "UUID" @ 0;
        last_uuid / set_last_uuid : U64N = "LastUUID" @ 8;
        request_timestamp / set_request_timestamp : U64 = "RequestTimestamp" @ 16;
        from_seq_no / set_from_seq_no : U32 = "FromSeqNo" @ 24;
        msg_count / set_msg_count : U16 = "MsgCount" @ 28;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 30;
    }
    str {
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// RetransmitReject (template 510, `RetransmitReject510`).
    RetransmitReject / RetransmitRejectWriter = "RetransmitReject510", id 510, block 75, min 75;
    num {
        uuid / set_uuid : U64 = "UUID" @ 48;
        last_uuid / set_last_uuid : U64N = "LastUUID" @ 56;
        request_timestamp / set_request_timestamp : U64 = "RequestTimestamp" @ 64;
        error_codes / set_error_codes : U16 = "ErrorCodes" @ 72;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 74;
    }
    str {
        reason / set_reason : 48 = "Reason" @ 0;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// NotApplied (template 513, `NotApplied513`).
    NotApplied / NotAppliedWriter = "NotApplied513", id 513, block 17, min 17;
    num {
        uuid / set_uuid : U64 = "UUID" @ 0;
        from_seq_no / set_from_seq_no : U32 = "FromSeqNo" @ 8;
        msg_count / set_msg_count : U32 = "MsgCount" @ 12;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 16;
    }
    str {
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// NewOrderSingle (template 514, `NewOrderSingle514`).
    NewOrderSingle / NewOrderSingleWriter = "NewOrderSingle514", id 514, block 132, min 132;
    num {
        price / set_price : PxN = "Price" @ 0;
        order_qty / set_order_qty : U32 = "OrderQty" @ 8;
        security_id / set_security_id : I32 = "SecurityID" @ 12;
        side / set_side : U8 = "Side" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 61;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 69;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 77;
        stop_px / set_stop_px : PxN = "StopPx" @ 85;
        min_qty / set_min_qty : U32N = "MinQty" @ 98;
        display_qty / set_display_qty : U32N = "DisplayQty" @ 102;
        expire_date / set_expire_date : U16N = "ExpireDate" @ 106;
        ord_type / set_ord_type : Ch = "OrdType" @ 108;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 109;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 110;
        exec_inst / set_exec_inst : U8 = "ExecInst" @ 111;
        execution_mode / set_execution_mode : ChN = "ExecutionMode" @ 112;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 113;
        managed_order / set_managed_order : U8N = "ManagedOrder" @ 114;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 115;
        discretion_price / set_discretion_price : PxN = "DiscretionPrice" @ 116;
        reservation_price / set_reservation_price : PxN = "ReservationPrice" @ 124;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 41;
        location / set_location : 5 = "Location" @ 93;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// OrderCancelReplaceRequest (template 515, `OrderCancelReplaceRequest515`).
    OrderCancelReplaceRequest / OrderCancelReplaceRequestWriter = "OrderCancelReplaceRequest515", id 515, block 133, min 133;
    num {
        price / set_price : PxN = "Price" @ 0;
        order_qty / set_order_qty : U32 = "OrderQty" @ 8;
        security_id / set_security_id : I32 = "SecurityID" @ 12;
        side / set_side : U8 = "Side" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 61;
        order_id / set_order_id : U64N = "OrderID" @ 69;
        stop_px / set_stop_px : PxN = "StopPx" @ 77;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 85;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 93;
        min_qty / set_min_qty : U32N = "MinQty" @ 106;
        display_qty / set_display_qty : U32N = "DisplayQty" @ 110;
        expire_date / set_expire_date : U16N = "ExpireDate" @ 114;
        ord_type / set_ord_type : Ch = "OrdType" @ 116;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 117;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 118;
        ofm_override / set_ofm_override : U8 = "OFMOverride" @ 119;
        exec_inst / set_exec_inst : U8 = "ExecInst" @ 120;
        execution_mode / set_execution_mode : ChN = "ExecutionMode" @ 121;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 122;
        managed_order / set_managed_order : U8N = "ManagedOrder" @ 123;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 124;
        discretion_price / set_discretion_price : PxN = "DiscretionPrice" @ 125;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 41;
        location / set_location : 5 = "Location" @ 101;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// OrderCancelRequest (template 516, `OrderCancelRequest516`).
    OrderCancelRequest / OrderCancelRequestWriter = "OrderCancelRequest516", id 516, block 96, min 96;
    num {
        order_id / set_order_id : U64N = "OrderID" @ 0;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 61;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 69;
        security_id / set_security_id : I32 = "SecurityID" @ 82;
        side / set_side : U8 = "Side" @ 86;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 87;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 41;
        location / set_location : 5 = "Location" @ 77;
        orig_order_user / set_orig_order_user : 8 = "OrigOrderUser" @ 88;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// OrderMassActionRequest (template 529, `OrderMassActionRequest529`).
    OrderMassActionRequest / OrderMassActionRequestWriter = "OrderMassActionRequest529", id 529, block 79, min 79;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 41;
        security_id / set_security_id : I32N = "SecurityID" @ 60;
        mass_action_scope / set_mass_action_scope : U8 = "MassActionScope" @ 64;
        market_segment_id / set_market_segment_id : U8N = "MarketSegmentID" @ 65;
        mass_cancel_request_type / set_mass_cancel_request_type : U8N = "MassCancelRequestType" @ 66;
        side / set_side : U8N = "Side" @ 67;
        ord_type / set_ord_type : ChN = "OrdType" @ 68;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 69;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 70;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        security_group / set_security_group : 6 = "SecurityGroup" @ 49;
        location / set_location : 5 = "Location" @ 55;
        orig_order_user / set_orig_order_user : 8 = "OrigOrderUser" @ 71;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// BusinessReject (template 521, `BusinessReject521`).
    BusinessReject / BusinessRejectWriter = "BusinessReject521", id 521, block 330, min 330;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64N = "PartyDetailsListReqID" @ 288;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 296;
        business_reject_ref_id / set_business_reject_ref_id : U64N = "BusinessRejectRefID" @ 304;
        ref_seq_num / set_ref_seq_num : U32N = "RefSeqNum" @ 317;
        ref_tag_id / set_ref_tag_id : U16N = "RefTagID" @ 321;
        business_reject_reason / set_business_reject_reason : U16 = "BusinessRejectReason" @ 323;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 327;
        manual_order_indicator / set_manual_order_indicator : U8N = "ManualOrderIndicator" @ 328;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 329;
    }
    str {
        text / set_text : 256 = "Text" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 268;
        location / set_location : 5 = "Location" @ 312;
        ref_msg_type / set_ref_msg_type : 2 = "RefMsgType" @ 325;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionReportNew (template 522, `ExecutionReportNew522`).
    ExecutionReportNew / ExecutionReportNewWriter = "ExecutionReportNew522", id 522, block 226, min 226;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 92;
        order_id / set_order_id : U64 = "OrderID" @ 100;
        price / set_price : Px = "Price" @ 108;
        stop_px / set_stop_px : PxN = "StopPx" @ 116;
        transact_time / set_transact_time : U64 = "TransactTime" @ 124;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 132;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 140;
        cross_id / set_cross_id : U64N = "CrossID" @ 148;
        host_cross_id / set_host_cross_id : U64N = "HostCrossID" @ 156;
        security_id / set_security_id : I32 = "SecurityID" @ 169;
        order_qty / set_order_qty : U32 = "OrderQty" @ 173;
        min_qty / set_min_qty : U32N = "MinQty" @ 177;
        display_qty / set_display_qty : U32N = "DisplayQty" @ 181;
        expire_date / set_expire_date : U16N = "ExpireDate" @ 185;
        delay_duration / set_delay_duration : U16N = "DelayDuration" @ 187;
        ord_type / set_ord_type : ChN = "OrdType" @ 189;
        side / set_side : U8 = "Side" @ 190;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 191;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 192;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 193;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 194;
        cross_type / set_cross_type : U8N = "CrossType" @ 195;
        exec_inst / set_exec_inst : U8 = "ExecInst" @ 196;
        execution_mode / set_execution_mode : ChN = "ExecutionMode" @ 197;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 198;
        managed_order / set_managed_order : U8N = "ManagedOrder" @ 199;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 200;
        delay_to_time / set_delay_to_time : U64N = "DelayToTime" @ 201;
        discretion_price / set_discretion_price : PxN = "DiscretionPrice" @ 209;
        reservation_price / set_reservation_price : PxN = "ReservationPrice" @ 217;
        priority_indicator / set_priority_indicator : U8N = "PriorityIndicator" @ 225;
    }
    str {
        exec_id / set_exec_id : 40 = "ExecID" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 52;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 72;
        location / set_location : 5 = "Location" @ 164;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionReportReject (template 523, `ExecutionReportReject523`).
    ExecutionReportReject / ExecutionReportRejectWriter = "ExecutionReportReject523", id 523, block 483, min 483;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 348;
        order_id / set_order_id : U64 = "OrderID" @ 356;
        price / set_price : PxN = "Price" @ 364;
        stop_px / set_stop_px : PxN = "StopPx" @ 372;
        transact_time / set_transact_time : U64 = "TransactTime" @ 380;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 388;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 396;
        cross_id / set_cross_id : U64N = "CrossID" @ 404;
        host_cross_id / set_host_cross_id : U64N = "HostCrossID" @ 412;
        security_id / set_security_id : I32 = "SecurityID" @ 425;
        order_qty / set_order_qty : U32 = "OrderQty" @ 429;
        min_qty / set_min_qty : U32N = "MinQty" @ 433;
        display_qty / set_display_qty : U32N = "DisplayQty" @ 437;
        ord_rej_reason / set_ord_rej_reason : U16 = "OrdRejReason" @ 441;
        expire_date / set_expire_date : U16N = "ExpireDate" @ 443;
        delay_duration / set_delay_duration : U16N = "DelayDuration" @ 445;
        ord_type / set_ord_type : ChN = "OrdType" @ 447;
        side / set_side : U8 = "Side" @ 448;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 449;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 450;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 451;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 452;
        cross_type / set_cross_type : U8N = "CrossType" @ 453;
        exec_inst / set_exec_inst : U8 = "ExecInst" @ 454;
        execution_mode / set_execution_mode : ChN = "ExecutionMode" @ 455;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 456;
        managed_order / set_managed_order : U8N = "ManagedOrder" @ 457;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 458;
        delay_to_time / set_delay_to_time : U64N = "DelayToTime" @ 459;
        discretion_price / set_discretion_price : PxN = "DiscretionPrice" @ 467;
        reservation_price / set_reservation_price : PxN = "ReservationPrice" @ 475;
    }
    str {
        text / set_text : 256 = "Text" @ 12;
        exec_id / set_exec_id : 40 = "ExecID" @ 268;
        sender_id / set_sender_id : 20 = "SenderID" @ 308;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 328;
        location / set_location : 5 = "Location" @ 420;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionReportTradeOutright (template 525, `ExecutionReportTradeOutright525`).
    ExecutionReportTradeOutright / ExecutionReportTradeOutrightWriter = "ExecutionReportTradeOutright525", id 525, block 293, min 293;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 92;
        last_px / set_last_px : Px = "LastPx" @ 100;
        order_id / set_order_id : U64 = "OrderID" @ 108;
        price / set_price : Px = "Price" @ 116;
        stop_px / set_stop_px : PxN = "StopPx" @ 124;
        transact_time / set_transact_time : U64 = "TransactTime" @ 132;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 140;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 148;
        sec_exec_id / set_sec_exec_id : U64 = "SecExecID" @ 156;
        cross_id / set_cross_id : U64N = "CrossID" @ 164;
        host_cross_id / set_host_cross_id : U64N = "HostCrossID" @ 172;
        security_id / set_security_id : I32 = "SecurityID" @ 185;
        order_qty / set_order_qty : U32 = "OrderQty" @ 189;
        last_qty / set_last_qty : U32 = "LastQty" @ 193;
        cum_qty / set_cum_qty : U32 = "CumQty" @ 197;
        md_trade_entry_id / set_md_trade_entry_id : U32 = "MDTradeEntryID" @ 201;
        side_trade_id / set_side_trade_id : U32 = "SideTradeID" @ 205;
        trade_link_id / set_trade_link_id : U32N = "TradeLinkID" @ 209;
        leaves_qty / set_leaves_qty : U32 = "LeavesQty" @ 213;
        trade_date / set_trade_date : U16N = "TradeDate" @ 217;
        expire_date / set_expire_date : U16N = "ExpireDate" @ 219;
        ord_status / set_ord_status : U8 = "OrdStatus" @ 221;
        ord_type / set_ord_type : ChN = "OrdType" @ 222;
        side / set_side : U8 = "Side" @ 223;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 224;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 225;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 226;
        aggressor_indicator / set_aggressor_indicator : U8 = "AggressorIndicator" @ 227;
        cross_type / set_cross_type : U8N = "CrossType" @ 228;
        exec_inst / set_exec_inst : U8 = "ExecInst" @ 229;
        execution_mode / set_execution_mode : ChN = "ExecutionMode" @ 230;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 231;
        managed_order / set_managed_order : U8N = "ManagedOrder" @ 232;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 233;
        ownership / set_ownership : U8 = "Ownership" @ 234;
        discretion_price / set_discretion_price : PxN = "DiscretionPrice" @ 235;
        trd_type / set_trd_type : U16N = "TrdType" @ 243;
        exec_restatement_reason / set_exec_restatement_reason : U8N = "ExecRestatementReason" @ 245;
        settl_date / set_settl_date : U16N = "SettlDate" @ 246;
        maturity_date / set_maturity_date : U16N = "MaturityDate" @ 248;
        calculated_ccy_last_qty / set_calculated_ccy_last_qty : D64N = "CalculatedCcyLastQty" @ 250;
        gross_trade_amt / set_gross_trade_amt : D64N = "GrossTradeAmt" @ 259;
        benchmark_price / set_benchmark_price : PxN = "BenchmarkPrice" @ 268;
        reservation_price / set_reservation_price : PxN = "ReservationPrice" @ 276;
        priority_indicator / set_priority_indicator : U8N = "PriorityIndicator" @ 284;
        display_limit_price / set_display_limit_price : PxN = "DisplayLimitPrice" @ 285;
    }
    str {
        exec_id / set_exec_id : 40 = "ExecID" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 52;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 72;
        location / set_location : 5 = "Location" @ 180;
    }
    ext {
    }
    groups [2] {
        0 fills / fill_mut : FillEntry / FillEntryWriter = "NoFills";
        1 order_events / order_event_mut : OrderEventEntry / OrderEventEntryWriter = "NoOrderEvents";
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionReportModify (template 531, `ExecutionReportModify531`).
    ExecutionReportModify / ExecutionReportModifyWriter = "ExecutionReportModify531", id 531, block 226, min 226;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 92;
        order_id / set_order_id : U64 = "OrderID" @ 100;
        price / set_price : Px = "Price" @ 108;
        stop_px / set_stop_px : PxN = "StopPx" @ 116;
        transact_time / set_transact_time : U64 = "TransactTime" @ 124;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 132;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 140;
        cross_id / set_cross_id : U64N = "CrossID" @ 148;
        host_cross_id / set_host_cross_id : U64N = "HostCrossID" @ 156;
        security_id / set_security_id : I32 = "SecurityID" @ 169;
        order_qty / set_order_qty : U32 = "OrderQty" @ 173;
        cum_qty / set_cum_qty : U32 = "CumQty" @ 177;
        leaves_qty / set_leaves_qty : U32 = "LeavesQty" @ 181;
        min_qty / set_min_qty : U32N = "MinQty" @ 185;
        display_qty / set_display_qty : U32N = "DisplayQty" @ 189;
        expire_date / set_expire_date : U16N = "ExpireDate" @ 193;
        delay_duration / set_delay_duration : U16N = "DelayDuration" @ 195;
        ord_type / set_ord_type : ChN = "OrdType" @ 197;
        side / set_side : U8 = "Side" @ 198;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 199;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 200;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 201;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 202;
        cross_type / set_cross_type : U8N = "CrossType" @ 203;
        exec_inst / set_exec_inst : U8 = "ExecInst" @ 204;
        execution_mode / set_execution_mode : ChN = "ExecutionMode" @ 205;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 206;
        managed_order / set_managed_order : U8N = "ManagedOrder" @ 207;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 208;
        delay_to_time / set_delay_to_time : U64N = "DelayToTime" @ 209;
        discretion_price / set_discretion_price : PxN = "DiscretionPrice" @ 217;
        priority_indicator / set_priority_indicator : U8N = "PriorityIndicator" @ 225;
    }
    str {
        exec_id / set_exec_id : 40 = "ExecID" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 52;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 72;
        location / set_location : 5 = "Location" @ 164;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionReportCancel (template 534, `ExecutionReportCancel534`).
    ExecutionReportCancel / ExecutionReportCancelWriter = "ExecutionReportCancel534", id 534, block 247, min 247;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 92;
        order_id / set_order_id : U64 = "OrderID" @ 100;
        price / set_price : Px = "Price" @ 108;
        stop_px / set_stop_px : PxN = "StopPx" @ 116;
        transact_time / set_transact_time : U64 = "TransactTime" @ 124;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 132;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 140;
        cross_id / set_cross_id : U64N = "CrossID" @ 148;
        host_cross_id / set_host_cross_id : U64N = "HostCrossID" @ 156;
        security_id / set_security_id : I32 = "SecurityID" @ 169;
        order_qty / set_order_qty : U32 = "OrderQty" @ 173;
        cum_qty / set_cum_qty : U32 = "CumQty" @ 177;
        min_qty / set_min_qty : U32N = "MinQty" @ 181;
        display_qty / set_display_qty : U32N = "DisplayQty" @ 185;
        expire_date / set_expire_date : U16N = "ExpireDate" @ 189;
        delay_duration / set_delay_duration : U16N = "DelayDuration" @ 191;
        ord_type / set_ord_type : ChN = "OrdType" @ 193;
        side / set_side : U8 = "Side" @ 194;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 195;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 196;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 197;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 198;
        exec_restatement_reason / set_exec_restatement_reason : U8N = "ExecRestatementReason" @ 199;
        cross_type / set_cross_type : U8N = "CrossType" @ 200;
        exec_inst / set_exec_inst : U8 = "ExecInst" @ 201;
        execution_mode / set_execution_mode : ChN = "ExecutionMode" @ 202;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 203;
        managed_order / set_managed_order : U8N = "ManagedOrder" @ 204;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 205;
        delay_to_time / set_delay_to_time : U64N = "DelayToTime" @ 206;
        discretion_price / set_discretion_price : PxN = "DiscretionPrice" @ 214;
        reservation_price / set_reservation_price : PxN = "ReservationPrice" @ 222;
        priority_indicator / set_priority_indicator : U8N = "PriorityIndicator" @ 230;
    }
    str {
        exec_id / set_exec_id : 40 = "ExecID" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 52;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 72;
        location / set_location : 5 = "Location" @ 164;
        orig_order_user / set_orig_order_user : 8 = "OrigOrderUser" @ 231;
        cancel_text / set_cancel_text : 8 = "CancelText" @ 239;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// OrderCancelReject (template 535, `OrderCancelReject535`).
    OrderCancelReject / OrderCancelRejectWriter = "OrderCancelReject535", id 535, block 409, min 409;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 348;
        order_id / set_order_id : U64 = "OrderID" @ 356;
        transact_time / set_transact_time : U64 = "TransactTime" @ 364;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 372;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 380;
        cxl_rej_reason / set_cxl_rej_reason : U16 = "CxlRejReason" @ 393;
        delay_duration / set_delay_duration : U16N = "DelayDuration" @ 395;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 397;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 398;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 399;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 400;
        delay_to_time / set_delay_to_time : U64N = "DelayToTime" @ 401;
    }
    str {
        text / set_text : 256 = "Text" @ 12;
        exec_id / set_exec_id : 40 = "ExecID" @ 268;
        sender_id / set_sender_id : 20 = "SenderID" @ 308;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 328;
        location / set_location : 5 = "Location" @ 388;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// OrderCancelReplaceReject (template 536, `OrderCancelReplaceReject536`).
    OrderCancelReplaceReject / OrderCancelReplaceRejectWriter = "OrderCancelReplaceReject536", id 536, block 409, min 409;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 348;
        order_id / set_order_id : U64 = "OrderID" @ 356;
        transact_time / set_transact_time : U64 = "TransactTime" @ 364;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 372;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 380;
        cxl_rej_reason / set_cxl_rej_reason : U16 = "CxlRejReason" @ 393;
        delay_duration / set_delay_duration : U16N = "DelayDuration" @ 395;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 397;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 398;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 399;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 400;
        delay_to_time / set_delay_to_time : U64N = "DelayToTime" @ 401;
    }
    str {
        text / set_text : 256 = "Text" @ 12;
        exec_id / set_exec_id : 40 = "ExecID" @ 268;
        sender_id / set_sender_id : 20 = "SenderID" @ 308;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 328;
        location / set_location : 5 = "Location" @ 388;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// OrderMassActionReport (template 562, `OrderMassActionReport562`).
    OrderMassActionReport / OrderMassActionReportWriter = "OrderMassActionReport562", id 562, block 130, min 130;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 32;
        transact_time / set_transact_time : U64 = "TransactTime" @ 40;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 48;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 56;
        mass_action_report_id / set_mass_action_report_id : U64 = "MassActionReportID" @ 64;
        security_id / set_security_id : I32N = "SecurityID" @ 83;
        delay_duration / set_delay_duration : U16N = "DelayDuration" @ 87;
        mass_action_response / set_mass_action_response : U8 = "MassActionResponse" @ 89;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 90;
        mass_action_scope / set_mass_action_scope : U8 = "MassActionScope" @ 91;
        total_affected_orders / set_total_affected_orders : U32 = "TotalAffectedOrders" @ 92;
        last_fragment / set_last_fragment : U8 = "LastFragment" @ 96;
        mass_action_reject_reason / set_mass_action_reject_reason : U8N = "MassActionRejectReason" @ 97;
        market_segment_id / set_market_segment_id : U8N = "MarketSegmentID" @ 98;
        mass_cancel_request_type / set_mass_cancel_request_type : U8N = "MassCancelRequestType" @ 99;
        side / set_side : U8N = "Side" @ 100;
        ord_type / set_ord_type : ChN = "OrdType" @ 101;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 102;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 103;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 104;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 105;
        delay_to_time / set_delay_to_time : U64N = "DelayToTime" @ 106;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 12;
        security_group / set_security_group : 6 = "SecurityGroup" @ 72;
        location / set_location : 5 = "Location" @ 78;
        orig_order_user / set_orig_order_user : 8 = "OrigOrderUser" @ 114;
        cancel_text / set_cancel_text : 8 = "CancelText" @ 122;
    }
    ext {
    }
    groups [1] {
        0 affected_orders / affected_order_mut : AffectedOrderEntry / AffectedOrderEntryWriter = "NoAffectedOrders";
    }
    data [0] {
    }
}

sbe_entry! {
    /// One entry of the `NoLegs` repeating group of `ExecutionReportTradeSpread`.
    TradeSpreadLegEntry / TradeSpreadLegEntryWriter = "NoLegs", block 29;
    num {
        leg_exec_id / set_leg_exec_id : U64 = "LegExecID" @ 0;
        leg_last_px / set_leg_last_px : Px = "LegLastPx" @ 8;
        leg_security_id / set_leg_security_id : I32 = "LegSecurityID" @ 16;
        leg_trade_id / set_leg_trade_id : U32 = "LegTradeID" @ 20;
        leg_last_qty / set_leg_last_qty : U32 = "LegLastQty" @ 24;
        leg_side / set_leg_side : U8 = "LegSide" @ 28;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoOrderEvents` repeating group of `ExecutionReportTradeSpread`.
    TradeSpreadOrderEventEntry / TradeSpreadOrderEventEntryWriter = "NoOrderEvents", block 23;
    num {
        order_event_px / set_order_event_px : Px = "OrderEventPx" @ 0;
        order_event_exec_id / set_order_event_exec_id : U32 = "OrderEventExecID" @ 13;
        order_event_qty / set_order_event_qty : U32 = "OrderEventQty" @ 17;
        order_event_type / set_order_event_type : U8N = "OrderEventType" @ 21;
        order_event_reason / set_order_event_reason : U8 = "OrderEventReason" @ 22;
    }
    str {
        order_event_text / set_order_event_text : 5 = "OrderEventText" @ 8;
    }
}

sbe_entry! {
    /// One entry of the `NoOrderEvents` repeating group of `ExecutionReportTradeSpreadLeg`.
    TradeSpreadLegOrderEventEntry / TradeSpreadLegOrderEventEntryWriter = "NoOrderEvents", block 41, min 23;
    num {
        order_event_px / set_order_event_px : Px = "OrderEventPx" @ 0;
        order_event_exec_id / set_order_event_exec_id : U32 = "OrderEventExecID" @ 13;
        order_event_qty / set_order_event_qty : U32 = "OrderEventQty" @ 17;
        order_event_type / set_order_event_type : U8N = "OrderEventType" @ 21;
        order_event_reason / set_order_event_reason : U8 = "OrderEventReason" @ 22;
    }
    str {
        order_event_text / set_order_event_text : 5 = "OrderEventText" @ 8;
    }
    ext {
        contra_gross_trade_amt / set_contra_gross_trade_amt : D64N = "ContraGrossTradeAmt" @ 23;
        contra_calculated_ccy_last_qty / set_contra_calculated_ccy_last_qty : D64N = "ContraCalculatedCcyLastQty" @ 32;
    }
}

sbe_entry! {
    /// One entry of the `NoOrderEvents` repeating group of `ExecutionReportTradeAddendumOutright`.
    TradeAddendumOutrightOrderEventEntry / TradeAddendumOutrightOrderEventEntryWriter = "NoOrderEvents", block 45;
    num {
        order_event_px / set_order_event_px : Px = "OrderEventPx" @ 0;
        order_event_exec_id / set_order_event_exec_id : U32 = "OrderEventExecID" @ 13;
        order_event_qty / set_order_event_qty : U32 = "OrderEventQty" @ 17;
        order_event_type / set_order_event_type : U8 = "OrderEventType" @ 21;
        order_event_reason / set_order_event_reason : U8 = "OrderEventReason" @ 22;
        original_order_event_exec_id / set_original_order_event_exec_id : U32N = "OriginalOrderEventExecID" @ 23;
        contra_gross_trade_amt / set_contra_gross_trade_amt : D64N = "ContraGrossTradeAmt" @ 27;
        contra_calculated_ccy_last_qty / set_contra_calculated_ccy_last_qty : D64N = "ContraCalculatedCcyLastQty" @ 36;
    }
    str {
        order_event_text / set_order_event_text : 5 = "OrderEventText" @ 8;
    }
}

sbe_entry! {
    /// One entry of the `NoLegs` repeating group of `ExecutionReportTradeAddendumSpread`.
    TradeAddendumSpreadLegEntry / TradeAddendumSpreadLegEntryWriter = "NoLegs", block 41;
    num {
        leg_exec_id / set_leg_exec_id : U64 = "LegExecID" @ 0;
        leg_last_px / set_leg_last_px : Px = "LegLastPx" @ 8;
        leg_exec_ref_id / set_leg_exec_ref_id : U64N = "LegExecRefID" @ 16;
        leg_trade_id / set_leg_trade_id : U32 = "LegTradeID" @ 24;
        leg_trade_ref_id / set_leg_trade_ref_id : U32N = "LegTradeRefID" @ 28;
        leg_security_id / set_leg_security_id : I32 = "LegSecurityID" @ 32;
        leg_last_qty / set_leg_last_qty : U32 = "LegLastQty" @ 36;
        leg_side / set_leg_side : U8 = "LegSide" @ 40;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoOrderEvents` repeating group of `ExecutionReportTradeAddendumSpread`.
    TradeAddendumSpreadOrderEventEntry / TradeAddendumSpreadOrderEventEntryWriter = "NoOrderEvents", block 27;
    num {
        order_event_px / set_order_event_px : Px = "OrderEventPx" @ 0;
        order_event_exec_id / set_order_event_exec_id : U32 = "OrderEventExecID" @ 13;
        order_event_qty / set_order_event_qty : U32 = "OrderEventQty" @ 17;
        order_event_type / set_order_event_type : U8 = "OrderEventType" @ 21;
        order_event_reason / set_order_event_reason : U8 = "OrderEventReason" @ 22;
        original_order_event_exec_id / set_original_order_event_exec_id : U32N = "OriginalOrderEventExecID" @ 23;
    }
    str {
        order_event_text / set_order_event_text : 5 = "OrderEventText" @ 8;
    }
}

sbe_entry! {
    /// One entry of the `NoOrderEvents` repeating group of `ExecutionReportTradeAddendumSpreadLeg`.
    TradeAddendumSpreadLegOrderEventEntry / TradeAddendumSpreadLegOrderEventEntryWriter = "NoOrderEvents", block 45, min 27;
    num {
        order_event_px / set_order_event_px : Px = "OrderEventPx" @ 0;
        order_event_exec_id / set_order_event_exec_id : U32 = "OrderEventExecID" @ 13;
        order_event_qty / set_order_event_qty : U32 = "OrderEventQty" @ 17;
        order_event_type / set_order_event_type : U8 = "OrderEventType" @ 21;
        order_event_reason / set_order_event_reason : U8 = "OrderEventReason" @ 22;
        original_order_event_exec_id / set_original_order_event_exec_id : U32N = "OriginalOrderEventExecID" @ 23;
    }
    str {
        order_event_text / set_order_event_text : 5 = "OrderEventText" @ 8;
    }
    ext {
        contra_gross_trade_amt / set_contra_gross_trade_amt : D64N = "ContraGrossTradeAmt" @ 27;
        contra_calculated_ccy_last_qty / set_contra_calculated_ccy_last_qty : D64N = "ContraCalculatedCcyLastQty" @ 36;
    }
}

sbe_message! {
    /// ExecutionReportElimination (template 524, `ExecutionReportElimination524`).
    ExecutionReportElimination / ExecutionReportEliminationWriter = "ExecutionReportElimination524", id 524, block 219, min 219;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 92;
        order_id / set_order_id : U64 = "OrderID" @ 100;
        price / set_price : Px = "Price" @ 108;
        stop_px / set_stop_px : PxN = "StopPx" @ 116;
        transact_time / set_transact_time : U64 = "TransactTime" @ 124;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 132;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 140;
        cross_id / set_cross_id : U64N = "CrossID" @ 148;
        host_cross_id / set_host_cross_id : U64N = "HostCrossID" @ 156;
        security_id / set_security_id : I32 = "SecurityID" @ 169;
        cum_qty / set_cum_qty : U32 = "CumQty" @ 173;
        order_qty / set_order_qty : U32 = "OrderQty" @ 177;
        min_qty / set_min_qty : U32N = "MinQty" @ 181;
        display_qty / set_display_qty : U32N = "DisplayQty" @ 185;
        expire_date / set_expire_date : U16N = "ExpireDate" @ 189;
        ord_type / set_ord_type : ChN = "OrdType" @ 191;
        side / set_side : U8 = "Side" @ 192;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 193;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 194;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 195;
        cross_type / set_cross_type : U8N = "CrossType" @ 196;
        exec_inst / set_exec_inst : U8 = "ExecInst" @ 197;
        execution_mode / set_execution_mode : ChN = "ExecutionMode" @ 198;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 199;
        managed_order / set_managed_order : U8N = "ManagedOrder" @ 200;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 201;
        discretion_price / set_discretion_price : PxN = "DiscretionPrice" @ 202;
        reservation_price / set_reservation_price : PxN = "ReservationPrice" @ 210;
        priority_indicator / set_priority_indicator : U8N = "PriorityIndicator" @ 218;
    }
    str {
        exec_id / set_exec_id : 40 = "ExecID" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 52;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 72;
        location / set_location : 5 = "Location" @ 164;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionReportTradeSpread (template 526, `ExecutionReportTradeSpread526`).
    ExecutionReportTradeSpread / ExecutionReportTradeSpreadWriter = "ExecutionReportTradeSpread526", id 526, block 230, min 230;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 92;
        last_px / set_last_px : Px = "LastPx" @ 100;
        order_id / set_order_id : U64 = "OrderID" @ 108;
        price / set_price : Px = "Price" @ 116;
        stop_px / set_stop_px : PxN = "StopPx" @ 124;
        transact_time / set_transact_time : U64 = "TransactTime" @ 132;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 140;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 148;
        sec_exec_id / set_sec_exec_id : U64 = "SecExecID" @ 156;
        cross_id / set_cross_id : U64N = "CrossID" @ 164;
        host_cross_id / set_host_cross_id : U64N = "HostCrossID" @ 172;
        security_id / set_security_id : I32 = "SecurityID" @ 185;
        order_qty / set_order_qty : U32 = "OrderQty" @ 189;
        last_qty / set_last_qty : U32 = "LastQty" @ 193;
        cum_qty / set_cum_qty : U32 = "CumQty" @ 197;
        md_trade_entry_id / set_md_trade_entry_id : U32 = "MDTradeEntryID" @ 201;
        side_trade_id / set_side_trade_id : U32 = "SideTradeID" @ 205;
        leaves_qty / set_leaves_qty : U32 = "LeavesQty" @ 209;
        trade_date / set_trade_date : U16N = "TradeDate" @ 213;
        expire_date / set_expire_date : U16N = "ExpireDate" @ 215;
        ord_status / set_ord_status : U8 = "OrdStatus" @ 217;
        ord_type / set_ord_type : ChN = "OrdType" @ 218;
        side / set_side : U8 = "Side" @ 219;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 220;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 221;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 222;
        aggressor_indicator / set_aggressor_indicator : U8 = "AggressorIndicator" @ 223;
        cross_type / set_cross_type : U8N = "CrossType" @ 224;
        total_num_securities / set_total_num_securities : U8 = "TotalNumSecurities" @ 225;
        exec_inst / set_exec_inst : U8 = "ExecInst" @ 226;
        execution_mode / set_execution_mode : ChN = "ExecutionMode" @ 227;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 228;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 229;
    }
    str {
        exec_id / set_exec_id : 40 = "ExecID" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 52;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 72;
        location / set_location : 5 = "Location" @ 180;
    }
    ext {
    }
    groups [3] {
        0 fills / fill_mut : FillEntry / FillEntryWriter = "NoFills";
        1 legs / leg_mut : TradeSpreadLegEntry / TradeSpreadLegEntryWriter = "NoLegs";
        2 order_events / order_event_mut : TradeSpreadOrderEventEntry / TradeSpreadOrderEventEntryWriter = "NoOrderEvents";
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionReportTradeSpreadLeg (template 527, `ExecutionReportTradeSpreadLeg527`).
    ExecutionReportTradeSpreadLeg / ExecutionReportTradeSpreadLegWriter = "ExecutionReportTradeSpreadLeg527", id 527, block 219, min 219;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        volatility / set_volatility : D64N = "Volatility" @ 92;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 101;
        last_px / set_last_px : Px = "LastPx" @ 109;
        order_id / set_order_id : U64 = "OrderID" @ 117;
        underlying_px / set_underlying_px : PxN = "UnderlyingPx" @ 125;
        transact_time / set_transact_time : U64 = "TransactTime" @ 133;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 141;
        sec_exec_id / set_sec_exec_id : U64 = "SecExecID" @ 149;
        option_delta / set_option_delta : D32N = "OptionDelta" @ 162;
        time_to_expiration / set_time_to_expiration : D32N = "TimeToExpiration" @ 167;
        risk_free_rate / set_risk_free_rate : D32N = "RiskFreeRate" @ 172;
        security_id / set_security_id : I32 = "SecurityID" @ 177;
        last_qty / set_last_qty : U32 = "LastQty" @ 181;
        cum_qty / set_cum_qty : U32 = "CumQty" @ 185;
        side_trade_id / set_side_trade_id : U32 = "SideTradeID" @ 189;
        trade_date / set_trade_date : U16N = "TradeDate" @ 193;
        ord_status / set_ord_status : U8 = "OrdStatus" @ 195;
        ord_type / set_ord_type : ChN = "OrdType" @ 196;
        side / set_side : U8 = "Side" @ 197;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 198;
        settl_date / set_settl_date : U16N = "SettlDate" @ 199;
        calculated_ccy_last_qty / set_calculated_ccy_last_qty : D64N = "CalculatedCcyLastQty" @ 201;
        gross_trade_amt / set_gross_trade_amt : D64N = "GrossTradeAmt" @ 210;
    }
    str {
        exec_id / set_exec_id : 40 = "ExecID" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 52;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 72;
        location / set_location : 5 = "Location" @ 157;
    }
    ext {
    }
    groups [2] {
        0 fills / fill_mut : FillEntry / FillEntryWriter = "NoFills";
        1 order_events / order_event_mut : TradeSpreadLegOrderEventEntry / TradeSpreadLegOrderEventEntryWriter = "NoOrderEvents";
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionReportStatus (template 532, `ExecutionReportStatus532`).
    ExecutionReportStatus / ExecutionReportStatusWriter = "ExecutionReportStatus532", id 532, block 513, min 513;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 348;
        order_id / set_order_id : U64 = "OrderID" @ 356;
        price / set_price : PxN = "Price" @ 364;
        stop_px / set_stop_px : PxN = "StopPx" @ 372;
        transact_time / set_transact_time : U64 = "TransactTime" @ 380;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 388;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 396;
        ord_status_req_id / set_ord_status_req_id : U64N = "OrdStatusReqID" @ 404;
        mass_status_req_id / set_mass_status_req_id : U64N = "MassStatusReqID" @ 412;
        cross_id / set_cross_id : U64N = "CrossID" @ 420;
        host_cross_id / set_host_cross_id : U64N = "HostCrossID" @ 428;
        security_id / set_security_id : I32 = "SecurityID" @ 441;
        order_qty / set_order_qty : U32 = "OrderQty" @ 445;
        cum_qty / set_cum_qty : U32 = "CumQty" @ 449;
        leaves_qty / set_leaves_qty : U32 = "LeavesQty" @ 453;
        min_qty / set_min_qty : U32N = "MinQty" @ 457;
        display_qty / set_display_qty : U32N = "DisplayQty" @ 461;
        expire_date / set_expire_date : U16N = "ExpireDate" @ 465;
        ord_status / set_ord_status : Ch = "OrdStatus" @ 467;
        ord_type / set_ord_type : ChN = "OrdType" @ 468;
        side / set_side : U8 = "Side" @ 469;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 470;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 471;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 472;
        last_rpt_requested / set_last_rpt_requested : U8N = "LastRptRequested" @ 473;
        cross_type / set_cross_type : U8N = "CrossType" @ 474;
        exec_inst / set_exec_inst : U8 = "ExecInst" @ 475;
        execution_mode / set_execution_mode : ChN = "ExecutionMode" @ 476;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 477;
        managed_order / set_managed_order : U8N = "ManagedOrder" @ 478;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 479;
        discretion_price / set_discretion_price : PxN = "DiscretionPrice" @ 480;
        reservation_price / set_reservation_price : PxN = "ReservationPrice" @ 488;
        priority_indicator / set_priority_indicator : U8N = "PriorityIndicator" @ 496;
    }
    str {
        text / set_text : 256 = "Text" @ 12;
        exec_id / set_exec_id : 40 = "ExecID" @ 268;
        sender_id / set_sender_id : 20 = "SenderID" @ 308;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 328;
        location / set_location : 5 = "Location" @ 436;
        orig_order_user / set_orig_order_user : 8 = "OrigOrderUser" @ 497;
        cancel_text / set_cancel_text : 8 = "CancelText" @ 505;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionReportTradeAddendumOutright (template 548, `ExecutionReportTradeAddendumOutright548`).
    ExecutionReportTradeAddendumOutright / ExecutionReportTradeAddendumOutrightWriter = "ExecutionReportTradeAddendumOutright548", id 548, block 266, min 222, since 0;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 92;
        last_px / set_last_px : Px = "LastPx" @ 100;
        order_id / set_order_id : U64 = "OrderID" @ 108;
        transact_time / set_transact_time : U64 = "TransactTime" @ 116;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 124;
        sec_exec_id / set_sec_exec_id : U64 = "SecExecID" @ 132;
        orig_secondary_execution_id / set_orig_secondary_execution_id : U64N = "OrigSecondaryExecutionID" @ 140;
        security_id / set_security_id : I32 = "SecurityID" @ 153;
        last_qty / set_last_qty : U32 = "LastQty" @ 157;
        side_trade_id / set_side_trade_id : U32 = "SideTradeID" @ 161;
        orig_side_trade_id / set_orig_side_trade_id : U32N = "OrigSideTradeID" @ 165;
        trade_date / set_trade_date : U16N = "TradeDate" @ 169;
        ord_status / set_ord_status : Ch = "OrdStatus" @ 171;
        exec_type / set_exec_type : Ch = "ExecType" @ 172;
        side / set_side : U8 = "Side" @ 173;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 174;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 175;
        exec_inst / set_exec_inst : U8 = "ExecInst" @ 176;
        execution_mode / set_execution_mode : ChN = "ExecutionMode" @ 177;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 178;
        managed_order / set_managed_order : U8N = "ManagedOrder" @ 179;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 180;
        discretion_price / set_discretion_price : PxN = "DiscretionPrice" @ 181;
        trd_type / set_trd_type : U16N = "TrdType" @ 189;
        exec_restatement_reason / set_exec_restatement_reason : U8N = "ExecRestatementReason" @ 191;
        settl_date / set_settl_date : U16N = "SettlDate" @ 192;
        maturity_date / set_maturity_date : U16N = "MaturityDate" @ 194;
        calculated_ccy_last_qty / set_calculated_ccy_last_qty : D64N = "CalculatedCcyLastQty" @ 196;
        gross_trade_amt / set_gross_trade_amt : D64N = "GrossTradeAmt" @ 205;
        benchmark_price / set_benchmark_price : PxN = "BenchmarkPrice" @ 214;
    }
    str {
        exec_id / set_exec_id : 40 = "ExecID" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 52;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 72;
        location / set_location : 5 = "Location" @ 148;
    }
    ext {
        md_trade_entry_id / set_md_trade_entry_id : U32 = "MDTradeEntryID" @ 222;
    }
    xstr {
        exec_ref_id / set_exec_ref_id : 40 = "ExecRefID" @ 226;
    }
    groups [2] {
        0 fills / fill_mut : FillEntry / FillEntryWriter = "NoFills";
        1 order_events / order_event_mut : TradeAddendumOutrightOrderEventEntry / TradeAddendumOutrightOrderEventEntryWriter = "NoOrderEvents";
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionReportTradeAddendumSpread (template 549, `ExecutionReportTradeAddendumSpread549`).
    ExecutionReportTradeAddendumSpread / ExecutionReportTradeAddendumSpreadWriter = "ExecutionReportTradeAddendumSpread549", id 549, block 227, min 187, since 0;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 92;
        last_px / set_last_px : Px = "LastPx" @ 100;
        order_id / set_order_id : U64 = "OrderID" @ 108;
        transact_time / set_transact_time : U64 = "TransactTime" @ 116;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 124;
        sec_exec_id / set_sec_exec_id : U64 = "SecExecID" @ 132;
        orig_secondary_execution_id / set_orig_secondary_execution_id : U64N = "OrigSecondaryExecutionID" @ 140;
        security_id / set_security_id : I32 = "SecurityID" @ 153;
        md_trade_entry_id / set_md_trade_entry_id : U32 = "MDTradeEntryID" @ 157;
        last_qty / set_last_qty : U32 = "LastQty" @ 161;
        side_trade_id / set_side_trade_id : U32 = "SideTradeID" @ 165;
        orig_side_trade_id / set_orig_side_trade_id : U32N = "OrigSideTradeID" @ 169;
        trade_date / set_trade_date : U16N = "TradeDate" @ 173;
        ord_status / set_ord_status : Ch = "OrdStatus" @ 175;
        exec_type / set_exec_type : Ch = "ExecType" @ 176;
        ord_type / set_ord_type : ChN = "OrdType" @ 177;
        side / set_side : U8 = "Side" @ 178;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 179;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 180;
        total_num_securities / set_total_num_securities : U8 = "TotalNumSecurities" @ 181;
        exec_inst / set_exec_inst : U8 = "ExecInst" @ 182;
        execution_mode / set_execution_mode : ChN = "ExecutionMode" @ 183;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 184;
        managed_order / set_managed_order : U8N = "ManagedOrder" @ 185;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 186;
    }
    str {
        exec_id / set_exec_id : 40 = "ExecID" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 52;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 72;
        location / set_location : 5 = "Location" @ 148;
    }
    ext {
    }
    xstr {
        exec_ref_id / set_exec_ref_id : 40 = "ExecRefID" @ 187;
    }
    groups [3] {
        0 fills / fill_mut : FillEntry / FillEntryWriter = "NoFills";
        1 legs / leg_mut : TradeAddendumSpreadLegEntry / TradeAddendumSpreadLegEntryWriter = "NoLegs";
        2 order_events / order_event_mut : TradeAddendumSpreadOrderEventEntry / TradeAddendumSpreadOrderEventEntryWriter = "NoOrderEvents";
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionReportTradeAddendumSpreadLeg (template 550, `ExecutionReportTradeAddendumSpreadLeg550`).
    ExecutionReportTradeAddendumSpreadLeg / ExecutionReportTradeAddendumSpreadLegWriter = "ExecutionReportTradeAddendumSpreadLeg550", id 550, block 236, min 196, since 0;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 92;
        last_px / set_last_px : Px = "LastPx" @ 100;
        order_id / set_order_id : U64 = "OrderID" @ 108;
        transact_time / set_transact_time : U64 = "TransactTime" @ 116;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 124;
        sec_exec_id / set_sec_exec_id : U64 = "SecExecID" @ 132;
        orig_secondary_execution_id / set_orig_secondary_execution_id : U64N = "OrigSecondaryExecutionID" @ 140;
        security_id / set_security_id : I32 = "SecurityID" @ 153;
        last_qty / set_last_qty : U32 = "LastQty" @ 157;
        side_trade_id / set_side_trade_id : U32 = "SideTradeID" @ 161;
        orig_side_trade_id / set_orig_side_trade_id : U32N = "OrigSideTradeID" @ 165;
        trade_date / set_trade_date : U16N = "TradeDate" @ 169;
        ord_status / set_ord_status : Ch = "OrdStatus" @ 171;
        exec_type / set_exec_type : Ch = "ExecType" @ 172;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 173;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 174;
        side / set_side : U8 = "Side" @ 175;
        settl_date / set_settl_date : U16N = "SettlDate" @ 176;
        calculated_ccy_last_qty / set_calculated_ccy_last_qty : D64N = "CalculatedCcyLastQty" @ 178;
        gross_trade_amt / set_gross_trade_amt : D64N = "GrossTradeAmt" @ 187;
    }
    str {
        exec_id / set_exec_id : 40 = "ExecID" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 52;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 72;
        location / set_location : 5 = "Location" @ 148;
    }
    ext {
    }
    xstr {
        exec_ref_id / set_exec_ref_id : 40 = "ExecRefID" @ 196;
    }
    groups [2] {
        0 fills / fill_mut : FillEntry / FillEntryWriter = "NoFills";
        1 order_events / order_event_mut : TradeAddendumSpreadLegOrderEventEntry / TradeAddendumSpreadLegOrderEventEntryWriter = "NoOrderEvents";
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionReportPendingCancel (template 564, `ExecutionReportPendingCancel564`).
    ExecutionReportPendingCancel / ExecutionReportPendingCancelWriter = "ExecutionReportPendingCancel564", id 564, block 219, min 219;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 92;
        order_id / set_order_id : U64 = "OrderID" @ 100;
        price / set_price : Px = "Price" @ 108;
        transact_time / set_transact_time : U64 = "TransactTime" @ 116;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 124;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 132;
        security_id / set_security_id : I32 = "SecurityID" @ 145;
        order_qty / set_order_qty : U32 = "OrderQty" @ 149;
        cum_qty / set_cum_qty : U32 = "CumQty" @ 153;
        leaves_qty / set_leaves_qty : U32N = "LeavesQty" @ 157;
        min_qty / set_min_qty : U32N = "MinQty" @ 161;
        display_qty / set_display_qty : U32N = "DisplayQty" @ 165;
        expire_date / set_expire_date : U16N = "ExpireDate" @ 169;
        ord_type / set_ord_type : ChN = "OrdType" @ 171;
        side / set_side : U8 = "Side" @ 172;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 173;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 174;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 175;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 176;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 177;
        delay_to_time / set_delay_to_time : U64N = "DelayToTime" @ 178;
        discretion_price / set_discretion_price : PxN = "DiscretionPrice" @ 186;
        reservation_price / set_reservation_price : PxN = "ReservationPrice" @ 194;
        priority_indicator / set_priority_indicator : U8N = "PriorityIndicator" @ 202;
    }
    str {
        exec_id / set_exec_id : 40 = "ExecID" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 52;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 72;
        location / set_location : 5 = "Location" @ 140;
        orig_order_user / set_orig_order_user : 8 = "OrigOrderUser" @ 203;
        cancel_text / set_cancel_text : 8 = "CancelText" @ 211;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionReportPendingReplace (template 565, `ExecutionReportPendingReplace565`).
    ExecutionReportPendingReplace / ExecutionReportPendingReplaceWriter = "ExecutionReportPendingReplace565", id 565, block 196, min 196;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 92;
        order_id / set_order_id : U64 = "OrderID" @ 100;
        price / set_price : Px = "Price" @ 108;
        transact_time / set_transact_time : U64 = "TransactTime" @ 116;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 124;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 132;
        security_id / set_security_id : I32 = "SecurityID" @ 145;
        order_qty / set_order_qty : U32 = "OrderQty" @ 149;
        cum_qty / set_cum_qty : U32 = "CumQty" @ 153;
        leaves_qty / set_leaves_qty : U32 = "LeavesQty" @ 157;
        min_qty / set_min_qty : U32N = "MinQty" @ 161;
        display_qty / set_display_qty : U32N = "DisplayQty" @ 165;
        expire_date / set_expire_date : U16N = "ExpireDate" @ 169;
        ord_type / set_ord_type : ChN = "OrdType" @ 171;
        side / set_side : U8 = "Side" @ 172;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 173;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 174;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 175;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 176;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 177;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 178;
        delay_to_time / set_delay_to_time : U64N = "DelayToTime" @ 179;
        discretion_price / set_discretion_price : PxN = "DiscretionPrice" @ 187;
        priority_indicator / set_priority_indicator : U8N = "PriorityIndicator" @ 195;
    }
    str {
        exec_id / set_exec_id : 40 = "ExecID" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 52;
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 72;
        location / set_location : 5 = "Location" @ 140;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_entry! {
    /// One entry of the `NoPartyDetails` repeating group of `PartyDetailsDefinitionRequest`.
    PartyDetailEntry / PartyDetailEntryWriter = "NoPartyDetails", block 22;
    num {
        party_detail_role / set_party_detail_role : U16 = "PartyDetailRole" @ 20;
    }
    str {
        party_detail_id / set_party_detail_id : 20 = "PartyDetailID" @ 0;
    }
}

sbe_entry! {
    /// One entry of the `NoTrdRegPublications` repeating group of `PartyDetailsDefinitionRequest`.
    TrdRegPublicationEntry / TrdRegPublicationEntryWriter = "NoTrdRegPublications", block 2;
    num {
        trd_reg_publication_type / set_trd_reg_publication_type : U8 = "TrdRegPublicationType" @ 0;
        trd_reg_publication_reason / set_trd_reg_publication_reason : U8 = "TrdRegPublicationReason" @ 1;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoRequestingPartyIDs` repeating group of `PartyDetailsListRequest`.
    PartyDetailsListRequestRequestingPartyIDEntry / PartyDetailsListRequestRequestingPartyIDEntryWriter = "NoRequestingPartyIDs", block 7;
    num {
        requesting_party_id_source / set_requesting_party_id_source : Ch = "RequestingPartyIDSource" @ 5;
        requesting_party_role / set_requesting_party_role : Ch = "RequestingPartyRole" @ 6;
    }
    str {
        requesting_party_id / set_requesting_party_id : 5 = "RequestingPartyID" @ 0;
    }
}

sbe_entry! {
    /// One entry of the `NoPartyIDs` repeating group of `PartyDetailsListRequest`.
    PartyDetailsListRequestPartyIDEntry / PartyDetailsListRequestPartyIDEntryWriter = "NoPartyIDs", block 11;
    num {
        party_id / set_party_id : U64 = "PartyID" @ 0;
        party_id_source / set_party_id_source : Ch = "PartyIDSource" @ 8;
        party_role / set_party_role : U16 = "PartyRole" @ 9;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoLegs` repeating group of `SecurityDefinitionRequest`.
    SecurityDefinitionRequestLegEntry / SecurityDefinitionRequestLegEntryWriter = "NoLegs", block 19;
    num {
        leg_price / set_leg_price : PxN = "LegPrice" @ 0;
        leg_security_id / set_leg_security_id : I32 = "LegSecurityID" @ 8;
        leg_option_delta / set_leg_option_delta : D32N = "LegOptionDelta" @ 12;
        leg_side / set_leg_side : U8 = "LegSide" @ 17;
        leg_ratio_qty / set_leg_ratio_qty : U8N = "LegRatioQty" @ 18;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoBrokenDates` repeating group of `SecurityDefinitionRequest`.
    SecurityDefinitionRequestBrokenDateEntry / SecurityDefinitionRequestBrokenDateEntryWriter = "NoBrokenDates", block 4;
    num {
        broken_date_start / set_broken_date_start : U16N = "BrokenDateStart" @ 0;
        broken_date_end / set_broken_date_end : U16N = "BrokenDateEnd" @ 2;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoLegs` repeating group of `SecurityDefinitionResponse`.
    SecurityDefinitionResponseLegEntry / SecurityDefinitionResponseLegEntryWriter = "NoLegs", block 19;
    num {
        leg_price / set_leg_price : PxN = "LegPrice" @ 0;
        leg_option_delta / set_leg_option_delta : D32N = "LegOptionDelta" @ 8;
        leg_security_id / set_leg_security_id : I32 = "LegSecurityID" @ 13;
        leg_side / set_leg_side : U8 = "LegSide" @ 17;
        leg_ratio_qty / set_leg_ratio_qty : U8N = "LegRatioQty" @ 18;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoBrokenDates` repeating group of `SecurityDefinitionResponse`.
    SecurityDefinitionResponseBrokenDateEntry / SecurityDefinitionResponseBrokenDateEntryWriter = "NoBrokenDates", block 16;
    num {
        broken_date_guid / set_broken_date_guid : U64N = "BrokenDateGUID" @ 0;
        broken_date_security_id / set_broken_date_security_id : I32N = "BrokenDateSecurityID" @ 8;
        broken_date_start / set_broken_date_start : U16N = "BrokenDateStart" @ 12;
        broken_date_end / set_broken_date_end : U16N = "BrokenDateEnd" @ 14;
    }
    str {
    }
}

sbe_message! {
    /// PartyDetailsDefinitionRequest (template 518, `PartyDetailsDefinitionRequest518`).
    PartyDetailsDefinitionRequest / PartyDetailsDefinitionRequestWriter = "PartyDetailsDefinitionRequest518", id 518, block 147, min 147;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 8;
        list_update_action / set_list_update_action : Ch = "ListUpdateAction" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        self_match_prevention_id / set_self_match_prevention_id : U64N = "SelfMatchPreventionID" @ 116;
        cmta_giveup_cd / set_cmta_giveup_cd : ChN = "CmtaGiveupCD" @ 124;
        cust_order_capacity / set_cust_order_capacity : U8N = "CustOrderCapacity" @ 125;
        clearing_account_type / set_clearing_account_type : U8N = "ClearingAccountType" @ 126;
        self_match_prevention_instruction / set_self_match_prevention_instruction : ChN = "SelfMatchPreventionInstruction" @ 127;
        avg_px_indicator / set_avg_px_indicator : U8N = "AvgPxIndicator" @ 128;
        clearing_trade_price_type / set_clearing_trade_price_type : U8N = "ClearingTradePriceType" @ 129;
        cust_order_handling_inst / set_cust_order_handling_inst : ChN = "CustOrderHandlingInst" @ 130;
        executor / set_executor : U64N = "Executor" @ 131;
        idm_short_code / set_idm_short_code : U64N = "IDMShortCode" @ 139;
    }
    str {
        memo / set_memo : 75 = "Memo" @ 21;
        avg_px_group_id / set_avg_px_group_id : 20 = "AvgPxGroupID" @ 96;
    }
    ext {
    }
    groups [2] {
        0 party_details / party_detail_mut : PartyDetailEntry / PartyDetailEntryWriter = "NoPartyDetails";
        1 trd_reg_publications / trd_reg_publication_mut : TrdRegPublicationEntry / TrdRegPublicationEntryWriter = "NoTrdRegPublications";
    }
    data [0] {
    }
}

sbe_message! {
    /// PartyDetailsDefinitionRequestAck (template 519, `PartyDetailsDefinitionRequestAck519`).
    PartyDetailsDefinitionRequestAck / PartyDetailsDefinitionRequestAckWriter = "PartyDetailsDefinitionRequestAck519", id 519, block 159, min 159;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 107;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 115;
        self_match_prevention_id / set_self_match_prevention_id : U64N = "SelfMatchPreventionID" @ 123;
        party_detail_request_status / set_party_detail_request_status : U8 = "PartyDetailRequestStatus" @ 131;
        cust_order_capacity / set_cust_order_capacity : U8N = "CustOrderCapacity" @ 132;
        clearing_account_type / set_clearing_account_type : U8N = "ClearingAccountType" @ 133;
        self_match_prevention_instruction / set_self_match_prevention_instruction : ChN = "SelfMatchPreventionInstruction" @ 134;
        avg_px_indicator / set_avg_px_indicator : U8N = "AvgPxIndicator" @ 135;
        clearing_trade_price_type / set_clearing_trade_price_type : U8N = "ClearingTradePriceType" @ 136;
        cmta_giveup_cd / set_cmta_giveup_cd : ChN = "CmtaGiveupCD" @ 137;
        cust_order_handling_inst / set_cust_order_handling_inst : ChN = "CustOrderHandlingInst" @ 138;
        list_update_action / set_list_update_action : Ch = "ListUpdateAction" @ 139;
        party_detail_definition_status / set_party_detail_definition_status : U8 = "PartyDetailDefinitionStatus" @ 140;
        executor / set_executor : U64N = "Executor" @ 141;
        idm_short_code / set_idm_short_code : U64N = "IDMShortCode" @ 149;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 157;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 158;
    }
    str {
        memo / set_memo : 75 = "Memo" @ 12;
        avg_px_group_id / set_avg_px_group_id : 20 = "AvgPxGroupID" @ 87;
    }
    ext {
    }
    groups [2] {
        0 party_details / party_detail_mut : PartyDetailEntry / PartyDetailEntryWriter = "NoPartyDetails";
        1 trd_reg_publications / trd_reg_publication_mut : TrdRegPublicationEntry / TrdRegPublicationEntryWriter = "NoTrdRegPublications";
    }
    data [0] {
    }
}

sbe_message! {
    /// OrderMassStatusRequest (template 530, `OrderMassStatusRequest530`).
    OrderMassStatusRequest / OrderMassStatusRequestWriter = "OrderMassStatusRequest530", id 530, block 68, min 68;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        mass_status_req_id / set_mass_status_req_id : U64 = "MassStatusReqID" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 41;
        security_id / set_security_id : I32N = "SecurityID" @ 60;
        mass_status_req_type / set_mass_status_req_type : U8 = "MassStatusReqType" @ 64;
        ord_status_req_type / set_ord_status_req_type : U8N = "OrdStatusReqType" @ 65;
        time_in_force / set_time_in_force : U8N = "TimeInForce" @ 66;
        market_segment_id / set_market_segment_id : U8N = "MarketSegmentID" @ 67;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        security_group / set_security_group : 6 = "SecurityGroup" @ 49;
        location / set_location : 5 = "Location" @ 55;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// OrderStatusRequest (template 533, `OrderStatusRequest533`).
    OrderStatusRequest / OrderStatusRequestWriter = "OrderStatusRequest533", id 533, block 62, min 62;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        ord_status_req_id / set_ord_status_req_id : U64 = "OrdStatusReqID" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        order_id / set_order_id : U64 = "OrderID" @ 41;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 49;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        location / set_location : 5 = "Location" @ 57;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// PartyDetailsListRequest (template 537, `PartyDetailsListRequest537`).
    PartyDetailsListRequest / PartyDetailsListRequestWriter = "PartyDetailsListRequest537", id 537, block 20, min 20;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 8;
        seq_num / set_seq_num : U32 = "SeqNum" @ 16;
    }
    str {
    }
    ext {
    }
    groups [2] {
        0 requesting_party_ids / requesting_party_id_mut : PartyDetailsListRequestRequestingPartyIDEntry / PartyDetailsListRequestRequestingPartyIDEntryWriter = "NoRequestingPartyIDs";
        1 party_ids / party_id_mut : PartyDetailsListRequestPartyIDEntry / PartyDetailsListRequestPartyIDEntryWriter = "NoPartyIDs";
    }
    data [0] {
    }
}

sbe_message! {
    /// PartyDetailsListReport (template 538, `PartyDetailsListReport538`).
    PartyDetailsListReport / PartyDetailsListReportWriter = "PartyDetailsListReport538", id 538, block 93, min 93;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 32;
        party_details_list_report_id / set_party_details_list_report_id : U64 = "PartyDetailsListReportID" @ 40;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 48;
        self_match_prevention_id / set_self_match_prevention_id : U64N = "SelfMatchPreventionID" @ 56;
        tot_num_parties / set_tot_num_parties : U16 = "TotNumParties" @ 64;
        request_result / set_request_result : U8 = "RequestResult" @ 66;
        last_fragment / set_last_fragment : U8 = "LastFragment" @ 67;
        cust_order_capacity / set_cust_order_capacity : U8N = "CustOrderCapacity" @ 68;
        clearing_account_type / set_clearing_account_type : U8N = "ClearingAccountType" @ 69;
        self_match_prevention_instruction / set_self_match_prevention_instruction : ChN = "SelfMatchPreventionInstruction" @ 70;
        avg_px_indicator / set_avg_px_indicator : U8N = "AvgPxIndicator" @ 71;
        clearing_trade_price_type / set_clearing_trade_price_type : U8N = "ClearingTradePriceType" @ 72;
        cmta_giveup_cd / set_cmta_giveup_cd : ChN = "CmtaGiveupCD" @ 73;
        cust_order_handling_inst / set_cust_order_handling_inst : ChN = "CustOrderHandlingInst" @ 74;
        executor / set_executor : U64N = "Executor" @ 75;
        idm_short_code / set_idm_short_code : U64N = "IDMShortCode" @ 83;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 91;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 92;
    }
    str {
        avg_px_group_id / set_avg_px_group_id : 20 = "AvgPxGroupID" @ 12;
    }
    ext {
    }
    groups [2] {
        0 party_details / party_detail_mut : PartyDetailEntry / PartyDetailEntryWriter = "NoPartyDetails";
        1 trd_reg_publications / trd_reg_publication_mut : TrdRegPublicationEntry / TrdRegPublicationEntryWriter = "NoTrdRegPublications";
    }
    data [0] {
    }
}

sbe_message! {
    /// ExecutionAck (template 539, `ExecutionAck539`).
    ExecutionAck / ExecutionAckWriter = "ExecutionAck539", id 539, block 101, min 101;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        order_id / set_order_id : U64 = "OrderID" @ 8;
        exec_ack_status / set_exec_ack_status : U8 = "ExecAckStatus" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        sec_exec_id / set_sec_exec_id : U64 = "SecExecID" @ 41;
        last_px / set_last_px : Px = "LastPx" @ 49;
        security_id / set_security_id : I32 = "SecurityID" @ 57;
        last_qty / set_last_qty : U32 = "LastQty" @ 61;
        dk_reason / set_dk_reason : ChN = "DKReason" @ 65;
        side / set_side : U8 = "Side" @ 66;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 87;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 100;
    }
    str {
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 21;
        sender_id / set_sender_id : 20 = "SenderID" @ 67;
        location / set_location : 5 = "Location" @ 95;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// SecurityDefinitionRequest (template 560, `SecurityDefinitionRequest560`).
    SecurityDefinitionRequest / SecurityDefinitionRequestWriter = "SecurityDefinitionRequest560", id 560, block 72, min 72;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        security_req_id / set_security_req_id : U64 = "SecurityReqID" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 41;
        start_date / set_start_date : U16N = "StartDate" @ 62;
        end_date / set_end_date : U16N = "EndDate" @ 64;
        max_no_of_substitutions / set_max_no_of_substitutions : U8N = "MaxNoOfSubstitutions" @ 66;
        source_repo_id / set_source_repo_id : I32N = "SourceRepoID" @ 67;
        broken_date_term_type / set_broken_date_term_type : U8N = "BrokenDateTermType" @ 71;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        security_sub_type / set_security_sub_type : 8 = "SecuritySubType" @ 49;
        location / set_location : 5 = "Location" @ 57;
    }
    ext {
    }
    groups [2] {
        0 legs / leg_mut : SecurityDefinitionRequestLegEntry / SecurityDefinitionRequestLegEntryWriter = "NoLegs";
        1 broken_dates / broken_date_mut : SecurityDefinitionRequestBrokenDateEntry / SecurityDefinitionRequestBrokenDateEntryWriter = "NoBrokenDates";
    }
    data [0] {
    }
}

sbe_message! {
    /// SecurityDefinitionResponse (template 561, `SecurityDefinitionResponse561`).
    SecurityDefinitionResponse / SecurityDefinitionResponseWriter = "SecurityDefinitionResponse561", id 561, block 430, min 430;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 343;
        security_req_id / set_security_req_id : U64 = "SecurityReqID" @ 351;
        security_response_id / set_security_response_id : U64 = "SecurityResponseID" @ 359;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 367;
        security_id / set_security_id : I32N = "SecurityID" @ 392;
        maturity_month_year / set_maturity_month_year : Mmy = "MaturityMonthYear" @ 399;
        delay_duration / set_delay_duration : U16N = "DelayDuration" @ 404;
        start_date / set_start_date : U16N = "StartDate" @ 406;
        end_date / set_end_date : U16N = "EndDate" @ 408;
        max_no_of_substitutions / set_max_no_of_substitutions : U8N = "MaxNoOfSubstitutions" @ 410;
        source_repo_id / set_source_repo_id : I32N = "SourceRepoID" @ 411;
        security_response_type / set_security_response_type : U8 = "SecurityResponseType" @ 423;
        expiration_cycle / set_expiration_cycle : U8N = "ExpirationCycle" @ 424;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 425;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 426;
        auto_quote_request / set_auto_quote_request : U8 = "AutoQuoteRequest" @ 427;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 428;
        broken_date_term_type / set_broken_date_term_type : U8N = "BrokenDateTermType" @ 429;
    }
    str {
        text / set_text : 256 = "Text" @ 12;
        financial_instrument_full_name / set_financial_instrument_full_name : 35 = "FinancialInstrumentFullName" @ 268;
        sender_id / set_sender_id : 20 = "SenderID" @ 303;
        symbol / set_symbol : 20 = "Symbol" @ 323;
        security_group / set_security_group : 6 = "SecurityGroup" @ 375;
        security_type / set_security_type : 6 = "SecurityType" @ 381;
        location / set_location : 5 = "Location" @ 387;
        currency / set_currency : 3 = "Currency" @ 396;
        termination_type / set_termination_type : 8 = "TerminationType" @ 415;
    }
    ext {
    }
    groups [2] {
        0 legs / leg_mut : SecurityDefinitionResponseLegEntry / SecurityDefinitionResponseLegEntryWriter = "NoLegs";
        1 broken_dates / broken_date_mut : SecurityDefinitionResponseBrokenDateEntry / SecurityDefinitionResponseBrokenDateEntryWriter = "NoBrokenDates";
    }
    data [0] {
    }
}

sbe_entry! {
    /// One entry of the `NoQuoteEntries` repeating group of `MassQuote`.
    MassQuoteQuoteEntry / MassQuoteQuoteEntryWriter = "NoQuoteEntries", block 38;
    num {
        bid_px / set_bid_px : PxN = "BidPx" @ 0;
        offer_px / set_offer_px : PxN = "OfferPx" @ 8;
        quote_entry_id / set_quote_entry_id : U32 = "QuoteEntryID" @ 16;
        security_id / set_security_id : I32 = "SecurityID" @ 20;
        bid_size / set_bid_size : U32N = "BidSize" @ 24;
        offer_size / set_offer_size : U32N = "OfferSize" @ 28;
        underlying_security_id / set_underlying_security_id : I32N = "UnderlyingSecurityID" @ 32;
        quote_set_id / set_quote_set_id : U16 = "QuoteSetID" @ 36;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoQuoteEntries` repeating group of `QuoteCancel`.
    QuoteCancelQuoteEntry / QuoteCancelQuoteEntryWriter = "NoQuoteEntries", block 10;
    num {
        security_id / set_security_id : I32N = "SecurityID" @ 6;
    }
    str {
        security_group / set_security_group : 6 = "SecurityGroup" @ 0;
    }
}

sbe_entry! {
    /// One entry of the `NoQuoteSets` repeating group of `QuoteCancel`.
    QuoteCancelQuoteSetEntry / QuoteCancelQuoteSetEntryWriter = "NoQuoteSets", block 10;
    num {
        bid_size / set_bid_size : U32N = "BidSize" @ 0;
        offer_size / set_offer_size : U32N = "OfferSize" @ 4;
        quote_set_id / set_quote_set_id : U16 = "QuoteSetID" @ 8;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoRelatedSym` repeating group of `RequestForQuote`.
    RequestForQuoteRelatedSymEntry / RequestForQuoteRelatedSymEntryWriter = "NoRelatedSym", block 9;
    num {
        security_id / set_security_id : I32 = "SecurityID" @ 0;
        order_qty / set_order_qty : U32N = "OrderQty" @ 4;
        side / set_side : U8N = "Side" @ 8;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoSides` repeating group of `NewOrderCross`.
    NewOrderCrossSideEntry / NewOrderCrossSideEntryWriter = "NoSides", block 34;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 20;
        order_qty / set_order_qty : U32 = "OrderQty" @ 28;
        side / set_side : U8 = "Side" @ 32;
        side_time_in_force / set_side_time_in_force : U8 = "SideTimeInForce" @ 33;
    }
    str {
        cl_ord_id / set_cl_ord_id : 20 = "ClOrdID" @ 0;
    }
}

sbe_entry! {
    /// One entry of the `NoQuoteEntries` repeating group of `MassQuoteAck`.
    MassQuoteAckQuoteEntry / MassQuoteAckQuoteEntryWriter = "NoQuoteEntries", block 11;
    num {
        quote_entry_id / set_quote_entry_id : U32 = "QuoteEntryID" @ 0;
        security_id / set_security_id : I32 = "SecurityID" @ 4;
        quote_set_id / set_quote_set_id : U16 = "QuoteSetID" @ 8;
        quote_entry_reject_reason / set_quote_entry_reject_reason : U8 = "QuoteEntryRejectReason" @ 10;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoQuoteEntries` repeating group of `QuoteCancelAck`.
    QuoteCancelAckQuoteEntry / QuoteCancelAckQuoteEntryWriter = "NoQuoteEntries", block 9;
    num {
        quote_entry_id / set_quote_entry_id : U32 = "QuoteEntryID" @ 0;
        security_id / set_security_id : I32 = "SecurityID" @ 4;
        quote_entry_reject_reason / set_quote_entry_reject_reason : U8 = "QuoteEntryRejectReason" @ 8;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoQuoteSets` repeating group of `QuoteCancelAck`.
    QuoteCancelAckQuoteSetEntry / QuoteCancelAckQuoteSetEntryWriter = "NoQuoteSets", block 4;
    num {
        quote_set_id / set_quote_set_id : U16 = "QuoteSetID" @ 0;
        quote_error_code / set_quote_error_code : U16 = "QuoteErrorCode" @ 2;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoQuoteEntries` repeating group of `MassQuoteRequest`.
    MassQuoteRequestQuoteEntry / MassQuoteRequestQuoteEntryWriter = "NoQuoteEntries", block 23;
    num {
        security_id / set_security_id : I32 = "SecurityID" @ 0;
        price / set_price : Px = "Price" @ 4;
        order_qty / set_order_qty : U32 = "OrderQty" @ 12;
        side / set_side : U8 = "Side" @ 16;
        quote_entry_id / set_quote_entry_id : U32 = "QuoteEntryID" @ 17;
        quote_set_id / set_quote_set_id : U16 = "QuoteSetID" @ 21;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoQuoteSets` repeating group of `QuoteCancelBySet`.
    QuoteCancelBySetQuoteSetEntry / QuoteCancelBySetQuoteSetEntryWriter = "NoQuoteSets", block 2;
    num {
        quote_set_id / set_quote_set_id : U16 = "QuoteSetID" @ 0;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoQuoteEntries` repeating group of `QuoteCancelByGroup`.
    QuoteCancelByGroupQuoteEntry / QuoteCancelByGroupQuoteEntryWriter = "NoQuoteEntries", block 6;
    num {
    }
    str {
        security_group / set_security_group : 6 = "SecurityGroup" @ 0;
    }
}

sbe_entry! {
    /// One entry of the `NoQuoteEntries` repeating group of `QuoteCancelByInstrument`.
    QuoteCancelByInstrumentQuoteEntry / QuoteCancelByInstrumentQuoteEntryWriter = "NoQuoteEntries", block 4;
    num {
        security_id / set_security_id : I32 = "SecurityID" @ 0;
    }
    str {
    }
}

sbe_entry! {
    /// One entry of the `NoQuoteEntries` repeating group of `MassQuoteResponse`.
    MassQuoteResponseQuoteEntry / MassQuoteResponseQuoteEntryWriter = "NoQuoteEntries", block 20;
    num {
        order_id / set_order_id : U64N = "OrderID" @ 0;
        quote_entry_id / set_quote_entry_id : U32 = "QuoteEntryID" @ 8;
        quote_set_id / set_quote_set_id : U16 = "QuoteSetID" @ 12;
        security_id / set_security_id : I32 = "SecurityID" @ 14;
        side / set_side : U8 = "Side" @ 18;
        quote_entry_reject_reason / set_quote_entry_reject_reason : U8N = "QuoteEntryRejectReason" @ 19;
    }
    str {
    }
}

sbe_message! {
    /// MassQuote (template 517, `MassQuote517`).
    MassQuote / MassQuoteWriter = "MassQuote517", id 517, block 123, min 123;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        quote_req_id / set_quote_req_id : U64N = "QuoteReqID" @ 41;
        quote_id / set_quote_id : U32 = "QuoteID" @ 54;
        tot_no_quote_entries / set_tot_no_quote_entries : U8 = "TotNoQuoteEntries" @ 58;
        mm_protection_reset / set_mm_protection_reset : U8 = "MMProtectionReset" @ 59;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 60;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 61;
        quote_entry_open / set_quote_entry_open : U8N = "QuoteEntryOpen" @ 122;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        location / set_location : 5 = "Location" @ 49;
        reserved / set_reserved : 30 = "Reserved" @ 62;
        reserved1 / set_reserved1 : 30 = "Reserved1" @ 92;
    }
    ext {
    }
    groups [1] {
        0 quote_entries / quote_entry_mut : MassQuoteQuoteEntry / MassQuoteQuoteEntryWriter = "NoQuoteEntries";
    }
    data [0] {
    }
}

sbe_message! {
    /// QuoteCancel (template 528, `QuoteCancel528`).
    QuoteCancel / QuoteCancelWriter = "QuoteCancel528", id 528, block 61, min 61;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        quote_id / set_quote_id : U32 = "QuoteID" @ 46;
        quote_cancel_type / set_quote_cancel_type : U8 = "QuoteCancelType" @ 50;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 51;
        quote_entry_open / set_quote_entry_open : U8N = "QuoteEntryOpen" @ 60;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        location / set_location : 5 = "Location" @ 41;
        orig_order_user / set_orig_order_user : 8 = "OrigOrderUser" @ 52;
    }
    ext {
    }
    groups [2] {
        0 quote_entries / quote_entry_mut : QuoteCancelQuoteEntry / QuoteCancelQuoteEntryWriter = "NoQuoteEntries";
        1 quote_sets / quote_set_mut : QuoteCancelQuoteSetEntry / QuoteCancelQuoteSetEntryWriter = "NoQuoteSets";
    }
    data [0] {
    }
}

sbe_message! {
    /// RequestForQuote (template 543, `RequestForQuote543`).
    RequestForQuote / RequestForQuoteWriter = "RequestForQuote543", id 543, block 55, min 55;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        quote_req_id / set_quote_req_id : U64 = "QuoteReqID" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 41;
        quote_type / set_quote_type : U8N = "QuoteType" @ 54;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        location / set_location : 5 = "Location" @ 49;
    }
    ext {
    }
    groups [1] {
        0 related_sym / related_sym_mut : RequestForQuoteRelatedSymEntry / RequestForQuoteRelatedSymEntryWriter = "NoRelatedSym";
    }
    data [0] {
    }
}

sbe_message! {
    /// NewOrderCross (template 544, `NewOrderCross544`).
    NewOrderCross / NewOrderCrossWriter = "NewOrderCross544", id 544, block 74, min 74;
    num {
        cross_id / set_cross_id : U64 = "CrossID" @ 0;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        price / set_price : Px = "Price" @ 41;
        trans_bkd_time / set_trans_bkd_time : U64 = "TransBkdTime" @ 49;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 57;
        security_id / set_security_id : I32 = "SecurityID" @ 70;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        location / set_location : 5 = "Location" @ 65;
    }
    ext {
    }
    groups [1] {
        0 sides / side_mut : NewOrderCrossSideEntry / NewOrderCrossSideEntryWriter = "NoSides";
    }
    data [0] {
    }
}

sbe_message! {
    /// MassQuoteAck (template 545, `MassQuoteAck545`).
    MassQuoteAck / MassQuoteAckWriter = "MassQuoteAck545", id 545, block 352, min 351;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 288;
        request_time / set_request_time : U64 = "RequestTime" @ 296;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 304;
        quote_req_id / set_quote_req_id : U64N = "QuoteReqID" @ 312;
        quote_id / set_quote_id : U32 = "QuoteID" @ 325;
        quote_reject_reason / set_quote_reject_reason : U16N = "QuoteRejectReason" @ 329;
        delay_duration / set_delay_duration : U16N = "DelayDuration" @ 331;
        quote_status / set_quote_status : U8 = "QuoteStatus" @ 333;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 334;
        no_processed_entries / set_no_processed_entries : U8 = "NoProcessedEntries" @ 335;
        mm_protection_reset / set_mm_protection_reset : U8 = "MMProtectionReset" @ 336;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 337;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 338;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 339;
        tot_no_quote_entries / set_tot_no_quote_entries : U8N = "TotNoQuoteEntries" @ 340;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 341;
        delay_to_time / set_delay_to_time : U64N = "DelayToTime" @ 342;
        quote_entry_open / set_quote_entry_open : U8N = "QuoteEntryOpen" @ 350;
    }
    str {
        text / set_text : 256 = "Text" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 268;
        location / set_location : 5 = "Location" @ 320;
    }
    ext {
        quote_entry_control / set_quote_entry_control : U8N = "QuoteEntryControl" @ 351;
    }
    groups [1] {
        0 quote_entries / quote_entry_mut : MassQuoteAckQuoteEntry / MassQuoteAckQuoteEntryWriter = "NoQuoteEntries";
    }
    data [0] {
    }
}

sbe_message! {
    /// RequestForQuoteAck (template 546, `RequestForQuoteAck546`).
    RequestForQuoteAck / RequestForQuoteAckWriter = "RequestForQuoteAck546", id 546, block 358, min 358;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 305;
        request_time / set_request_time : U64 = "RequestTime" @ 313;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 321;
        quote_req_id / set_quote_req_id : U64 = "QuoteReqID" @ 329;
        quote_reject_reason / set_quote_reject_reason : U16N = "QuoteRejectReason" @ 342;
        delay_duration / set_delay_duration : U16N = "DelayDuration" @ 344;
        quote_status / set_quote_status : U8 = "QuoteStatus" @ 346;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 347;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 348;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 349;
        delay_to_time / set_delay_to_time : U64N = "DelayToTime" @ 350;
    }
    str {
        text / set_text : 256 = "Text" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 268;
        exchange_quote_req_id / set_exchange_quote_req_id : 17 = "ExchangeQuoteReqID" @ 288;
        location / set_location : 5 = "Location" @ 337;
    }
    ext {
    }
    groups [0] {
    }
    data [0] {
    }
}

sbe_message! {
    /// QuoteCancelAck (template 563, `QuoteCancelAck563`).
    QuoteCancelAck / QuoteCancelAckWriter = "QuoteCancelAck563", id 563, block 370, min 368;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 288;
        request_time / set_request_time : U64 = "RequestTime" @ 296;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 304;
        quote_id / set_quote_id : U32 = "QuoteID" @ 323;
        quote_reject_reason / set_quote_reject_reason : U16N = "QuoteRejectReason" @ 327;
        delay_duration / set_delay_duration : U16N = "DelayDuration" @ 329;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 331;
        quote_status / set_quote_status : U8 = "QuoteStatus" @ 332;
        no_processed_entries / set_no_processed_entries : U32 = "NoProcessedEntries" @ 333;
        mm_protection_reset / set_mm_protection_reset : U8 = "MMProtectionReset" @ 337;
        unsolicited_cancel_type / set_unsolicited_cancel_type : ChN = "UnsolicitedCancelType" @ 338;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 339;
        tot_no_quote_entries / set_tot_no_quote_entries : U8N = "TotNoQuoteEntries" @ 340;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 341;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 342;
        delay_to_time / set_delay_to_time : U64N = "DelayToTime" @ 343;
        quote_entry_open / set_quote_entry_open : U8N = "QuoteEntryOpen" @ 367;
    }
    str {
        text / set_text : 256 = "Text" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 268;
        cancelled_symbol / set_cancelled_symbol : 6 = "CancelledSymbol" @ 312;
        location / set_location : 5 = "Location" @ 318;
        orig_order_user / set_orig_order_user : 8 = "OrigOrderUser" @ 351;
        cancel_text / set_cancel_text : 8 = "CancelText" @ 359;
    }
    ext {
        cxl_linked_sessions / set_cxl_linked_sessions : U8N = "CxlLinkedSessions" @ 368;
        quote_entry_control / set_quote_entry_control : U8N = "QuoteEntryControl" @ 369;
    }
    groups [2] {
        0 quote_entries / quote_entry_mut : QuoteCancelAckQuoteEntry / QuoteCancelAckQuoteEntryWriter = "NoQuoteEntries";
        1 quote_sets / quote_set_mut : QuoteCancelAckQuoteSetEntry / QuoteCancelAckQuoteSetEntryWriter = "NoQuoteSets";
    }
    data [0] {
    }
}

sbe_message! {
    /// RequestForCross (template 566, `RequestForCross566`).
    RequestForCross / RequestForCrossWriter = "RequestForCross566", id 566, block 67, min 67, since 9;
    num {
        cross_id / set_cross_id : U64 = "CrossID" @ 0;
        order_request_id / set_order_request_id : U64 = "OrderRequestID" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        cross_type / set_cross_type : U8 = "CrossType" @ 41;
        price / set_price : Px = "Price" @ 42;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 50;
        security_id / set_security_id : I32 = "SecurityID" @ 63;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        location / set_location : 5 = "Location" @ 58;
    }
    ext {
    }
    xstr {
    }
    groups [1] {
        0 sides / side_mut : NewOrderCrossSideEntry / NewOrderCrossSideEntryWriter = "NoSides";
    }
    data [0] {
    }
}

sbe_message! {
    /// MassQuoteRequest (template 567, `MassQuoteRequest567`).
    MassQuoteRequest / MassQuoteRequestWriter = "MassQuoteRequest567", id 567, block 124, min 124, since 9;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        quote_req_id / set_quote_req_id : U64N = "QuoteReqID" @ 41;
        quote_id / set_quote_id : U32 = "QuoteID" @ 54;
        tot_no_quote_entries / set_tot_no_quote_entries : U8 = "TotNoQuoteEntries" @ 58;
        mm_protection_reset / set_mm_protection_reset : U8 = "MMProtectionReset" @ 59;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 60;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 61;
        quote_entry_open / set_quote_entry_open : U8N = "QuoteEntryOpen" @ 62;
        quote_entry_control / set_quote_entry_control : U8N = "QuoteEntryControl" @ 63;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        location / set_location : 5 = "Location" @ 49;
        reserved / set_reserved : 60 = "Reserved" @ 64;
    }
    ext {
    }
    xstr {
    }
    groups [1] {
        0 quote_entries / quote_entry_mut : MassQuoteRequestQuoteEntry / MassQuoteRequestQuoteEntryWriter = "NoQuoteEntries";
    }
    data [0] {
    }
}

sbe_message! {
    /// QuoteCancelBySet (template 568, `QuoteCancelBySet568`).
    QuoteCancelBySet / QuoteCancelBySetWriter = "QuoteCancelBySet568", id 568, block 52, min 52, since 9;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        quote_id / set_quote_id : U32 = "QuoteID" @ 46;
        cxl_linked_sessions / set_cxl_linked_sessions : U8N = "CxlLinkedSessions" @ 50;
        quote_entry_control / set_quote_entry_control : U8N = "QuoteEntryControl" @ 51;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        location / set_location : 5 = "Location" @ 41;
    }
    ext {
    }
    xstr {
    }
    groups [1] {
        0 quote_sets / quote_set_mut : QuoteCancelBySetQuoteSetEntry / QuoteCancelBySetQuoteSetEntryWriter = "NoQuoteSets";
    }
    data [0] {
    }
}

sbe_message! {
    /// QuoteCancelByGroup (template 569, `QuoteCancelByGroup569`).
    QuoteCancelByGroup / QuoteCancelByGroupWriter = "QuoteCancelByGroup569", id 569, block 52, min 52, since 9;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        quote_id / set_quote_id : U32 = "QuoteID" @ 46;
        cxl_linked_sessions / set_cxl_linked_sessions : U8N = "CxlLinkedSessions" @ 50;
        quote_entry_control / set_quote_entry_control : U8N = "QuoteEntryControl" @ 51;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        location / set_location : 5 = "Location" @ 41;
    }
    ext {
    }
    xstr {
    }
    groups [1] {
        0 quote_entries / quote_entry_mut : QuoteCancelByGroupQuoteEntry / QuoteCancelByGroupQuoteEntryWriter = "NoQuoteEntries";
    }
    data [0] {
    }
}

sbe_message! {
    /// QuoteCancelByInstrument (template 570, `QuoteCancelByInstrument570`).
    QuoteCancelByInstrument / QuoteCancelByInstrumentWriter = "QuoteCancelByInstrument570", id 570, block 51, min 51, since 9;
    num {
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 0;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 8;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 16;
        seq_num / set_seq_num : U32 = "SeqNum" @ 17;
        quote_id / set_quote_id : U32 = "QuoteID" @ 46;
        cxl_linked_sessions / set_cxl_linked_sessions : U8N = "CxlLinkedSessions" @ 50;
    }
    str {
        sender_id / set_sender_id : 20 = "SenderID" @ 21;
        location / set_location : 5 = "Location" @ 41;
    }
    ext {
    }
    xstr {
    }
    groups [1] {
        0 quote_entries / quote_entry_mut : QuoteCancelByInstrumentQuoteEntry / QuoteCancelByInstrumentQuoteEntryWriter = "NoQuoteEntries";
    }
    data [0] {
    }
}

sbe_message! {
    /// MassQuoteResponse (template 571, `MassQuoteResponse571`).
    MassQuoteResponse / MassQuoteResponseWriter = "MassQuoteResponse571", id 571, block 350, min 350, since 9;
    num {
        seq_num / set_seq_num : U32 = "SeqNum" @ 0;
        uuid / set_uuid : U64 = "UUID" @ 4;
        party_details_list_req_id / set_party_details_list_req_id : U64 = "PartyDetailsListReqID" @ 288;
        transact_time / set_transact_time : U64 = "TransactTime" @ 296;
        sending_time_epoch / set_sending_time_epoch : U64 = "SendingTimeEpoch" @ 304;
        quote_req_id / set_quote_req_id : U64N = "QuoteReqID" @ 312;
        quote_id / set_quote_id : U32 = "QuoteID" @ 325;
        quote_reject_reason / set_quote_reject_reason : U16N = "QuoteRejectReason" @ 329;
        quote_status / set_quote_status : U8 = "QuoteStatus" @ 331;
        manual_order_indicator / set_manual_order_indicator : U8 = "ManualOrderIndicator" @ 332;
        no_processed_entries / set_no_processed_entries : U8 = "NoProcessedEntries" @ 333;
        mm_protection_reset / set_mm_protection_reset : U8 = "MMProtectionReset" @ 334;
        split_msg / set_split_msg : U8N = "SplitMsg" @ 335;
        liquidity_flag / set_liquidity_flag : U8N = "LiquidityFlag" @ 336;
        short_sale_type / set_short_sale_type : U8N = "ShortSaleType" @ 337;
        tot_no_quote_entries / set_tot_no_quote_entries : U8N = "TotNoQuoteEntries" @ 338;
        poss_retrans_flag / set_poss_retrans_flag : U8 = "PossRetransFlag" @ 339;
        delay_to_time / set_delay_to_time : U64N = "DelayToTime" @ 340;
        quote_entry_open / set_quote_entry_open : U8N = "QuoteEntryOpen" @ 348;
        quote_entry_control / set_quote_entry_control : U8N = "QuoteEntryControl" @ 349;
    }
    str {
        text / set_text : 256 = "Text" @ 12;
        sender_id / set_sender_id : 20 = "SenderID" @ 268;
        location / set_location : 5 = "Location" @ 320;
    }
    ext {
    }
    xstr {
    }
    groups [1] {
        0 quote_entries / quote_entry_mut : MassQuoteResponseQuoteEntry / MassQuoteResponseQuoteEntryWriter = "NoQuoteEntries";
    }
    data [0] {
    }
}

/// `HMACSignature` is 32 binary bytes in a char-typed field: reading it as text would stop at
/// its first zero byte (about one signature in eight has one). These getters return it whole.
macro_rules! raw_hmac_signature {
    ($($reader:ident),*) => {$(
        impl<'a> $reader<'a> {
            /// `HMACSignature` (offset 0): the 32 raw bytes of the HMAC-SHA256, zero bytes
            /// included. Use this, not the NUL-trimmed `hmac_signature_text()`.
            #[inline]
            pub fn hmac_signature(&self) -> &'a [u8; 32] {
                match self.b.first_chunk::<32>() {
                    Some(sig) => sig,
                    None => &[0; 32],
                }
            }
        }
    )*};
}

raw_hmac_signature!(Negotiate, Establish);
