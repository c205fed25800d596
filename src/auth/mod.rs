//! Authentication shared by iLink 3 and Drop Copy: key files and rotation ([`keys`]), HMAC-SHA256
//! with a precomputed key schedule ([`signer`]) and the canonical messages CME signs
//! ([`canonical`]).

pub mod canonical;
pub mod keys;
pub mod signer;

pub use canonical::{
    Canonical, EstablishCanonical, FixLogonCanonical, FixSignature, NegotiateCanonical,
};
pub use keys::{AccessKeyId, KeyEntry, KeyError, KeyFile, KeyWarning};
pub use signer::{CanonicalSink, HmacSigner};
