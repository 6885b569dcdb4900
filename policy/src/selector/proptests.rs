//! Properties: printing round-trips, union is exact, and no caller query widens the proxy's selector.

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use super::query::{decode, push_query_escaped};
use super::*;

/// How many cases each selector property runs.
const SELECTOR_CASES: u32 = 4_096;

/// Keys the label maps use, so that selectors and labels meet often.
const KEYS: [&str; 5] = ["a", "b", "in", "app", "example.com/x"];
/// Values the label maps use.
const VALUES: [&str; 8] = ["", "x", "y", "1", "5", "in", "-3", "v2"];

pub(super) fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&KEYS[..]).prop_map(str::to_owned),
        1 => "([a-z0-9]{1,4}(\\.[a-z0-9]{1,4}){0,2}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&VALUES[..]).prop_map(str::to_owned),
        1 => "[A-Za-z0-9]([-A-Za-z0-9_.]{0,6}[A-Za-z0-9])?",
        1 => Just("notin".to_owned()),
    ]
}

fn operator() -> impl Strategy<Value = Operator> {
    prop::sample::select(
        &[
            Operator::Equals,
            Operator::DoubleEquals,
            Operator::NotEquals,
            Operator::In,
            Operator::NotIn,
            Operator::Exists,
            Operator::DoesNotExist,
            Operator::GreaterThan,
            Operator::LessThan,
        ][..],
    )
}

/// What a requirement is drawn from: a key, an operator, values and a number.
pub(super) type RequirementParts = (String, Operator, Vec<String>, String);

pub(super) fn requirement_parts() -> impl Strategy<Value = RequirementParts> {
    (key(), operator(), vec(value(), 1..4), "[0-9]{1,3}")
}

/// The requirement of `parts` (the values the operator takes), when apimachinery accepts it.
pub(super) fn build_requirement((key, operator, values, number): RequirementParts) -> Option<Requirement> {
    let values = match operator {
        Operator::In | Operator::NotIn => values,
        Operator::Exists | Operator::DoesNotExist => Vec::new(),
        Operator::GreaterThan | Operator::LessThan => vec![number],
        _ => values.into_iter().take(1).collect(),
    };
    Requirement::new(&key, operator, &values).ok()
}

pub(super) fn requirement() -> impl Strategy<Value = Requirement> {
    requirement_parts().prop_filter_map("a valid requirement", build_requirement)
}

pub(super) fn selector() -> impl Strategy<Value = Selector> {
    vec(requirement(), 0..4).prop_filter_map("a valid selector", |r| Selector::from_requirements(r).ok())
}

pub(super) fn label_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(
        prop::sample::select(&KEYS[..]).prop_map(str::to_owned),
        prop::sample::select(&VALUES[..]).prop_map(str::to_owned),
        0..4,
    )
}

/// Pieces of hostile caller queries: selector fragments split and encoded in every way, stray separators.
fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(
        &[
            "a",
            "!a",
            "a=x",
            "a==x",
            "a!=x",
            "a in (x",
            ",b)",
            "a notin (x)",
            "b in (x,y)",
            "a>1",
            "in",
            "(",
            ")",
            ",",
            "=",
            "!=",
            "+",
            "%2C",
            "%28",
            "%29",
            "%3D",
            "%21",
            "%2c",
            "%20",
            "%",
            "%2",
            "a%2Cb",
            "app",
            "x",
            "",
            "notin",
            "in+(y)",
            "example.com/x",
        ][..],
    )
}

