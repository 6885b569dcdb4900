//! The caller's identity as read from an X.509 client certificate.
//!
//! Kubernetes' x509 authenticator maps a client certificate's Subject to a user: the Common Name is the user name
//! and every Organization is a group. capsule-proxy does the same for a TLS peer certificate (already verified by
//! the TLS stack) and for a certificate forwarded in `X-Forwarded-Client-Cert` (see [`crate::xfcc`]).
//!
//! Subject strings are read like Go's `crypto/x509`: UTF8String, PrintableString, IA5String, NumericString,
//! T61String (accepted when it is valid UTF-8) and BMPString. When the Subject holds several Common Names the last
//! one wins, as in Go's `pkix.Name`, so the proxy sees the same user kube-apiserver would.

use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::prelude::FromDer;
use x509_parser::x509::AttributeTypeAndValue;

/// Who is calling: the user name and groups the proxy acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The user name; never empty.
    pub user: String,
    /// The groups, in the order the credential lists them.
    pub groups: Vec<String>,
}

/// Why no caller identity could be read from a certificate or an `X-Forwarded-Client-Cert` header.
///
/// The messages describe only what is wrong with the caller's credential, so they may be shown to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The bytes are not one DER-encoded X.509 certificate.
    #[error("client certificate is not a valid X.509 certificate")]
    InvalidCertificate,
    /// The Subject has no Common Name, or it is empty.
    #[error("client certificate does not contain a username")]
    MissingCommonName,
    /// A Subject Common Name or Organization is not a supported string, or holds control characters.
    #[error("client certificate subject contains an invalid name")]
    InvalidSubjectName,
    /// No `X-Forwarded-Client-Cert` header value was given.
    #[error("no x-forwarded-client-cert header provided")]
    XfccMissing,
    /// More than one `X-Forwarded-Client-Cert` header value was given.
    #[error("multiple x-forwarded-client-cert headers are not allowed")]
    XfccMultipleHeaders,
    /// The `X-Forwarded-Client-Cert` header value is longer than [`crate::xfcc::XFCC_MAX_LEN`].
    #[error("x-forwarded-client-cert header is too large")]
    XfccTooLarge,
    /// The `X-Forwarded-Client-Cert` header is not well formed; the text says how.
    #[error("invalid x-forwarded-client-cert header: {0}")]
    XfccSyntax(&'static str),
    /// The `X-Forwarded-Client-Cert` header holds more than one comma-separated element.
    #[error("expected exactly one x-forwarded-client-cert entry")]
    XfccMultipleEntries,
    /// The `X-Forwarded-Client-Cert` element has no non-empty `Cert=` field.
    #[error("x-forwarded-client-cert missing Cert field")]
    XfccMissingCert,
    /// The `Cert=` field is not a URL-escaped PEM certificate; the text says how.
    #[error("invalid forwarded client certificate: {0}")]
    XfccInvalidCert(&'static str),
    /// The `Hash=` field is not the SHA-256 of the forwarded certificate.
    #[error("forwarded client certificate hash mismatch")]
    XfccHashMismatch,
}

/// Reads the caller's identity from a DER-encoded X.509 certificate: Subject CN → user, every Subject O → groups.
///
/// Only the Subject is read; the certificate's chain, validity and signature are the caller's business.
pub fn identity_from_cert_der(der: &[u8]) -> Result<CallerIdentity, IdentityError> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|_| IdentityError::InvalidCertificate)?;
    if !rest.is_empty() {
        return Err(IdentityError::InvalidCertificate);
    }
    let subject = cert.subject();

    let mut user = None;
    for cn in subject.iter_common_name() {
        user = Some(attribute_string(cn)?);
    }
    let user = match user {
        Some(user) if !user.is_empty() => user,
        _ => return Err(IdentityError::MissingCommonName),
    };
    let groups = subject
        .iter_organization()
        .map(attribute_string)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CallerIdentity { user, groups })
}

/// Decodes one Subject attribute value as Go's `crypto/x509` would, rejecting control characters.
fn attribute_string(attr: &AttributeTypeAndValue<'_>) -> Result<String, IdentityError> {
    let value = attr.attr_value();
    let data = value.data;
    let valid = |ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(IdentityError::InvalidSubjectName)
        }
    };
    let text = match value.tag() {
        Tag::Utf8String | Tag::T61String => std::str::from_utf8(data)
            .map_err(|_| IdentityError::InvalidSubjectName)?
            .to_owned(),
        Tag::PrintableString => {
            valid(data.iter().all(|&b| is_printable_string_byte(b)))?;
            bytes_to_ascii_string(data)?
        }
        Tag::Ia5String => {
            valid(data.is_ascii())?;
            bytes_to_ascii_string(data)?
        }
        Tag::NumericString => {
            valid(data.iter().all(|&b| b.is_ascii_digit() || b == b' '))?;
            bytes_to_ascii_string(data)?
        }
        Tag::BmpString => decode_bmp_string(data)?,
        _ => return Err(IdentityError::InvalidSubjectName),
    };
    valid(!text.chars().any(|c| c.is_ascii_control() && c != '\t'))?;
    Ok(text)
}

