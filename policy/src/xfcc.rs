//! The caller's identity from an `X-Forwarded-Client-Cert` (XFCC) header set by a trusted front proxy.
//!
//! Follows capsule-proxy's `internal/request/xfcc.go`:
//!
//! * exactly one header value, holding exactly one comma-separated element (commas inside double quotes do not
//!   split);
//! * the element is `;`-separated `key=value` fields; a value may be double-quoted, with `\` escaping the next
//!   character;
//! * `Cert=` is required: a URL-escaped (`%XX`, `+` for space) PEM with exactly one `CERTIFICATE` block and
//!   nothing but whitespace after it;
//! * `Hash=`, when present and non-empty, must be the hex SHA-256 of the certificate's DER (any letter case);
//! * the certificate's Subject CN is the user, its Os the groups (see [`identity_from_cert_der`]).
//!
//! The certificate chain is **not** verified: trust comes from the front proxy's address being in the trusted
//! CIDRs. Two deliberate differences from Go: field names are compared case-insensitively, and a `Cert` or
//! `Hash` field given twice is rejected instead of the last one silently winning. The PEM must also start the
//! (URL-decoded) value, apart from whitespace, and carry no PEM headers.

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use sha2::{Digest as _, Sha256};

use crate::identity::{CallerIdentity, IdentityError, identity_from_cert_der};

/// The longest `X-Forwarded-Client-Cert` header value accepted, in bytes (64 KiB).
pub const XFCC_MAX_LEN: usize = 64 * 1024;

/// Reads the caller's identity from the values of the `X-Forwarded-Client-Cert` header.
///
/// `values` are all the header's values in the request, in order; anything but exactly one is an error.
pub fn identity_from_xfcc(values: &[&[u8]]) -> Result<CallerIdentity, IdentityError> {
    let value = match values {
        [] => return Err(IdentityError::XfccMissing),
        [value] => *value,
        _ => return Err(IdentityError::XfccMultipleHeaders),
    };
    if value.len() > XFCC_MAX_LEN {
        return Err(IdentityError::XfccTooLarge);
    }

    let mut entries = SplitOutsideQuotes::new(value, b',');
    let entry = entries
        .next()
        .ok_or(IdentityError::XfccSyntax("empty header"))??;
    if let Some(second) = entries.next() {
        // Like Go, a quoting error anywhere in the header is reported before the entry count.
        second?;
        for entry in entries {
            entry?;
        }
        return Err(IdentityError::XfccMultipleEntries);
    }

    let mut cert = None;
    let mut hash = None;
    for field in SplitOutsideQuotes::new(entry, b';') {
        let field = field?;
        if field.is_empty() {
            continue;
        }
        let Some(eq) = field.iter().position(|&b| b == b'=') else {
            return Err(IdentityError::XfccSyntax("missing '=' in field"));
        };
        let key = trim(&field[..eq]);
        if key.is_empty() {
            return Err(IdentityError::XfccSyntax("empty field name"));
        }
        // Other fields (`By`, `Subject`, `URI`, `DNS`, …) are not used; only their syntax is checked.
        let slot = if key.eq_ignore_ascii_case(b"cert") {
            &mut cert
        } else if key.eq_ignore_ascii_case(b"hash") {
            &mut hash
        } else {
            continue;
        };
        if slot.replace(unquote(trim(&field[eq + 1..]))?).is_some() {
            return Err(IdentityError::XfccSyntax("duplicate field"));
        }
    }

    let cert = match cert {
        Some(cert) if !cert.is_empty() => cert,
        _ => return Err(IdentityError::XfccMissingCert),
    };
    let der = pem_certificate_der(&query_unescape(&cert)?)?;
    // Go's order: a certificate that does not parse fails first, then the hash, then the missing user name.
    let identity = match identity_from_cert_der(&der) {
        Err(e @ (IdentityError::InvalidCertificate | IdentityError::InvalidSubjectName)) => return Err(e),
        identity => identity,
    };
    if let Some(hash) = hash.filter(|hash| !hash.is_empty()) {
        verify_hash(&der, &hash)?;
    }
    identity
}

