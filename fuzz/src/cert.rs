//! Building a DER X.509 certificate around a Subject of the fuzzer's choosing, and wrapping it as Envoy does in
//! an `X-Forwarded-Client-Cert` `Cert=` field.
//!
//! The certificate is structurally valid but its signature is filler: the identity readers look at the Subject
//! only, so a fresh signature per input would cost time and find nothing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A P-256 SubjectPublicKeyInfo (a real key, so the structure parses however strictly it is read).
const SPKI: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0xfd, 0x03, 0xec, 0xdb, 0x1f, 0xbe, 0x4e,
    0x58, 0xf9, 0xa1, 0xcd, 0xa2, 0xeb, 0x90, 0xbf, 0x45, 0xb1, 0x31, 0xc8, 0xcd, 0xa7, 0x47, 0x36, 0xfb,
    0x2f, 0xc5, 0x7f, 0x55, 0x81, 0x0c, 0x33, 0xb0, 0x5a, 0x21, 0xea, 0x5f, 0xfd, 0x19, 0x9f, 0x4e, 0x98,
    0xbb, 0x2c, 0x5b, 0x41, 0xdd, 0x71, 0xf8, 0xa1, 0x62, 0x98, 0x18, 0x23, 0x1f, 0x2e, 0xe4, 0xa4, 0xc7,
    0x3d, 0x20, 0xe3, 0x89, 0xb7, 0xdd,
];

/// `ecdsa-with-SHA256` as an AlgorithmIdentifier.
const ECDSA_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];

/// The last arc under `2.5.4` of the Common Name attribute.
pub const CN: u8 = 3;
/// The last arc under `2.5.4` of the Organization attribute.
pub const O: u8 = 10;
/// The last arc under `2.5.4` of the Organizational Unit attribute.
pub const OU: u8 = 11;

/// DER string tags an attribute value may carry.
pub const STRING_TAGS: [u8; 8] = [
    0x0c, // UTF8String
    0x13, // PrintableString
    0x14, // T61String
    0x16, // IA5String
    0x12, // NumericString
    0x1e, // BMPString
    0x1c, // UniversalString (not accepted by the readers)
    0x04, // OCTET STRING (not a string)
];

/// One Subject attribute.
#[derive(Debug, Clone)]
pub struct Attribute<'a> {
    /// The last arc of the attribute type under `2.5.4` ([`CN`], [`O`], [`OU`], …).
    pub oid_last: u8,
    /// The DER tag of the value.
    pub tag: u8,
    /// The value's content bytes.
    pub value: &'a [u8],
}

/// A DER TLV with definite length.
pub fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0));
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A Name of RDNs, each a SET of attributes.
pub fn subject(rdns: &[Vec<Attribute<'_>>]) -> Vec<u8> {
    let mut content = Vec::new();
    for rdn in rdns {
        let mut set = Vec::new();
        for attribute in rdn {
            let mut atv = der_tlv(0x06, &[0x55, 0x04, attribute.oid_last]);
            atv.extend(der_tlv(attribute.tag, attribute.value));
            set.extend(der_tlv(0x30, &atv));
        }
        content.extend(der_tlv(0x31, &set));
    }
    der_tlv(0x30, &content)
}

/// A v3 certificate issued by `CN=fuzz-ca` whose Subject is the DER Name `subject`.
pub fn certificate(subject: &[u8]) -> Vec<u8> {
    let mut tbs = vec![0xa0, 0x03, 0x02, 0x01, 0x02]; // version v3
    tbs.extend(der_tlv(0x02, &[0x01])); // serial
    tbs.extend_from_slice(ECDSA_SHA256);
    let issuer_cn = [Attribute {
        oid_last: CN,
        tag: 0x0c,
        value: b"fuzz-ca",
    }];
    tbs.extend(self::subject(&[issuer_cn.to_vec()]));
    let mut validity = der_tlv(0x17, b"250101000000Z");
    validity.extend(der_tlv(0x17, b"350101000000Z"));
    tbs.extend(der_tlv(0x30, &validity));
    tbs.extend_from_slice(subject);
    tbs.extend_from_slice(SPKI);
    let mut cert = der_tlv(0x30, &tbs);
    cert.extend_from_slice(ECDSA_SHA256);
    let mut signature = vec![0x00];
    signature.extend(der_tlv(
        0x30,
        &[der_tlv(0x02, &[0x01]), der_tlv(0x02, &[0x01])].concat(),
    ));
    cert.extend(der_tlv(0x03, &signature));
    der_tlv(0x30, &cert)
}

/// The PEM text of a DER certificate, base64 lines of 64 characters.
pub fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// URL-escapes `text` as Envoy escapes the `Cert=` PEM: unreserved characters stay, every other byte is `%XX`;
/// with `plus_for_space`, a space is `+` instead.
pub fn url_escape(text: &str, plus_for_space: bool) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else if b == b' ' && plus_for_space {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use capsule_proxy_policy::identity_from_cert_der;

    #[test]
    fn built_certificate_reads_as_its_subject() {
        let subject = subject(&[
            vec![Attribute {
                oid_last: CN,
                tag: 0x0c,
                value: b"alice",
            }],
            vec![
                Attribute {
                    oid_last: O,
                    tag: 0x13,
                    value: b"oil-owners",
                },
                Attribute {
                    oid_last: O,
                    tag: 0x0c,
                    value: b"gas-owners",
                },
            ],
        ]);
        let identity = identity_from_cert_der(&certificate(&subject)).expect("identity");
        assert_eq!(identity.user, "alice");
        assert_eq!(identity.groups, ["oil-owners", "gas-owners"]);
    }

    #[test]
    fn pem_is_escaped_like_envoy() {
        let escaped = url_escape(&pem(&[0xfb, 0xff]), false);
        assert_eq!(
            escaped,
            "-----BEGIN%20CERTIFICATE-----%0A%2B%2F8%3D%0A-----END%20CERTIFICATE-----%0A"
        );
    }
}
