//! SBE building blocks: framing, the message header, field encodings, errors, and the macros
//! that turn the field tables in `messages.rs` into flyweight readers and writers.
//!
//! Every read goes through `slice::get`/`first_chunk` on a block whose length was checked when
//! the reader was built, so a decoder cannot panic or read out of bounds. Field offsets are
//! checked against the block length at compile time (`const` assertions in the macros).

use thiserror::Error;

/// Length of the Simple Open Framing Header (u16 MessageSize + u16 EncodingType).
pub const SOFH_LEN: usize = 4;
/// Length of the SBE message header (blockLength, templateId, schemaId, version).
pub const MESSAGE_HEADER_LEN: usize = 8;
/// SOFH plus SBE header: where the root block starts in a frame.
pub const FRAME_HEADER_LEN: usize = SOFH_LEN + MESSAGE_HEADER_LEN;
/// SOFH EncodingType for SBE 1.0 little-endian (bytes on the wire: `FE CA`).
pub const SBE_ENCODING_TYPE: u16 = 0xCAFE;
/// iLink 3 schema id.
pub const SCHEMA_ID: u16 = 8;
/// Schema version our writers produce.
pub const SCHEMA_VERSION: u16 = 9;
/// Oldest schema version the decoder accepts.
pub const MIN_SCHEMA_VERSION: u16 = 8;
/// Decimal exponent of every iLink 3 price (`PRICE9`/`PRICENULL9`): value = mantissa × 10⁻⁹.
pub const PRICE_EXPONENT: i8 = -9;
/// Size of a `groupSize` dimension header (u16 blockLength + u8 numInGroup).
pub const GROUP_HEADER_LEN: usize = 3;
/// Size of a var-data length prefix (`DATA`: u16 length).
pub const VAR_DATA_HEADER_LEN: usize = 2;

/// Why a frame could not be decoded. Every variant names what was wrong and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Fewer bytes than the fixed headers need.
    #[error("frame too short: {len} bytes, need at least {need}")]
    Short {
        /// Bytes present.
        len: usize,
        /// Bytes required.
        need: usize,
    },
    /// SOFH MessageSize below the 12 bytes of SOFH + SBE header (a stream cannot recover).
    #[error("SOFH message size {declared} is below the {min}-byte minimum")]
    SofhSizeTooSmall {
        /// MessageSize from the SOFH.
        declared: u16,
        /// Smallest valid size.
        min: usize,
    },
    /// SOFH MessageSize disagrees with the length of the frame handed to the decoder.
    #[error("SOFH message size {declared} but the frame holds {actual} bytes")]
    SofhLengthMismatch {
        /// MessageSize from the SOFH.
        declared: u16,
        /// Bytes actually given.
        actual: usize,
    },
    /// SOFH EncodingType is not 0xCAFE.
    #[error("SOFH encoding type {0:#06x}, expected 0xcafe (SBE little-endian)")]
    EncodingType(u16),
    /// SBE header schemaId is not 8.
    #[error("SBE schema id {0}, expected 8 (iLink 3)")]
    SchemaId(u16),
    /// SBE header version outside 8..=9.
    #[error("SBE schema version {0} not supported (expected 8 or 9)")]
    Version(u16),
    /// templateId not one this codec knows.
    #[error("unknown SBE template id {0}")]
    UnknownTemplate(u16),
    /// A typed decoder was handed another template.
    #[error("template id {actual}, expected {expected}")]
    WrongTemplate {
        /// Template the caller asked for.
        expected: u16,
        /// Template in the header.
        actual: u16,
    },
    /// Header blockLength is smaller than the root fields need.
    #[error("template {template}: blockLength {block_length} shorter than the {min} bytes its fields need")]
    BlockTooShort {
        /// Template id.
        template: u16,
        /// blockLength from the header.
        block_length: u16,
        /// Minimum accepted.
        min: usize,
    },
    /// Root block runs past the end of the frame.
    #[error("template {template}: root block of {block_length} bytes overruns the {available} bytes after the header")]
    BlockOverrun {
        /// Template id.
        template: u16,
        /// blockLength from the header.
        block_length: u16,
        /// Bytes after the SBE header.
        available: usize,
    },
    /// A repeating group's dimension header runs past the end of the frame.
    #[error(
        "template {template}: group {group} header at body offset {offset} overruns the frame"
    )]
    GroupHeaderOverrun {
        /// Template id.
        template: u16,
        /// Group name.
        group: &'static str,
        /// Offset from the start of the root block.
        offset: usize,
    },
    /// A repeating group's entry blockLength is smaller than its fields need.
    #[error("template {template}: group {group} entry blockLength {block_length} shorter than the {min} bytes its fields need")]
    GroupBlockTooShort {
        /// Template id.
        template: u16,
        /// Group name.
        group: &'static str,
        /// Entry blockLength from the group header.
        block_length: u16,
        /// Minimum accepted.
        min: usize,
    },
    /// A repeating group's entries run past the end of the frame.
    #[error("template {template}: group {group} has {count} entries of {block_length} bytes but only {available} bytes remain")]
    GroupOverrun {
        /// Template id.
        template: u16,
        /// Group name.
        group: &'static str,
        /// numInGroup.
        count: u16,
        /// Entry blockLength.
        block_length: u16,
        /// Bytes left in the frame.
        available: usize,
    },
    /// A var-data field runs past the end of the frame.
    #[error("template {template}: var data {field} at body offset {offset} (length {len}) overruns the frame")]
    VarDataOverrun {
        /// Template id.
        template: u16,
        /// Field name.
        field: &'static str,
        /// Offset of the length prefix from the start of the root block.
        offset: usize,
        /// Declared length (0 when the prefix itself is cut off).
        len: u16,
    },
}

impl DecodeError {
    /// True when the error comes from the SOFH itself: the byte stream has lost framing and the
    /// connection must be terminated (Terminate code 18 InvalidSOFH) rather than one message
    /// rejected.
    pub fn is_framing(&self) -> bool {
        matches!(
            self,
            DecodeError::SofhSizeTooSmall { .. }
                | DecodeError::SofhLengthMismatch { .. }
                | DecodeError::EncodingType(_)
        )
    }

    /// The Terminate code a session should send for this error (18 InvalidSOFH for framing
    /// errors, 19 DecodingError otherwise).
    pub fn terminate_code(&self) -> super::TerminateCode {
        if self.is_framing() {
            super::TerminateCode::InvalidSofh
        } else {
            super::TerminateCode::DecodingError
        }
    }
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The output buffer cannot hold the frame.
    #[error("buffer of {have} bytes too small for a {need}-byte frame")]
    BufferTooSmall {
        /// Frame size.
        need: usize,
        /// Buffer size.
        have: usize,
    },
    /// The frame would exceed the SOFH's u16 MessageSize.
    #[error("frame of {len} bytes exceeds the 65535-byte SOFH limit")]
    FrameTooLarge {
        /// Frame size.
        len: usize,
    },
    /// A value is longer than its fixed-length char field.
    #[error("value of {len} bytes too long for {field} (max {max})")]
    FieldTooLong {
        /// Field name as in the schema.
        field: &'static str,
        /// Field length.
        max: usize,
        /// Value length.
        len: usize,
    },
}

/// The SBE message header that follows the SOFH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageHeader {
    /// Root block length in bytes.
    pub block_length: u16,
    /// Template (message) id.
    pub template_id: u16,
    /// Schema id (8 for iLink 3).
    pub schema_id: u16,
    /// Schema version (8 or 9).
    pub version: u16,
}

#[inline(always)]
fn le16(b: &[u8], off: usize) -> Option<u16> {
    b.get(off..)
        .and_then(|s| s.first_chunk::<2>())
        .map(|a| u16::from_le_bytes(*a))
}

/// Validates the SOFH and SBE header of one complete frame and returns the header and the body
/// (root block, groups, var data).
///
/// The SOFH MessageSize must equal `frame.len()`; use [`next_frame`] or [`Frames`] to cut a
/// byte stream into frames first.
#[inline]
pub fn decode_header(frame: &[u8]) -> Result<(MessageHeader, &[u8]), DecodeError> {
    let (size, enc) = match (le16(frame, 0), le16(frame, 2)) {
        (Some(s), Some(e)) => (s, e),
        _ => {
            return Err(DecodeError::Short {
                len: frame.len(),
                need: SOFH_LEN,
            })
        }
    };
    if enc != SBE_ENCODING_TYPE {
        return Err(DecodeError::EncodingType(enc));
    }
    if usize::from(size) < FRAME_HEADER_LEN {
        return Err(DecodeError::SofhSizeTooSmall {
            declared: size,
            min: FRAME_HEADER_LEN,
        });
    }
    if usize::from(size) != frame.len() {
        return Err(DecodeError::SofhLengthMismatch {
            declared: size,
            actual: frame.len(),
        });
    }
    let (hdr, body) = match frame
        .get(SOFH_LEN..)
        .and_then(|s| s.split_first_chunk::<8>())
    {
        Some(x) => x,
        None => {
            return Err(DecodeError::Short {
                len: frame.len(),
                need: FRAME_HEADER_LEN,
            })
        }
    };
    let header = MessageHeader {
        block_length: u16::from_le_bytes([hdr[0], hdr[1]]),
        template_id: u16::from_le_bytes([hdr[2], hdr[3]]),
        schema_id: u16::from_le_bytes([hdr[4], hdr[5]]),
        version: u16::from_le_bytes([hdr[6], hdr[7]]),
    };
    if header.schema_id != SCHEMA_ID {
        return Err(DecodeError::SchemaId(header.schema_id));
    }
    if !(MIN_SCHEMA_VERSION..=SCHEMA_VERSION).contains(&header.version) {
        return Err(DecodeError::Version(header.version));
    }
    Ok((header, body))
}

