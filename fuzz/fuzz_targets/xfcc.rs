//! The caller-identity readers on arbitrary bytes: `identity_from_xfcc`, `identity_from_cert_der` and the
//! bearer-token parsers.
//!
//! Input: one knob byte choosing how the rest is used: (0) raw `X-Forwarded-Client-Cert` values separated by
//! NUL, (1) raw DER, (2) a certificate built around Subject attributes from the input and wrapped as Envoy
//! does (`By=…;Hash=…;Cert="…";Subject=…`), with the quoting, hash and escaping varied by the knob. The bearer
//! parsers read the rest in every mode. Never panics; an identity has a non-empty user and no CR, LF or NUL
//! (nor other control characters but HTAB) in user or groups; a built certificate reads the same through XFCC
//! as from its DER, and a `Hash=` that is present and accepted is its SHA-256.
#![no_main]

use capsule_proxy_fuzz::cert::{self, Attribute, STRING_TAGS};
use capsule_proxy_fuzz::knobs::Knobs;
use capsule_proxy_policy::identity::CallerIdentity;
use capsule_proxy_policy::{
    bearer_from_authorization, bearer_from_websocket_protocols, identity_from_cert_der, identity_from_xfcc,
};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest as _, Sha256};

/// Attribute types a Subject built from the input may hold: CN, O, OU, and serialNumber (2.5.4.5).
const ATTRIBUTE_TYPES: [u8; 4] = [cert::CN, cert::O, cert::OU, 5];

fn check_identity(identity: &CallerIdentity) {
    assert!(!identity.user.is_empty(), "empty user");
    for name in std::iter::once(&identity.user).chain(&identity.groups) {
        assert!(
            !name.chars().any(|c| c.is_ascii_control() && c != '\t'),
            "control character in identity name {name:?}"
        );
    }
}

fn check_bearer(value: &[u8]) {
    if let Some(token) = bearer_from_authorization(value) {
        assert!(
            !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()),
            "bearer token {token:?}"
        );
        assert!(
            value.ends_with(token.as_bytes()),
            "token is not the end of the value"
        );
        assert!(
            value[..6].eq_ignore_ascii_case(b"bearer"),
            "token without the Bearer scheme"
        );
    }
    if let Some(token) = bearer_from_websocket_protocols(value) {
        assert!(
            !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()),
            "websocket token {token:?}"
        );
    }
}

/// Subject RDNs from the input: each attribute is (type knob, tag knob, length, value bytes).
fn attributes(mut rest: &[u8]) -> Vec<Vec<Attribute<'_>>> {
    let mut rdns: Vec<Vec<Attribute<'_>>> = Vec::new();
    while let [kind, tag, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (value, tail) = tail.split_at(len);
        let attribute = Attribute {
            oid_last: ATTRIBUTE_TYPES[usize::from(kind & 3)],
            tag: STRING_TAGS[usize::from(tag & 7)],
            value,
        };
        // High bit of the type knob: same RDN (a multi-valued SET) as the previous attribute.
        match rdns.last_mut() {
            Some(rdn) if kind & 0x80 != 0 => rdn.push(attribute),
            _ => rdns.push(vec![attribute]),
        }
        rest = tail;
    }
    rdns
}

/// The built-certificate mode: an Envoy-style XFCC value around a certificate with the input's Subject.
fn envoy_value(knob: u8, der: &[u8]) -> (Vec<u8>, bool) {
    let hash_hex: String = Sha256::digest(der).iter().map(|b| format!("{b:02x}")).collect();
    let (hash, hash_present) = match knob >> 2 & 3 {
        0 => (String::new(), false),
        1 => (hash_hex, true),
        2 => (hash_hex.to_ascii_uppercase(), true),
        _ => (format!("{}0", &hash_hex[1..]), true),
    };
    let escaped = cert::url_escape(&cert::pem(der), knob & 0x10 != 0);
    let cert_field = if knob & 0x20 != 0 {
        format!("\"{escaped}\"")
    } else {
        escaped
    };
    let mut value = String::from("By=spiffe://cluster.local/ns/capsule-system/sa/capsule-proxy");
    if hash_present {
        value.push_str(&format!(";Hash={hash}"));
    }
    value.push_str(&format!(";Cert={cert_field}"));
    if knob & 0x40 != 0 {
        value.push_str(";Subject=\"CN=alice,O=projectcapsule.dev\";URI=;DNS=alice.example");
    }
    (value.into_bytes(), hash_present)
}

fuzz_target!(|data: &[u8]| {
    let mut knobs = Knobs::new(data);
    let knob = knobs.byte();
    let rest = knobs.rest();
    check_bearer(rest);
    match knob & 3 {
        0 => {
            let values: Vec<&[u8]> = rest.split(|&b| b == 0).collect();
            if let Ok(identity) = identity_from_xfcc(&values) {
                check_identity(&identity);
            }
        }
        1 => {
            if let Ok(identity) = identity_from_cert_der(rest) {
                check_identity(&identity);
            }
        }
        _ => {
            let der = cert::certificate(&cert::subject(&attributes(rest)));
            let from_der = identity_from_cert_der(&der);
            if let Ok(identity) = &from_der {
                check_identity(identity);
            }
            let (value, hash_present) = envoy_value(knob, &der);
            let from_xfcc = identity_from_xfcc(&[&value]);
            if let Ok(identity) = &from_xfcc {
                check_identity(identity);
                assert_eq!(from_der.as_ref().ok(), Some(identity), "XFCC and DER disagree");
                if hash_present {
                    assert!(knob >> 2 & 3 != 3, "a wrong Hash was accepted");
                }
            } else if from_der.is_ok() && knob >> 2 & 3 != 3 {
                panic!("a valid certificate with the right hash failed through XFCC: {from_xfcc:?}");
            }
        }
    }
});
