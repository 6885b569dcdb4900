//! # capsule-proxy-dataplane — the thread-per-core data plane
//!
//! One monoio runtime per core (io_uring, legacy epoll only when io_uring is unavailable), each accepting on its
//! own `SO_REUSEPORT` listener, terminating TLS with rustls, parsing HTTP/1.1 with a strict I/O-free codec,
//! classifying and rewriting requests with `capsule-proxy-policy`, and relaying bodies to kube-apiserver over a
//! per-core pool of keep-alive TLS connections.
//!
//! So far it holds [`codec`]: the strict, I/O-free HTTP/1.1 head parser, body-framing decisions, chunked-body
//! scanner, hop-by-hop filter and head writer that the relay will be built on.

pub mod codec;