/// Result of looking for one frame at the start of a byte buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextFrame<'a> {
    /// A complete frame (SOFH included); consume `frame.len()` bytes.
    Frame(&'a [u8]),
    /// The buffer holds only part of a frame (or nothing): at least `needed` more bytes must
    /// arrive before the next frame is complete.
    Incomplete {
        /// Additional bytes needed (a lower bound while the SOFH itself is incomplete).
        needed: usize,
    },
}

/// Looks for one complete frame at the start of `buf` using the SOFH.
///
/// Only the SOFH is validated here (MessageSize ≥ 12, EncodingType 0xCAFE); an error means the
/// stream has lost framing. Decode the returned frame with [`decode`](super::decode).
#[inline]
pub fn next_frame(buf: &[u8]) -> Result<NextFrame<'_>, DecodeError> {
    let (size, enc) = match (le16(buf, 0), le16(buf, 2)) {
        (Some(s), Some(e)) => (usize::from(s), e),
        _ => {
            return Ok(NextFrame::Incomplete {
                needed: SOFH_LEN - buf.len().min(SOFH_LEN),
            })
        }
    };
    if enc != SBE_ENCODING_TYPE {
        return Err(DecodeError::EncodingType(enc));
    }
    if size < FRAME_HEADER_LEN {
        return Err(DecodeError::SofhSizeTooSmall {
            declared: size as u16,
            min: FRAME_HEADER_LEN,
        });
    }
    match buf.get(..size) {
        Some(frame) => Ok(NextFrame::Frame(frame)),
        None => Ok(NextFrame::Incomplete {
            needed: size - buf.len(),
        }),
    }
}

/// Iterator over the complete frames in a byte buffer.
///
/// Yields each complete frame; stops at the first partial frame (see [`Frames::needed`]) or
/// after yielding one framing error (the stream cannot be resynchronised).
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    rest: &'a [u8],
    consumed: usize,
    needed: usize,
    failed: bool,
}

impl<'a> Frames<'a> {
    /// Starts splitting `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Frames {
            rest: buf,
            consumed: 0,
            needed: 0,
            failed: false,
        }
    }

    /// Bytes taken by the frames yielded so far (drop these from the receive buffer).
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    /// The bytes not yet yielded as frames.
    pub fn remainder(&self) -> &'a [u8] {
        self.rest
    }

    /// After the iterator returned `None`: how many more bytes the partial frame at the end of
    /// the buffer needs (0 when the buffer ended exactly on a frame boundary).
    pub fn needed(&self) -> usize {
        self.needed
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<&'a [u8], DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.rest.is_empty() {
            self.needed = 0;
            return None;
        }
        match next_frame(self.rest) {
            Ok(NextFrame::Frame(f)) => {
                self.rest = self.rest.get(f.len()..).unwrap_or(&[]);
                self.consumed += f.len();
                Some(Ok(f))
            }
            Ok(NextFrame::Incomplete { needed }) => {
                self.needed = needed;
                None
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Writes SOFH and SBE header (version [`SCHEMA_VERSION`]).
#[inline(always)]
pub(crate) fn put_frame_header(
    h: &mut [u8; FRAME_HEADER_LEN],
    frame_len: u16,
    block: u16,
    template: u16,
) {
    let [a, b] = frame_len.to_le_bytes();
    let [c, d] = SBE_ENCODING_TYPE.to_le_bytes();
    let [e, f] = block.to_le_bytes();
    let [g, i] = template.to_le_bytes();
    let [j, k] = SCHEMA_ID.to_le_bytes();
    let [l, m] = SCHEMA_VERSION.to_le_bytes();
    *h = [a, b, c, d, e, f, g, i, j, k, l, m];
}

/// SBE primitive types, as named in the schema (`primitiveType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Primitive {
    /// `char`
    Char,
    /// `int8`
    Int8,
    /// `uint8`
    Uint8,
    /// `uint16`
    Uint16,
    /// `int32`
    Int32,
    /// `uint32`
    Uint32,
    /// `int64`
    Int64,
    /// `uint64`
    Uint64,
}

impl Primitive {
    /// Bytes one value of this primitive takes.
    pub const fn size(self) -> usize {
        match self {
            Primitive::Char | Primitive::Int8 | Primitive::Uint8 => 1,
            Primitive::Uint16 => 2,
            Primitive::Int32 | Primitive::Uint32 => 4,
            Primitive::Int64 | Primitive::Uint64 => 8,
        }
    }

    /// The schema's spelling (`"uint32"`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Primitive::Char => "char",
            Primitive::Int8 => "int8",
            Primitive::Uint8 => "uint8",
            Primitive::Uint16 => "uint16",
            Primitive::Int32 => "int32",
            Primitive::Uint32 => "uint32",
            Primitive::Int64 => "int64",
            Primitive::Uint64 => "uint64",
        }
    }
}

/// One field of a block, as the codec lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDesc {
    /// Field name as in the schema.
    pub name: &'static str,
    /// Offset from the start of the block.
    pub offset: usize,
    /// Primitive type (for composites such as `PRICE9` / `Decimal64NULL`: the mantissa's).
    pub primitive: Primitive,
    /// Number of primitives (char array length; 1 for scalars and composites).
    pub length: usize,
    /// Bytes taken in the block.
    pub size: usize,
    /// Null value, for optional fields (for composites: the mantissa's).
    pub null_value: Option<i128>,
    /// Schema version that introduced the field when it is newer than the oldest accepted
    /// version (8), else 0.
    pub since_version: u16,
}

/// One repeating group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupDesc {
    /// Group name as in the schema.
    pub name: &'static str,
    /// Dimension type name (`groupSize`: u16 blockLength + u8 numInGroup).
    pub dimension_type: &'static str,
    /// Entry block length written by our writers (schema version 9).
    pub block_length: usize,
    /// Smallest entry block the decoder accepts (the version 8 length).
    pub min_block_length: usize,
    /// Entry fields.
    pub fields: &'static [FieldDesc],
}

/// One message, as the codec lays it out: the table the conformance test checks against the
/// official schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageDesc {
    /// Message name as in the schema (`"NewOrderSingle514"`).
    pub name: &'static str,
    /// SBE template id.
    pub template_id: u16,
    /// Root block length in schema version 9 (what our writers produce).
    pub block_length: usize,
    /// Smallest root block the decoder accepts (the version 8 length).
    pub min_block_length: usize,
    /// Schema version that introduced the message when it is newer than the oldest accepted
    /// version (8), else 0.
    pub since_version: u16,
    /// Root block fields.
    pub fields: &'static [FieldDesc],
    /// Repeating groups, in wire order.
    pub groups: &'static [GroupDesc],
    /// Var-data fields, in wire order.
    pub var_data: &'static [&'static str],
}

/// The index of the first NUL byte of `b` (its length when there is none), eight bytes at a
/// time: in `(x - 0x01..01) & !x & 0x80..80` the lowest set bit marks the first zero byte (a
/// borrow only sets bits above it). The last partial word is padded with non-zero bytes.
#[inline(always)]
fn first_nul(b: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_at = |w: [u8; 8]| {
        let x = u64::from_le_bytes(w);
        let z = x.wrapping_sub(ONES) & !x & HIGH;
        (z != 0).then_some((z.trailing_zeros() / 8) as usize)
    };
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if let Some(i) = zero_at(w) {
            return at + i;
        }
        at += 8;
    }
    let rest = chunks.remainder();
    let mut w = [0xFFu8; 8];
    if let Some(head) = w.get_mut(..rest.len()) {
        head.copy_from_slice(rest);
    }
    at + zero_at(w).map_or(rest.len(), |i| i.min(rest.len()))
}

/// A fixed-length char field as read from the wire: the bytes up to the first NUL pad.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FixedStr<'a>(&'a [u8]);