/// Go's `strings.TrimSpace` for ASCII: strips `\t \n \v \f \r` and space at both ends.
fn trim(mut s: &[u8]) -> &[u8] {
    let space = |b: &u8| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
    while let [first, rest @ ..] = s
        && space(first)
    {
        s = rest;
    }
    while let [rest @ .., last] = s
        && space(last)
    {
        s = rest;
    }
    s
}

/// Splits on `sep` outside double quotes (Go's `splitOutsideQuotes`); each part is trimmed and keeps its quotes
/// and escapes. Yields an error, once, for an unterminated quote or a dangling escape.
struct SplitOutsideQuotes<'a> {
    rest: Option<&'a [u8]>,
    sep: u8,
}

impl<'a> SplitOutsideQuotes<'a> {
    fn new(s: &'a [u8], sep: u8) -> Self {
        Self { rest: Some(s), sep }
    }
}

impl<'a> Iterator for SplitOutsideQuotes<'a> {
    type Item = Result<&'a [u8], IdentityError>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest.take()?;
        let (mut in_quotes, mut escaped) = (false, false);
        for (i, &b) in s.iter().enumerate() {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = in_quotes;
            } else if b == b'"' {
                in_quotes = !in_quotes;
            } else if b == self.sep && !in_quotes {
                self.rest = Some(&s[i + 1..]);
                return Some(Ok(trim(&s[..i])));
            }
        }
        if escaped {
            return Some(Err(IdentityError::XfccSyntax("dangling escape")));
        }
        if in_quotes {
            return Some(Err(IdentityError::XfccSyntax("unterminated quote")));
        }
        Some(Ok(trim(s)))
    }
}

