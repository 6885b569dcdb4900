//! Label key and value rules of apimachinery (`IsQualifiedName`, `IsDNS1123Subdomain`, `IsValidLabelValue`),
//! checked by hand over bytes.

use super::SelectorError;
use crate::object_name::is_dns1123_subdomain;

/// Longest name part of a key, and longest value.
const NAME_MAX: usize = 63;
/// Longest key prefix (a DNS-1123 subdomain).
const PREFIX_MAX: usize = 253;

/// Checks a label key: `[prefix/]name`, the prefix a DNS-1123 subdomain of at most 253 bytes, the name at
/// most 63 bytes of `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`.
pub(super) fn validate_key(key: &str) -> Result<(), SelectorError> {
    let invalid = |reason| SelectorError::InvalidKey {
        key: key.to_owned(),
        reason,
    };
    let mut parts = key.split('/');
    let (prefix, name) = match (parts.next(), parts.next(), parts.next()) {
        (Some(name), None, _) => (None, name),
        (Some(prefix), Some(name), None) => (Some(prefix), name),
        _ => {
            return Err(invalid(
                "a valid label key is a name with an optional DNS subdomain prefix and '/' \
                 (e.g. 'example.com/MyName')",
            ));
        }
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return Err(invalid("prefix part must be non-empty"));
        }
        if prefix.len() > PREFIX_MAX {
            return Err(invalid("prefix part must be no more than 253 characters"));
        }
        if !is_dns1123_subdomain(prefix) {
            return Err(invalid(
                "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
                 characters, '-' or '.', and must start and end with an alphanumeric character",
            ));
        }
    }
    if name.is_empty() {
        return Err(invalid("name part must be non-empty"));
    }
    if name.len() > NAME_MAX {
        return Err(invalid("name part must be no more than 63 characters"));
    }
    if !is_label_token(name) {
        return Err(invalid(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with \
             an alphanumeric character",
        ));
    }
    Ok(())
}

/// Checks a label value of `key`: empty, or at most 63 bytes of `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`.
pub(super) fn validate_value(key: &str, value: &str) -> Result<(), SelectorError> {
    let reason = if value.len() > NAME_MAX {
        "must be no more than 63 characters"
    } else if !value.is_empty() && !is_label_token(value) {
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and \
         must start and end with an alphanumeric character"
    } else {
        return Ok(());
    };
    Err(SelectorError::InvalidValue {
        key: key.to_owned(),
        value: value.to_owned(),
        reason,
    })
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, the shape of a key's name part and of a non-empty value.
fn is_label_token(text: &str) -> bool {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_qualified_name_rules() {
        let name63 = "a".repeat(63);
        let prefix253 = format!("{}.{}", "b".repeat(126), "c".repeat(126));
        for good in [
            "a",
            "A-b_c.D9",
            "9",
            "example.com/MyName",
            "kubernetes.io/metadata.name",
            "a-1.b/x",
            name63.as_str(),
            &format!("{prefix253}/x"),
        ] {
            assert_eq!(validate_key(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a b",
            "a/b/c",
            "/a",
            "a/",
            "Example.com/a",
            "ex_ample.com/a",
            "-ex.com/a",
            "ex..com/a",
            "ex.com./a",
            "é",
            &"a".repeat(64),
            &format!("{prefix253}c/x"),
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn values_follow_label_value_rules() {
        for good in ["", "a", "A.b-c_9", "007", &"v".repeat(63)] {
            assert_eq!(validate_value("k", good), Ok(()), "{good}");
        }
        for bad in ["-1", "+1", "a.", "_a", "a b", "a/b", "a,b", &"v".repeat(64)] {
            assert!(validate_value("k", bad).is_err(), "{bad:?} accepted");
        }
    }
}