impl<'a> FixedStr<'a> {
    /// Wraps a padded field, trimming at the first NUL.
    #[inline(always)]
    pub fn from_padded(b: &'a [u8]) -> Self {
        FixedStr(b.get(..first_nul(b)).unwrap_or(b))
    }

    /// The trimmed bytes.
    #[inline(always)]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The trimmed value as text, `None` when the peer sent bytes that are not UTF-8.
    #[inline]
    pub fn as_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.0).ok()
    }

    /// True when the field is all padding.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Trimmed length in bytes.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl core::fmt::Debug for FixedStr<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&String::from_utf8_lossy(self.0), f)
    }
}

impl core::fmt::Display for FixedStr<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.0))
    }
}

impl PartialEq<str> for FixedStr<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for FixedStr<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<[u8]> for FixedStr<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

/// Writes `v` into a fixed-length char field, NUL-padding the rest.
#[inline(always)]
pub(crate) fn put_str<const L: usize>(
    dst: &mut [u8],
    v: &[u8],
    field: &'static str,
) -> Result<(), EncodeError> {
    let mut t = [0u8; L];
    match t.get_mut(..v.len()) {
        Some(head) => head.copy_from_slice(v),
        None => {
            return Err(EncodeError::FieldTooLong {
                field,
                max: L,
                len: v.len(),
            })
        }
    }
    if let Some(d) = dst.first_chunk_mut::<L>() {
        *d = t;
    }
    Ok(())
}

/// `Decimal64NULL`: an int64 mantissa with its own int8 exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal64 {
    /// Mantissa.
    pub mantissa: i64,
    /// Decimal exponent.
    pub exponent: i8,
}

/// A fixed-size field encoding (the numeric and char-scalar types of the schema).
pub trait Field {
    /// Rust value type (`Option<_>` for optional fields, `None` = the schema's null value).
    type Value: Copy;
    /// Bytes taken in the block.
    const SIZE: usize;
    /// Primitive type (the mantissa's for composites).
    const PRIMITIVE: Primitive;
    /// Null value, for optional types.
    const NULL: Option<i128>;
    /// Reads the value from exactly `SIZE` bytes (a shorter slice reads as zero / null; the
    /// codec never passes one).
    fn get(b: &[u8]) -> Self::Value;
    /// Writes the value into exactly `SIZE` bytes.
    fn put(b: &mut [u8], v: Self::Value);
    /// Writes the null value (optional types) or zero.
    fn put_null(b: &mut [u8]);
}

/// An optional field type whose value can be "absent" (used for fields newer than version 8).
pub trait Nullable: Field {
    /// The value reported when the field is not in the block.
    const ABSENT: Self::Value;
}

macro_rules! plain_field {
    ($(#[$m:meta])* $name:ident, $t:ty, $n:literal, $prim:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl Field for $name {
            type Value = $t;
            const SIZE: usize = $n;
            const PRIMITIVE: Primitive = Primitive::$prim;
            const NULL: Option<i128> = None;
            #[inline(always)]
            fn get(b: &[u8]) -> $t {
                b.first_chunk::<$n>().map_or(0, |a| <$t>::from_le_bytes(*a))
            }
            #[inline(always)]
            fn put(b: &mut [u8], v: $t) {
                if let Some(a) = b.first_chunk_mut::<$n>() {
                    *a = v.to_le_bytes();
                }
            }
            #[inline(always)]
            fn put_null(b: &mut [u8]) {
                Self::put(b, 0)
            }
        }
    };
}

macro_rules! null_field {
    ($(#[$m:meta])* $name:ident, $t:ty, $n:literal, $prim:ident, $null:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl Field for $name {
            type Value = Option<$t>;
            const SIZE: usize = $n;
            const PRIMITIVE: Primitive = Primitive::$prim;
            const NULL: Option<i128> = Some($null as i128);
            #[inline(always)]
            fn get(b: &[u8]) -> Option<$t> {
                b.first_chunk::<$n>()
                    .map(|a| <$t>::from_le_bytes(*a))
                    .filter(|&v| v != $null)
            }
            #[inline(always)]
            fn put(b: &mut [u8], v: Option<$t>) {
                if let Some(a) = b.first_chunk_mut::<$n>() {
                    *a = v.unwrap_or($null).to_le_bytes();
                }
            }
            #[inline(always)]
            fn put_null(b: &mut [u8]) {
                Self::put(b, None)
            }
        }
        impl Nullable for $name {
            const ABSENT: Option<$t> = None;
        }
    };
}

plain_field!(
    /// `uint8` (also uint8-encoded enums and sets).
    U8, u8, 1, Uint8
);
plain_field!(
    /// `uint16`.
    U16, u16, 2, Uint16
);
plain_field!(
    /// `uint32`.
    U32, u32, 4, Uint32
);
plain_field!(
    /// `uint64`.
    U64, u64, 8, Uint64
);
plain_field!(
    /// `int32`.
    I32, i32, 4, Int32
);
plain_field!(
    /// `PRICE9`: int64 mantissa, constant exponent -9.
    Px, i64, 8, Int64
);
plain_field!(
    /// A single required `char` (char-encoded enums such as OrderTypeReq).
    Ch, u8, 1, Char
);
null_field!(
    /// Optional `uint8` (null 255; also `enumNULL`/`uInt8NULL` enums).
    U8N, u8, 1, Uint8, u8::MAX
);
null_field!(
    /// Optional `uint16` (null 65535; also `LocalMktDate`).
    U16N, u16, 2, Uint16, u16::MAX
);
null_field!(
    /// Optional `uint32` (null 4294967295).
    U32N, u32, 4, Uint32, u32::MAX
);
null_field!(
    /// Optional `uint64` (null 18446744073709551615).
    U64N, u64, 8, Uint64, u64::MAX
);
null_field!(
    /// Optional `int32` (null 2147483647).
    I32N, i32, 4, Int32, i32::MAX
);
null_field!(
    /// `PRICENULL9`: optional int64 mantissa (null i64::MAX), constant exponent -9.
    PxN, i64, 8, Int64, i64::MAX
);
null_field!(
    /// Optional single `char` (`charNULL`, null 0).
    ChN, u8, 1, Char, 0u8
);

/// `Decimal64NULL`: int64 mantissa (null i64::MAX) + int8 exponent, 9 bytes.
#[derive(Debug, Clone, Copy)]
pub struct D64N;

impl Field for D64N {
    type Value = Option<Decimal64>;
    const SIZE: usize = 9;
    const PRIMITIVE: Primitive = Primitive::Int64;
    const NULL: Option<i128> = Some(i64::MAX as i128);
    #[inline(always)]
    fn get(b: &[u8]) -> Option<Decimal64> {
        let (m, rest) = b.split_first_chunk::<8>()?;
        let mantissa = i64::from_le_bytes(*m);
        let exponent = i8::from_le_bytes([*rest.first()?]);
        (mantissa != i64::MAX).then_some(Decimal64 { mantissa, exponent })
    }
    #[inline(always)]
    fn put(b: &mut [u8], v: Option<Decimal64>) {
        if let Some((m, rest)) = b.split_first_chunk_mut::<8>() {
            let (mantissa, exponent) = v.map_or((i64::MAX, i8::MAX), |d| (d.mantissa, d.exponent));
            *m = mantissa.to_le_bytes();
            if let Some(e) = rest.first_mut() {
                *e = exponent.to_le_bytes()[0];
            }
        }
    }
    #[inline(always)]
    fn put_null(b: &mut [u8]) {
        Self::put(b, None)
    }
}

/// `Decimal32NULL`: int32 mantissa (null i32::MAX) + int8 exponent, 5 bytes.
#[derive(Debug, Clone, Copy)]
pub struct D32N;

/// A `Decimal32NULL` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal32 {
    /// Mantissa.
    pub mantissa: i32,
    /// Decimal exponent.
    pub exponent: i8,
}

impl Field for D32N {
    type Value = Option<Decimal32>;
    const SIZE: usize = 5;
    const PRIMITIVE: Primitive = Primitive::Int32;
    const NULL: Option<i128> = Some(i32::MAX as i128);
    #[inline(always)]
    fn get(b: &[u8]) -> Option<Decimal32> {
        let (m, rest) = b.split_first_chunk::<4>()?;
        let mantissa = i32::from_le_bytes(*m);
        let exponent = i8::from_le_bytes([*rest.first()?]);
        (mantissa != i32::MAX).then_some(Decimal32 { mantissa, exponent })
    }
    #[inline(always)]
    fn put(b: &mut [u8], v: Option<Decimal32>) {
        if let Some((m, rest)) = b.split_first_chunk_mut::<4>() {
            let (mantissa, exponent) = v.map_or((i32::MAX, i8::MAX), |d| (d.mantissa, d.exponent));
            *m = mantissa.to_le_bytes();
            if let Some(e) = rest.first_mut() {
                *e = exponent.to_le_bytes()[0];
            }
        }
    }
    #[inline(always)]
    fn put_null(b: &mut [u8]) {
        Self::put(b, None)
    }
}