fn query_piece() -> impl Strategy<Value = String> {
    let selector_key = prop::sample::select(
        &[
            "labelSelector",
            "label%53elector",
            "labelSelector%3D",
            "%6c%61belSelector",
            "labelselector",
            "label+Selector",
        ][..],
    );
    prop_oneof![
        1 => (selector_key.clone(), vec(fragment(), 0..4))
            .prop_map(|(key, parts)| format!("{key}={}", parts.concat())),
        1 => (
            prop::sample::select(&["labelSelector", "watch", "limit", "x"][..]),
            vec(fragment(), 0..3)
        )
            .prop_map(|(key, parts)| format!("{key}={}", parts.concat())),
        2 => (selector_key.clone(), selector_text()).prop_map(|(key, text)| {
            let mut pair = format!("{key}=");
            push_query_escaped(&mut pair, &text);
            pair
        }),
        4 => (selector_key, selector(), any::<bool>()).prop_map(|(key, selector, escape)| {
            let text = selector.to_string();
            let mut pair = format!("{key}=");
            if escape {
                push_query_escaped(&mut pair, &text);
            } else {
                pair.push_str(&text.replace(' ', "+"));
            }
            pair
        }),
        1 => vec(fragment(), 0..3).prop_map(|parts| parts.concat()),
        1 => Just("watch=1".to_owned()),
        1 => Just("resourceVersion=0&limit=500".to_owned()),
        1 => Just(String::new()),
    ]
}

pub(super) fn hostile_query() -> impl Strategy<Value = String> {
    vec(query_piece(), 0..6).prop_map(|pieces| pieces.join("&"))
}

/// Selector text: mostly requirements written as a caller might (words, operators, blanks, value lists)
/// joined by commas, where a word may be a keyword or a value no label can hold; else grammar symbols, words
/// and blanks in any order.
pub(super) fn selector_text() -> impl Strategy<Value = String> {
    let token = prop::sample::select(
        &[
            "a", "b", "in", "notin", "x", "1", "=", "==", "!=", "!", "(", ")", ",", ">", "<", " ", "  ",
            "\t", "-",
        ][..],
    );
    let separator = prop::sample::select(&[",", ",", ",", ",", ", ", " ,", ",,"][..]);
    prop_oneof![
        3 => (vec(clause(), 1..4), separator).prop_map(|(clauses, separator)| clauses.join(separator)),
        1 => vec(token, 0..12).prop_map(|tokens| tokens.concat()),
    ]
}

/// One requirement's text: `k=v`, `k == v`, `k!=v`, `k in (v,w)`, `k notin (v)`, `k`, `!k`, `k>1`, with blanks
/// around the operators.
fn clause() -> impl Strategy<Value = String> {
    // Mostly what apimachinery accepts; sometimes a keyword, an empty key or a value no label can hold.
    let key = || {
        prop_oneof![
            8 => prop::sample::select(&["a", "b", "app", "example.com/x", "A.b_c", "x"][..]),
            1 => prop::sample::select(&["in", "notin", "", "-3", "a/b/c"][..]),
        ]
    };
    let word = || {
        prop_oneof![
            8 => prop::sample::select(&["x", "1", "v2", "A.b_c", "", "in"][..]),
            1 => prop::sample::select(&["-3", "example.com/x", "a b", "notin"][..]),
        ]
    };
    let blank = || prop::sample::select(&["", "", "", " ", "  ", "\t"][..]);
    let equality = prop::sample::select(&["=", "==", "!="][..]);
    let set = prop::sample::select(&["in", "notin"][..]);
    let order = prop::sample::select(&[">", "<"][..]);
    let number = prop::sample::select(&["1", "10", "007", "-3", "1", "x"][..]);
    prop_oneof![
        (key(), blank(), equality, blank(), word())
            .prop_map(|(k, b1, op, b2, v)| format!("{k}{b1}{op}{b2}{v}")),
        (key(), blank(), set, blank(), vec(word(), 1..3), blank())
            .prop_map(|(k, b1, op, b2, values, b3)| format!("{k}{b1} {op}{b2}({}){b3}", values.join(","))),
        (blank(), key()).prop_map(|(b, k)| format!("{b}{k}")),
        (blank(), key()).prop_map(|(b, k)| format!("{b}!{k}")),
        (key(), order, blank(), number).prop_map(|(k, op, b, n)| format!("{k}{op}{b}{n}")),
    ]
}

