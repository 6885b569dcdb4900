//! Bearer tokens from `Authorization` and from the WebSocket `Sec-WebSocket-Protocol` header.
//!
//! Browsers cannot set `Authorization` on a WebSocket, so Kubernetes clients send the token as a subprotocol
//! `base64url.bearer.authorization.k8s.io.<token in unpadded base64url>`. capsule-proxy decodes it with the
//! standard alphabet (a known quirk that breaks tokens whose encoding has `-` or `_`); this crate decodes
//! base64url like kube-apiserver does, and also accepts padding.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

/// The subprotocol prefix that carries a bearer token.
pub const WEBSOCKET_BEARER_PREFIX: &str = "base64url.bearer.authorization.k8s.io.";

/// URL-safe base64, padded or not, allowing non-zero trailing bits like Go's `base64.RawURLEncoding`.
const URL_SAFE_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A token is one or more visible ASCII characters (`!` to `~`).
fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_graphic())
}

/// The token of an `Authorization: Bearer <token>` header value.
///
/// The scheme is case-insensitive and followed by one or more spaces; the token is non-empty visible ASCII with
/// nothing after it. Anything else gives `None`.
pub fn bearer_from_authorization(value: &[u8]) -> Option<&str> {
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let spaces = rest.iter().take_while(|&&b| b == b' ').count();
    let token = &rest[spaces..];
    if spaces == 0 || !is_token(token) {
        return None;
    }
    std::str::from_utf8(token).ok()
}

/// The bearer token carried in a `Sec-WebSocket-Protocol` header value, if exactly one element carries one.
///
/// Elements are comma-separated, with optional spaces or tabs around them; the one starting with
/// [`WEBSOCKET_BEARER_PREFIX`] holds the token in base64url (padded or not). The decoded token must be non-empty
/// visible ASCII. Two token elements are refused, as kube-apiserver does, so the result is `None`.
pub fn bearer_from_websocket_protocols(value: &[u8]) -> Option<String> {
    let mut encoded = None;
    for element in value.split(|&b| b == b',') {
        let element = trim_blanks(element);
        if let Some(token) = element.strip_prefix(WEBSOCKET_BEARER_PREFIX.as_bytes())
            && encoded.replace(token).is_some()
        {
            return None;
        }
    }
    let decoded = URL_SAFE_ANY_PADDING.decode(encoded?).ok()?;
    if !is_token(&decoded) {
        return None;
    }
    String::from_utf8(decoded).ok()
}