impl Nullable for D32N {
    const ABSENT: Option<Decimal32> = None;
}

impl Nullable for D64N {
    const ABSENT: Option<Decimal64> = None;
}

/// A `MaturityMonthYear` value: year, and optional month, day and week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaturityMonthYear {
    /// Year (65535 on the wire makes the whole value null).
    pub year: u16,
    /// Month 1-12.
    pub month: Option<u8>,
    /// Day of month.
    pub day: Option<u8>,
    /// Week of month.
    pub week: Option<u8>,
}

/// `MaturityMonthYear`: uint16 year (null 65535) + uint8 month, day, week (null 255), 5 bytes.
#[derive(Debug, Clone, Copy)]
pub struct Mmy;

impl Field for Mmy {
    type Value = Option<MaturityMonthYear>;
    const SIZE: usize = 5;
    const PRIMITIVE: Primitive = Primitive::Uint16;
    const NULL: Option<i128> = Some(u16::MAX as i128);
    #[inline]
    fn get(b: &[u8]) -> Option<MaturityMonthYear> {
        let (y, rest) = b.split_first_chunk::<2>()?;
        let year = u16::from_le_bytes(*y);
        let [month, day, week] = *rest.first_chunk::<3>()?;
        let opt = |v: u8| (v != u8::MAX).then_some(v);
        (year != u16::MAX).then_some(MaturityMonthYear {
            year,
            month: opt(month),
            day: opt(day),
            week: opt(week),
        })
    }
    #[inline]
    fn put(b: &mut [u8], v: Option<MaturityMonthYear>) {
        if let Some(a) = b.first_chunk_mut::<5>() {
            let n = u8::MAX;
            let [y0, y1] = v.map_or(u16::MAX, |m| m.year).to_le_bytes();
            *a = match v {
                Some(m) => [
                    y0,
                    y1,
                    m.month.unwrap_or(n),
                    m.day.unwrap_or(n),
                    m.week.unwrap_or(n),
                ],
                None => [y0, y1, n, n, n],
            };
        }
    }
    #[inline(always)]
    fn put_null(b: &mut [u8]) {
        Self::put(b, None)
    }
}

impl Nullable for Mmy {
    const ABSENT: Option<MaturityMonthYear> = None;
}

/// Required fields newer than version 8 read as zero when a version 8 block lacks them.
macro_rules! absent_zero {
    ($($f:ident),*) => {$(
        impl Nullable for $f {
            const ABSENT: Self::Value = 0;
        }
    )*};
}
absent_zero!(U8, U16, U32, U64, I32, Px, Ch);

/// Offset of the field called `name` in a block's field table (compile-time lookup).
pub(crate) const fn find_field(fields: &[FieldDesc], name: &str) -> Option<usize> {
    let mut i = 0;
    while i < fields.len() {
        let a = fields[i].name.as_bytes();
        let b = name.as_bytes();
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return Some(fields[i].offset);
            }
        }
        i += 1;
    }
    None
}

/// The initial image of a block: every optional field at its null value, the rest zero.
/// Evaluated at compile time for each writer.
pub(crate) const fn null_image<const B: usize>(fields: &[FieldDesc]) -> [u8; B] {
    let mut out = [0u8; B];
    let mut i = 0;
    while i < fields.len() {
        let f = &fields[i];
        if let Some(n) = f.null_value {
            let bytes = (n as u64).to_le_bytes();
            let first = f.primitive.size();
            // Bytes past the first member of a composite: the int8 exponent of a
            // Decimal32NULL/Decimal64NULL (null 127) or the uint8 month/day/week of a
            // MaturityMonthYear (null 255).
            let tail = match f.primitive {
                Primitive::Int32 | Primitive::Int64 => i8::MAX as u8,
                _ => u8::MAX,
            };
            let mut j = 0;
            while j < f.size {
                out[f.offset + j] = if j < first { bytes[j] } else { tail };
                j += 1;
            }
        }
        i += 1;
    }
    out
}

/// `b[off..off + len]`, or an empty slice when out of range (never, for the codec's const
/// offsets into length-checked blocks; the branch folds away).
#[inline(always)]
pub(crate) fn sub(b: &[u8], off: usize, len: usize) -> &[u8] {
    b.get(off..off + len).unwrap_or(&[])
}

/// Mutable twin of [`sub`].
#[inline(always)]
pub(crate) fn sub_mut(b: &mut [u8], off: usize, len: usize) -> &mut [u8] {
    b.get_mut(off..off + len).unwrap_or(&mut [])
}

/// A repeating group located in a frame: `count` entries of `block_len` bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GroupSlice<'a> {
    pub data: &'a [u8],
    pub block_len: usize,
    pub count: usize,
}

/// Root block, groups and var data of a validated body.
pub(crate) struct Body<'a, const NG: usize, const ND: usize> {
    pub root: &'a [u8],
    pub groups: [GroupSlice<'a>; NG],
    pub data: [&'a [u8]; ND],
}

/// Splits and validates a message body (everything after the SBE header).
/// `groups` holds each group's (name, minimum entry block length).
#[inline]
pub(crate) fn parse_body<'a, const NG: usize, const ND: usize>(
    hdr: &MessageHeader,
    body: &'a [u8],
    min_block: usize,
    groups: &[(&'static str, usize); NG],
    data: &[&'static str; ND],
) -> Result<Body<'a, NG, ND>, DecodeError> {
    let template = hdr.template_id;
    let bl = usize::from(hdr.block_length);
    if bl < min_block {
        return Err(DecodeError::BlockTooShort {
            template,
            block_length: hdr.block_length,
            min: min_block,
        });
    }
    let (root, mut rest) = match body.split_at_checked(bl) {
        Some(x) => x,
        None => {
            return Err(DecodeError::BlockOverrun {
                template,
                block_length: hdr.block_length,
                available: body.len(),
            })
        }
    };
    let mut out = Body {
        root,
        groups: [GroupSlice::default(); NG],
        data: [&[][..]; ND],
    };
    for (slot, &(group, min)) in out.groups.iter_mut().zip(groups.iter()) {
        let offset = body.len() - rest.len();
        let (gh, after) = match rest.split_first_chunk::<GROUP_HEADER_LEN>() {
            Some(x) => x,
            None => {
                return Err(DecodeError::GroupHeaderOverrun {
                    template,
                    group,
                    offset,
                })
            }
        };
        let block_length = u16::from_le_bytes([gh[0], gh[1]]);
        let count = u16::from(gh[2]);
        if count > 0 && usize::from(block_length) < min {
            return Err(DecodeError::GroupBlockTooShort {
                template,
                group,
                block_length,
                min,
            });
        }
        let total = usize::from(block_length) * usize::from(count);
        let (entries, after) = match after.split_at_checked(total) {
            Some(x) => x,
            None => {
                return Err(DecodeError::GroupOverrun {
                    template,
                    group,
                    count,
                    block_length,
                    available: after.len(),
                })
            }
        };
        *slot = GroupSlice {
            data: entries,
            block_len: usize::from(block_length),
            count: usize::from(count),
        };
        rest = after;
    }
    for (slot, &field) in out.data.iter_mut().zip(data.iter()) {
        let offset = body.len() - rest.len();
        let (lh, after) = match rest.split_first_chunk::<VAR_DATA_HEADER_LEN>() {
            Some(x) => x,
            None => {
                return Err(DecodeError::VarDataOverrun {
                    template,
                    field,
                    offset,
                    len: 0,
                })
            }
        };
        let len = u16::from_le_bytes(*lh);
        let (bytes, after) = match after.split_at_checked(usize::from(len)) {
            Some(x) => x,
            None => {
                return Err(DecodeError::VarDataOverrun {
                    template,
                    field,
                    offset,
                    len,
                })
            }
        };
        *slot = bytes;
        rest = after;
    }
    Ok(out)
}

/// A group entry reader built from one entry's bytes.
pub trait Entry<'a>: Sized {
    /// Entry block length our writers produce (schema version 9).
    const BLOCK_LENGTH: usize;
    /// Smallest entry block the decoder accepts (the version 8 length).
    const MIN_BLOCK_LENGTH: usize = Self::BLOCK_LENGTH;
    /// Builds the reader; `None` when `b` is shorter than [`Entry::MIN_BLOCK_LENGTH`].
    fn from_bytes(b: &'a [u8]) -> Option<Self>;
}

/// A decoded repeating group: indexable and iterable.
#[derive(Debug)]
pub struct Group<'a, E> {
    s: GroupSlice<'a>,
    _e: core::marker::PhantomData<fn() -> E>,
}

impl<E> Clone for Group<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Group<'_, E> {}

impl<'a, E: Entry<'a>> Group<'a, E> {
    #[inline(always)]
    pub(crate) fn new(s: GroupSlice<'a>) -> Self {
        Group {
            s,
            _e: core::marker::PhantomData,
        }
    }

    /// numInGroup.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.s.count
    }

    /// True when the group has no entries.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.s.count == 0
    }

    /// Entry `i`, `None` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<E> {
        if i >= self.s.count {
            return None;
        }
        let start = i.checked_mul(self.s.block_len)?;
        E::from_bytes(
            self.s
                .data
                .get(start..start.checked_add(self.s.block_len)?)?,
        )
    }

    /// Iterates over the entries.
    pub fn iter(&self) -> GroupIter<'a, E> {
        GroupIter { g: *self, i: 0 }
    }
}