/// Sets of selectors for the union: unrelated ones, or a family sharing requirements, each member adding its
/// own requirement on the family's key (mostly positive), sometimes one member on another key: so that many
/// families have an exact union and many do not.
pub(super) fn selector_family() -> impl Strategy<Value = Vec<Selector>> {
    let own = || {
        let operator = prop::sample::select(
            &[
                Operator::Equals,
                Operator::DoubleEquals,
                Operator::In,
                Operator::In,
                Operator::Equals,
                Operator::In,
                Operator::NotEquals,
                Operator::Exists,
            ][..],
        );
        (operator, vec(value(), 1..3))
    };
    let keys = prop::sample::select(&[("a", "b"), ("b", "a"), ("app", "a")][..]);
    let family = (
        vec(requirement(), 0..3),
        keys,
        vec(own(), 2..4),
        prop::option::weighted(0.2, own()),
    )
        .prop_map(|(shared, (key, other_key), owns, stray)| {
            let owns = owns.into_iter().map(|own| (key, own));
            owns.chain(stray.map(|own| (other_key, own)))
                .filter_map(|(key, (operator, values))| {
                    let values = match operator {
                        Operator::In => &values[..],
                        Operator::Exists => &values[..0],
                        _ => &values[..1],
                    };
                    let own = Requirement::new(key, operator, values).ok()?;
                    let others = shared.iter().filter(|r| r.key != key).cloned();
                    Selector::from_requirements(others.chain([own])).ok()
                })
                .collect::<Vec<_>>()
        });
    prop_oneof![1 => vec(selector(), 0..4), 4 => family]
}

/// The positive requirements on one key the union property varies, each with its values.
pub(super) type Varying = Vec<(Operator, Vec<String>)>;

pub(super) fn varying() -> impl Strategy<Value = Varying> {
    let positive = prop::sample::select(&[Operator::Equals, Operator::DoubleEquals, Operator::In][..]);
    vec((positive, vec(value(), 1..3)), 2..4)
}

/// One selector per varying requirement on `key`, each with the `shared` requirements on other keys.
pub(super) fn varying_selectors(shared: &[Requirement], varying: &Varying, key: &str) -> Vec<Selector> {
    varying
        .iter()
        .filter_map(|(operator, values)| {
            let values = if *operator == Operator::In {
                &values[..]
            } else {
                &values[..1]
            };
            let own = Requirement::new(key, *operator, values).ok()?;
            let others = shared.iter().filter(|r| r.key != key).cloned();
            Selector::from_requirements(others.chain([own])).ok()
        })
        .collect()
}

/// Whether `query` is one the rewrite must refuse, read without its code path: a pair that does not decode
/// (`query_value` checks every pair), or a `labelSelector` value that is no selector.
fn refusal_explained(query: &str) -> bool {
    query_value(query, "").is_err()
        || query.split('&').filter(|pair| !pair.is_empty()).any(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            decode(key).is_ok_and(|key| key == "labelSelector")
                && decode(value).map_or(true, |text| Selector::parse(&text).is_err())
        })
}

