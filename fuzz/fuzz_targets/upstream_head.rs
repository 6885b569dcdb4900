//! Round trip of the forwarded head: parse a client head, write it with `write_upstream_head`, parse the written
//! bytes again.
//!
//! Input: two knob bytes, then the client head; the bytes after the head are newline-separated values for the
//! forwarding identity (path prefix, target override, proxy token, user, uid, groups, `key=v1,v2` extras).
//! Knob 0: auth (bits 0-1: caller, impersonate, proxy, proxy), then flags from bit 2: accept JSON, proxy token, target override,
//! path prefix, uid, IPv6 peer. Knob 1: XFCC header name, group count, extra count.
//!
//! When every value the proxy adds is writable, the write must succeed. The written head must parse, consume
//! exactly the written bytes and keep method, version and body framing (the same `Content-Length` or chunked:
//! a field the client names in `Connection` never removes the framing, nor `Host`). Its fields must be exactly
//! the model's: `Host` and the framing written from the parsed head, the client's end-to-end fields (minus
//! hop-by-hop ones, those `Connection` names and `is_nominable` lets it name, `Expect`, and unless forwarding
//! as the caller its credentials), then what the proxy adds.
#![no_main]

use std::net::IpAddr;

use capsule_proxy_dataplane::codec::{
    BodyFraming, Limits, MAX_HEADERS_CAP, Parsed, RequestHead, is_nominable, parse_request_head,
};
use capsule_proxy_dataplane::phase5_forward_head::{
    ForwardIdentity, Impersonated, UpstreamAuth, write_upstream_head,
};
use capsule_proxy_fuzz::fields::{FieldTable, HOP_BY_HOP, connection_tokens, is_writable_value, table};
use capsule_proxy_fuzz::knobs::Knobs;
use capsule_proxy_fuzz::query_pairs::unescape;
use libfuzzer_sys::fuzz_target;

/// Fields the proxy writes from the parsed head instead of copying them.
const WRITTEN_BY_PROXY: [&str; 3] = ["content-length", "transfer-encoding", "host"];

/// Most groups, extras and values per extra taken from one input (so a written head stays within the header-count cap).
const MAX_LIST: usize = 8;

/// Which [`UpstreamAuth`] the input chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Caller,
    Impersonate,
    Proxy,
}

/// The forwarding identity an input describes, owning its strings.
#[derive(Debug)]
struct Plan {
    mode: Mode,
    accept_json: bool,
    token: Option<String>,
    target: Option<String>,
    prefix: String,
    user: String,
    uid: Option<String>,
    groups: Vec<String>,
    extra: Vec<(String, Vec<String>)>,
    xfcc_header: &'static str,
    peer_ip: IpAddr,
}

impl Plan {
    fn new(k0: u8, k1: u8, values: &[u8]) -> Self {
        let mut lines = values
            .split(|&b| b == b'\n')
            .map(|l| String::from_utf8_lossy(l).into_owned());
        let mut next = || lines.next().unwrap_or_default();
        let flag = |bit: u8| k0 >> 2 & (1 << bit) != 0;
        let mode = match k0 & 3 {
            0 => Mode::Caller,
            1 => Mode::Impersonate,
            _ => Mode::Proxy,
        };
        // Prefixes come from a configured URL and targets from the policy's rewrite: both origin-form.
        let origin = |s: String| format!("/{}", s.replace('#', "%23"));
        let prefix = next();
        let target = next();
        let token = next();
        let user = next();
        let uid = next();
        let groups = (0..usize::from(k1 >> 1 & 0x7).min(MAX_LIST))
            .map(|_| next())
            .collect();
        let extra = (0..usize::from(k1 >> 4).min(MAX_LIST))
            .map(|_| {
                let line = next();
                let (key, values) = line.split_once('=').unwrap_or((&line, ""));
                (
                    key.to_owned(),
                    values.split(',').take(MAX_LIST).map(str::to_owned).collect(),
                )
            })
            .collect();
        Self {
            mode,
            accept_json: flag(0),
            token: flag(1).then_some(token),
            target: flag(2).then(|| origin(target)),
            prefix: if flag(3) { origin(prefix) } else { String::new() },
            user,
            uid: flag(4).then_some(uid),
            groups,
            extra,
            xfcc_header: if k1 & 1 == 0 {
                "X-Forwarded-Client-Cert"
            } else {
                "X-Client-Cert"
            },
            peer_ip: if flag(5) {
                "fd00::7".parse()
            } else {
                "10.0.0.7".parse()
            }
            .unwrap_or(IpAddr::from([0; 4])),
        }
    }