impl<'a, E: Entry<'a>> IntoIterator for Group<'a, E> {
    type Item = E;
    type IntoIter = GroupIter<'a, E>;
    fn into_iter(self) -> GroupIter<'a, E> {
        self.iter()
    }
}

/// Iterator over a [`Group`].
#[derive(Debug)]
pub struct GroupIter<'a, E> {
    g: Group<'a, E>,
    i: usize,
}

impl<'a, E: Entry<'a>> Iterator for GroupIter<'a, E> {
    type Item = E;
    #[inline]
    fn next(&mut self) -> Option<E> {
        let e = self.g.get(self.i)?;
        self.i += 1;
        Some(e)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.g.len().saturating_sub(self.i);
        (n, Some(n))
    }
}

/// Locates entry `i` of group `g` in a writer's tail (groups then var data).
#[inline]
pub(crate) fn entry_mut<'t, const NG: usize>(
    tail: &'t mut [u8],
    counts: &[u8; NG],
    blocks: &[usize; NG],
    g: usize,
    i: usize,
) -> Option<&'t mut [u8]> {
    let mut off = 0usize;
    for (j, (&c, &bl)) in counts.iter().zip(blocks.iter()).enumerate() {
        if j == g {
            if i >= usize::from(c) {
                return None;
            }
            let start = off + GROUP_HEADER_LEN + i * bl;
            return tail.get_mut(start..start + bl);
        }
        off += GROUP_HEADER_LEN + usize::from(c) * bl;
    }
    None
}

/// Splits `buf` for a writer: header, root block and tail of `tail_len` bytes; writes the
/// header; returns the frame length too.
#[inline(always)]
#[allow(clippy::type_complexity)]
pub(crate) fn split_for_write<const B: usize>(
    buf: &mut [u8],
    template: u16,
    tail_len: usize,
) -> Result<(&mut [u8; B], &mut [u8], usize), EncodeError> {
    let frame_len = FRAME_HEADER_LEN + B + tail_len;
    if frame_len > usize::from(u16::MAX) {
        return Err(EncodeError::FrameTooLarge { len: frame_len });
    }
    let have = buf.len();
    let too_small = EncodeError::BufferTooSmall {
        need: frame_len,
        have,
    };
    let frame = buf.get_mut(..frame_len).ok_or(too_small)?;
    let (hdr, rest) = frame
        .split_first_chunk_mut::<FRAME_HEADER_LEN>()
        .ok_or(too_small)?;
    put_frame_header(hdr, frame_len as u16, B as u16, template);
    let (block, tail) = rest.split_first_chunk_mut::<B>().ok_or(too_small)?;
    Ok((block, tail, frame_len))
}

/// Writes group headers (zeroed entries) and empty var data into a writer's tail.
#[inline]
pub(crate) fn init_tail<const NG: usize>(tail: &mut [u8], counts: &[u8; NG], blocks: &[usize; NG]) {
    tail.fill(0);
    let mut off = 0usize;
    for (&c, &bl) in counts.iter().zip(blocks.iter()) {
        let [a, b] = (bl as u16).to_le_bytes();
        if let Some(h) = tail.get_mut(off..off + GROUP_HEADER_LEN) {
            h.copy_from_slice(&[a, b, c]);
        }
        off += GROUP_HEADER_LEN + usize::from(c) * bl;
    }
    // Var data follows with length 0: already zero.
}

/// Generates the getters for a block reader (`self.b` is the fixed-size checked block).
macro_rules! sbe_getters {
    (
        num { $($nget:ident / $nset:ident : $nty:ty = $nxml:literal @ $noff:literal;)* }
        str { $($sget:ident / $sset:ident : $slen:literal = $sxml:literal @ $soff:literal;)* }
    ) => {
        $(
            #[doc = concat!("`", $nxml, "` (offset ", stringify!($noff), ", `", stringify!($nty), "`).")]
            #[inline(always)]
            pub fn $nget(&self) -> <$nty as $crate::ilink3::codec::Field>::Value {
                <$nty as $crate::ilink3::codec::Field>::get($crate::ilink3::codec::sub(
                    self.b,
                    $noff,
                    <$nty as $crate::ilink3::codec::Field>::SIZE,
                ))
            }
        )*
        $(
            #[doc = concat!("`", $sxml, "` (offset ", stringify!($soff), ", `char[", stringify!($slen), "]`), trimmed at the first NUL.")]
            #[inline(always)]
            pub fn $sget(&self) -> $crate::ilink3::codec::FixedStr<'a> {
                $crate::ilink3::codec::FixedStr::from_padded($crate::ilink3::codec::sub(self.b, $soff, $slen))
            }
        )*
    };
}

/// Generates the setters for a block writer (`self.b` is the fixed-size block).
macro_rules! sbe_setters {
    (
        num { $($nget:ident / $nset:ident : $nty:ty = $nxml:literal @ $noff:literal;)* }
        str { $($sget:ident / $sset:ident : $slen:literal = $sxml:literal @ $soff:literal;)* }
    ) => {
        $(
            #[doc = concat!("Sets `", $nxml, "` (offset ", stringify!($noff), ", `", stringify!($nty), "`).")]
            #[inline(always)]
            pub fn $nset(&mut self, v: <$nty as $crate::ilink3::codec::Field>::Value) -> &mut Self {
                <$nty as $crate::ilink3::codec::Field>::put(
                    $crate::ilink3::codec::sub_mut(self.b, $noff, <$nty as $crate::ilink3::codec::Field>::SIZE),
                    v,
                );
                self
            }
        )*
        $(
            #[doc = concat!("Sets `", $sxml, "` (offset ", stringify!($soff), ", `char[", stringify!($slen), "]`), NUL-padded; errors when longer than the field.")]
            #[inline(always)]
            pub fn $sset(&mut self, v: impl AsRef<[u8]>) -> Result<&mut Self, $crate::ilink3::codec::EncodeError> {
                $crate::ilink3::codec::put_str::<$slen>($crate::ilink3::codec::sub_mut(self.b, $soff, $slen), v.as_ref(), $sxml)?;
                Ok(self)
            }
        )*
    };
}

/// Field descriptor table (`&[FieldDesc]`) for a block; `ext` and `xstr` fields are marked
/// version 9.
macro_rules! sbe_field_descs {
    (
        num { $($nget:ident / $nset:ident : $nty:ty = $nxml:literal @ $noff:literal;)* }
        str { $($sget:ident / $sset:ident : $slen:literal = $sxml:literal @ $soff:literal;)* }
        ext { $($eget:ident / $eset:ident : $ety:ty = $exml:literal @ $eoff:literal;)* }
        xstr { $($xget:ident / $xset:ident : $xlen:literal = $xxml:literal @ $xoff:literal;)* }
    ) => {
        &[
            $(
                $crate::ilink3::codec::FieldDesc {
                    name: $nxml,
                    offset: $noff,
                    primitive: <$nty as $crate::ilink3::codec::Field>::PRIMITIVE,
                    length: 1,
                    size: <$nty as $crate::ilink3::codec::Field>::SIZE,
                    null_value: <$nty as $crate::ilink3::codec::Field>::NULL,
                    since_version: 0,
                },
            )*
            $(
                $crate::ilink3::codec::FieldDesc {
                    name: $sxml,
                    offset: $soff,
                    primitive: $crate::ilink3::codec::Primitive::Char,
                    length: $slen,
                    size: $slen,
                    null_value: None,
                    since_version: 0,
                },
            )*
            $(
                $crate::ilink3::codec::FieldDesc {
                    name: $exml,
                    offset: $eoff,
                    primitive: <$ety as $crate::ilink3::codec::Field>::PRIMITIVE,
                    length: 1,
                    size: <$ety as $crate::ilink3::codec::Field>::SIZE,
                    null_value: <$ety as $crate::ilink3::codec::Field>::NULL,
                    since_version: 9,
                },
            )*
            $(
                $crate::ilink3::codec::FieldDesc {
                    name: $xxml,
                    offset: $xoff,
                    primitive: $crate::ilink3::codec::Primitive::Char,
                    length: $xlen,
                    size: $xlen,
                    null_value: None,
                    since_version: 9,
                },
            )*
        ]
    };
}

