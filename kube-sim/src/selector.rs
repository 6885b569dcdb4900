//! Label and field selectors, parsed and matched as kube-apiserver does.
//!
//! [`LabelSelector`] is the proxy's own selector (`capsule_proxy_policy::selector`): the full grammar of
//! `k8s.io/apimachinery/pkg/labels.Parse` (comma-separated (AND) requirements `k=v`, `k==v`, `k!=v`,
//! `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>N`, `k<N`), keys validated as qualified names and values as
//! label values, errors worded as kube-apiserver's (it answers them with 400 BadRequest), and
//! [`Display`](std::fmt::Display) in the canonical form of `labels.Selector.String()`. One grammar for both:
//! kube-sim reads a selector exactly as the proxy that rewrote it.
//!
//! [`FieldSelector`] implements `k8s.io/apimachinery/pkg/fields.ParseSelector` (`f=v`, `f==v`, `f!=v`, AND-ed
//! by commas, backslash escapes `\,` `\=` `\\` in values). Which fields a kind supports is checked separately by
//! [`FieldSelector::check_fields`]: `metadata.name` and `metadata.namespace` everywhere, plus the pod fields
//! kube-apiserver serves (`spec.nodeName`, `status.phase`, …). A missing field compares as the empty string.

use std::borrow::Cow;
use std::fmt;

use capsule_proxy_policy::selector::Selector;
pub use capsule_proxy_policy::selector::{Operator, Requirement, SelectorError as LabelError};
use serde_json::{Map, Value};

/// Why a label or field selector was rejected; kube-apiserver answers all of these with 400 BadRequest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The label selector does not follow the grammar, or one of its requirements is malformed.
    #[error(transparent)]
    Label(#[from] LabelError),
    /// A field selector term has no `=`, `==` or `!=` operator.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    FieldTerm {
        /// The whole field selector.
        selector: String,
        /// The term that could not be split.
        term: String,
    },
    /// A field selector value holds an unknown or dangling backslash escape.
    #[error("invalid field selector: invalid escape sequence: {0}")]
    InvalidEscape(String),
    /// A field selector value holds an unescaped `,` or `=`.
    #[error("invalid field selector: unescaped character in value: '{0}'")]
    UnescapedCharacter(char),
    /// The field is not selectable for the kind.
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
}

/// A parsed label selector: the AND of its requirements, sorted by key. The empty selector matches everything.
///
/// The grammar, the checks and the canonical text are the proxy's own ([`Selector`], in `policy`): kube-sim
/// reads a `labelSelector` exactly as the proxy that sends it does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelSelector(Selector);

impl LabelSelector {
    /// Parses a label selector as `labels.Parse` does; `""` (or only whitespace) selects everything.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        Ok(Self(Selector::parse(text)?))
    }

    /// Whether an object's `metadata.labels` (absent means no labels) satisfies every requirement.
    ///
    /// Label values are JSON strings; a non-string value (never produced by a real apiserver) is compared by
    /// its JSON text, and `null` as the empty string.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.0.requirements().iter().all(|requirement| {
            let label = labels.and_then(|m| m.get(&requirement.key)).map(label_text);
            requirement.matches_label(label.as_deref())
        })
    }

    /// Whether the selector has no requirements (and so matches everything).
    pub fn is_empty(&self) -> bool {
        self.0.is_everything()
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        self.0.requirements()
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The text of one label value.
fn label_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        other => Cow::Owned(other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Field selectors.

/// One term of a field selector: `field=value` (or `==`) or `field!=value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldTerm {
    field: String,
    value: String,
    negated: bool,
}

impl FieldTerm {
    /// The field path, e.g. `metadata.name`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The unescaped value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether the term is `!=`.
    pub fn is_negated(&self) -> bool {
        self.negated
    }
}

impl fmt::Display for FieldTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.negated { "!=" } else { "=" };
        write!(f, "{}{op}{}", self.field, escape_value(&self.value))
    }
}

/// A parsed field selector: the AND of its terms. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

/// Fields every kind supports.
const COMMON_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];
/// Extra fields pods support.
const POD_FIELDS: &[&str] = &[
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
];

