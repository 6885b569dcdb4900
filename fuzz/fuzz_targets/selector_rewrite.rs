//! Label selectors: parse / print / parse, and `rewrite_query` never widening what a filtered request sees.
//!
//! Input: UTF-8 text; the first line is the proxy's selector (a fixed tenant selector when it does not
//! parse), the rest the raw query. Every text that parses prints to text that parses back to an equal
//! selector. When `rewrite_query` succeeds, the result has every other pair byte for byte and in order, and
//! exactly one `labelSelector` (none only when nothing restricts), whose selector is the AND of the proxy's and
//! the caller's: structurally it keeps every proxy requirement (or matches nothing), and on label sets drawn
//! from the input it matches exactly when the proxy's and every caller selector match, and `query_value` reads
//! the query too. When it fails, the output is empty, and a malformed query makes `query_value` fail as well.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use capsule_proxy_fuzz::knobs::Xorshift;
use capsule_proxy_fuzz::query_pairs::pairs;
use capsule_proxy_policy::selector::{QueryError, Selector, query_value, rewrite_query};
use libfuzzer_sys::fuzz_target;

const LABEL_SELECTOR: &str = "labelSelector";

/// The proxy selector used when the input's first line does not parse.
const DEFAULT_PROXY: &str = "capsule.clastix.io/tenant in (gas,oil)";

/// Parses `text`; when it parses, its printed form must parse back to an equal selector.
fn parse_round_trip(text: &str) -> Option<Selector> {
    let selector = Selector::parse(text).ok()?;
    let printed = selector.to_string();
    match Selector::parse(&printed) {
        Ok(again) => {
            assert_eq!(
                again, selector,
                "{text:?} printed as {printed:?} parses to another selector"
            );
            assert_eq!(again.to_string(), printed, "printing is not stable");
        }
        Err(e) => panic!("{text:?} printed as {printed:?} does not parse: {e}"),
    }
    Some(selector)
}

/// Label sets over the keys the selectors name, with values they name plus a few others.
fn label_sets(selectors: &[&Selector], seed: u32) -> Vec<BTreeMap<String, String>> {
    let mut keys = BTreeSet::new();
    let mut values: BTreeSet<String> = ["", "other", "0", "7", "-7"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    for selector in selectors {
        for requirement in selector.requirements() {
            keys.insert(requirement.key.clone());
            values.extend(requirement.values.iter().cloned());
        }
    }
    let keys: Vec<String> = keys.into_iter().collect();
    let values: Vec<String> = values.into_iter().collect();
    let mut rng = Xorshift::new(seed);
    (0..24)
        .map(|_| {
            keys.iter()
                .filter_map(|key| {
                    let pick = rng.below(values.len() + 1);
                    values.get(pick).map(|v| (key.clone(), v.clone()))
                })
                .collect()
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    parse_round_trip(text);
    let (proxy_text, query) = text.split_once('\n').unwrap_or((text, ""));
    let proxy = parse_round_trip(proxy_text)
        .or_else(|| Selector::parse(DEFAULT_PROXY).ok())
        .unwrap_or_else(Selector::nothing);

    let mut out = String::from("left over");
    let result = rewrite_query(query, &proxy, &mut out);
    let value = query_value(query, LABEL_SELECTOR);
    let input_pairs = pairs(query);
    let caller_values: Vec<&str> = input_pairs
        .iter()
        .filter(|p| p.key.as_deref() == Some(LABEL_SELECTOR))
        .filter_map(|p| p.value.as_deref())
        .collect();

    if let Err(e) = &result {
        assert!(out.is_empty(), "a failed rewrite left {out:?}");
        // `rewrite_query` stops at the first bad selector; a malformed pair after it may still make
        // `query_value` refuse. Any other refusal is about the query's syntax, which both read alike.
        if !matches!(e, QueryError::Selector(_)) {
            assert!(
                value.is_err(),
                "query_value read what rewrite_query refused ({e})"
            );
        }
        return;
    }
    let first = value.unwrap_or_else(|e| panic!("query_value refused what rewrite_query read: {e}"));
    assert_eq!(
        first.as_deref(),
        caller_values.first().copied(),
        "query_value's labelSelector"
    );

    let callers: Vec<Selector> = caller_values
        .iter()
        .map(|v| parse_round_trip(v).unwrap_or_else(|| panic!("rewrite_query accepted selector {v:?}")))
        .collect();

    let output_pairs = pairs(&out);
    let others = |ps: &[capsule_proxy_fuzz::query_pairs::Pair<'_>]| -> Vec<String> {
        ps.iter()
            .filter(|p| p.key.as_deref() != Some(LABEL_SELECTOR))
            .map(|p| p.raw.to_owned())
            .collect()
    };
    assert_eq!(
        others(&output_pairs),
        others(&input_pairs),
        "other pairs changed: {query:?} → {out:?}"
    );

    let written: Vec<&str> = output_pairs
        .iter()
        .filter(|p| p.key.as_deref() == Some(LABEL_SELECTOR))
        .map(|p| {
            p.value
                .as_deref()
                .unwrap_or_else(|| panic!("undecodable labelSelector in {out:?}"))
        })
        .collect();
    let unrestricted = proxy.is_everything() && callers.iter().all(Selector::is_everything);
    let combined = match written.as_slice() {
        [] if unrestricted => return,
        [one] => {
            parse_round_trip(one).unwrap_or_else(|| panic!("written labelSelector {one:?} does not parse"))
        }
        _ => panic!(
            "{} labelSelector pairs written for {query:?} with proxy {proxy}: {out:?}",
            written.len()
        ),
    };

    if !combined.is_nothing() {
        for requirement in proxy.requirements() {
            assert!(
                combined.requirements().contains(requirement),
                "proxy requirement {requirement} dropped: {query:?} → {out:?}"
            );
        }
    }
    let mut all: Vec<&Selector> = vec![&proxy, &combined];
    all.extend(callers.iter());
    let seed = data
        .iter()
        .fold(0u32, |h, &b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    for labels in label_sets(&all, seed) {
        let want = proxy.matches(&labels) && callers.iter().all(|c| c.matches(&labels));
        assert_eq!(
            combined.matches(&labels),
            want,
            "written {combined} vs proxy {proxy} AND callers {callers:?} on {labels:?}"
        );
    }
});