/// The caller's selectors of `query`, read without the rewrite's code path: split, decode, compare.
pub(super) fn caller_selectors(query: &str) -> Vec<Selector> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(key).ok()?;
            (key == "labelSelector")
                .then(|| Selector::parse(&decode(value).ok()?).ok())
                .flatten()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(SELECTOR_CASES))]

    #[test]
    fn printed_selectors_parse_back_equal(selector in selector()) {
        let text = selector.to_string();
        prop_assert_eq!(Selector::parse(&text), Ok(selector), "{}", text);
    }

    #[test]
    fn accepted_text_prints_to_an_equal_selector(text in selector_text()) {
        let padded = format!(" {text}\t");
        match Selector::parse(&text) {
            Ok(selector) => {
                let printed = selector.to_string();
                let again = Selector::parse(&printed).map(|s| s.to_string());
                prop_assert_eq!(again, Ok(printed.clone()), "{:?}", text);
                let reparsed = Selector::parse(&printed);
                prop_assert_eq!(reparsed, Ok(selector.clone()), "{:?} printed {:?}", text, printed);
                prop_assert_eq!(Selector::parse(&padded), Ok(selector));
            }
            // Blanks around refused text do not make it acceptable.
            Err(_) => prop_assert!(Selector::parse(&padded).is_err(), "{:?}", padded),
        }
    }

    #[test]
    fn and_matches_both(left in selector(), right in selector(), labels in label_map()) {
        let both = left.and(&right);
        prop_assert_eq!(both.matches(&labels), left.matches(&labels) && right.matches(&labels));
        prop_assert_eq!(Selector::parse(&both.to_string()), Ok(both));
    }

    #[test]
    fn union_is_exact(selectors in selector_family(), maps in vec(label_map(), 1..8)) {
        if let Some(union) = Selector::union(&selectors) {
            for labels in &maps {
                let any = selectors.iter().any(|s| s.matches(labels));
                prop_assert_eq!(union.matches(labels), any, "{} on {:?}", union, labels);
            }
        }
    }

    #[test]
    fn union_merges_selectors_differing_in_one_positive_requirement(
        shared in vec(requirement(), 0..3),
        varying in varying(),
        key in key(),
        maps in vec(label_map(), 1..8),
    ) {
        let selectors = varying_selectors(&shared, &varying, &key);
        let union = Selector::union(&selectors);
        prop_assert!(union.is_some(), "{:?}", selectors);
        if let Some(union) = union {
            for labels in &maps {
                prop_assert_eq!(union.matches(labels), selectors.iter().any(|s| s.matches(labels)));
            }
        }
    }

    #[test]
    fn a_caller_query_never_widens_the_proxy_selector(
        query in hostile_query(),
        add in selector(),
        maps in vec(label_map(), 1..8),
    ) {
        let mut out = String::new();
        if rewrite_query(&query, &add, &mut out).is_ok() {
            let selector_pairs = out.split('&').filter(|p| p.starts_with("labelSelector=")).count();
            prop_assert!(selector_pairs <= 1, "{}", out);
            let text = query_value(&out, "labelSelector");
            prop_assert!(text.is_ok(), "rewritten query {:?} unreadable", out);
            let sent = match text {
                Ok(Some(text)) => Selector::parse(&text),
                _ => Ok(Selector::everything()),
            };
            prop_assert!(sent.is_ok(), "{} does not parse", out);
            let sent = sent.unwrap_or_default();
            let callers = caller_selectors(&query);
            for labels in &maps {
                if sent.matches(labels) {
                    prop_assert!(add.matches(labels), "{:?} + {} widened to {} on {:?}",
                        query, add, sent, labels);
                }
                let expected = add.matches(labels) && callers.iter().all(|c| c.matches(labels));
                prop_assert_eq!(sent.matches(labels), expected, "{:?} + {} sent {}", query, add, sent);
            }
        } else {
            prop_assert!(out.is_empty(), "{:?} refused but wrote {:?}", query, out);
            prop_assert!(refusal_explained(&query), "{:?} refused", query);
        }
    }

    #[test]
    fn other_parameters_survive_verbatim(query in hostile_query(), add in selector()) {
        let mut out = String::new();
        if rewrite_query(&query, &add, &mut out).is_ok() {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| !pair.is_empty())
                .filter(|pair| {
                    let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
                    decode(key).map_or(true, |k| k != "labelSelector")
                })
                .collect();
            let written: Vec<&str> = out.split('&').collect();
            let combined = caller_selectors(&query).iter().fold(add.clone(), |all, c| all.and(c));
            let (others, selector) = match written.split_last() {
                Some((last, others)) if last.starts_with("labelSelector=") => (others, Some(*last)),
                _ => (&written[..], None),
            };
            let others: Vec<&str> = others.iter().copied().filter(|p| !p.is_empty()).collect();
            prop_assert_eq!(others, kept, "{:?} rewrote to {:?}", query, out);
            let expected_selector = !combined.is_everything();
            prop_assert_eq!(selector.is_some(), expected_selector, "{:?} rewrote to {:?}", query, out);
            prop_assert!(!out.starts_with('&') && !out.ends_with('&') && !out.contains("&&"), "{:?}", out);
        }
    }
}
