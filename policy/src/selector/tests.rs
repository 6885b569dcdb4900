//! Grammar corners, printing, matching and the selector algebra, against apimachinery's behaviour.

use std::collections::BTreeMap;

use super::*;
use crate::model::SelectorRequirement;

/// Label pairs of a test case.
type Pairs = &'static [(&'static str, &'static str)];

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn parsed(text: &str) -> Selector {
    match Selector::parse(text) {
        Ok(selector) => selector,
        Err(error) => panic!("{text:?} refused: {error}"),
    }
}

#[test]
fn accepted_texts_print_canonically() {
    let cases = [
        ("", ""),
        ("   \t\r\n ", ""),
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("z=c,x=a,y=b", "x=a,y=b,z=c"),
        ("x!=a,y=b", "x!=a,y=b"),
        ("x=", "x="),
        ("x= ", "x="),
        ("x=,z= ", "x=,z="),
        ("x= ,z= ", "x=,z="),
        ("!x", "!x"),
        ("! x", "!x"),
        ("x>1", "x>1"),
        ("x>1,z<5", "x>1,z<5"),
        ("x > 007", "x>007"),
        ("x==a", "x==a"),
        (" x == a , y ", "x==a,y"),
        ("x in (b,a,b)", "x in (a,b)"),
        ("x in(a)", "x in (a)"),
        ("x notin ( a , b )", "x notin (a,b)"),
        ("x in ()", "x in ()"),
        ("x in (,)", "x in ()"),
        ("x in (a,)", "x in (,a)"),
        ("x in (,a)", "x in (,a)"),
        ("x in (a,,b)", "x in (,a,b)"),
        // apimachinery takes `,,` as one step, so three commas before `)` are fine and two are not.
        ("x in (a,,,)", "x in (,a)"),
        ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"),
        ("in in (in,notin)", "in in (in,notin)"),
        ("notin notin (in)", "notin notin (in)"),
        ("in", "in"),
        ("!notin", "!notin"),
        ("in=notin", "in=notin"),
        ("a=in,b!=notin", "a=in,b!=notin"),
        ("example.com/My_Name-1.x=v", "example.com/My_Name-1.x=v"),
        ("b,a=1,b=2,a", "a=1,a,b,b=2"),
        ("a,a", "a,a"),
    ];
    for (text, printed) in cases {
        assert_eq!(parsed(text).to_string(), printed, "{text:?}");
    }
}

#[test]
fn refused_texts_are_errors() {
    for text in [
        "x=a||y=b",
        "x==a==b",
        "!x=a",
        "!x in (a)",
        "x<a",
        "x>-1",
        "x>+1",
        "x>",
        "x>1.5",
        "x>9223372036854775808",
        "x>=1",
        "x=>1",
        "x===a",
        "x=!a",
        "x!a",
        "x in a",
        "x in (a",
        "x in (a b)",
        "x in (a)(b)",
        "x in ((a))",
        "x in (a=b)",
        "x in (a,,)",
        "x in (,,)",
        "x notin",
        "x in",
        "x a",
        "x=a b",
        "x=a,",
        ",x",
        "x,,y",
        "=a",
        "!",
        "!!x",
        "!=x",
        "(x)",
        "x=(a)",
        "x=a=b",
        "x=-a",
        "x=a.",
        "x=é",
        "-x",
        "x/y/z",
        "Example.com/x",
        "x=a\x00",
        "x\x00,y",
        "x, \x00",
    ] {
        assert!(Selector::parse(text).is_err(), "{text:?} accepted");
    }
    let long_value = format!("x={}", "v".repeat(64));
    assert!(Selector::parse(&long_value).is_err());
}

#[test]
fn errors_read_like_apimachinery() {
    let message = |text: &str| Selector::parse(text).err().map(|e| e.to_string());
    assert_eq!(
        message("x==a==b").as_deref(),
        Some("found '==', expected: ',' or 'end of string'")
    );
    assert!(matches!(
        Selector::parse("x=a||y=b"),
        Err(SelectorError::Requirement(cause)) if matches!(*cause, SelectorError::InvalidValue { .. })
    ));
    assert_eq!(
        message("x,").as_deref(),
        Some("found '', expected: identifier after ','")
    );
    assert_eq!(
        message("x in a").as_deref(),
        Some("unable to parse requirement: found 'a' expected: '('")
    );
    assert_eq!(
        message("x ! y").as_deref(),
        Some("unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt")
    );
    assert!(matches!(
        Selector::parse("a b\x00"),
        Err(SelectorError::NulByte { offset: 3 })
    ));
}

