//! The tricks a variant can be written with ([`Family`]): which ones leave the expected answer unchanged, which
//! must end a pipelined batch, which cannot be combined, and how often each is drawn.

use std::collections::BTreeSet;
use std::fmt;

use super::rng::Rng;
use super::variants::Target;

/// A trick a variant is written with; a variant has none ([`Family::Plain`]) or a few.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Plain,
    ClientCert,
    TokenOverCert,
    SharedConnection,
    Pipelined,
    LowerCaseHeaders,
    Watch,
    Paged,
    AcceptTable,
    SelectorOwn,
    SelectorDuplicated,
    SelectorEncoded,
    SelectorHostile,
    SelectorKeyEncoded,
    SemicolonQuery,
    FieldSelector,
    PathTrailingSlash,
    PathDoubleSlash,
    PathDotSegment,
    PathEncodedSlash,
    PathEncodedLetters,
    PathUpperCase,
    /// `…%20` at the end of the path.
    PathEncodedSpace,
    PathLegacyWatch,
    AbsoluteForm,
    ImpersonateUser,
    ImpersonateGroup,
    ImpersonateHopByHop,
    ConnectionCloseAuthorization,
    ConnectionContentLength,
    /// `Connection: keep-alive, content-length` on a request with a body.
    ConnectionContentLengthBody,
    ChunkedEmptyBody,
    XfccUntrusted,
    InvalidToken,
    NoCredentials,
}

impl Family {
    /// Families that do not change what the answer must be: a variant with only these is checked exactly.
    pub fn is_transparent(self) -> bool {
        matches!(
            self,
            Family::Plain
                | Family::ClientCert
                | Family::TokenOverCert
                | Family::SharedConnection
                | Family::Pipelined
                | Family::LowerCaseHeaders
                | Family::Watch
                | Family::Paged
                | Family::AcceptTable
        )
    }

    /// Families whose request must be the last of a pipelined batch (the connection may end, or the answer is
    /// a stream or a sequence of pages). The proxy refuses the absolute form with a `400` and closes.
    pub fn ends_batch(self) -> bool {
        matches!(
            self,
            Family::AbsoluteForm
                | Family::Watch
                | Family::PathLegacyWatch
                | Family::Paged
                | Family::ConnectionCloseAuthorization
                | Family::ConnectionContentLengthBody
                | Family::ChunkedEmptyBody
        )
    }

    fn is_path(self) -> bool {
        matches!(
            self,
            Family::PathTrailingSlash
                | Family::PathDoubleSlash
                | Family::PathDotSegment
                | Family::PathEncodedSlash
                | Family::PathEncodedLetters
                | Family::PathUpperCase
                | Family::PathEncodedSpace
                | Family::PathLegacyWatch
        )
    }

    fn is_stream_or_pages(self) -> bool {
        matches!(self, Family::Watch | Family::PathLegacyWatch | Family::Paged)
    }

    fn is_body(self) -> bool {
        matches!(
            self,
            Family::ConnectionContentLengthBody | Family::ChunkedEmptyBody
        )
    }

    fn is_connection_header(self) -> bool {
        matches!(
            self,
            Family::ImpersonateHopByHop
                | Family::ConnectionCloseAuthorization
                | Family::ConnectionContentLength
                | Family::ConnectionContentLengthBody
        )
    }

    fn list_only(self) -> bool {
        matches!(
            self,
            Family::Watch
                | Family::Paged
                | Family::AcceptTable
                | Family::SelectorOwn
                | Family::SelectorDuplicated
                | Family::SelectorEncoded
                | Family::SelectorHostile
                | Family::SelectorKeyEncoded
                | Family::SemicolonQuery
                | Family::FieldSelector
        )
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The modifier families drawn for a non-plain variant, with their weights.
pub const MODIFIERS: [(Family, usize); 28] = [
    (Family::Watch, 3),
    (Family::Paged, 6),
    (Family::AcceptTable, 4),
    (Family::SelectorOwn, 5),
    (Family::SelectorDuplicated, 6),
    (Family::SelectorEncoded, 6),
    (Family::SelectorHostile, 10),
    (Family::SelectorKeyEncoded, 4),
    (Family::SemicolonQuery, 4),
    (Family::FieldSelector, 5),
    (Family::PathTrailingSlash, 4),
    (Family::PathDoubleSlash, 4),
    (Family::PathDotSegment, 4),
    (Family::PathEncodedSlash, 3),
    (Family::PathEncodedLetters, 5),
    (Family::PathUpperCase, 3),
    (Family::PathEncodedSpace, 2),
    (Family::PathLegacyWatch, 1),
    (Family::AbsoluteForm, 2),
    (Family::ImpersonateUser, 5),
    (Family::ImpersonateGroup, 4),
    (Family::ImpersonateHopByHop, 2),
    (Family::ConnectionCloseAuthorization, 3),
    (Family::ConnectionContentLength, 3),
    (Family::ConnectionContentLengthBody, 2),
    (Family::ChunkedEmptyBody, 2),
    (Family::XfccUntrusted, 3),
    (Family::LowerCaseHeaders, 3),
];

/// A modifier family drawn by weight.
pub fn weighted(rng: &mut Rng) -> Family {
    let total: usize = MODIFIERS.iter().map(|(_, w)| w).sum();
    let mut at = rng.below(total);
    for (family, weight) in MODIFIERS {
        if at < weight {
            return family;
        }
        at -= weight;
    }
    unreachable!("the weights add up to the total")
}

/// Whether `family` may join `chosen` on `target`.
pub fn compatible(family: Family, chosen: &BTreeSet<Family>, target: &Target) -> bool {
    let clash = |same: fn(Family) -> bool| same(family) && chosen.iter().any(|&f| same(f));
    !(chosen.contains(&family)
        || (family.list_only() && matches!(target, Target::Get(..)))
        || clash(Family::is_path)
        || clash(Family::is_stream_or_pages)
        || clash(Family::is_body)
        || clash(Family::is_connection_header)
        || (family == Family::AcceptTable && chosen.iter().any(|f| f.is_stream_or_pages()))
        || (family.is_stream_or_pages() && chosen.contains(&Family::AcceptTable)))
}
