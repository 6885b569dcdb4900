//! The one query parameter routing reads: `watch`, as Go's `strconv.ParseBool(URL.Query().Get("watch"))`.

/// Whether the raw query string (without `?`) asks for a watch: its first well-formed `watch` parameter is one
/// of `1`, `t`, `T`, `TRUE`, `true`, `True`. As Go's `url.ParseQuery`, pairs are split on `&`, pairs holding a
/// `;` or a malformed escape are skipped, keys and values are unescaped (`+` is a space). Allocates nothing.
pub(super) fn is_watch(query: &str) -> bool {
    for pair in query.split('&') {
        if pair.is_empty() || pair.contains(';') {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let mut key_bytes = [0u8; 5];
        match decode_into(key, &mut key_bytes) {
            Some(5) if &key_bytes == b"watch" => {}
            _ => continue,
        }
        let mut value_bytes = [0u8; 5];
        let Some(len) = decode_into(value, &mut value_bytes) else {
            continue;
        };
        let value = value_bytes.get(..len.min(5)).unwrap_or_default();
        return len <= 5 && matches!(value, b"1" | b"t" | b"T" | b"TRUE" | b"true" | b"True");
    }
    false
}

/// Unescapes `raw` as a query component into `buf` (as much as fits) and returns the full decoded length, or
/// `None` when an escape is malformed.
fn decode_into(raw: &str, buf: &mut [u8]) -> Option<usize> {
    let bytes = raw.as_bytes();
    let mut len = 0;
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        let decoded = match b {
            b'%' => {
                let hi = hex_value(*bytes.get(at + 1)?)?;
                let lo = hex_value(*bytes.get(at + 2)?)?;
                at += 3;
                (hi << 4) | lo
            }
            b'+' => {
                at += 1;
                b' '
            }
            b => {
                at += 1;
                b
            }
        };
        if let Some(slot) = buf.get_mut(len) {
            *slot = decoded;
        }
        len += 1;
    }
    Some(len)
}

fn hex_value(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_values_follow_parse_bool() {
        let cases = [
            ("", false),
            ("watch", false),
            ("watch=", false),
            ("watch=1", true),
            ("watch=t", true),
            ("watch=T", true),
            ("watch=TRUE", true),
            ("watch=true", true),
            ("watch=True", true),
            ("watch=tRUE", false),
            ("watch=yes", false),
            ("watch=0", false),
            ("watch=false", false),
            ("watch=truee", false),
            ("watch=true%20", false),
            ("watch=%74rue", true),
            ("w%61tch=1", true),
            ("labelSelector=a&watch=1", true),
            ("watch=0&watch=1", false),
            ("watch=1&watch=0", true),
            // Pairs with a `;` or a malformed escape are skipped, so the next `watch` counts.
            ("watch=1;x&watch=0", false),
            ("watch=%zz&watch=1", true),
            ("w%zztch=0&watch=1", true),
            ("watch=1+", false),
            ("&&watch=1", true),
            ("watchx=1", false),
            ("xwatch=1", false),
        ];
        for (query, want) in cases {
            assert_eq!(is_watch(query), want, "{query:?}");
        }
    }
}