#[test]
fn requirements_are_stably_sorted_by_key() {
    let selector = parsed("b=2,a notin (x),a,b!=1");
    let keys: Vec<(&str, Operator)> = selector
        .requirements()
        .iter()
        .map(|r| (r.key.as_str(), r.operator))
        .collect();
    assert_eq!(
        keys,
        [
            ("a", Operator::NotIn),
            ("a", Operator::Exists),
            ("b", Operator::Equals),
            ("b", Operator::NotEquals)
        ]
    );
}

#[test]
fn everything_and_nothing() {
    assert!(Selector::everything().is_everything());
    assert_eq!(Selector::everything().to_string(), "");
    assert_eq!(parsed(""), Selector::everything());
    let nothing = Selector::nothing();
    assert_eq!(nothing.to_string(), "dontexistsignoreme,!dontexistsignoreme");
    assert_eq!(parsed(&nothing.to_string()), nothing);
    assert!(nothing.is_nothing());
    assert!(!nothing.is_everything());
    assert!(!nothing.matches(&labels(&[])));
    assert!(!nothing.matches(&labels(&[("dontexistsignoreme", "")])));
    assert!(parsed("a=1,b,!b").is_nothing());
    assert!(!parsed("a,!b").is_nothing());
    assert!(!parsed("dontexistsignoreme").is_nothing());
}

#[test]
fn matching_follows_apimachinery() {
    let cases: [(&str, Pairs, bool); 22] = [
        ("", &[], true),
        ("x=foo", &[("x", "foo")], true),
        ("x==foo", &[("x", "bar")], false),
        ("x=foo", &[], false),
        ("x=", &[("x", "")], true),
        ("x=", &[], false),
        ("x in (foo),y notin (alpha)", &[("x", "foo"), ("y", "baz")], true),
        ("x in (foo),y in (alpha)", &[("x", "foo"), ("y", "baz")], false),
        ("x notin (),y", &[("y", "")], true),
        ("!x,y", &[("y", "")], true),
        ("x notin (),!y", &[("y", "")], false),
        ("x in ()", &[("y", "baz")], false),
        ("x!=a", &[], true),
        ("x!=a", &[("x", "a")], false),
        ("x!=a", &[("x", "b")], true),
        ("z>1", &[("z", "2")], true),
        ("z>1", &[("z", "v2")], false),
        ("z>1", &[], false),
        ("z<10", &[("z", "-3")], true),
        ("z<10", &[("z", "+3")], true),
        ("z<10", &[("z", "99999999999999999999")], false),
        ("z>0", &[("z", "0")], false),
    ];
    for (text, pairs, expected) in cases {
        assert_eq!(
            parsed(text).matches(&labels(pairs)),
            expected,
            "{text:?} on {pairs:?}"
        );
    }
}

#[test]
fn from_label_selector_follows_label_selector_as_selector() {
    let empty = LabelSelector::default();
    assert_eq!(Selector::from_label_selector(&empty), Ok(Selector::everything()));
    let selector = LabelSelector {
        match_labels: [
            ("tier".to_owned(), "web".to_owned()),
            ("app".to_owned(), "".to_owned()),
        ]
        .into(),
        match_expressions: vec![
            SelectorRequirement {
                key: "env".to_owned(),
                operator: SelectorOperator::In,
                values: vec!["prod".to_owned(), "dev".to_owned(), "prod".to_owned()],
            },
            SelectorRequirement {
                key: "legacy".to_owned(),
                operator: SelectorOperator::DoesNotExist,
                values: vec![],
            },
            SelectorRequirement {
                key: "app".to_owned(),
                operator: SelectorOperator::Exists,
                values: vec![],
            },
        ],
    };
    let converted = Selector::from_label_selector(&selector);
    assert_eq!(
        converted.as_ref().map(ToString::to_string).as_deref(),
        Ok("app=,app,env in (dev,prod),!legacy,tier=web")
    );
    let bad = |operator, values: &[&str]| LabelSelector {
        match_labels: BTreeMap::new(),
        match_expressions: vec![SelectorRequirement {
            key: "k".to_owned(),
            operator,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }],
    };
    assert!(Selector::from_label_selector(&bad(SelectorOperator::In, &[])).is_err());
    assert!(Selector::from_label_selector(&bad(SelectorOperator::NotIn, &[])).is_err());
    assert!(Selector::from_label_selector(&bad(SelectorOperator::Exists, &["a"])).is_err());
    assert!(Selector::from_label_selector(&bad(SelectorOperator::In, &["a b"])).is_err());
    let bad_key = LabelSelector {
        match_labels: [("a b".to_owned(), "x".to_owned())].into(),
        match_expressions: vec![],
    };
    assert!(matches!(
        Selector::from_label_selector(&bad_key),
        Err(SelectorError::InvalidKey { .. })
    ));
}

