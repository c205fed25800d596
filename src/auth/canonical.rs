//! Canonical messages that CME signs, built from typed fields.
//!
//! Field order is normative (seeds 003 and 004): values only, joined by `\n`, no trailing newline.
//! Each type writes its fields straight into a [`CanonicalSink`] (a running HMAC on the hot path),
//! so signing never builds a `String`.

use super::signer::{CanonicalSink, HmacSigner};
use base64::Engine as _;

/// A message with a canonical form for HMAC signing.
pub trait Canonical {
    /// Writes the canonical bytes, field by field.
    fn write_canonical<S: CanonicalSink + ?Sized>(&self, out: &mut S);

    /// The canonical bytes as a vector (tests, diagnostics; never on the hot path).
    fn canonical_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_canonical(&mut v);
        v
    }
}

/// iLink 3 Negotiate (template 500): `RequestTimestamp\nUUID\nSession\nFirm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NegotiateCanonical<'a> {
    /// Nanoseconds since the Unix epoch.
    pub request_timestamp: u64,
    pub uuid: u64,
    /// Session ID (3 characters).
    pub session: &'a str,
    /// Firm ID (up to 5 characters).
    pub firm: &'a str,
}

impl Canonical for NegotiateCanonical<'_> {
    #[inline]
    fn write_canonical<S: CanonicalSink + ?Sized>(&self, out: &mut S) {
        out.put_u64(self.request_timestamp);
        out.put(b"\n");
        out.put_u64(self.uuid);
        out.put(b"\n");
        out.put(self.session.as_bytes());
        out.put(b"\n");
        out.put(self.firm.as_bytes());
    }
}

/// iLink 3 Establish (template 503): the Negotiate fields, then TradingSystemName, Version,
/// Vendor, NextSeqNo and KeepAliveInterval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EstablishCanonical<'a> {
    pub request_timestamp: u64,
    pub uuid: u64,
    pub session: &'a str,
    pub firm: &'a str,
    pub trading_system_name: &'a str,
    pub trading_system_version: &'a str,
    pub trading_system_vendor: &'a str,
    pub next_seq_no: u32,
    /// Milliseconds.
    pub keep_alive_interval: u16,
}

impl Canonical for EstablishCanonical<'_> {
    #[inline]
    fn write_canonical<S: CanonicalSink + ?Sized>(&self, out: &mut S) {
        NegotiateCanonical {
            request_timestamp: self.request_timestamp,
            uuid: self.uuid,
            session: self.session,
            firm: self.firm,
        }
        .write_canonical(out);
        out.put(b"\n");
        out.put(self.trading_system_name.as_bytes());
        out.put(b"\n");
        out.put(self.trading_system_version.as_bytes());
        out.put(b"\n");
        out.put(self.trading_system_vendor.as_bytes());
        out.put(b"\n");
        out.put_u64(u64::from(self.next_seq_no));
        out.put(b"\n");
        out.put_u64(u64::from(self.keep_alive_interval));
    }
}

/// Drop Copy 4.0 / iLink 2 FIX Logon: values of tags 34, 49, 50, 52, 57, 108, 142, 369, 1603,
/// 1604, 1605 in that order. ilinkd always sends 369 on Logon, so it is not optional here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixLogonCanonical<'a> {
    /// 34 MsgSeqNum.
    pub msg_seq_num: u64,
    /// 49 SenderCompID (session id + fault-tolerance indicator).
    pub sender_comp_id: &'a str,
    /// 50 SenderSubID (operator id).
    pub sender_sub_id: &'a str,
    /// 52 SendingTime exactly as sent (`YYYYMMDD-HH:MM:SS.sss`).
    pub sending_time: &'a str,
    /// 57 TargetSubID (`G` on a CGW, the market segment on an MSGW).
    pub target_sub_id: &'a str,
    /// 108 HeartBtInt, seconds.
    pub heart_bt_int: u32,
    /// 142 SenderLocationID.
    pub sender_location_id: &'a str,
    /// 369 LastMsgSeqNumProcessed.
    pub last_msg_seq_num_processed: u64,
    /// 1603 ApplicationSystemName.
    pub app_system_name: &'a str,
    /// 1604 TradingSystemVersion.
    pub app_system_version: &'a str,
    /// 1605 ApplicationSystemVendor.
    pub app_system_vendor: &'a str,
}

impl Canonical for FixLogonCanonical<'_> {
    #[inline]
    fn write_canonical<S: CanonicalSink + ?Sized>(&self, out: &mut S) {
        out.put_u64(self.msg_seq_num);
        for field in [
            self.sender_comp_id,
            self.sender_sub_id,
            self.sending_time,
            self.target_sub_id,
        ] {
            out.put(b"\n");
            out.put(field.as_bytes());
        }
        out.put(b"\n");
        out.put_u64(u64::from(self.heart_bt_int));
        out.put(b"\n");
        out.put(self.sender_location_id.as_bytes());
        out.put(b"\n");
        out.put_u64(self.last_msg_seq_num_processed);
        for field in [
            self.app_system_name,
            self.app_system_version,
            self.app_system_vendor,
        ] {
            out.put(b"\n");
            out.put(field.as_bytes());
        }
    }
}

/// Length of an unpadded base64url HMAC-SHA256 signature (FIX tag 1402).
pub const FIX_SIGNATURE_LEN: usize = 43;

