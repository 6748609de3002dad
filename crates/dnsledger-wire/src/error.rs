//! The one error type of this crate.

/// Why a message, a name or an rdata could not be read.
///
/// The variants say *what* was wrong, so that a sensor can count damaged traffic by kind.
/// Offsets are deliberately not included: they would make the type larger and every
/// caller that only counts errors would pay for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The input ends before the structure being read does.
    #[error("truncated: input ends inside a structure")]
    Truncated,
    /// A label length byte with the reserved type bits 0b01 or 0b10 (0x40..=0xbf).
    #[error("label type {0:#04x} is not a length or a compression pointer")]
    BadLabel(u8),
    /// A label longer than 63 bytes (only possible in presentation text).
    #[error("label longer than 63 bytes")]
    LabelTooLong,
    /// An empty label inside a name (`a..b` in presentation text).
    #[error("empty label inside a name")]
    EmptyLabel,
    /// A compression pointer into the labels it was reached from: following it would loop,
    /// or the target runs into bytes that were already read for this name.
    #[error("compression pointer loops back into the name being read")]
    PointerLoop,
    /// A compression pointer that does not point strictly backwards.
    #[error("compression pointer points forward")]
    ForwardPointer,
    /// More than [`MAX_POINTER_HOPS`](crate::MAX_POINTER_HOPS) pointers in one name.
    #[error("too many compression pointers in one name")]
    TooManyPointers,
    /// A compression pointer where names must not be compressed (a name inside rdata of a
    /// type that RFC 3597 section 4 does not allow compression for, or canonical input).
    #[error("compression pointer where compression is not allowed")]
    UnexpectedPointer,
    /// A name whose uncompressed wire form exceeds 255 bytes.
    #[error("name longer than 255 bytes")]
    NameTooLong,
    /// Bytes left over after a structure that must consume its input exactly.
    #[error("trailing bytes after the structure")]
    TrailingData,
    /// Presentation text that cannot be parsed (a bad escape, a non-ASCII byte...).
    #[error("bad presentation text: {0}")]
    BadText(&'static str),
    /// An rdata that does not fit the layout of its type.
    #[error("rdata does not fit type {rtype}")]
    BadRdata {
        /// The record type whose layout the rdata does not fit.
        rtype: u16,
    },
}