/// Strips spaces and tabs at both ends.
fn trim_blanks(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
    use proptest::prelude::*;

    #[test]
    fn authorization_bearer() {
        assert_eq!(
            bearer_from_authorization(b"Bearer abc.def-ghi_jkl"),
            Some("abc.def-ghi_jkl")
        );
        assert_eq!(bearer_from_authorization(b"bearer abc"), Some("abc"));
        assert_eq!(bearer_from_authorization(b"BEARER abc"), Some("abc"));
        assert_eq!(bearer_from_authorization(b"bEaReR    abc"), Some("abc"));
        assert_eq!(bearer_from_authorization(b"Bearer !~=/+"), Some("!~=/+"));
    }

    #[test]
    fn authorization_rejections() {
        let cases: [&[u8]; 16] = [
            b"",
            b"Bearer",
            b"Bearer ",
            b"Bearer    ",
            b"Bearerabc",
            b"Bearer\tabc",
            b"Bearer abc ",
            b"Bearer abc def",
            b" Bearer abc",
            b"Basic YWxpY2U6cHc=",
            b"Token abc",
            b"Bear abc",
            b"Bearer ab\x7fc",
            b"Bearer ab\x00c",
            b"Bearer \xc3\xa5",
            b"Bearer\xc3\xa5 abc",
        ];
        for value in cases {
            assert_eq!(bearer_from_authorization(value), None, "{value:?}");
        }
    }

    fn protocols_with(token: &[u8]) -> String {
        format!(
            "v4.channel.k8s.io, {WEBSOCKET_BEARER_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(token)
        )
    }

    #[test]
    fn websocket_token() {
        assert_eq!(
            bearer_from_websocket_protocols(protocols_with(b"abc").as_bytes()).as_deref(),
            Some("abc")
        );
        let only = format!("{WEBSOCKET_BEARER_PREFIX}{}", URL_SAFE_NO_PAD.encode("tok"));
        assert_eq!(
            bearer_from_websocket_protocols(only.as_bytes()).as_deref(),
            Some("tok")
        );
        let spaced = format!("\t{only} \t,base64.binary.k8s.io");
        assert_eq!(
            bearer_from_websocket_protocols(spaced.as_bytes()).as_deref(),
            Some("tok")
        );
    }

    #[test]
    fn websocket_token_needing_url_alphabet() {
        // "?>>" encodes to "Pz4-" in base64url ("Pz4+" in standard): the Go quirk fails on these.
        let token = b"a?>>b??~";
        let encoded = URL_SAFE_NO_PAD.encode(token);
        assert!(encoded.contains('-') || encoded.contains('_'), "{encoded}");
        let value = protocols_with(token);
        assert_eq!(
            bearer_from_websocket_protocols(value.as_bytes()).as_deref(),
            Some("a?>>b??~")
        );
    }

    #[test]
    fn websocket_padded_token() {
        let value = format!("{WEBSOCKET_BEARER_PREFIX}{}", URL_SAFE.encode("ab"));
        assert!(value.ends_with('='));
        assert_eq!(
            bearer_from_websocket_protocols(value.as_bytes()).as_deref(),
            Some("ab")
        );
    }

    #[test]
    fn websocket_rejections() {
        let p = WEBSOCKET_BEARER_PREFIX;
        let two = format!(
            "{p}{}, {p}{}",
            URL_SAFE_NO_PAD.encode("a"),
            URL_SAFE_NO_PAD.encode("b")
        );
        let cases = [
            String::new(),
            "v4.channel.k8s.io".to_owned(),
            p.to_owned(),
            format!("{p} "),
            format!("{p}YWJj!"),
            format!("{p}Pz4+"),
            format!("{p}YW=Jj"),
            format!("{p}Y"),
            format!("{p}{}", URL_SAFE_NO_PAD.encode("a b")),
            format!("{p}{}", URL_SAFE_NO_PAD.encode("tok\n")),
            format!("{p}{}", URL_SAFE_NO_PAD.encode("å")),
            format!("{p}{}", URL_SAFE_NO_PAD.encode([0xff, 0xfe])),
            format!("{}{}", p.to_uppercase(), URL_SAFE_NO_PAD.encode("abc")),
            format!("x{p}{}", URL_SAFE_NO_PAD.encode("abc")),
            two,
        ];
        for value in cases {
            assert_eq!(
                bearer_from_websocket_protocols(value.as_bytes()),
                None,
                "{value:?}"
            );
        }
    }

    #[test]
    fn trim_blanks_cases() {
        assert_eq!(trim_blanks(b" \t a b\t "), b"a b");
        assert_eq!(trim_blanks(b" \t "), b"");
    }

    proptest! {
        #[test]
        fn authorization_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some(token) = bearer_from_authorization(&bytes) {
                prop_assert!(is_token(token.as_bytes()));
            }
        }

        #[test]
        fn authorization_round_trips(token in "[!-~]{1,64}", spaces in 1usize..4) {
            let value = format!("Bearer{}{token}", " ".repeat(spaces));
            prop_assert_eq!(bearer_from_authorization(value.as_bytes()), Some(token.as_str()));
        }

        #[test]
        fn websocket_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            if let Some(token) = bearer_from_websocket_protocols(&bytes) {
                prop_assert!(is_token(token.as_bytes()));
            }
            let mut prefixed = WEBSOCKET_BEARER_PREFIX.as_bytes().to_vec();
            prefixed.extend_from_slice(&bytes);
            let _ = bearer_from_websocket_protocols(&prefixed);
        }

        #[test]
        fn websocket_round_trips(token in "[!-~]{1,128}", padded in any::<bool>()) {
            let encoded = if padded { URL_SAFE.encode(&token) } else { URL_SAFE_NO_PAD.encode(&token) };
            let value = format!("base64.binary.k8s.io, {WEBSOCKET_BEARER_PREFIX}{encoded}");
            prop_assert_eq!(bearer_from_websocket_protocols(value.as_bytes()), Some(token));
        }
    }
}
