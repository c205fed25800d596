//! Drop Copy 4.0: FIX 4.2 tag=value codec ([`codec`]), UTC timestamps ([`time`]), business
//! reports ([`report`]) and the sans-IO initiator session ([`session`]). The journal-then-publish
//! fan-out of accepted reports lives in `crate::store::dropcopy`.

pub mod codec;
pub mod report;
mod scan;
pub mod time;

pub use codec::{
    checksum, frame, parse, parse_fields, EncodeError, Encoder, Field, FieldIndex, Fields,
    FixError, Frame, Group, Message,
};
pub use report::{
    CancelReject, Decimal9, DropCopyReport, MsgType, OwnedCancelReject, OwnedDropCopyReport,
    ReportError, ReportParser, ReportSource,
};
pub use time::{format_sending_time, parse_utc_timestamp};
pub mod session;
pub use session::{
    DisconnectReason, DropCopyEvent, DropCopySession, DropCopyState, SeqNums, SessionConfig,
    SessionError, SessionStats, INVALID_LOGON_WINDOW_S, MAX_INVALID_LOGONS, MAX_RESEND_RANGE,
    RESEND_TIMEOUT_HEARTBEATS,
};
