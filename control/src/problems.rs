//! What could not be used of an object's spec: collected while it is translated, logged as warnings, and for
//! ProxySettings and GlobalProxySettings written to their `Ready` condition.

/// What could not be used of an object's spec, each naming the field (`subjects[0].proxySettings[1].kind`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<String>);

impl Problems {
    /// Records that what is `at` (a field path) cannot be used, and why.
    pub(crate) fn push(&mut self, at: &str, what: impl std::fmt::Display) {
        self.0.push(format!("{at}: {what}"));
    }

    /// Whether everything could be used.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Logs each problem as a warning naming `object`.
    pub fn warn(&self, object: &str) {
        for problem in &self.0 {
            tracing::warn!(object, problem = %problem, "skipping what cannot be used");
        }
    }
}