#[test]
fn constructors() {
    let names = Selector::in_values("kubernetes.io/metadata.name", ["oil-dev", "gas", "oil-dev"]);
    assert_eq!(
        names.map(|s| s.to_string()).as_deref(),
        Ok("kubernetes.io/metadata.name in (gas,oil-dev)")
    );
    assert_eq!(Selector::in_values("k", [""; 0]), Ok(Selector::nothing()));
    assert!(Selector::in_values("bad key", ["a"]).is_err());
    assert!(Selector::in_values("bad key", [""; 0]).is_err());
    assert!(Selector::in_values("k", ["a", "not valid"]).is_err());
    assert_eq!(
        Selector::equals("kubernetes.io/hostname", "node-1")
            .map(|s| s.to_string())
            .as_deref(),
        Ok("kubernetes.io/hostname=node-1")
    );
    assert!(Selector::equals("k", &"v".repeat(64)).is_err());
    let built = Selector::from_requirements([Requirement {
        key: "k".to_owned(),
        operator: Operator::In,
        values: vec!["b".to_owned(), "a".to_owned()],
    }]);
    assert_eq!(built.map(|s| s.to_string()).as_deref(), Ok("k in (a,b)"));
    let invalid = Requirement {
        key: "k".to_owned(),
        operator: Operator::GreaterThan,
        values: vec!["x".to_owned()],
    };
    assert!(matches!(
        Selector::from_requirements([invalid]),
        Err(SelectorError::NotAnInteger { .. })
    ));
}

#[test]
fn and_keeps_every_requirement_once() {
    let caller = parsed("app=web,tier");
    let proxy = parsed("kubernetes.io/metadata.name in (a,b),tier");
    let both = caller.and(&proxy);
    assert_eq!(
        both.to_string(),
        "app=web,kubernetes.io/metadata.name in (a,b),tier"
    );
    assert_eq!(both.and(&both), both);
    assert_eq!(caller.and(&Selector::everything()), caller);
    assert_eq!(
        Selector::everything().and(&Selector::everything()),
        Selector::everything()
    );
    assert_eq!(caller.and(&Selector::nothing()), Selector::nothing());
    assert_eq!(Selector::nothing().and(&caller), Selector::nothing());
    assert_eq!(parsed("a").and(&parsed("!a")), Selector::nothing());
    assert_eq!(parsed("a,a").and(&Selector::everything()).to_string(), "a");
}

#[test]
fn union_merges_one_varying_positive_requirement() {
    let union = |texts: &[&str]| {
        let selectors: Vec<Selector> = texts.iter().map(|t| parsed(t)).collect();
        Selector::union(&selectors).map(|s| s.to_string())
    };
    assert_eq!(
        union(&[]).as_deref(),
        Some("dontexistsignoreme,!dontexistsignoreme")
    );
    assert_eq!(union(&["a=1", ""]).as_deref(), Some(""));
    assert_eq!(union(&["a=1"]).as_deref(), Some("a=1"));
    assert_eq!(union(&["a=1", "a=1"]).as_deref(), Some("a=1"));
    assert_eq!(union(&["b,a=1", "a=1,b"]).as_deref(), Some("a=1,b"));
    assert_eq!(
        union(&["a=1", "dontexistsignoreme,!dontexistsignoreme"]).as_deref(),
        Some("a=1")
    );
    assert_eq!(
        union(&["x,!x", "dontexistsignoreme,!dontexistsignoreme"]).as_deref(),
        Some("dontexistsignoreme,!dontexistsignoreme")
    );
    assert_eq!(
        union(&["a=1", "a==2", "a in (3,1)"]).as_deref(),
        Some("a in (1,2,3)")
    );
    assert_eq!(
        union(&["t=x,a=1,z notin (q)", "z notin (q),t=x,a in (2)"]).as_deref(),
        Some("a in (1,2),t=x,z notin (q)")
    );
    assert_eq!(union(&["a=1,b=1", "a=2,b=2"]), None);
    assert_eq!(union(&["a=1", "b=1"]), None);
    assert_eq!(union(&["a!=1", "a!=2"]), None);
    assert_eq!(union(&["a=1,c", "a=2"]), None);
    assert_eq!(union(&["a", "a=1"]), None);
}

#[test]
fn operator_names_are_apimachinerys() {
    let names: Vec<&str> = [
        Operator::Equals,
        Operator::DoubleEquals,
        Operator::NotEquals,
        Operator::In,
        Operator::NotIn,
        Operator::Exists,
        Operator::DoesNotExist,
        Operator::GreaterThan,
        Operator::LessThan,
    ]
    .iter()
    .map(|op| op.as_str())
    .collect();
    assert_eq!(names, ["=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt"]);
}
