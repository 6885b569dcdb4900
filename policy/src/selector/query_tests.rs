//! Table tests of the query rewrite, of reading one parameter, and of `watch`.

use super::*;

fn parsed(text: &str) -> Selector {
    match Selector::parse(text) {
        Ok(selector) => selector,
        Err(error) => panic!("{text:?} refused: {error}"),
    }
}

fn rewritten(query: &str, add: &str) -> Result<String, QueryError> {
    let mut out = String::from("stale");
    rewrite_query(query, &parsed(add), &mut out).map(|()| out)
}

#[test]
fn rewrites() {
    let names = "kubernetes.io/metadata.name in (a,b)";
    let names_encoded = "labelSelector=kubernetes.io%2Fmetadata.name+in+%28a%2Cb%29";
    let cases: Vec<(&str, &str, String)> = vec![
        ("", names, names_encoded.to_owned()),
        ("", "", String::new()),
        (
            "watch=1&resourceVersion=5",
            names,
            format!("watch=1&resourceVersion=5&{names_encoded}"),
        ),
        (
            "limit=500&labelSelector=app%3Dweb",
            "x=1",
            "limit=500&labelSelector=app%3Dweb%2Cx%3D1".to_owned(),
        ),
        (
            "labelSelector=app%3Dweb&limit=500",
            "",
            "limit=500&labelSelector=app%3Dweb".to_owned(),
        ),
        (
            "labelSelector=b&labelSelector=a",
            "c",
            "labelSelector=a%2Cb%2Cc".to_owned(),
        ),
        (
            "label%53elector=a&labelSelector=b",
            "",
            "labelSelector=a%2Cb".to_owned(),
        ),
        (
            "labelSelector=a+in+%28x%2Cy%29",
            "",
            "labelSelector=a+in+%28x%2Cy%29".to_owned(),
        ),
        (
            "labelSelector=a%20notin%20(x)",
            "",
            "labelSelector=a+notin+%28x%29".to_owned(),
        ),
        ("labelSelector=!a", "b", "labelSelector=%21a%2Cb".to_owned()),
        ("labelSelector=&x=1", "", "x=1".to_owned()),
        ("labelSelector&x=1", "", "x=1".to_owned()),
        ("labelSelector=+&x=1", "a", "x=1&labelSelector=a".to_owned()),
        (
            "labelSelector=a&labelSelector=a",
            "a",
            "labelSelector=a".to_owned(),
        ),
        (
            "labelSelector=a",
            "!a",
            "labelSelector=dontexistsignoreme%2C%21dontexistsignoreme".to_owned(),
        ),
        ("&&a=1&&", "", "a=1".to_owned()),
        ("&&a=1&&", "b", "a=1&labelSelector=b".to_owned()),
        (
            "labelselector=x&LabelSelector=y",
            "",
            "labelselector=x&LabelSelector=y".to_owned(),
        ),
        (
            "fieldSelector=metadata.name%3Dx&continue=abc%3D%3D&timeoutSeconds=30&x=a+b&=&==&k",
            "",
            "fieldSelector=metadata.name%3Dx&continue=abc%3D%3D&timeoutSeconds=30&x=a+b&=&==&k".to_owned(),
        ),
        ("q=%C3%A9", "a>5", "q=%C3%A9&labelSelector=a%3E5".to_owned()),
    ];
    for (query, add, expected) in cases {
        assert_eq!(
            rewritten(query, add).as_deref(),
            Ok(expected.as_str()),
            "{query:?} + {add:?}"
        );
    }
}

