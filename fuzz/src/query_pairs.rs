//! An independent reading of a raw query string, to check what `rewrite_query` produced: `&`-separated
//! non-empty pairs, each `key[=value]`, decoded as Go's `url.QueryUnescape` (`+` is a space, `%XX` a byte).

/// One raw pair and its decoded key and value (`None` when a component does not decode to UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair<'a> {
    /// The pair as written.
    pub raw: &'a str,
    /// The decoded key.
    pub key: Option<String>,
    /// The decoded value.
    pub value: Option<String>,
}

/// The non-empty pairs of a raw query (without `?`).
pub fn pairs(query: &str) -> Vec<Pair<'_>> {
    query
        .split('&')
        .filter(|raw| !raw.is_empty())
        .map(|raw| {
            let (key, value) = raw.split_once('=').unwrap_or((raw, ""));
            Pair {
                raw,
                key: unescape(key),
                value: unescape(value),
            }
        })
        .collect()
}

/// Go's `url.QueryUnescape`, or `None` for a malformed escape or a non-UTF-8 result.
pub fn unescape(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'%' => {
                let hex = bytes.get(at + 1..at + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                at += 3;
            }
            b'+' => {
                out.push(b' ');
                at += 1;
            }
            b => {
                out.push(b);
                at += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_decodes() {
        let got = pairs("a=b+c&&label%53elector=x%3Dy&bad=%zz&flag");
        let decoded: Vec<_> = got
            .iter()
            .map(|p| (p.key.as_deref(), p.value.as_deref()))
            .collect();
        assert_eq!(
            decoded,
            [
                (Some("a"), Some("b c")),
                (Some("labelSelector"), Some("x=y")),
                (Some("bad"), None),
                (Some("flag"), Some("")),
            ]
        );
        assert_eq!(unescape("%C3%A9"), Some("é".to_owned()));
        assert_eq!(unescape("%FF"), None);
    }
}