    fn auth(&self) -> UpstreamAuth<'_> {
        match self.mode {
            Mode::Caller => UpstreamAuth::Caller,
            Mode::Proxy => UpstreamAuth::Proxy,
            Mode::Impersonate => UpstreamAuth::Impersonate(Impersonated {
                user: &self.user,
                groups: &self.groups,
                uid: self.uid.as_deref(),
                extra: &self.extra,
            }),
        }
    }

    fn identity(&self) -> ForwardIdentity<'_> {
        ForwardIdentity {
            auth: self.auth(),
            path_prefix: &self.prefix,
            peer_ip: self.peer_ip,
            proxy_token: self.token.as_deref(),
            xfcc_header: self.xfcc_header,
            target: self.target.as_deref(),
            accept: self.accept_json.then_some(&b"application/json"[..]),
        }
    }

    fn full_target(&self, head: &RequestHead<'_>) -> String {
        format!("{}{}", self.prefix, self.target.as_deref().unwrap_or(head.target))
    }

    /// The `Authorization` value the proxy adds, if any.
    fn bearer(&self) -> Option<String> {
        match (self.mode, &self.token) {
            (Mode::Caller, _) | (_, None) => None,
            (_, Some(token)) => Some(format!("Bearer {token}")),
        }
    }

    /// The `X-Forwarded-For` value: the client's values, then the peer.
    fn forwarded_for(&self, head: &RequestHead<'_>) -> Option<String> {
        let mut out = String::new();
        for value in head.headers.get_all("x-forwarded-for") {
            out.push_str(std::str::from_utf8(value).ok()?);
            out.push_str(", ");
        }
        out.push_str(&self.peer_ip.to_string());
        Some(out)
    }

    /// Whether everything the proxy composes can be written, so that the write must succeed.
    fn writable(&self, head: &RequestHead<'_>) -> bool {
        let target = self.full_target(head);
        let mut values: Vec<&[u8]> = Vec::new();
        let bearer = self.bearer();
        values.extend(bearer.as_deref().map(str::as_bytes));
        if self.mode == Mode::Impersonate {
            values.push(self.user.as_bytes());
            values.extend(self.groups.iter().map(String::as_bytes));
            values.extend(self.uid.as_deref().map(str::as_bytes));
            values.extend(
                self.extra
                    .iter()
                    .flat_map(|(_, vs)| vs.iter().map(String::as_bytes)),
            );
        }
        !target.is_empty()
            && target.bytes().all(|b| b.is_ascii_graphic())
            && self.forwarded_for(head).is_some()
            && values.into_iter().all(is_writable_value)
    }

    /// The fields the forwarded head must carry, except `Impersonate-Extra-*` (see [`Plan::extras`]).
    fn expected_fields(&self, head: &RequestHead<'_>) -> FieldTable {
        let tokens = connection_tokens(&head.headers);
        let as_caller = self.mode == Mode::Caller;
        let xfcc = self.xfcc_header.to_ascii_lowercase();
        let mut out = FieldTable::new();
        let mut add = |name: &str, value: &[u8]| out.entry(name.to_owned()).or_default().push(value.to_vec());
        for (name, value) in head.headers.iter() {
            let name = name.to_ascii_lowercase();
            let nominated = tokens.contains(&name) && is_nominable(name.as_bytes());
            let hop = HOP_BY_HOP.contains(&name.as_str()) || nominated;
            let replaced = WRITTEN_BY_PROXY.contains(&name.as_str())
                || name == "expect"
                || name == "x-forwarded-for"
                || (self.accept_json && (name == "accept" || name == "accept-encoding"));
            let credential =
                !as_caller && (name == "authorization" || name.starts_with("impersonate-") || name == xfcc);
            let upgrade_pair = name == "upgrade" && head.upgrade;
            if upgrade_pair || !(hop || replaced || credential) {
                add(&name, value);
            }
        }
        if let Some(host) = head.headers.get("host") {
            add("host", host);
        }
        if head.upgrade {
            add("connection", b"upgrade");
        }
        match head.framing {
            BodyFraming::Chunked => add("transfer-encoding", b"chunked"),
            BodyFraming::ContentLength(n) => add("content-length", n.to_string().as_bytes()),
            _ => {}
        }
        if self.accept_json {
            add("accept", b"application/json");
        }
        add(
            "x-forwarded-for",
            self.forwarded_for(head).unwrap_or_default().as_bytes(),
        );
        if let Some(bearer) = self.bearer() {
            add("authorization", bearer.as_bytes());
        }
        if self.mode == Mode::Impersonate {
            add("impersonate-user", self.user.as_bytes());
            for group in &self.groups {
                add("impersonate-group", group.as_bytes());
            }
            if let Some(uid) = &self.uid {
                add("impersonate-uid", uid.as_bytes());
            }
        }
        out
    }

    /// The `Impersonate-Extra-*` fields the forwarded head must carry, as (key, value) in order.
    fn extras(&self) -> Vec<(String, Vec<u8>)> {
        if self.mode != Mode::Impersonate {
            return Vec::new();
        }
        self.extra
            .iter()
            .flat_map(|(key, values)| values.iter().map(move |v| (key.clone(), v.as_bytes().to_vec())))
            .collect()
    }
}

