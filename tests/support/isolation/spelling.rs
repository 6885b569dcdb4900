//! Other ways to write the same request: path spellings (`//`, `.` and `..` segments, `%2F`, percent-encoded
//! letters, upper case, a trailing slash or `%20`, the absolute form) and query spellings of a label selector
//! (`%3D`, `+` for a space, everything escaped).

use super::rng::Rng;

/// How a query value is escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escaping {
    /// Only what must be: space, `%`, `&`, `#`, `+`, `;`.
    Minimal,
    /// As [`Escaping::Minimal`], a space as `+`.
    Plus,
    /// Every byte but the unreserved ones, upper-case hex.
    Full,
    /// Every byte but the unreserved ones, lower-case hex.
    FullLower,
}

impl Escaping {
    /// One at random.
    pub fn any(rng: &mut Rng) -> Self {
        *rng.pick(&[
            Escaping::Minimal,
            Escaping::Plus,
            Escaping::Full,
            Escaping::FullLower,
        ])
    }
}

/// `text` escaped as a query value.
pub fn escape(text: &str, escaping: Escaping) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
        match escaping {
            _ if unreserved => out.push(b as char),
            Escaping::Plus if b == b' ' => out.push('+'),
            Escaping::Minimal | Escaping::Plus if !b" %&#+;".contains(&b) => out.push(b as char),
            Escaping::FullLower => out.push_str(&format!("%{b:02x}")),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The byte offsets of the `/` separators of `path` after the first one.
fn inner_slashes(path: &str) -> Vec<usize> {
    path.match_indices('/')
        .map(|(i, _)| i)
        .filter(|&i| i > 0)
        .collect()
}

/// `path` with one inner `/` doubled.
pub fn double_slash(rng: &mut Rng, path: &str) -> String {
    let at = *rng.pick(&inner_slashes(path));
    format!("{}/{}", &path[..at], &path[at..])
}

/// `path` with a `.` segment, or a made-up segment followed by `..`, after one of its separators.
pub fn dot_segment(rng: &mut Rng, path: &str) -> String {
    let slashes = inner_slashes(path);
    let at = *rng.pick(&slashes);
    let inserted = match rng.below(3) {
        0 => "/.".to_string(),
        1 => format!("/{}/..", rng.pick(&["nodes", "namespaces", "x", "tenants"])),
        _ => "/./x/..".to_string(),
    };
    format!("{}{}{}", &path[..at], inserted, &path[at..])
}

/// `path` with one inner `/` written `%2F` (or `%2f`).
pub fn encoded_slash(rng: &mut Rng, path: &str) -> String {
    let at = *rng.pick(&inner_slashes(path));
    let escape = if rng.percent(50) { "%2F" } else { "%2f" };
    format!("{}{}{}", &path[..at], escape, &path[at + 1..])
}

/// `path` with one to three of its letters or digits percent-encoded.
pub fn encoded_letters(rng: &mut Rng, path: &str) -> String {
    let candidates: Vec<usize> = path
        .bytes()
        .enumerate()
        .filter(|(_, b)| b.is_ascii_alphanumeric())
        .map(|(i, _)| i)
        .collect();
    let chosen: Vec<usize> = (0..rng.between(1, 3)).map(|_| *rng.pick(&candidates)).collect();
    let lower = rng.percent(30);
    path.bytes()
        .enumerate()
        .map(|(i, b)| match (chosen.contains(&i), lower) {
            (true, true) => format!("%{b:02x}"),
            (true, false) => format!("%{b:02X}"),
            (false, _) => (b as char).to_string(),
        })
        .collect()
}

/// `path` with one segment (or only its first letter) in upper case.
pub fn upper_case(rng: &mut Rng, path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let nonempty: Vec<usize> = (0..segments.len()).filter(|&i| !segments[i].is_empty()).collect();
    let at = *rng.pick(&nonempty);
    let whole = rng.percent(50);
    segments
        .iter()
        .enumerate()
        .map(|(i, s)| match (i == at, whole) {
            (true, true) => s.to_uppercase(),
            (true, false) => {
                let mut chars = s.chars();
                chars
                    .next()
                    .map(|c| c.to_uppercase().chain(chars).collect())
                    .unwrap_or_default()
            }
            (false, _) => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The absolute form of a request target.
pub fn absolute_form(rng: &mut Rng, target: &str) -> String {
    let authority = rng.pick(&[
        "https://kubernetes",
        "https://127.0.0.1:6443",
        "http://kubernetes.default.svc",
    ]);
    format!("{authority}{target}")
}
