//! Typed views of iLink 3 code fields: session reject/terminate codes (with CME's names) and
//! the order-entry enums a gateway branches on.

macro_rules! code_enum {
    (
        $(#[$doc:meta])*
        $name:ident : $repr:ty { $($(#[$vdoc:meta])* $variant:ident = $value:literal => $cme:literal,)* }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr($repr)]
        pub enum $name {
            $($(#[$vdoc])* #[doc = concat!("`", stringify!($value), "` ", $cme)] $variant = $value,)*
        }

        impl $name {
            /// Every defined value, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The typed value, `None` for a code CME has not defined (keep the raw value).
            #[inline]
            pub const fn from_code(code: $repr) -> Option<Self> {
                match code {
                    $($value => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The wire value.
            #[inline]
            pub const fn code(self) -> $repr {
                self as $repr
            }

            /// CME's name for the code.
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $cme,)*
                }
            }

            /// CME's name for a raw code, `"Unknown"` when undefined.
            pub const fn name_of(code: $repr) -> &'static str {
                match Self::from_code(code) {
                    Some(c) => c.name(),
                    None => "Unknown",
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{} ({})", self.name(), self.code())
            }
        }
    };
}

code_enum! {
    /// `ErrorCodes` of NegotiationReject (502) and EstablishmentReject (505).
    RejectCode: u16 {
        HmacNotAuthenticated = 0 => "HMACNotAuthenticated",
        HmacNotAvailable = 1 => "HMACNotAvailable",
        InvalidTimestamp = 3 => "InvalidTimestamp",
        RequiredHmacSignatureMissing = 4 => "RequiredHMACSignatureMissing",
        RequiredAccessKeyIdMissing = 5 => "RequiredAccessKeyIDMissing",
        RequiredSessionMissing = 6 => "RequiredSessionMissing",
        RequiredFirmMissing = 7 => "RequiredFirmMissing",
        RequiredRequestTimestampMissing = 9 => "RequiredRequestTimestampMissing",
        SessionBlocked = 10 => "SessionBlocked",
        /// Establish only.
        InvalidKeepAliveInterval = 11 => "InvalidKeepAliveInterval",
        InvalidAccessKeyId = 12 => "InvalidAccessKeyID",
        InvalidSession = 13 => "InvalidSession",
        InvalidFirm = 14 => "InvalidFirm",
        VolumeControls = 15 => "VolumeControls",
        DesignatedBackup = 27 => "DesignatedBackup",
        NegotiateNotAllowed = 28 => "NegotiateNotAllowed",
    }
}

code_enum! {
    /// `ErrorCodes` of Terminate (507).
    TerminateCode: u16 {
        Finished = 0 => "Finished",
        EstablishmentTimeout = 1 => "EstablishmentTimeout",
        Unnegotiated = 2 => "Unnegotiated",
        NotEstablished = 3 => "NotEstablished",
        AlreadyNegotiated = 4 => "AlreadyNegotiated",
        NegotiationInProgress = 5 => "NegotiationInProgress",
        AlreadyEstablished = 6 => "AlreadyEstablished",
        EstablishInProgress = 7 => "EstablishInProgress",
        CmeAdministeredPortClosure = 8 => "CMEAdministeredPortClosure",
        VolumeControls = 9 => "VolumeControls",
        InvalidNextSeqNo = 10 => "InvalidNextSeqNo",
        InvalidMsgSeqNo = 11 => "InvalidMsgSeqNo",
        InvalidLastSeqNo = 12 => "InvalidLastSeqNo",
        InvalidUuid = 13 => "InvalidUUID",
        InvalidTimestamp = 14 => "InvalidTimestamp",
        InvalidSofh = 18 => "InvalidSOFH",
        DecodingError = 19 => "DecodingError",
        KeepAliveIntervalLapsed = 20 => "KeepAliveIntervalLapsed",
        Other = 23 => "Other",
        TerminateInProgress = 24 => "TerminateInProgress",
        DisconnectOrTerminateFromPrimary = 26 => "DisconnectOrTerminateFromPrimary",
    }
}

code_enum! {
    /// `ErrorCodes` of RetransmitReject (510).
    RetransmitRejectCode: u16 {
        OutOfRange = 0 => "OutOfRange",
        InvalidUuid = 1 => "InvalidUUID",
        RequestLimitExceeded = 2 => "RequestLimitExceeded",
        RetransmitAlreadyInProgress = 3 => "RetransmitAlreadyInProgress",
        InvalidTimestamp = 4 => "InvalidTimestamp",
        InvalidFromSeqNo = 5 => "InvalidFromSeqNo",
        RequiredUuidMissing = 6 => "RequiredUUIDMisssing",
        RequiredRequestTimestampMissing = 7 => "RequiredRequestTimestampMissing",
        RequiredFromSeqNoMissing = 8 => "RequiredFromSeqNoMissing",
        RequiredMsgCountMissing = 9 => "RequiredMsgCountMissing",
    }
}

code_enum! {
    /// `Side` (SideReq, uint8).
    Side: u8 {
        Buy = 1 => "Buy",
        Sell = 2 => "Sell",
        Undisclosed = 7 => "Undisclosed",
    }
}

code_enum! {
    /// `OrdType` (OrderTypeReq / OrderType, char).
    OrdType: u8 {
        MarketWithProtection = b'1' => "MarketwithProtection",
        Limit = b'2' => "Limit",
        StopWithProtection = b'3' => "StopwithProtection",
        StopLimit = b'4' => "StopLimit",
        MarketWithLeftoverAsLimit = b'K' => "MarketWithLeftoverAsLimit",
    }
}

code_enum! {
    /// `TimeInForce` (uint8, null 255).
    TimeInForce: u8 {
        Day = 0 => "Day",
        GoodTillCancel = 1 => "GoodTillCancel",
        FillAndKill = 3 => "FillAndKill",
        FillOrKill = 4 => "FillOrKill",
        GoodTillDate = 6 => "GoodTillDate",
        GoodForSession = 99 => "GoodForSession",
    }
}

code_enum! {
    /// `FaultToleranceIndicator` (FTI, uint8, null 255).
    FaultToleranceIndicator: u8 {
        Backup = 0 => "Backup",
        Primary = 1 => "Primary",
    }
}

code_enum! {
    /// `KeepAliveIntervalLapsed` (KeepAliveLapsed, uint8).
    KeepAliveLapsed: u8 {
        NotLapsed = 0 => "NotLapsed",
        Lapsed = 1 => "Lapsed",
    }
}

/// Whether trying again can help after a logon reject or a Terminate (the reconnect policy
/// backs off to minutes on [`Retry::Permanent`], see `daemon::logon`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retry {
    /// A passing condition (a clock, a sequence, a fail-over, a busy gateway): retry on the
    /// ordinary reconnect schedule.
    Transient,
    /// Our credentials, identifiers or configuration are wrong, or CME blocked the session:
    /// the same logon will be refused again until someone changes something.
    Permanent,
}

impl RejectCode {
    /// NegotiationReject/EstablishmentReject codes (PROTOCOL.md "FIXP session rules").
    pub const fn retry(self) -> Retry {
        match self {
            // CME's authentication service is unavailable; a stale RequestTimestamp is fixed
            // by the next (fresh) one; the designated backup refuses until a fail-over.
            RejectCode::HmacNotAvailable
            | RejectCode::InvalidTimestamp
            | RejectCode::DesignatedBackup => Retry::Transient,
            // A wrong key or signature, missing or unknown ids, a blocked session, a keepalive
            // CME does not accept, volume controls, a Negotiate CME does not allow now.
            RejectCode::HmacNotAuthenticated
            | RejectCode::RequiredHmacSignatureMissing
            | RejectCode::RequiredAccessKeyIdMissing
            | RejectCode::RequiredSessionMissing
            | RejectCode::RequiredFirmMissing
            | RejectCode::RequiredRequestTimestampMissing
            | RejectCode::SessionBlocked
            | RejectCode::InvalidKeepAliveInterval
            | RejectCode::InvalidAccessKeyId
            | RejectCode::InvalidSession
            | RejectCode::InvalidFirm
            | RejectCode::VolumeControls
            | RejectCode::NegotiateNotAllowed => Retry::Permanent,
        }
    }

    /// A raw code; one CME has not defined is permanent (nothing says a retry helps).
    pub const fn retry_of(code: u16) -> Retry {
        match Self::from_code(code) {
            Some(c) => c.retry(),
            None => Retry::Permanent,
        }
    }
}

impl TerminateCode {
    /// Terminate codes, during a logon or after it.
    pub const fn retry(self) -> Retry {
        match self {
            // CME closed the port, volume controls, or a UUID CME will never accept again.
            TerminateCode::CmeAdministeredPortClosure
            | TerminateCode::VolumeControls
            | TerminateCode::InvalidUuid => Retry::Permanent,
            // Ordinary ends, races between connections, sequence and timing problems the next
            // Establish resolves, framing errors, a fail-over.
            TerminateCode::Finished
            | TerminateCode::EstablishmentTimeout
            | TerminateCode::Unnegotiated
            | TerminateCode::NotEstablished
            | TerminateCode::AlreadyNegotiated
            | TerminateCode::NegotiationInProgress
            | TerminateCode::AlreadyEstablished
            | TerminateCode::EstablishInProgress
            | TerminateCode::InvalidNextSeqNo
            | TerminateCode::InvalidMsgSeqNo
            | TerminateCode::InvalidLastSeqNo
            | TerminateCode::InvalidTimestamp
            | TerminateCode::InvalidSofh
            | TerminateCode::DecodingError
            | TerminateCode::KeepAliveIntervalLapsed
            | TerminateCode::Other
            | TerminateCode::TerminateInProgress
            | TerminateCode::DisconnectOrTerminateFromPrimary => Retry::Transient,
        }
    }

    /// A raw code; an undefined one is transient (CME's Terminate 23 "Other" family).
    pub const fn retry_of(code: u16) -> Retry {
        match Self::from_code(code) {
            Some(c) => c.retry(),
            None => Retry::Transient,
        }
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;

    /// PROTOCOL.md "FIXP session rules": every reject and terminate code is classified, and a
    /// bad key, unknown ids or a CME port closure are never retried at the reconnect pace.
    #[test]
    fn every_reject_and_terminate_code_is_classified() {
        let permanent: Vec<u16> = RejectCode::ALL
            .iter()
            .filter(|c| c.retry() == Retry::Permanent)
            .map(|c| c.code())
            .collect();
        assert_eq!(permanent, [0, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 28]);
        assert_eq!(RejectCode::retry_of(99), Retry::Permanent);
        let permanent: Vec<u16> = TerminateCode::ALL
            .iter()
            .filter(|c| c.retry() == Retry::Permanent)
            .map(|c| c.code())
            .collect();
        assert_eq!(permanent, [8, 9, 13]);
        assert_eq!(TerminateCode::retry_of(99), Retry::Transient);
        assert_eq!(TerminateCode::retry_of(26), Retry::Transient);
    }
}