/// Compile-time check that every field lies inside the block.
macro_rules! sbe_assert_fits {
    (
        $block:expr;
        num { $($nget:ident / $nset:ident : $nty:ty = $nxml:literal @ $noff:literal;)* }
        str { $($sget:ident / $sset:ident : $slen:literal = $sxml:literal @ $soff:literal;)* }
    ) => {
        #[allow(clippy::int_plus_one)]
        const _: () = {
            $( assert!($noff + <$nty as $crate::ilink3::codec::Field>::SIZE <= $block, concat!($nxml, " outside its block")); )*
            $( assert!($soff + $slen <= $block, concat!($sxml, " outside its block")); )*
        };
    };
}

/// Defines a repeating-group entry reader and writer. `min` (the version 8 entry length) and
/// `ext` (numeric fields version 9 added past it) may be left out when the entry did not grow.
macro_rules! sbe_entry {
    (
        $(#[$doc:meta])*
        $reader:ident / $writer:ident = $xml:literal, block $block:literal;
        num { $($num:tt)* }
        str { $($str:tt)* }
    ) => {
        $crate::ilink3::codec::sbe_entry! {
            $(#[$doc])*
            $reader / $writer = $xml, block $block, min $block;
            num { $($num)* }
            str { $($str)* }
            ext {}
        }
    };
    (
        $(#[$doc:meta])*
        $reader:ident / $writer:ident = $xml:literal, block $block:literal, min $min:literal;
        num { $($nget:ident / $nset:ident : $nty:ty = $nxml:literal @ $noff:literal;)* }
        str { $($sget:ident / $sset:ident : $slen:literal = $sxml:literal @ $soff:literal;)* }
        ext { $($eget:ident / $eset:ident : $ety:ty = $exml:literal @ $eoff:literal;)* }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $reader<'a> {
            b: &'a [u8; $min],
            #[allow(dead_code)]
            root: &'a [u8],
        }

        sbe_assert_fits!($min; num { $($nget / $nset : $nty = $nxml @ $noff;)* } str { $($sget / $sset : $slen = $sxml @ $soff;)* });
        sbe_assert_fits!($block; num { $($eget / $eset : $ety = $exml @ $eoff;)* } str {});

        impl<'a> $reader<'a> {
            /// Layout of this group entry.
            pub const DESC: $crate::ilink3::codec::GroupDesc = $crate::ilink3::codec::GroupDesc {
                name: $xml,
                dimension_type: "groupSize",
                block_length: $block,
                min_block_length: $min,
                fields: sbe_field_descs!(
                    num { $($nget / $nset : $nty = $nxml @ $noff;)* }
                    str { $($sget / $sset : $slen = $sxml @ $soff;)* }
                    ext { $($eget / $eset : $ety = $exml @ $eoff;)* }
                    xstr {}
                ),
            };

            sbe_getters!(num { $($nget / $nset : $nty = $nxml @ $noff;)* } str { $($sget / $sset : $slen = $sxml @ $soff;)* });

            $(
                #[doc = concat!("`", $exml, "` (offset ", stringify!($eoff), ", schema version 9); null (or zero) when a version 8 peer's shorter entry lacks it.")]
                #[inline(always)]
                pub fn $eget(&self) -> <$ety as $crate::ilink3::codec::Field>::Value {
                    match self.root.get($eoff..$eoff + <$ety as $crate::ilink3::codec::Field>::SIZE) {
                        Some(s) => <$ety as $crate::ilink3::codec::Field>::get(s),
                        None => <$ety as $crate::ilink3::codec::Nullable>::ABSENT,
                    }
                }
            )*
        }

        impl<'a> $crate::ilink3::codec::Entry<'a> for $reader<'a> {
            const BLOCK_LENGTH: usize = $block;
            const MIN_BLOCK_LENGTH: usize = $min;
            #[inline(always)]
            fn from_bytes(b: &'a [u8]) -> Option<Self> {
                b.first_chunk::<$min>().map(|f| $reader { b: f, root: b })
            }
        }

        #[doc = concat!("Writer for one `", $xml, "` entry (fields start zeroed or null).")]
        #[derive(Debug)]
        pub struct $writer<'a> {
            b: &'a mut [u8; $block],
        }

        impl<'a> $writer<'a> {
            #[inline(always)]
            pub(crate) fn init(b: &'a mut [u8]) -> Option<Self> {
                let b = b.first_chunk_mut::<$block>()?;
                *b = const { $crate::ilink3::codec::null_image::<$block>($reader::DESC.fields) };
                Some($writer { b })
            }

            /// Reborrow a writer over an entry already initialised.
            #[inline(always)]
            pub(crate) fn wrap(b: &'a mut [u8]) -> Option<Self> {
                b.first_chunk_mut::<$block>().map(|b| $writer { b })
            }

            sbe_setters!(num { $($nget / $nset : $nty = $nxml @ $noff;)* $($eget / $eset : $ety = $exml @ $eoff;)* } str { $($sget / $sset : $slen = $sxml @ $soff;)* });

            /// Test support: sets every field to a generated value, recording what was set.
            #[cfg(test)]
            pub(crate) fn __fill(&mut self, rng: &mut $crate::ilink3::codec::testing::Rng, exp: &mut Vec<String>) {
                #[allow(unused_imports)]
                use $crate::ilink3::codec::testing::Arb;
                $( let v = <$nty as Arb>::arb(rng); self.$nset(v); exp.push(format!("{}={:?}", $nxml, v)); )*
                $( let v = rng.ascii($slen); self.$sset(&v).unwrap(); exp.push(format!("{}={:?}", $sxml, v)); )*
                $( let v = <$ety as Arb>::arb(rng); self.$eset(v); exp.push(format!("{}={:?}", $exml, v)); )*
            }
        }

        impl $reader<'_> {
            /// Test support: records every field as read.
            #[cfg(test)]
            pub(crate) fn __read(&self, got: &mut Vec<String>) {
                $( got.push(format!("{}={:?}", $nxml, self.$nget())); )*
                $( got.push(format!("{}={:?}", $sxml, self.$sget().as_bytes().to_vec())); )*
                $( got.push(format!("{}={:?}", $exml, self.$eget())); )*
            }
        }
    };
}