impl FieldSelector {
    /// Parses a field selector as `fields.ParseSelector` does; `""` selects everything.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let mut parts = split_terms(text);
        parts.sort_unstable();
        let mut terms = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let Some((field, negated, raw)) = split_term(part) else {
                return Err(SelectorError::FieldTerm {
                    selector: text.to_owned(),
                    term: part.to_owned(),
                });
            };
            let value = unescape_value(raw)?;
            terms.push(FieldTerm {
                field: field.to_owned(),
                value,
                negated,
            });
        }
        Ok(Self { terms })
    }

    /// Whether the object satisfies every term; a missing field reads as the empty string.
    pub fn matches(&self, object: &Value) -> bool {
        self.terms
            .iter()
            .all(|t| (field_value(object, &t.field) == t.value) != t.negated)
    }

    /// Fails with `field label not supported: <field>` for the first field the kind cannot select on.
    pub fn check_fields(&self, kind: &str) -> Result<(), SelectorError> {
        let pod = kind == "Pod";
        match self.terms.iter().find(|t| {
            let f = t.field.as_str();
            !(COMMON_FIELDS.contains(&f) || (pod && POD_FIELDS.contains(&f)))
        }) {
            Some(t) => Err(SelectorError::UnsupportedField(t.field.clone())),
            None => Ok(()),
        }
    }

    /// Whether the selector has no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The terms, in canonical (sorted) order.
    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }

    /// The value `field` must equal when the selector requires an exact match on it (`field=value`).
    pub fn exact_value(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| !t.negated && t.field == field)
            .map(|t| t.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

/// Splits at unescaped commas, keeping escapes in place.
fn split_terms(text: &str) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(&text[start..i]);
            start = i + 1;
        }
    }
    terms.push(&text[start..]);
    terms
}

/// Splits a term at its first operator (`!=`, `==`, then `=`): (field, negated, raw value).
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        if let Some(value) = rest.strip_prefix("!=") {
            return Some((&term[..i], true, value));
        }
        if let Some(value) = rest.strip_prefix("==") {
            return Some((&term[..i], false, value));
        }
        if let Some(value) = rest.strip_prefix('=') {
            return Some((&term[..i], false, value));
        }
    }
    None
}

/// Resolves `\\`, `\,` and `\=`; any other escape, a trailing `\` or a bare `,`/`=` is an error.
fn unescape_value(raw: &str) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(raw.len());
    let mut escaped = false;
    for c in raw.chars() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(SelectorError::InvalidEscape(format!("\\{c}")));
            }
            out.push(c);
            escaped = false;
        } else {
            match c {
                '\\' => escaped = true,
                ',' | '=' => return Err(SelectorError::UnescapedCharacter(c)),
                _ => out.push(c),
            }
        }
    }
    if escaped {
        return Err(SelectorError::InvalidEscape("\\".to_owned()));
    }
    Ok(out)
}