/// Removes surrounding double quotes and `\` escapes; a value not wholly quoted is returned as it is.
fn unquote(v: &[u8]) -> Result<Vec<u8>, IdentityError> {
    let [b'"', inner @ .., b'"'] = v else {
        return Ok(v.to_vec());
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut escaped = false;
    for &b in inner {
        if escaped || b != b'\\' {
            out.push(b);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    if escaped {
        return Err(IdentityError::XfccSyntax("dangling escape in quoted string"));
    }
    Ok(out)
}

/// Go's `url.QueryUnescape`: `%XX` is a byte, `+` a space; a `%` not followed by two hex digits is an error.
fn query_unescape(s: &[u8]) -> Result<Vec<u8>, IdentityError> {
    const BAD: IdentityError = IdentityError::XfccInvalidCert("cannot url-decode Cert field");
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.iter().copied();
    while let Some(b) = bytes.next() {
        out.push(match b {
            b'%' => {
                let hi = bytes.next().and_then(hex).ok_or(BAD)?;
                let lo = bytes.next().and_then(hex).ok_or(BAD)?;
                (hi << 4) | lo
            }
            b'+' => b' ',
            b => b,
        });
    }
    Ok(out)
}

/// Standard base64 with padding, allowing non-zero trailing bits like Go's `base64.StdEncoding`.
const PEM_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Decodes a PEM text holding exactly one `CERTIFICATE` block (and only whitespace around it) to DER.
fn pem_certificate_der(pem: &[u8]) -> Result<Vec<u8>, IdentityError> {
    const NOT_PEM: IdentityError = IdentityError::XfccInvalidCert("cert field is not valid PEM");
    const BEGIN: &[u8] = b"-----BEGIN ";
    const DASHES: &[u8] = b"-----";
    const END: &[u8] = b"\n-----END CERTIFICATE-----";

    let rest = trim(pem).strip_prefix(BEGIN).ok_or(NOT_PEM)?;
    let label_end = find(rest, DASHES).ok_or(NOT_PEM)?;
    let (label, rest) = (&rest[..label_end], &rest[label_end + DASHES.len()..]);
    if label.contains(&b'\n') {
        return Err(NOT_PEM);
    }
    if label != b"CERTIFICATE" {
        return Err(IdentityError::XfccInvalidCert("unexpected PEM block type"));
    }
    // The BEGIN line ends here: only blanks before the line break.
    let line_end = rest.iter().position(|&b| b == b'\n').ok_or(NOT_PEM)?;
    if !rest[..line_end]
        .iter()
        .all(|&b| matches!(b, b' ' | b'\t' | b'\r'))
    {
        return Err(NOT_PEM);
    }
    let body_and_end = &rest[line_end..];
    let end = find(body_and_end, END).ok_or(NOT_PEM)?;
    let (body, trailing) = (&body_and_end[..end], &body_and_end[end + END.len()..]);
    if !trim(trailing).is_empty() {
        return Err(IdentityError::XfccInvalidCert(
            "cert field contains trailing unexpected data",
        ));
    }
    let b64: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .collect();
    PEM_BASE64.decode(b64).map_err(|_| NOT_PEM)
}

/// The first position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Checks `Hash=` against the SHA-256 of `der`: hex, any letter case, surrounding whitespace ignored.
fn verify_hash(der: &[u8], provided: &[u8]) -> Result<(), IdentityError> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(der);
    let provided = trim(provided);
    let matches = provided.len() == 2 * digest.len()
        && digest.iter().zip(provided.chunks_exact(2)).all(|(byte, pair)| {
            pair[0].eq_ignore_ascii_case(&HEX[usize::from(byte >> 4)])
                && pair[1].eq_ignore_ascii_case(&HEX[usize::from(byte & 0x0f)])
        });
    if matches {
        Ok(())
    } else {
        Err(IdentityError::XfccHashMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::tests::{CN, O, UTF8, atv, cert_with_subject, name, rcgen_cert};
    use proptest::prelude::*;
    use rcgen::DnType;

    /// URL-escapes like Envoy: everything but unreserved characters as `%XX`.
    fn url_escape(s: &[u8]) -> String {
        s.iter()
            .map(|&b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    fn sha256_hex(der: &[u8]) -> String {
        Sha256::digest(der).iter().map(|b| format!("{b:02x}")).collect()
    }

    fn alice() -> rcgen::Certificate {
        rcgen_cert(&[
            (DnType::CommonName, "alice"),
            (DnType::OrganizationName, "tenant-a"),
        ])
    }

    fn xfcc(header: &str) -> Result<CallerIdentity, IdentityError> {
        identity_from_xfcc(&[header.as_bytes()])
    }

    fn alice_id() -> CallerIdentity {
        CallerIdentity {
            user: "alice".into(),
            groups: vec!["tenant-a".into()],
        }
    }

    fn syntax(msg: &'static str) -> Result<CallerIdentity, IdentityError> {
        Err(IdentityError::XfccSyntax(msg))
    }

    fn invalid_cert(msg: &'static str) -> Result<CallerIdentity, IdentityError> {
        Err(IdentityError::XfccInvalidCert(msg))
    }

    #[test]
    fn envoy_style_header() {
        let cert = alice();
        let header = format!(
            "By=spiffe://cluster.local/ns/default/sa/proxy;Hash={};Cert=\"{}\";Subject=\"CN=alice,O=tenant-a\";URI=",
            sha256_hex(cert.der()),
            url_escape(cert.pem().as_bytes())
        );
        assert_eq!(xfcc(&header), Ok(alice_id()));
    }

    #[test]
    fn cert_only_unquoted_and_case_insensitive_keys() {
        let cert = alice();
        let escaped = url_escape(cert.pem().as_bytes());
        assert_eq!(xfcc(&format!("Cert={escaped}")), Ok(alice_id()));
        assert_eq!(xfcc(&format!("  cert = {escaped} ; ")), Ok(alice_id()));
        assert_eq!(
            xfcc(&format!("CERT={escaped};HASH={}", sha256_hex(cert.der()))),
            Ok(alice_id())
        );
    }

    #[test]
    fn hash_is_case_insensitive_and_trimmed() {
        let cert = alice();
        let escaped = url_escape(cert.pem().as_bytes());
        let upper = sha256_hex(cert.der()).to_uppercase();
        assert_eq!(
            xfcc(&format!("Hash=\" {upper} \";Cert={escaped}")),
            Ok(alice_id())
        );
    }

    #[test]
    fn empty_hash_is_ignored() {
        let escaped = url_escape(alice().pem().as_bytes());
        assert_eq!(xfcc(&format!("Hash=;Cert={escaped}")), Ok(alice_id()));
        assert_eq!(xfcc(&format!("Hash=\"\";Cert={escaped}")), Ok(alice_id()));
    }

    #[test]
    fn hash_mismatch() {
        let cert = alice();
        let escaped = url_escape(cert.pem().as_bytes());
        let other = sha256_hex(b"something else");
        assert_eq!(
            xfcc(&format!("Hash={other};Cert={escaped}")),
            Err(IdentityError::XfccHashMismatch)
        );
        let short = &sha256_hex(cert.der())[..63];
        assert_eq!(
            xfcc(&format!("Hash={short};Cert={escaped}")),
            Err(IdentityError::XfccHashMismatch)
        );
        assert_eq!(
            xfcc(&format!("Hash=zz;Cert={escaped}")),
            Err(IdentityError::XfccHashMismatch)
        );
    }

    #[test]
    fn several_organizations() {
        let subject = name(&[
            vec![atv(CN, UTF8, b"bob")],
            vec![atv(O, UTF8, b"g1")],
            vec![atv(O, UTF8, b"g2")],
            vec![atv(O, UTF8, b"g3")],
        ]);
        let der = cert_with_subject(&subject);
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            PEM_BASE64.encode(&der)
        );
        let got = xfcc(&format!(
            "Cert={};Hash={}",
            url_escape(pem.as_bytes()),
            sha256_hex(&der)
        ));
        assert_eq!(
            got,
            Ok(CallerIdentity {
                user: "bob".into(),
                groups: vec!["g1".into(), "g2".into(), "g3".into()]
            })
        );
    }

    #[test]
    fn quoted_value_with_separators_and_escapes() {
        let escaped = url_escape(alice().pem().as_bytes());
        let header = format!("Subject=\"CN=a\\\"b,O=x;y\";Cert=\"{escaped}\";DNS=\"a\\\\b\"");
        assert_eq!(xfcc(&header), Ok(alice_id()));
        // The Cert value itself may carry escapes.
        let header = format!("Cert=\"{}\"", escaped.replace("%2D", "\\%2D"));
        assert_eq!(xfcc(&header), Ok(alice_id()));
    }

    #[test]
    fn plus_decodes_to_space_like_query_unescape() {
        // Spaces inside the base64 body are ignored, so `+` as a space is harmless there.
        let pem = alice().pem().replacen("-----\n", "-----\n ", 1);
        let escaped = url_escape(pem.as_bytes()).replace("%20", "+");
        assert!(escaped.contains('+'));
        assert_eq!(xfcc(&format!("Cert={escaped}")), Ok(alice_id()));
    }

    #[test]
    fn crlf_and_surrounding_whitespace_in_pem() {
        let pem = format!("\r\n  {}\r\n\r\n", alice().pem().replace('\n', "\r\n"));
        assert_eq!(
            xfcc(&format!("Cert={}", url_escape(pem.as_bytes()))),
            Ok(alice_id())
        );
    }

    #[test]
    fn header_count() {
        let escaped = url_escape(alice().pem().as_bytes());
        let header = format!("Cert={escaped}");
        assert_eq!(identity_from_xfcc(&[]), Err(IdentityError::XfccMissing));
        assert_eq!(
            identity_from_xfcc(&[header.as_bytes(), header.as_bytes()]),
            Err(IdentityError::XfccMultipleHeaders)
        );
    }

    #[test]
    fn too_large() {
        let escaped = url_escape(alice().pem().as_bytes());
        let header = format!("Cert={escaped};Pad={}", "x".repeat(XFCC_MAX_LEN));
        assert_eq!(xfcc(&header), Err(IdentityError::XfccTooLarge));
        let header = format!("Cert={escaped};Pad=");
        let pad = "x".repeat(XFCC_MAX_LEN - header.len());
        assert_eq!(xfcc(&format!("{header}{pad}")), Ok(alice_id()));
    }

    #[test]
    fn multiple_entries() {
        let escaped = url_escape(alice().pem().as_bytes());
        assert_eq!(
            xfcc(&format!("Cert={escaped},Cert={escaped}")),
            Err(IdentityError::XfccMultipleEntries)
        );
        assert_eq!(
            xfcc(&format!("Cert={escaped},")),
            Err(IdentityError::XfccMultipleEntries)
        );
        assert_eq!(
            xfcc(&format!(",Cert={escaped}")),
            Err(IdentityError::XfccMultipleEntries)
        );
        // An unescaped comma inside the PEM splits the element.
        assert_eq!(xfcc("By=a,b;Cert=x"), Err(IdentityError::XfccMultipleEntries));
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(xfcc("Cert=\"abc"), syntax("unterminated quote"));
        assert_eq!(xfcc("By=\"a\\"), syntax("dangling escape"));
        assert_eq!(xfcc("By=\"a\\\"\";Cert=x;Other"), syntax("missing '=' in field"));
        assert_eq!(xfcc("Cert=x;=y"), syntax("empty field name"));
        assert_eq!(xfcc("Cert=x; \t=y"), syntax("empty field name"));
        assert_eq!(xfcc("Cert=x;Cert=y"), syntax("duplicate field"));
        assert_eq!(xfcc("cert=x;Cert=y"), syntax("duplicate field"));
        assert_eq!(xfcc("Hash=a;Cert=x;hash=b"), syntax("duplicate field"));
    }

    #[test]
    fn quote_inside_value_toggles_like_go() {
        // A quote in the middle of a value still protects separators, and the value is kept raw.
        assert_eq!(xfcc("By=a\"b;c\";Cert="), Err(IdentityError::XfccMissingCert));
        // Outside quotes a backslash is literal, so this quote closes nothing and stays open.
        assert_eq!(xfcc("By=\\\""), syntax("unterminated quote"));
    }

    #[test]
    fn missing_cert() {
        assert_eq!(xfcc(""), Err(IdentityError::XfccMissingCert));
        assert_eq!(
            xfcc("By=spiffe://x;Hash=abc"),
            Err(IdentityError::XfccMissingCert)
        );
        assert_eq!(xfcc("Cert="), Err(IdentityError::XfccMissingCert));
        assert_eq!(xfcc("Cert=\"\""), Err(IdentityError::XfccMissingCert));
        assert_eq!(xfcc(";;"), Err(IdentityError::XfccMissingCert));
    }

    #[test]
    fn bad_url_escapes() {
        for bad in ["Cert=%", "Cert=%4", "Cert=%zz", "Cert=abc%g0", "Cert=%%41"] {
            assert_eq!(xfcc(bad), invalid_cert("cannot url-decode Cert field"), "{bad}");
        }
    }

    #[test]
    fn bad_pem() {
        let pem = alice().pem();
        let not_pem = invalid_cert("cert field is not valid PEM");
        let cases = [
            "not pem at all".to_owned(),
            format!("junk\n{pem}"),
            pem.replace("-----END CERTIFICATE-----", ""),
            pem.replace("-----END CERTIFICATE-----", "-----END PRIVATE KEY-----"),
            pem.replace("-----BEGIN CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----"),
            pem.replace("-----BEGIN CERTIFICATE-----\n", "-----BEGIN CERTIFICATE----- x\n"),
            pem.replace("\n-----END", "-----END"),
            pem.replacen('M', "!", 1),
            pem.replacen('M', "", 1),
            "-----BEGIN CERT\nIFICATE-----\n".to_owned(),
            "-----BEGIN CERTIFICATE".to_owned(),
            "-----BEGIN CERTIFICATE-----".to_owned(),
            "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END CERTIFICATE-----"
                .to_owned(),
        ];
        for pem in cases {
            assert_eq!(
                xfcc(&format!("Cert={}", url_escape(pem.as_bytes()))),
                not_pem,
                "{pem:?}"
            );
        }
    }

    #[test]
    fn wrong_pem_type() {
        let pem = alice().pem().replace("CERTIFICATE", "PUBLIC KEY");
        let got = xfcc(&format!("Cert={}", url_escape(pem.as_bytes())));
        assert_eq!(got, invalid_cert("unexpected PEM block type"));
    }

    #[test]
    fn trailing_data() {
        let pem = alice().pem();
        let trailing = invalid_cert("cert field contains trailing unexpected data");
        for extra in [
            format!("{pem}{pem}"),
            format!("{pem}x"),
            format!("{pem}\n\n-----"),
        ] {
            assert_eq!(xfcc(&format!("Cert={}", url_escape(extra.as_bytes()))), trailing);
        }
    }

    #[test]
    fn pem_of_garbage_der() {
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
            PEM_BASE64.encode(b"nope")
        );
        let got = xfcc(&format!("Cert={}", url_escape(pem.as_bytes())));
        assert_eq!(got, Err(IdentityError::InvalidCertificate));
    }

    #[test]
    fn certificate_without_common_name() {
        let cert = rcgen_cert(&[(DnType::OrganizationName, "tenant-a")]);
        let got = xfcc(&format!("Cert={}", url_escape(cert.pem().as_bytes())));
        assert_eq!(got, Err(IdentityError::MissingCommonName));
    }

    #[test]
    fn errors_come_in_go_order() {
        // A quoting error anywhere beats the entry count.
        assert_eq!(xfcc("Cert=a,Cert=\"b"), syntax("unterminated quote"));
        // A hash mismatch beats a missing user name.
        let cert = rcgen_cert(&[(DnType::OrganizationName, "tenant-a")]);
        let escaped = url_escape(cert.pem().as_bytes());
        assert_eq!(
            xfcc(&format!("Hash=00;Cert={escaped}")),
            Err(IdentityError::XfccHashMismatch)
        );
        // An unparseable subject string beats a hash mismatch.
        let der = cert_with_subject(&name(&[vec![atv(CN, 0x04, b"alice")]]));
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
            PEM_BASE64.encode(&der)
        );
        let got = xfcc(&format!("Hash=00;Cert={}", url_escape(pem.as_bytes())));
        assert_eq!(got, Err(IdentityError::InvalidSubjectName));
    }

    #[test]
    fn hash_checked_after_certificate_parses() {
        let escaped = url_escape(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----");
        assert_eq!(
            xfcc(&format!("Hash=00;Cert={escaped}")),
            Err(IdentityError::InvalidCertificate)
        );
    }

    #[test]
    fn trim_matches_go_ascii_space() {
        assert_eq!(trim(b" \t\n\x0b\x0ca b\r "), b"a b");
        assert_eq!(trim(b"   "), b"");
        assert_eq!(trim(b""), b"");
    }

    #[test]
    fn query_unescape_cases() {
        assert_eq!(query_unescape(b"a%2Bb+c%2f%41"), Ok(b"a+b c/A".to_vec()));
        assert_eq!(query_unescape(b""), Ok(vec![]));
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = identity_from_xfcc(&[&bytes]);
        }

        #[test]
        fn never_panics_on_structured_garbage(s in "[A-Za-z=;,\"\\\\ %0-9+\\-\n]{0,300}") {
            let _ = identity_from_xfcc(&[s.as_bytes()]);
            let _ = identity_from_xfcc(&[format!("Cert=-----BEGIN CERTIFICATE-----%0A{s}").as_bytes()]);
        }

        #[test]
        fn url_escape_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            prop_assert_eq!(query_unescape(url_escape(&bytes).as_bytes()), Ok(bytes));
        }

        #[test]
        fn quoting_round_trips(value in "[ -~]{0,64}") {
            let quoted = format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""));
            prop_assert_eq!(unquote(quoted.as_bytes()), Ok(value.into_bytes()));
        }
    }
}