/// Defines a message reader and writer from its field table. `since 9` marks a message that
/// schema version 8 lacks; `xstr` holds char-array fields version 9 added past the version 8
/// block (both may be left out).
macro_rules! sbe_message {
    (
        $(#[$doc:meta])*
        $reader:ident / $writer:ident = $xml:literal, id $id:literal, block $block:literal, min $min:literal;
        num { $($num:tt)* }
        str { $($str:tt)* }
        ext { $($ext:tt)* }
        groups [$ng:literal] { $($groups:tt)* }
        data [$nd:literal] { $($data:tt)* }
    ) => {
        $crate::ilink3::codec::sbe_message! {
            $(#[$doc])*
            $reader / $writer = $xml, id $id, block $block, min $min, since 0;
            num { $($num)* }
            str { $($str)* }
            ext { $($ext)* }
            xstr {}
            groups [$ng] { $($groups)* }
            data [$nd] { $($data)* }
        }
    };
    (
        $(#[$doc:meta])*
        $reader:ident / $writer:ident = $xml:literal, id $id:literal, block $block:literal, min $min:literal, since $since:literal;
        num { $($nget:ident / $nset:ident : $nty:ty = $nxml:literal @ $noff:literal;)* }
        str { $($sget:ident / $sset:ident : $slen:literal = $sxml:literal @ $soff:literal;)* }
        ext { $($eget:ident / $eset:ident : $ety:ty = $exml:literal @ $eoff:literal;)* }
        xstr { $($xget:ident / $xset:ident : $xlen:literal = $xxml:literal @ $xoff:literal;)* }
        groups [$ng:literal] { $($gi:literal $gget:ident / $gmut:ident : $gent:ident / $gwr:ident = $gxml:literal;)* }
        data [$nd:literal] { $($di:literal $dget:ident = $dxml:literal;)* }
    ) => {
        $(#[$doc])*
        ///
        /// Zero-copy reader over a decoded frame.
        #[derive(Debug, Clone, Copy)]
        pub struct $reader<'a> {
            header: $crate::ilink3::codec::MessageHeader,
            b: &'a [u8; $min],
            #[allow(dead_code)]
            root: &'a [u8],
            #[allow(dead_code)]
            groups: [$crate::ilink3::codec::GroupSlice<'a>; $ng],
            #[allow(dead_code)]
            data: [&'a [u8]; $nd],
        }

        sbe_assert_fits!($min; num { $($nget / $nset : $nty = $nxml @ $noff;)* } str { $($sget / $sset : $slen = $sxml @ $soff;)* });
        sbe_assert_fits!($block; num { $($eget / $eset : $ety = $exml @ $eoff;)* } str { $($xget / $xset : $xlen = $xxml @ $xoff;)* });

        impl<'a> $reader<'a> {
            /// SBE template id.
            pub const TEMPLATE_ID: u16 = $id;
            /// Root block length our writers produce (schema version 9).
            pub const BLOCK_LENGTH: usize = $block;
            /// Smallest root block accepted (schema version 8).
            pub const MIN_BLOCK_LENGTH: usize = $min;
            const GROUPS: [(&'static str, usize); $ng] =
                [$(($gxml, <$gent<'static> as $crate::ilink3::codec::Entry<'static>>::MIN_BLOCK_LENGTH)),*];
            /// Offset of `PossRetransFlag` in the root block, for templates that have one.
            const POSS_RETRANS_AT: Option<usize> =
                $crate::ilink3::codec::find_field(Self::DESC.fields, "PossRetransFlag");
            const DATA: [&'static str; $nd] = [$($dxml),*];

            /// Layout of this message (checked against the official schema by the conformance
            /// test).
            pub const DESC: $crate::ilink3::codec::MessageDesc = $crate::ilink3::codec::MessageDesc {
                name: $xml,
                template_id: $id,
                block_length: $block,
                min_block_length: $min,
                since_version: $since,
                fields: sbe_field_descs!(
                    num { $($nget / $nset : $nty = $nxml @ $noff;)* }
                    str { $($sget / $sset : $slen = $sxml @ $soff;)* }
                    ext { $($eget / $eset : $ety = $exml @ $eoff;)* }
                    xstr { $($xget / $xset : $xlen = $xxml @ $xoff;)* }
                ),
                groups: &[$($gent::DESC),*],
                var_data: &[$($dxml),*],
            };

            /// Decodes a complete frame (SOFH included) that must hold this template.
            #[inline]
            pub fn decode(frame: &'a [u8]) -> Result<Self, $crate::ilink3::codec::DecodeError> {
                let (header, body) = $crate::ilink3::codec::decode_header(frame)?;
                if header.template_id != $id {
                    return Err($crate::ilink3::codec::DecodeError::WrongTemplate {
                        expected: $id,
                        actual: header.template_id,
                    });
                }
                Self::from_body(header, body)
            }

            /// Decodes the body (after the SBE header) of a frame whose header is already
            /// validated and names this template.
            #[inline]
            pub fn from_body(
                header: $crate::ilink3::codec::MessageHeader,
                body: &'a [u8],
            ) -> Result<Self, $crate::ilink3::codec::DecodeError> {
                let p = $crate::ilink3::codec::parse_body(&header, body, $min, &Self::GROUPS, &Self::DATA)?;
                match p.root.first_chunk::<$min>() {
                    Some(b) => Ok($reader { header, b, root: p.root, groups: p.groups, data: p.data }),
                    None => Err($crate::ilink3::codec::DecodeError::BlockTooShort {
                        template: $id,
                        block_length: header.block_length,
                        min: $min,
                    }),
                }
            }

            /// The SBE header (version, blockLength as sent).
            #[inline(always)]
            pub fn header(&self) -> $crate::ilink3::codec::MessageHeader {
                self.header
            }

            sbe_getters!(num { $($nget / $nset : $nty = $nxml @ $noff;)* } str { $($sget / $sset : $slen = $sxml @ $soff;)* });

            $(
                #[doc = concat!("`", $exml, "` (offset ", stringify!($eoff), ", schema version 9); null when a version 8 peer's shorter block lacks it.")]
                #[inline(always)]
                pub fn $eget(&self) -> <$ety as $crate::ilink3::codec::Field>::Value {
                    match self.root.get($eoff..$eoff + <$ety as $crate::ilink3::codec::Field>::SIZE) {
                        Some(s) => <$ety as $crate::ilink3::codec::Field>::get(s),
                        None => <$ety as $crate::ilink3::codec::Nullable>::ABSENT,
                    }
                }
            )*

            $(
                #[doc = concat!("`", $xxml, "` (offset ", stringify!($xoff), ", `char[", stringify!($xlen), "]`, schema version 9), trimmed at the first NUL; empty when a version 8 peer's shorter block lacks it.")]
                #[inline(always)]
                pub fn $xget(&self) -> $crate::ilink3::codec::FixedStr<'a> {
                    $crate::ilink3::codec::FixedStr::from_padded(self.root.get($xoff..$xoff + $xlen).unwrap_or(&[]))
                }
            )*

            /// `PossRetransFlag` for templates that carry one (`None` otherwise): true when
            /// the message is a retransmission.
            #[inline]
            pub fn poss_retrans(&self) -> Option<bool> {
                match Self::POSS_RETRANS_AT {
                    Some(at) => Some(self.root.get(at).copied() == Some(1)),
                    None => None,
                }
            }

            /// Test support: reads every field and every group entry.
            #[cfg(test)]
            pub(crate) fn __read_all(&self) -> Vec<String> {
                let mut got: Vec<String> = Vec::new();
                $( got.push(format!("{}={:?}", $nxml, self.$nget())); )*
                $( got.push(format!("{}={:?}", $sxml, self.$sget())); )*
                $( got.push(format!("{}={:?}", $exml, self.$eget())); )*
                $( got.push(format!("{}={:?}", $xxml, self.$xget())); )*
                $( for e in self.$gget() { e.__read(&mut got); } )*
                $( got.push(format!("{}={:?}", $dxml, self.$dget())); )*
                got
            }

            $(
                #[doc = concat!("The `", $gxml, "` repeating group.")]
                #[inline(always)]
                pub fn $gget(&self) -> $crate::ilink3::codec::Group<'a, $gent<'a>> {
                    $crate::ilink3::codec::Group::new(self.groups[$gi])
                }
            )*

            $(
                #[doc = concat!("The `", $dxml, "` var-data bytes.")]
                #[inline(always)]
                pub fn $dget(&self) -> &'a [u8] {
                    self.data[$di]
                }
            )*
        }

        $(#[$doc])*
        ///
        /// Writer: encodes SOFH, SBE header (version 9) and root block straight into a caller's
        /// buffer. Fields start at zero, or at their null value when optional; group entries are
        /// reserved up front; var data is written empty.
        #[derive(Debug)]
        pub struct $writer<'a> {
            b: &'a mut [u8; $block],
            #[allow(dead_code)]
            tail: &'a mut [u8],
            #[allow(dead_code)]
            counts: [u8; $ng],
            frame_len: usize,
        }

        impl<'a> $writer<'a> {
            /// Initial root block: optional fields null, the rest zero.
            const INIT: [u8; $block] = $crate::ilink3::codec::null_image::<$block>($reader::DESC.fields);
            #[allow(dead_code)]
            const ENTRY_BLOCKS: [usize; $ng] =
                [$(<$gent<'static> as $crate::ilink3::codec::Entry<'static>>::BLOCK_LENGTH),*];

            /// Starts a frame at the beginning of `buf` (every repeating group empty).
            #[inline(always)]
            pub fn new(buf: &'a mut [u8]) -> Result<Self, $crate::ilink3::codec::EncodeError> {
                Self::with_counts(buf, [0; $ng])
            }

            /// Starts a frame reserving `counts[i]` entries for the i-th repeating group (in
            /// schema order).
            #[inline(always)]
            pub fn with_counts(
                buf: &'a mut [u8],
                counts: [u8; $ng],
            ) -> Result<Self, $crate::ilink3::codec::EncodeError> {
                #[allow(unused_mut)]
                let mut tail_len = $nd * $crate::ilink3::codec::VAR_DATA_HEADER_LEN;
                for (c, bl) in counts.iter().zip(Self::ENTRY_BLOCKS.iter()) {
                    tail_len += $crate::ilink3::codec::GROUP_HEADER_LEN + usize::from(*c) * bl;
                }
                let (b, tail, frame_len) =
                    $crate::ilink3::codec::split_for_write::<$block>(buf, $id, tail_len)?;
                *b = Self::INIT;
                $crate::ilink3::codec::init_tail(tail, &counts, &Self::ENTRY_BLOCKS);
                #[allow(unused_mut)]
                let mut w = $writer { b, tail, counts, frame_len };
                $(
                    for i in 0..usize::from(counts[$gi]) {
                        if let Some(e) = $crate::ilink3::codec::entry_mut(w.tail, &w.counts, &Self::ENTRY_BLOCKS, $gi, i) {
                            let _ = $gwr::init(e);
                        }
                    }
                )*
                Ok(w)
            }

            /// Length of the whole frame (SOFH included): send `buf[..frame_len()]`.
            #[inline(always)]
            pub fn frame_len(&self) -> usize {
                self.frame_len
            }

            /// Ends writing; returns the frame length.
            #[inline(always)]
            pub fn finish(self) -> usize {
                self.frame_len
            }

            sbe_setters!(num { $($nget / $nset : $nty = $nxml @ $noff;)* $($eget / $eset : $ety = $exml @ $eoff;)* } str { $($sget / $sset : $slen = $sxml @ $soff;)* $($xget / $xset : $xlen = $xxml @ $xoff;)* });

            /// Test support: encodes generated values for every field (and a few group entries),
            /// checks their wire position, decodes and compares every getter.
            #[cfg(test)]
            pub(crate) fn __roundtrip(seed: u64) {
                use $crate::ilink3::codec::testing::{Arb, Rng, enc};
                use $crate::ilink3::codec::FRAME_HEADER_LEN;
                let mut rng = Rng::new(seed);
                let mut buf = vec![0u8; 65536];
                let counts: [u8; $ng] = [0u8; $ng].map(|_| (rng.next() % 4) as u8);
                // A fresh writer holds null/zero in every field, exactly as `put_null` writes.
                {
                    let len = $writer::with_counts(&mut buf, counts).unwrap().finish();
                    let r = $reader::decode(&buf[..len]).unwrap();
                    fn null_of<F: $crate::ilink3::codec::Field>() -> F::Value {
                        let mut b = vec![0x55u8; F::SIZE];
                        F::put_null(&mut b);
                        F::get(&b)
                    }
                    $( assert_eq!(format!("{:?}", r.$nget()), format!("{:?}", null_of::<$nty>()), "{} starts null", $nxml); )*
                    $( assert_eq!(format!("{:?}", r.$eget()), format!("{:?}", null_of::<$ety>()), "{} starts null", $exml); )*
                    $( assert!(r.$sget().is_empty()); )*
                    $( assert!(r.$xget().is_empty()); )*
                    $( for e in r.$gget() { let mut v = Vec::new(); e.__read(&mut v); assert!(v.iter().all(|x| x.ends_with("=None") || x.ends_with("=0") || x.ends_with("=[]")), "{:?}", v); } )*
                }
                let mut exp: Vec<String> = Vec::new();
                let mut pos: Vec<(&str, usize, Vec<u8>)> = Vec::new();
                let len = {
                    let mut w = $writer::with_counts(&mut buf, counts).unwrap();
                    $( let v = <$nty as Arb>::arb(&mut rng); w.$nset(v); exp.push(format!("{}={:?}", $nxml, v)); pos.push(($nxml, $noff, enc::<$nty>(v))); )*
                    $( let v = rng.ascii($slen); w.$sset(&v).unwrap(); exp.push(format!("{}={:?}", $sxml, v));
                       let mut p = v.clone(); p.resize($slen, 0); pos.push(($sxml, $soff, p)); )*
                    $( let v = <$ety as Arb>::arb(&mut rng); w.$eset(v); exp.push(format!("{}={:?}", $exml, v)); pos.push(($exml, $eoff, enc::<$ety>(v))); )*
                    $( let v = rng.ascii($xlen); w.$xset(&v).unwrap(); exp.push(format!("{}={:?}", $xxml, v));
                       let mut p = v.clone(); p.resize($xlen, 0); pos.push(($xxml, $xoff, p)); )*
                    $(
                        for i in 0..usize::from(counts[$gi]) {
                            let mut e = w.$gmut(i).unwrap();
                            e.__fill(&mut rng, &mut exp);
                        }
                        assert!(w.$gmut(usize::from(counts[$gi])).is_none());
                    )*
                    assert_eq!(w.frame_len(), w.frame_len);
                    w.finish()
                };
                let frame = &buf[..len];
                for (name, off, bytes) in &pos {
                    assert_eq!(&frame[FRAME_HEADER_LEN + off..][..bytes.len()], &bytes[..], "{} bytes on the wire", name);
                }
                let r = $reader::decode(frame).unwrap();
                assert_eq!(r.header().version, 9);
                assert_eq!(usize::from(r.header().block_length), $block);
                assert_eq!(r.header().template_id, $id);
                let mut got: Vec<String> = Vec::new();
                $( got.push(format!("{}={:?}", $nxml, r.$nget())); )*
                $( got.push(format!("{}={:?}", $sxml, r.$sget().as_bytes().to_vec())); )*
                $( got.push(format!("{}={:?}", $exml, r.$eget())); )*
                $( got.push(format!("{}={:?}", $xxml, r.$xget().as_bytes().to_vec())); )*
                $(
                    assert_eq!(r.$gget().len(), usize::from(counts[$gi]));
                    for e in r.$gget() {
                        e.__read(&mut got);
                    }
                )*
                $( assert!(r.$dget().is_empty()); )*
                assert_eq!(exp, got);
                let any = $crate::ilink3::decode(frame).unwrap();
                assert_eq!(any.template_id(), $id);
            }

            $(
                #[doc = concat!("Writer for entry `i` of the `", $gxml, "` group (`None` past the count given to `with_counts`).")]
                #[inline]
                pub fn $gmut(&mut self, i: usize) -> Option<$gwr<'_>> {
                    $crate::ilink3::codec::entry_mut(self.tail, &self.counts, &Self::ENTRY_BLOCKS, $gi, i)
                        .and_then($gwr::wrap)
                }
            )*
        }
    };
}

pub(crate) use {
    sbe_assert_fits, sbe_entry, sbe_field_descs, sbe_getters, sbe_message, sbe_setters,
};

/// Generated-value support for the round-trip tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// xorshift64* generator seeded by proptest.
    pub struct Rng(u64);

    impl Rng {
        pub fn new(seed: u64) -> Self {
            Rng(seed | 1)
        }
        #[allow(clippy::should_implement_trait)]
        pub fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        /// 0..=max printable ASCII bytes (no NUL: NUL ends a char field).
        pub fn ascii(&mut self, max: usize) -> Vec<u8> {
            let n = (self.next() % (max as u64 + 1)) as usize;
            (0..n).map(|_| b' ' + (self.next() % 95) as u8).collect()
        }
        /// A value biased toward edges.
        pub fn num(&mut self) -> u64 {
            match self.next() % 8 {
                0 => 0,
                1 => u64::MAX,
                2 => 1,
                _ => self.next(),
            }
        }
    }

    pub trait Arb: Field {
        fn arb(r: &mut Rng) -> Self::Value;
    }

    pub fn enc<F: Field>(v: F::Value) -> Vec<u8> {
        let mut b = vec![0u8; F::SIZE];
        F::put(&mut b, v);
        b
    }

    macro_rules! arb_plain {
        ($($f:ident => $t:ty),*) => {$(
            impl Arb for $f {
                fn arb(r: &mut Rng) -> $t {
                    r.num() as $t
                }
            }
        )*};
    }
    arb_plain!(U8 => u8, U16 => u16, U32 => u32, U64 => u64, I32 => i32, Px => i64, Ch => u8);

    macro_rules! arb_null {
        ($($f:ident => $t:ty),*) => {$(
            impl Arb for $f {
                fn arb(r: &mut Rng) -> Option<$t> {
                    if r.next() % 4 == 0 {
                        return None;
                    }
                    let v = r.num() as $t;
                    let null = <$f as Field>::NULL.unwrap_or(0) as $t;
                    Some(if v == null { v.wrapping_sub(1) } else { v })
                }
            }
        )*};
    }
    arb_null!(U8N => u8, U16N => u16, U32N => u32, U64N => u64, I32N => i32, PxN => i64);

    impl Arb for ChN {
        fn arb(r: &mut Rng) -> Option<u8> {
            (!r.next().is_multiple_of(4)).then(|| b'0' + (r.next() % 40) as u8)
        }
    }

    impl Arb for D32N {
        fn arb(r: &mut Rng) -> Option<Decimal32> {
            (!r.next().is_multiple_of(4)).then(|| Decimal32 {
                mantissa: (r.num() as i32).min(i32::MAX - 1),
                exponent: r.next() as i8,
            })
        }
    }

    impl Arb for Mmy {
        fn arb(r: &mut Rng) -> Option<MaturityMonthYear> {
            let opt = |r: &mut Rng| {
                let v = r.next() as u8;
                (v != u8::MAX && !r.next().is_multiple_of(4)).then_some(v)
            };
            (!r.next().is_multiple_of(4)).then(|| MaturityMonthYear {
                year: (r.num() as u16).min(u16::MAX - 1),
                month: opt(r),
                day: opt(r),
                week: opt(r),
            })
        }
    }

    impl Arb for D64N {
        fn arb(r: &mut Rng) -> Option<Decimal64> {
            (!r.next().is_multiple_of(4)).then(|| Decimal64 {
                mantissa: (r.num() as i64).min(i64::MAX - 1),
                exponent: r.next() as i8,
            })
        }
    }
}