#[test]
fn refused_queries_leave_out_empty() {
    let cases = [
        ("a=1;b=2", QueryError::Semicolon),
        ("labelSelector=a;b", QueryError::Semicolon),
        ("a=%zz", QueryError::InvalidEscape("%zz".to_owned())),
        ("a=%4", QueryError::InvalidEscape("%4".to_owned())),
        ("a=%", QueryError::InvalidEscape("%".to_owned())),
        ("label%5Selector=a", QueryError::InvalidEscape("%5S".to_owned())),
        ("%ff=1", QueryError::NotUtf8("%ff".to_owned())),
        ("x=%C3", QueryError::NotUtf8("%C3".to_owned())),
    ];
    for (query, expected) in cases {
        let mut out = String::from("stale");
        assert_eq!(
            rewrite_query(query, &Selector::everything(), &mut out),
            Err(expected),
            "{query:?}"
        );
        assert_eq!(out, "", "{query:?}");
    }
    for query in [
        "labelSelector=a+b",
        "labelSelector=a+in+(x&labelSelector=,b)",
        "labelSelector=a%2C",
        "labelSelector=a%00",
        "labelSelector=x%3D%3Da%3D%3Db",
        "labelSelector=(a)",
    ] {
        assert!(
            matches!(rewritten(query, "z"), Err(QueryError::Selector(_))),
            "{query:?} accepted"
        );
    }
}

#[test]
fn query_value_reads_the_first_decoded_value() {
    let value = |query: &str, key: &str| query_value(query, key).map(|v| v.map(|v| v.into_owned()));
    assert_eq!(value("a=1&b=2&a=3", "a"), Ok(Some("1".to_owned())));
    assert_eq!(value("a=1&b=x+y%21", "b"), Ok(Some("x y!".to_owned())));
    assert_eq!(value("%61=1", "a"), Ok(Some("1".to_owned())));
    assert_eq!(value("a+b=1", "a b"), Ok(Some("1".to_owned())));
    assert_eq!(value("a", "a"), Ok(Some(String::new())));
    assert_eq!(value("a=1", "b"), Ok(None));
    assert_eq!(value("", "a"), Ok(None));
    assert_eq!(
        value("a=1&b=%zz", "a"),
        Err(QueryError::InvalidEscape("%zz".to_owned()))
    );
    assert_eq!(value("a=1&b;", "a"), Err(QueryError::Semicolon));
    assert!(matches!(
        query_value("a=plain", "a"),
        Ok(Some(std::borrow::Cow::Borrowed("plain")))
    ));
}

#[test]
fn watch_uses_go_parse_bool() {
    for query in [
        "watch=1",
        "watch=t",
        "watch=T",
        "watch=TRUE",
        "watch=true",
        "watch=True",
        "a=b&%77atch=T",
    ] {
        assert!(is_watch(query), "{query:?}");
    }
    for query in [
        "",
        "watch",
        "watch=",
        "watch=0",
        "watch=false",
        "watch=yes",
        "watch=tRUE",
        "watch=false&watch=true",
        "watch=true;",
        "watch=true&x=%zz",
        "Watch=true",
    ] {
        assert!(!is_watch(query), "{query:?}");
    }
}

#[test]
fn query_without_drops_pairs_by_decoded_key_and_keeps_the_rest_verbatim() {
    let mut out = String::new();
    query_without(
        "limit=5&labelSelector=a%3Db&%63ontinue=x&&watch=1&limit=7",
        &["limit", "continue"],
        &mut out,
    )
    .unwrap();
    assert_eq!(out, "labelSelector=a%3Db&watch=1");
    query_without("", &["limit"], &mut out).unwrap();
    assert_eq!(out, "");
    assert_eq!(
        query_without("a=1&b=%zz", &["limit"], &mut out),
        Err(QueryError::InvalidEscape("%zz".into()))
    );
    assert_eq!(out, "", "left empty on error");
    assert_eq!(
        query_without("a=1;b=2", &[], &mut out),
        Err(QueryError::Semicolon)
    );
    push_query_pair(&mut out, "continue", "eyJ2Ijo+/=");
    push_query_pair(&mut out, "limit", "500");
    assert_eq!(out, "continue=eyJ2Ijo%2B%2F%3D&limit=500");
}