const EXTRA_PREFIX: &str = "impersonate-extra-";

fn check_round_trip(plan: &Plan, head: &RequestHead<'_>, out: &[u8]) {
    let limits = Limits {
        max_head_bytes: out.len().max(Limits::default().max_head_bytes),
        max_headers: MAX_HEADERS_CAP,
        ..Limits::default()
    };
    let text = String::from_utf8_lossy(out);
    let again = match parse_request_head(out, &limits) {
        Ok(Parsed::Complete { head: again, len }) => {
            assert_eq!(
                len,
                out.len(),
                "the forwarded head is {len} of {} written bytes:\n{text}",
                out.len()
            );
            again
        }
        other => panic!("the forwarded head does not parse ({other:?}):\n{text}"),
    };
    assert_eq!(again.method, head.method);
    assert_eq!(again.version, head.version);
    assert_eq!(
        again.framing,
        head.framing,
        "body framing changed on the way up (client Connection: {:?}):\n{text}",
        connection_tokens(&head.headers)
    );
    assert_eq!(again.target, plan.full_target(head), "target");

    // Impersonate-Extra-* names are percent-encoded keys: compare decoded, in order.
    let extras_written: Vec<(String, Vec<u8>)> = if plan.mode == Mode::Impersonate {
        again
            .headers
            .iter()
            .filter(|(name, _)| name.to_ascii_lowercase().starts_with(EXTRA_PREFIX))
            .map(|(name, value)| {
                let key = unescape(&name[EXTRA_PREFIX.len()..].replace('+', "%2B"));
                (
                    key.unwrap_or_else(|| format!("<undecodable {name}>")),
                    value.to_vec(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    assert_eq!(extras_written, plan.extras(), "Impersonate-Extra fields:\n{text}");

    let mut written = table(&again.headers);
    if plan.mode == Mode::Impersonate {
        written.retain(|name, _| !name.starts_with(EXTRA_PREFIX));
    }
    let expected = plan.expected_fields(head);
    if written != expected {
        let names = written.keys().chain(expected.keys());
        for name in names {
            let (w, e) = (written.get(name), expected.get(name));
            assert_eq!(
                w,
                e,
                "field {name:?}: written vs expected, client Connection {:?}:\n{text}",
                connection_tokens(&head.headers)
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for name in [
        "content-length",
        "Transfer-Encoding",
        "HOST",
        "authorization",
        "impersonate-user",
    ] {
        assert!(!is_nominable(name.as_bytes()), "Connection may nominate {name}");
    }
    let mut knobs = Knobs::new(data);
    let (k0, k1) = (knobs.byte(), knobs.byte());
    let input = knobs.rest();
    let Ok(Parsed::Complete { head, len }) = parse_request_head(input, &Limits::default()) else {
        return;
    };
    let plan = Plan::new(k0, k1, &input[len..]);
    let mut out = Vec::new();
    let mut scratch = String::new();
    match write_upstream_head(&mut out, &mut scratch, &head, &plan.identity()) {
        Ok(()) => check_round_trip(&plan, &head, &out),
        Err(e) => {
            assert!(
                !plan.writable(&head),
                "write failed ({e}) though every added value is writable: {plan:?}"
            );
            assert!(out.is_empty(), "a failed write left bytes behind");
        }
    }
});
