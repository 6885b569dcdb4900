//! Properties of the fan-out's paging: following the continue tokens of a merged list reads every object of
//! every namespace exactly once, in order, and no answer holds more than the caller's `limit`.

use proptest::prelude::*;

use super::{ContinueToken, PageStep, Pager};

/// One namespace's upstream: `len` objects, paged by offset (the namespace's continue token is the offset).
fn upstream_page(len: usize, offset: usize, limit: usize) -> (Vec<usize>, Option<usize>) {
    let end = (offset + limit).min(len);
    let more = (end < len).then_some(end);
    ((offset..end).collect(), more)
}

/// One merged answer as the data plane builds it, with namespaces asked ahead; returns the (namespace, object)
/// pairs written and the token.
fn answer(
    sizes: &[usize],
    limit: Option<usize>,
    page_size: usize,
    token: Option<&ContinueToken>,
) -> (Vec<(usize, usize)>, Option<ContinueToken>) {
    let names: Vec<String> = (0..sizes.len()).map(|i| format!("ns-{i:03}")).collect();
    let mut pager = Pager::new(limit, page_size);
    let start = token.map_or(0, |t| {
        names
            .iter()
            .position(|n| *n >= t.namespace)
            .unwrap_or(names.len())
    });
    let mut written = Vec::new();
    for index in start..names.len() {
        let resume = token
            .filter(|t| t.namespace == names[index])
            .and_then(|t| t.upstream.as_deref())
            .map(|c| c.parse::<usize>().unwrap());
        let mut page = upstream_page(sizes[index], resume.unwrap_or(0), pager.first_page_limit());
        loop {
            let step = pager.on_page(page.0.len(), page.1.is_some());
            let stop = |upstream: Option<usize>, at: usize| {
                names.get(at).map(|n| ContinueToken {
                    resource: "pods".to_owned(),
                    namespace: n.clone(),
                    upstream: upstream.map(|u| u.to_string()),
                })
            };
            if step == PageStep::StopBefore {
                return (written, stop(None, index));
            }
            written.extend(page.0.iter().map(|&o| (index, o)));
            match step {
                PageStep::TakeThenMore { limit } => {
                    page = upstream_page(sizes[index], page.1.unwrap_or(0), limit);
                }
                PageStep::TakeThenNext => break,
                PageStep::TakeThenStopHere => return (written, stop(page.1, index)),
                PageStep::TakeThenStopAtNext => return (written, stop(None, index + 1)),
                PageStep::StopBefore => unreachable!(),
            }
        }
    }
    (written, None)
}

proptest! {
    #[test]
    fn following_tokens_reads_everything_once_within_the_limit(
        sizes in proptest::collection::vec(0usize..7, 0..8),
        limit in proptest::option::of(1usize..9),
        page_size in 1usize..6,
    ) {
        let mut all = Vec::new();
        let mut token: Option<ContinueToken> = None;
        for _ in 0..200 {
            // The token goes to the client and back as text.
            let sent = token.as_ref().map(|t| ContinueToken::decode(&t.encode(), "pods").unwrap());
            let (written, next) = answer(&sizes, limit, page_size, sent.as_ref());
            if let Some(limit) = limit {
                prop_assert!(written.len() <= limit, "{} > {limit}", written.len());
                prop_assert!(!written.is_empty() || next.is_none(), "an answer that makes no progress");
            }
            all.extend(written);
            token = next;
            if token.is_none() {
                break;
            }
        }
        prop_assert!(token.is_none(), "never ended");
        let expected: Vec<(usize, usize)> = sizes
            .iter()
            .enumerate()
            .flat_map(|(ns, &len)| (0..len).map(move |o| (ns, o)))
            .collect();
        prop_assert_eq!(all, expected);
    }
}
