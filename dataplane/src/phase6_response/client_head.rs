//! The response head the client gets: the API server's fields minus hop-by-hop ones, with framing written by
//! the proxy from the parsed head, never copied.

use super::ResponsePlan;
use crate::codec::{BodyFraming, CodecError, HopByHop, ResponseHead, write_response_head};

/// Writes the response head relayed to the client into `out`. Framing comes from the parsed head
/// ([`ResponseHead::framing_fields`]), never from the fields the API server sent; a self review's length is
/// written once its body is rewritten (see [`super::rewrite::finish_head`]).
pub fn write_client_head(
    out: &mut Vec<u8>,
    head: &ResponseHead<'_>,
    plan: &ResponsePlan,
    client_close: bool,
) -> Result<(), CodecError> {
    let close =
        (client_close && head.framing != BodyFraming::Tunnel).then_some(("Connection", &b"close"[..]));
    if let ResponsePlan::SelfReview(_) = plan {
        let fields = HopByHop::for_response(head).forwarded().filter(|(name, _)| {
            !name.eq_ignore_ascii_case("content-type") && !name.eq_ignore_ascii_case("content-encoding")
        });
        let extra = [("Content-Type", &b"application/json"[..])]
            .into_iter()
            .chain(close);
        return write_response_head(out, head.status, head.reason, fields, extra);
    }
    let framing = head.framing_fields();
    let fields = HopByHop::for_response(head).forwarded();
    write_response_head(
        out,
        head.status,
        head.reason,
        fields,
        framing.field().into_iter().chain(close),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use capsule_proxy_policy::snapshot::Snapshot;

    use super::*;
    use crate::codec::{Limits, Method, Parsed, parse_response_head};
    use crate::phase4_decide::SelfReviewPlan;

    fn client_head(raw: &[u8], method: Method<'_>, plan: &ResponsePlan, close: bool) -> String {
        let Ok(Parsed::Complete { head, .. }) = parse_response_head(raw, &Limits::default(), &method) else {
            panic!("not a head: {raw:?}");
        };
        let mut out = Vec::new();
        write_client_head(&mut out, &head, plan, close).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn relayed_heads_carry_the_proxys_framing() {
        let hidden =
            b"HTTP/1.1 200 OK\r\nConnection: Content-Length, X-Junk\r\nX-Junk: 1\r\nContent-Length: 4\r\n\
                       Content-Type: application/json\r\n\r\n";
        assert_eq!(
            client_head(hidden, Method::Get, &ResponsePlan::Relay, false),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n"
        );
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: transfer-encoding\r\n\r\n";
        assert_eq!(
            client_head(chunked, Method::Get, &ResponsePlan::Relay, true),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        let until_close = b"HTTP/1.1 200 OK\r\nKeep-Alive: 5\r\n\r\n";
        assert_eq!(
            client_head(until_close, Method::Get, &ResponsePlan::Relay, true),
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
        );
        let head_answer = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
        assert_eq!(
            client_head(head_answer, Method::Head, &ResponsePlan::Relay, false),
            "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
        );
    }

    #[test]
    fn upgrades_keep_their_pair_and_never_say_close() {
        let switching = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
                          Sec-WebSocket-Accept: x\r\n\r\n";
        assert_eq!(
            client_head(switching, Method::Get, &ResponsePlan::Relay, true),
            "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n"
        );
    }

    #[test]
    fn a_self_review_head_waits_for_its_rewritten_length() {
        let plan = ResponsePlan::SelfReview(SelfReviewPlan {
            rules_review: false,
            has_tenants: true,
            rules: Vec::new(),
            snapshot: Arc::new(Snapshot::default()),
            cluster_scoped_gate: false,
        });
        let review = b"HTTP/1.1 201 Created\r\nContent-Type: application/vnd.kubernetes.protobuf\r\n\
                       Content-Encoding: gzip\r\nContent-Length: 30\r\nAudit-Id: a\r\n\r\n";
        assert_eq!(
            client_head(review, Method::Post, &plan, false),
            "HTTP/1.1 201 Created\r\nAudit-Id: a\r\nContent-Type: application/json\r\n\r\n"
        );
    }
}