/// Escapes `\`, `,` and `=` so the value survives [`unescape_value`].
fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The selectable text of a dotted field path in an object; missing or `null` is `""`.
fn field_value(object: &Value, field: &str) -> String {
    let lookup = |path: &str| path.split('.').try_fold(object, |v, segment| v.get(segment));
    let found = match lookup(field) {
        None if field == "status.podIP" => lookup("status.podIPs").and_then(|ips| ips.get(0)?.get("ip")),
        found => found,
    };
    match found {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn labels(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("labels must be an object"),
        }
    }

    fn sel(text: &str) -> LabelSelector {
        LabelSelector::parse(text).unwrap()
    }

    fn matches(text: &str, v: Value) -> bool {
        sel(text).matches(Some(&labels(v)))
    }

    #[test]
    fn empty_selector_matches_everything() {
        for text in ["", "   ", "\t\n"] {
            let s = sel(text);
            assert!(s.is_empty());
            assert!(s.matches(None));
            assert!(s.matches(Some(&labels(json!({"a": "b"})))));
            assert_eq!(s.to_string(), "");
        }
    }

    #[test]
    fn equality_operators() {
        for text in ["app=web", "app==web", " app = web "] {
            assert!(matches(text, json!({"app": "web"})), "{text}");
            assert!(!matches(text, json!({"app": "db"})), "{text}");
            assert!(!matches(text, json!({})), "{text}");
        }
        assert!(sel("app").matches(Some(&labels(json!({"app": ""})))));
        assert!(!sel("app=web").matches(None));
        assert!(matches("app!=web", json!({"app": "db"})));
        assert!(matches("app!=web", json!({})));
        assert!(sel("app!=web").matches(None));
        assert!(!matches("app!=web", json!({"app": "web"})));
        // A missing value is the empty value.
        assert!(matches("app=", json!({"app": ""})));
        assert!(!matches("app=", json!({})));
        assert!(matches("app=,tier=be", json!({"app": "", "tier": "be"})));
    }

    #[test]
    fn set_operators() {
        let s = "env in (prod, staging)";
        assert!(matches(s, json!({"env": "prod"})));
        assert!(matches(s, json!({"env": "staging"})));
        assert!(!matches(s, json!({"env": "dev"})));
        assert!(!matches(s, json!({})));
        let s = "env notin (prod,staging)";
        assert!(!matches(s, json!({"env": "prod"})));
        assert!(matches(s, json!({"env": "dev"})));
        assert!(matches(s, json!({})));
        assert!(matches("env in ()", json!({"env": ""})));
        assert!(matches("env in (,a)", json!({"env": ""})));
        assert!(matches("env in (a,)", json!({"env": ""})));
        assert!(matches("env in (a,,b)", json!({"env": ""})));
        assert!(!matches("env in (a,b)", json!({"env": ""})));
        assert_eq!(sel("env in (b,a,b)").requirements()[0].values(), ["a", "b"]);
    }

    #[test]
    fn existence_operators() {
        assert!(matches("app", json!({"app": "x"})));
        assert!(!matches("app", json!({"other": "x"})));
        assert!(matches("!app", json!({"other": "x"})));
        assert!(!matches("!app", json!({"app": "x"})));
        assert!(sel("!app").matches(None));
        assert!(!sel("app").matches(None));
    }

    #[test]
    fn numeric_operators() {
        assert!(matches("replicas>3", json!({"replicas": "4"})));
        assert!(!matches("replicas>3", json!({"replicas": "3"})));
        assert!(matches("replicas<3", json!({"replicas": "2"})));
        assert!(!matches("replicas<3", json!({"replicas": "x"})));
        assert!(!matches("replicas>3", json!({})));
        assert!(!matches("replicas<3", json!({})));
        // Label values like -1 are invalid, so negative bounds are rejected as Kubernetes does.
        assert!(LabelSelector::parse("a>-1").is_err());
        let err = LabelSelector::parse("a>x").unwrap_err().to_string();
        assert!(err.contains("the value must be an integer"), "{err}");
        assert!(LabelSelector::parse("a>99999999999999999999").is_err());
    }

    #[test]
    fn conjunction_and_keywords_as_names() {
        let s = "app=web,tier in (fe,be),!legacy";
        assert!(matches(s, json!({"app": "web", "tier": "fe"})));
        assert!(!matches(s, json!({"app": "web", "tier": "fe", "legacy": "1"})));
        assert!(!matches(s, json!({"app": "web", "tier": "db"})));
        // `in` and `notin` are ordinary names outside operator position.
        assert!(matches(
            "in in (in),notin=notin",
            json!({"in": "in", "notin": "notin"})
        ));
        assert!(matches("in", json!({"in": "x"})));
    }

    #[test]
    fn qualified_keys() {
        assert!(matches("example.com/app=web", json!({"example.com/app": "web"})));
        assert!(matches(
            "app.kubernetes.io/name",
            json!({"app.kubernetes.io/name": "x"})
        ));
        assert!(LabelSelector::parse("Example.com/app").is_err());
        assert!(LabelSelector::parse("/app").is_err());
        assert!(LabelSelector::parse("a/b/c").is_err());
        assert!(LabelSelector::parse("-app").is_err());
        assert!(LabelSelector::parse(&"a".repeat(64)).is_err());
        assert!(LabelSelector::parse(&"a".repeat(63)).is_ok());
        assert!(LabelSelector::parse(&format!("a={}", "v".repeat(64))).is_err());
        assert!(LabelSelector::parse("a=-v").is_err());
        assert!(LabelSelector::parse("a=v_1.2-x").is_ok());
        assert!(LabelSelector::parse("a in (ok,-bad)").is_err());
    }

    #[test]
    fn error_messages() {
        let cases = [
            ("a,", "found '', expected: identifier after ','"),
            (
                "a b",
                "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt",
            ),
            ("a=b c", "found 'c', expected: ',' or 'end of string'"),
            ("(a", "found '(', expected: !, identifier, or 'end of string'"),
            ("a in b", "unable to parse requirement: found 'b' expected: '('"),
            (
                "a (b)",
                "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt",
            ),
            (
                "a in (b c)",
                "unable to parse requirement: found 'c', expected: ',' or ')'",
            ),
            (
                "a in (b",
                "unable to parse requirement: found '', expected: ',' or ')'",
            ),
            (
                "a in (=)",
                "unable to parse requirement: found '=', expected: ',', ')' or identifier",
            ),
            (
                "a=(",
                "unable to parse requirement: found '(', expected: identifier",
            ),
            ("!=a", "found '!=', expected: !, identifier, or 'end of string'"),
            (
                "!(",
                "unable to parse requirement: found '(', expected: identifier",
            ),
            (
                "a in (b,,)",
                "unable to parse requirement: found ')', expected: ',', or identifier",
            ),
            (
                "a in (b,",
                "unable to parse requirement: found '', expected: ',', or identifier",
            ),
            ("!a=b", "found '=', expected: ',' or 'end of string'"),
            (
                "a===b",
                "unable to parse requirement: found '=', expected: identifier",
            ),
        ];
        for (text, want) in cases {
            let err = LabelSelector::parse(text).unwrap_err();
            assert_eq!(err.to_string(), want, "{text}");
        }
        let err = LabelSelector::parse("A_/b").unwrap_err().to_string();
        assert!(
            err.starts_with("unable to parse requirement: key: Invalid value: \"A_/b\": prefix part"),
            "{err}"
        );
        let err = LabelSelector::parse("a=b!").unwrap_err().to_string();
        assert_eq!(err, "found '!', expected: ',' or 'end of string'");
    }

    #[test]
    fn canonical_display() {
        assert_eq!(
            sel("z=1, a in (c,b), !m, k, n!=v, g>5, h<7, d==x, e notin (y,x)").to_string(),
            "a in (b,c),d==x,e notin (x,y),g>5,h<7,k,!m,n!=v,z=1"
        );
        assert_eq!(sel("a in ()").to_string(), "a in ()");
        assert_eq!(sel("a=").to_string(), "a=");
        assert_eq!(sel("a in (,b)").to_string(), "a in (,b)");
    }

    #[test]
    fn non_string_label_values() {
        assert!(matches("a=1", json!({"a": 1})));
        assert!(matches("a=true", json!({"a": true})));
        assert!(matches("a=", json!({"a": null})));
    }

    #[test]
    fn field_selector_basics() {
        let pod = json!({
            "metadata": {"name": "web-0", "namespace": "oil"},
            "spec": {"nodeName": "node-1"},
            "status": {"phase": "Running"}
        });
        let f = |t: &str| FieldSelector::parse(t).unwrap();
        assert!(f("").matches(&pod));
        assert!(f("").is_empty());
        assert!(f("metadata.name=web-0").matches(&pod));
        assert!(f("metadata.name==web-0").matches(&pod));
        assert!(!f("metadata.name!=web-0").matches(&pod));
        assert!(f("metadata.namespace=oil,status.phase!=Pending").matches(&pod));
        assert!(!f("metadata.namespace=oil,status.phase=Pending").matches(&pod));
        // Missing fields compare as the empty string.
        assert!(f("status.podIP=").matches(&pod));
        assert!(f("spec.schedulerName!=default-scheduler").matches(&pod));
        assert!(!f("status.nominatedNodeName=x").matches(&pod));
        // podIP falls back to podIPs[0].ip.
        assert!(f("status.podIP=10.0.0.1").matches(&json!({"status": {"podIPs": [{"ip": "10.0.0.1"}]}})));
        assert_eq!(
            f("metadata.name=a,metadata.namespace=b").exact_value("metadata.namespace"),
            Some("b")
        );
        assert_eq!(f("metadata.name!=a").exact_value("metadata.name"), None);
    }

    #[test]
    fn field_selector_escapes() {
        let s = FieldSelector::parse(r"metadata.name=a\,b\=c\\d").unwrap();
        assert_eq!(s.terms().len(), 1);
        assert_eq!(s.terms()[0].value(), r"a,b=c\d");
        assert!(s.matches(&json!({"metadata": {"name": r"a,b=c\d"}})));
        assert_eq!(s.to_string(), r"metadata.name=a\,b\=c\\d");
        // `!` needs no escape; the first operator splits the term.
        let s = FieldSelector::parse("metadata.name!=a!b").unwrap();
        assert!(s.terms()[0].is_negated());
        assert_eq!(s.terms()[0].value(), "a!b");
        assert_eq!(
            FieldSelector::parse(r"metadata.name=a\x")
                .unwrap_err()
                .to_string(),
            r"invalid field selector: invalid escape sequence: \x"
        );
        assert_eq!(
            FieldSelector::parse(r"metadata.name=a\").unwrap_err().to_string(),
            r"invalid field selector: invalid escape sequence: \"
        );
        assert_eq!(
            FieldSelector::parse("metadata.name=a=b").unwrap_err().to_string(),
            "invalid field selector: unescaped character in value: '='"
        );
        assert_eq!(
            FieldSelector::parse("metadata.name").unwrap_err().to_string(),
            "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
        );
        // Empty terms are skipped, terms are sorted, `==` is rendered `=`.
        let s = FieldSelector::parse("spec.nodeName==n,,metadata.name=a,").unwrap();
        assert_eq!(s.to_string(), "metadata.name=a,spec.nodeName=n");
    }

    #[test]
    fn field_support_by_kind() {
        let s = FieldSelector::parse("metadata.name=a,spec.nodeName=n").unwrap();
        assert!(s.check_fields("Pod").is_ok());
        assert_eq!(
            s.check_fields("Namespace").unwrap_err().to_string(),
            "field label not supported: spec.nodeName"
        );
        let s = FieldSelector::parse("spec.foo=x").unwrap();
        assert_eq!(
            s.check_fields("Pod").unwrap_err(),
            SelectorError::UnsupportedField("spec.foo".into())
        );
        assert!(
            FieldSelector::parse("metadata.namespace=x")
                .unwrap()
                .check_fields("ConfigMap")
                .is_ok()
        );
    }

    fn key_strategy() -> impl Strategy<Value = String> {
        let name = "[A-Za-z0-9]([A-Za-z0-9_.-]{0,8}[A-Za-z0-9])?";
        prop_oneof![
            name,
            ("[a-z0-9]{1,4}(\\.[a-z0-9]{1,3})?", name).prop_map(|(p, n)| format!("{p}/{n}")),
            Just("in".to_owned()),
            Just("notin".to_owned()),
        ]
    }

    fn value_strategy() -> impl Strategy<Value = String> {
        "([A-Za-z0-9]([A-Za-z0-9_.-]{0,6}[A-Za-z0-9])?)?"
    }

    fn requirement_text() -> impl Strategy<Value = String> {
        (
            key_strategy(),
            0..9u8,
            prop::collection::vec(value_strategy(), 1..4),
            0..1000u32,
        )
            .prop_map(|(k, op, mut vals, n)| match op {
                0 => format!("{k}={}", vals[0]),
                1 => format!("{k}=={}", vals[0]),
                2 => format!("{k} != {}", vals[0]),
                3 | 4 => {
                    // Sorted and de-duplicated, an empty value can only lead: `(,a)` (valid), never `(a,,)`.
                    vals.sort();
                    vals.dedup();
                    let op = if op == 3 { "in" } else { "notin" };
                    format!("{k} {op} ({})", vals.join(","))
                }
                5 => k,
                6 => format!("!{k}"),
                7 => format!("{k}>{n}"),
                _ => format!("{k} < {n}"),
            })
    }

    proptest! {
        #[test]
        fn label_selector_display_round_trips(reqs in prop::collection::vec(requirement_text(), 0..5)) {
            let text = reqs.join(",");
            let parsed = LabelSelector::parse(&text).unwrap();
            let rendered = parsed.to_string();
            let reparsed = LabelSelector::parse(&rendered).unwrap();
            prop_assert_eq!(&reparsed, &parsed);
            prop_assert_eq!(reparsed.to_string(), rendered);
        }

        #[test]
        fn field_selector_display_round_trips(value in "[a-z,=\\\\!.]{0,8}") {
            let text = format!("metadata.name={}", escape_value(&value));
            let parsed = FieldSelector::parse(&text).unwrap();
            prop_assert_eq!(parsed.terms()[0].value(), value.as_str());
            prop_assert_eq!(FieldSelector::parse(&parsed.to_string()).unwrap(), parsed);
        }
    }
}