/// The PrintableString alphabet, plus `*` and `&` which Go accepts for compatibility with real certificates.
fn is_printable_string_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?*&".contains(&b)
}

fn bytes_to_ascii_string(data: &[u8]) -> Result<String, IdentityError> {
    std::str::from_utf8(data)
        .map(str::to_owned)
        .map_err(|_| IdentityError::InvalidSubjectName)
}

/// Decodes a BMPString (UTF-16BE), dropping one trailing NUL as Go does; lone surrogates are rejected.
fn decode_bmp_string(data: &[u8]) -> Result<String, IdentityError> {
    if !data.len().is_multiple_of(2) {
        return Err(IdentityError::InvalidSubjectName);
    }
    let data = data.strip_suffix(&[0, 0]).unwrap_or(data);
    let units = data
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| IdentityError::InvalidSubjectName)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair};

    /// A self-signed certificate whose Subject is `dn` (type, value) pairs, via rcgen.
    pub(crate) fn rcgen_cert(dn: &[(DnType, &str)]) -> rcgen::Certificate {
        let mut params = CertificateParams::new(vec![]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (ty, value) in dn {
            params.distinguished_name.push(ty.clone(), *value);
        }
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap()
    }

    // === DER helpers: build a Subject rcgen cannot (repeated O, odd string types) ===

    pub(crate) fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    /// One attribute: `oid_last` is the last arc under 2.5.4 (3 = CN, 10 = O).
    pub(crate) fn atv(oid_last: u8, tag: u8, value: &[u8]) -> Vec<u8> {
        let mut content = der_tlv(0x06, &[0x55, 0x04, oid_last]);
        content.extend(der_tlv(tag, value));
        der_tlv(0x30, &content)
    }

    /// A Name from RDNs, each a set of attributes.
    pub(crate) fn name(rdns: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let content: Vec<u8> = rdns.iter().flat_map(|rdn| der_tlv(0x31, &rdn.concat())).collect();
        der_tlv(0x30, &content)
    }

    pub(crate) const CN: u8 = 3;
    pub(crate) const O: u8 = 10;
    pub(crate) const UTF8: u8 = 0x0c;
    const PRINTABLE: u8 = 0x13;
    const T61: u8 = 0x14;
    const IA5: u8 = 0x16;
    const NUMERIC: u8 = 0x12;
    const BMP: u8 = 0x1e;
    const OCTETS: u8 = 0x04;

    /// Splits a DER TLV into (header length, content length).
    fn header(der: &[u8]) -> (usize, usize) {
        let first = der[1];
        if first < 0x80 {
            (2, first as usize)
        } else {
            let n = (first & 0x7f) as usize;
            let len = der[2..2 + n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | b as usize);
            (2 + n, len)
        }
    }

    /// A real (rcgen) certificate with its Subject replaced by `subject`; the signature no longer matches, which
    /// the identity helpers do not check.
    pub(crate) fn cert_with_subject(subject: &[u8]) -> Vec<u8> {
        let base = rcgen_cert(&[(DnType::CommonName, "placeholder")]);
        let der = base.der().to_vec();
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let old = cert.subject().as_raw();
        let offset = old.as_ptr() as usize - der.as_ptr() as usize;
        let (outer_hdr, _) = header(&der);
        let tbs = &der[outer_hdr..];
        let (tbs_hdr, tbs_len) = header(tbs);
        let tbs_content = &tbs[tbs_hdr..tbs_hdr + tbs_len];
        let after_tbs = &tbs[tbs_hdr + tbs_len..];
        let start = offset - outer_hdr - tbs_hdr;
        let mut new_tbs_content = tbs_content[..start].to_vec();
        new_tbs_content.extend_from_slice(subject);
        new_tbs_content.extend_from_slice(&tbs_content[start + old.len()..]);
        let mut body = der_tlv(0x30, &new_tbs_content);
        body.extend_from_slice(after_tbs);
        der_tlv(0x30, &body)
    }

    fn id(user: &str, groups: &[&str]) -> CallerIdentity {
        CallerIdentity {
            user: user.to_owned(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn rcgen_certificate_cn_and_o() {
        let cert = rcgen_cert(&[
            (DnType::CommonName, "alice"),
            (DnType::OrganizationName, "tenant-a"),
        ]);
        assert_eq!(identity_from_cert_der(cert.der()), Ok(id("alice", &["tenant-a"])));
    }

    #[test]
    fn rcgen_certificate_without_o_has_no_groups() {
        let cert = rcgen_cert(&[
            (DnType::CommonName, "bob"),
            (DnType::OrganizationalUnitName, "not-a-group"),
        ]);
        assert_eq!(identity_from_cert_der(cert.der()), Ok(id("bob", &[])));
    }

    #[test]
    fn rcgen_certificate_two_organizations_in_order() {
        // rcgen keeps one value per DnType; the custom OID 2.5.4.10 is a second Organization.
        let cert = rcgen_cert(&[
            (DnType::OrganizationName, "first"),
            (DnType::CommonName, "alice"),
            (DnType::CustomDnType(vec![2, 5, 4, 10]), "second"),
        ]);
        assert_eq!(
            identity_from_cert_der(cert.der()),
            Ok(id("alice", &["first", "second"]))
        );
    }

    #[test]
    fn several_organizations_keep_order() {
        let subject = name(&[
            vec![atv(O, UTF8, b"system:masters")],
            vec![atv(CN, UTF8, b"alice")],
            vec![atv(O, PRINTABLE, b"tenant-a")],
            vec![atv(O, UTF8, b"tenant-b"), atv(O, UTF8, b"tenant-c")],
        ]);
        assert_eq!(
            identity_from_cert_der(&cert_with_subject(&subject)),
            Ok(id(
                "alice",
                &["system:masters", "tenant-a", "tenant-b", "tenant-c"]
            ))
        );
    }

    #[test]
    fn last_common_name_wins_like_go() {
        let subject = name(&[vec![atv(CN, UTF8, b"first")], vec![atv(CN, UTF8, b"second")]]);
        assert_eq!(
            identity_from_cert_der(&cert_with_subject(&subject)),
            Ok(id("second", &[]))
        );
    }

    #[test]
    fn supported_string_types() {
        let cases: [(u8, &[u8], &str); 6] = [
            (UTF8, "ålice".as_bytes(), "ålice"),
            (PRINTABLE, b"Alice Smith*", "Alice Smith*"),
            (IA5, b"alice@example.com", "alice@example.com"),
            (NUMERIC, b"42 7", "42 7"),
            (T61, b"alice", "alice"),
            (BMP, &[0, b'a', 0, b'l', 0x00, 0xe5, 0, 0], "alå"),
        ];
        for (tag, raw, want) in cases {
            let subject = name(&[vec![atv(CN, tag, raw)], vec![atv(O, tag, raw)]]);
            assert_eq!(
                identity_from_cert_der(&cert_with_subject(&subject)),
                Ok(id(want, &[want])),
                "{tag}"
            );
        }
    }

    #[test]
    fn rejects_bad_subject_strings() {
        let bad: [(u8, &[u8]); 8] = [
            (OCTETS, b"alice"),
            (UTF8, &[0xff, 0xfe]),
            (UTF8, b"al\nice"),
            (UTF8, b"al\x7fice"),
            (IA5, &[b'a', 0xc3, 0xa5]),
            (NUMERIC, b"12a"),
            (BMP, &[0, b'a', 0]),
            (BMP, &[0xd8, 0x00]),
        ];
        for (tag, raw) in bad {
            for subject in [
                name(&[vec![atv(CN, tag, raw)]]),
                name(&[vec![atv(CN, UTF8, b"alice")], vec![atv(O, tag, raw)]]),
            ] {
                assert_eq!(
                    identity_from_cert_der(&cert_with_subject(&subject)),
                    Err(IdentityError::InvalidSubjectName),
                    "{tag} {raw:?}"
                );
            }
        }
    }

    #[test]
    fn tab_is_allowed_in_names() {
        let subject = name(&[vec![atv(CN, UTF8, b"a\tb")]]);
        assert_eq!(
            identity_from_cert_der(&cert_with_subject(&subject)),
            Ok(id("a\tb", &[]))
        );
    }

    #[test]
    fn missing_or_empty_common_name() {
        let cert = rcgen_cert(&[(DnType::OrganizationName, "tenant-a")]);
        assert_eq!(
            identity_from_cert_der(cert.der()),
            Err(IdentityError::MissingCommonName)
        );
        let subject = name(&[vec![atv(CN, UTF8, b"")], vec![atv(O, UTF8, b"tenant-a")]]);
        assert_eq!(
            identity_from_cert_der(&cert_with_subject(&subject)),
            Err(IdentityError::MissingCommonName)
        );
        let subject = name(&[]);
        assert_eq!(
            identity_from_cert_der(&cert_with_subject(&subject)),
            Err(IdentityError::MissingCommonName)
        );
    }

    #[test]
    fn rejects_non_certificates() {
        let cert = rcgen_cert(&[(DnType::CommonName, "alice")]);
        let der = cert.der().to_vec();
        assert_eq!(
            identity_from_cert_der(&[]),
            Err(IdentityError::InvalidCertificate)
        );
        assert_eq!(
            identity_from_cert_der(b"alice"),
            Err(IdentityError::InvalidCertificate)
        );
        assert_eq!(
            identity_from_cert_der(&der[..der.len() - 1]),
            Err(IdentityError::InvalidCertificate)
        );
        let mut trailing = der;
        trailing.push(0);
        assert_eq!(
            identity_from_cert_der(&trailing),
            Err(IdentityError::InvalidCertificate)
        );
        assert_eq!(
            identity_from_cert_der(cert.pem().as_bytes()),
            Err(IdentityError::InvalidCertificate)
        );
    }

    #[test]
    fn error_messages_are_client_safe() {
        assert_eq!(
            IdentityError::XfccSyntax("unterminated quote").to_string(),
            "invalid x-forwarded-client-cert header: unterminated quote"
        );
        assert_eq!(
            IdentityError::MissingCommonName.to_string(),
            "client certificate does not contain a username"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = identity_from_cert_der(&bytes);
        }
    }
}