/// A FIX logon signature: unpadded base64url of the 32-byte HMAC, on the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FixSignature([u8; FIX_SIGNATURE_LEN]);

impl FixSignature {
    /// Encodes a raw HMAC.
    pub fn from_mac(mac: &[u8; 32]) -> Self {
        let mut out = [0u8; FIX_SIGNATURE_LEN];
        let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode_slice(mac, &mut out)
            .expect("32 bytes always encode to 43 base64 characters");
        debug_assert_eq!(n, FIX_SIGNATURE_LEN);
        FixSignature(out)
    }

    /// The 43 ASCII characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("base64url output is ASCII")
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for FixSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FixSignature({})", self.as_str())
    }
}

impl HmacSigner {
    /// Signs a FIX logon and returns tag 1402's value.
    #[inline]
    pub fn sign_fix_logon(&self, msg: &FixLogonCanonical<'_>) -> FixSignature {
        FixSignature::from_mac(&self.sign(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::decode_secret;

    /// The two public FIX-logon vectors of PROTOCOL.md, rebuilt from typed fields.
    #[test]
    fn fix_logon_vectors_from_protocol_md() {
        let v1 = FixLogonCanonical {
            msg_seq_num: 1,
            sender_comp_id: "B08004N",
            sender_sub_id: "MSG",
            sending_time: "20170623-14:48:42.855",
            target_sub_id: "92",
            heart_bt_int: 60,
            sender_location_id: "US,NY",
            last_msg_seq_num_processed: 0,
            app_system_name: "BRIO",
            app_system_version: "8.0",
            app_system_vendor: "ABC",
        };
        assert_eq!(
            v1.canonical_bytes(),
            b"1\nB08004N\nMSG\n20170623-14:48:42.855\n92\n60\nUS,NY\n0\nBRIO\n8.0\nABC"
        );
        let key = decode_secret("2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4").unwrap();
        assert_eq!(
            HmacSigner::new(key.expose()).sign_fix_logon(&v1).as_str(),
            "oHZ2Dx1ihFAp7kHOFcJPkijm27xfApJFp-ZhsSCxr3s"
        );

        let v2 = FixLogonCanonical {
            msg_seq_num: 1,
            sender_comp_id: "U89004N",
            sender_sub_id: "0J4L",
            sending_time: "20180420-14:21:52.697",
            target_sub_id: "G",
            heart_bt_int: 30,
            sender_location_id: "US",
            last_msg_seq_num_processed: 0,
            app_system_name: "FIXAntenna .NET Core",
            app_system_version: "2.18.1",
            app_system_vendor: "B2BITS",
        };
        assert_eq!(
            v2.canonical_bytes(),
            b"1\nU89004N\n0J4L\n20180420-14:21:52.697\nG\n30\nUS\n0\nFIXAntenna .NET Core\n2.18.1\nB2BITS"
        );
        let key = decode_secret("gyJYeacu9T--a1tak4i5S-pBXxwCNK_wUqp9fh5usJ8").unwrap();
        assert_eq!(
            HmacSigner::new(key.expose()).sign_fix_logon(&v2).as_str(),
            "V9Xf6SV45lT0-x2fGs7aKJXk5j4SKEkXWmrLAVFNgGA"
        );
    }

    /// Seed 004's sample values for Negotiate.
    #[test]
    fn negotiate_canonical_field_order() {
        let n = NegotiateCanonical {
            request_timestamp: 1563720650008,
            uuid: 1563720660068,
            session: "ABC",
            firm: "007",
        };
        assert_eq!(
            n.canonical_bytes(),
            b"1563720650008\n1563720660068\nABC\n007"
        );
    }

    /// Seed 004's sample values for Establish (nine fields, no trailing newline).
    #[test]
    fn establish_canonical_field_order() {
        let e = EstablishCanonical {
            request_timestamp: 1563720650008,
            uuid: 1563720660068,
            session: "ABC",
            firm: "007",
            trading_system_name: "ilinkd",
            trading_system_version: "0.1.0",
            trading_system_vendor: "ACME",
            next_seq_no: 1,
            keep_alive_interval: 30000,
        };
        assert_eq!(
            e.canonical_bytes(),
            b"1563720650008\n1563720660068\nABC\n007\nilinkd\n0.1.0\nACME\n1\n30000"
        );
    }

    /// Signing field by field equals signing the assembled string.
    #[test]
    fn streamed_signature_equals_signature_of_assembled_string() {
        let signer = HmacSigner::new(b"0123456789abcdef0123456789abcdef");
        let e = EstablishCanonical {
            request_timestamp: 1_700_000_000_123_456_789,
            uuid: 1_700_000_000_123_456,
            session: "XYZ",
            firm: "12345",
            trading_system_name: "ilinkd",
            trading_system_version: "0.1.0",
            trading_system_vendor: "ACME",
            next_seq_no: 42,
            keep_alive_interval: 30000,
        };
        assert_eq!(signer.sign(&e), signer.sign_bytes(&e.canonical_bytes()));
        assert!(signer.verify(&e, &signer.sign(&e)));
        let mut bad = signer.sign(&e);
        bad[0] ^= 1;
        assert!(!signer.verify(&e, &bad));
    }
}
