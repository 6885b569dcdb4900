//! The all-namespaces fan-out's readers and writers, on any input: the `Accept` negotiation, continue tokens,
//! namespace targets, list pages merged, watch events merged.
//!
//! Input: a knob byte, then up to four parts separated by `0xff`. Nothing panics; a token that decodes
//! re-encodes to one that decodes the same; a namespace target that is written holds only visible ASCII (it
//! goes on a request line); pages that parse merge into valid JSON with every entry; every bookmark the watch
//! merge writes is one valid JSON line.
#![no_main]

use capsule_proxy_policy::fan_out::{
    ContinueToken, EventAction, FanOutResource, ListForm, MergedList, NamespacePage, WatchMerge, namespace_target,
};
use capsule_proxy_policy::route::Gvr;
use capsule_proxy_fuzz::knobs::Knobs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut knobs = Knobs::new(data);
    let knob = knobs.byte();
    let parts: Vec<&[u8]> = knobs.rest().split(|&b| b == 0xff).collect();
    let text = |i: usize| parts.get(i).and_then(|p| std::str::from_utf8(p).ok()).unwrap_or("");

    let form = ListForm::of_accept(parts.first().copied());
    let _ = form.upstream_accept();

    if let Ok(token) = ContinueToken::decode(text(1), "pods") {
        assert_eq!(ContinueToken::decode(&token.encode(), "pods"), Ok(token));
    }

    let pods = FanOutResource::new(Gvr { group: "", version: "v1", resource: "pods" }, "Pod");
    let mut target = String::new();
    let upstream = (knob & 1 != 0).then(|| text(3));
    if namespace_target(&pods, text(2), text(1), Some(usize::from(knob)), upstream, &mut target).is_ok() {
        assert!(target.bytes().all(|b| b.is_ascii_graphic()), "{target:?}");
    }

    let mut out = Vec::new();
    let (kind, api_version) = form.list_type("Pod", "v1");
    let mut merged = MergedList::begin(form, &kind, &api_version, &mut out);
    let mut entries = 0;
    for part in &parts {
        if let Ok(page) = NamespacePage::parse(part) {
            entries += page.entries(form).len();
            merged.push(&page, &mut out);
        }
    }
    assert_eq!(merged.count(), entries);
    merged.finish(Some(text(1)), &mut out);
    let value: serde_json::Value = serde_json::from_slice(&out).expect("the merged list is JSON");
    assert_eq!(value[form.entries_field()].as_array().map(Vec::len), Some(entries));

    let mut merge = WatchMerge::new(parts.len(), (knob & 2 != 0).then(|| text(0)));
    for (index, part) in parts.iter().enumerate() {
        if let EventAction::Bookmark(line) = merge.on_event(index, part) {
            assert!(line.ends_with(b"\n") && line.iter().filter(|&&b| b == b'\n').count() == 1);
            let _: serde_json::Value = serde_json::from_slice(&line).expect("a bookmark is JSON");
        }
    }
});
