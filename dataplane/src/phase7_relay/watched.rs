//! Relaying an open-ended response body (watches, `logs -f`, chunked lists) while watching the client, so a
//! client that goes away releases the API server's stream at once, and a stop signal ends it between two chunks.
//!
//! A quiet stream holds no buffer: once a read has drained the API server's socket, the relay gives its read
//! buffers (plaintext and TLS) back to the core's pool and waits for readiness — of the API server's socket,
//! of the client's, or of the stop signal — before it reads again. An idle watch then costs its two TLS
//! sessions and its task, not four buffers held by reads in flight. A busy stream (a large list) keeps reading
//! straight into its buffer while the socket has more.

use std::pin::pin;

use monoio::io::CancelHandle;

use crate::io::{BodyRelay, BodySink, IoBuffer, ReadHalf, RelayError, StopSignal, Stream};
use crate::metrics::{CoreMetrics, Counted, Direction};

/// How a relay that watched the client ended.
#[derive(Debug)]
pub enum WatchedRelay {
    /// The body was relayed (or failed) as [`BodyRelay::run`] reports.
    Relayed(Result<(), RelayError>),
    /// The client closed its connection first; the relay was abandoned.
    ClientGone,
    /// The stop signal was set and the relay stopped between two chunks (or in an until-close body): the
    /// upstream connection is mid-body and must be dropped.
    Stopped,
}

/// What ended a wait of the relay.
enum Woke {
    /// The upstream read finished.
    Upstream(std::io::Result<Option<usize>>),
    /// The client's socket became readable (bytes, or its close).
    Client(std::io::Result<()>),
    /// The stop signal was set.
    Stop,
}

/// Relays a response body of open-ended length (watches, `logs -f`) from `upstream` to `client` while
/// watching the client: when it closes, the relay stops at once — releasing the apiserver's watch — instead of
/// at the next event. Bytes the client sends meanwhile (a pipelined request) stay in `client_buf`, and the
/// client is no longer watched.
///
/// What is written to the client is counted in `metrics`.
pub async fn relay_watching_client(
    body: &mut BodyRelay,
    upstream: &mut Stream,
    upstream_buf: &mut IoBuffer,
    client: &mut Stream,
    client_buf: &mut IoBuffer,
    stop: &StopSignal,
    metrics: &CoreMetrics,
) -> WatchedRelay {
    let mut watching = client_buf.is_empty() && client.is_quiet();
    // Until a read says otherwise, the socket may well be quiet: wait for it without a buffer.
    let mut drained = true;
    loop {
        // What the TLS layer already holds joins the buffer first, so it leaves in one write.
        while !upstream_buf.is_empty() && !upstream_buf.is_full() {
            match upstream.take_buffered(upstream_buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return WatchedRelay::Relayed(Err(RelayError::Read(e))),
            }
        }
        if !upstream_buf.is_empty() {
            let n = match body.claim(upstream_buf.filled()) {
                Ok(n) => n,
                Err(e) => return WatchedRelay::Relayed(Err(RelayError::Framing(e))),
            };
            let mut sink = Counted::new(&mut *client, metrics, Direction::UpstreamToClient);
            if let Err(e) = sink.write_buffered(upstream_buf, n).await {
                return WatchedRelay::Relayed(Err(RelayError::Write(e)));
            }
        }
        if body.is_done() {
            return WatchedRelay::Relayed(Ok(()));
        }
        let at_boundary = body.at_boundary();
        if at_boundary && stop.is_stopped() {
            return WatchedRelay::Stopped;
        }
        match upstream.take_buffered(upstream_buf) {
            Ok(0) => {}
            Ok(_) => continue,
            Err(e) => return WatchedRelay::Relayed(Err(RelayError::Read(e))),
        }
        let quiet = drained;
        if quiet {
            upstream_buf.release();
            upstream.release_buffers();
            if watching {
                client_buf.release();
                client.release_buffers();
            }
        }
        let read = {
            let mut read = pin!(async {
                if quiet {
                    upstream.readable().await?;
                }
                upstream.read_once(upstream_buf).await
            });
            loop {
                let woke = monoio::select! {
                    read = read.as_mut() => Woke::Upstream(read.map(|once| {
                        drained = once.drained;
                        once.bytes
                    })),
                    ready = client.readable(), if watching => Woke::Client(ready),
                    () = stop.stopped(), if at_boundary => Woke::Stop,
                };
                match woke {
                    Woke::Upstream(read) => break read,
                    Woke::Stop => return WatchedRelay::Stopped,
                    Woke::Client(Err(_)) => return WatchedRelay::ClientGone,
                    Woke::Client(Ok(())) => match client.read_once(client_buf).await {
                        Ok(once) if once.bytes == Some(0) => return WatchedRelay::ClientGone,
                        Err(_) => return WatchedRelay::ClientGone,
                        // A pipelined request: kept for after this response; the client is not watched any more.
                        Ok(once) if once.bytes.is_some() => watching = false,
                        // A TLS record without data yet (a partial record, a key update): keep watching.
                        Ok(_) => {}
                    },
                }
            }
        };
        match read {
            Ok(Some(0)) if matches!(body, BodyRelay::UntilClose) => {
                *body = BodyRelay::Done;
                return WatchedRelay::Relayed(Ok(()));
            }
            Ok(Some(0)) => return WatchedRelay::Relayed(Err(RelayError::Truncated)),
            Ok(_) => {}
            Err(e) => return WatchedRelay::Relayed(Err(RelayError::Read(e))),
        }
    }
}

/// `ECANCELED` (Linux), what a cancelled io_uring read ends with.
const ECANCELED: i32 = 125;

/// Waits for the client to close (`true`) or to send bytes / be cancelled (`false`).
pub(super) async fn watch_for_close(read: &mut ReadHalf, buf: &mut IoBuffer, cancel: CancelHandle) -> bool {
    if buf.is_full() {
        return false;
    }
    match read.read_cancelable(buf, cancel).await {
        Ok(0) => true,
        Ok(_) => false,
        // The relay finished first and cancelled the read.
        Err(e) if e.raw_os_error() == Some(ECANCELED) => false,
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
    use monoio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::codec::{BodyFraming, Limits};
    use crate::config::Driver;
    use crate::io::buffer_pool;

    /// A connected pair: the test's end and the relay's end.
    async fn pair() -> (TcpStream, Stream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (ours, accepted) = monoio::join!(TcpStream::connect(addr), listener.accept());
        (ours.unwrap(), Stream::Plain(accepted.unwrap().0))
    }

    /// Reads from `peer` until `want` has arrived whole.
    async fn read_until(peer: &mut TcpStream, want: &[u8]) -> Vec<u8> {
        let mut seen = Vec::new();
        while !seen.windows(want.len()).any(|w| w == want) {
            let (n, buf) = peer.read(vec![0; 4096]).await;
            let n = n.unwrap();
            assert!(n > 0, "closed before {want:?}; saw {seen:?}");
            seen.extend_from_slice(&buf[..n]);
        }
        seen
    }

    /// Polls `done` until it holds (the relay task runs between two polls).
    async fn eventually(mut done: impl FnMut() -> bool) {
        for _ in 0..1000 {
            if done() {
                return;
            }
            monoio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("condition never held");
    }

    /// Runs a chunked relay from `upstream` to `client` with buffers of `capacity` (upstream) and `capacity + 1`
    /// (client); returns how it ended and what the client sent meanwhile.
    fn spawn_relay(
        upstream: Stream,
        client: Stream,
        capacity: usize,
    ) -> monoio::task::JoinHandle<(WatchedRelay, Vec<u8>)> {
        monoio::spawn(async move {
            let (mut upstream, mut client) = (upstream, client);
            let mut upstream_buf = IoBuffer::new(capacity);
            let mut client_buf = IoBuffer::new(capacity + 1);
            let mut body = BodyRelay::new(BodyFraming::Chunked, &Limits::default());
            let stop = StopSignal::default();
            let metrics = CoreMetrics::new(Driver::IoUring);
            let outcome = relay_watching_client(
                &mut body,
                &mut upstream,
                &mut upstream_buf,
                &mut client,
                &mut client_buf,
                &stop,
                &metrics,
            )
            .await;
            (outcome, client_buf.filled().to_vec())
        })
    }

    #[monoio::test(enable_timer = true)]
    async fn a_quiet_stream_holds_no_read_buffer_and_its_events_still_flow() {
        const CAPACITY: usize = 3_001;
        let (mut server, upstream) = pair().await;
        let (mut peer, client) = pair().await;
        let relay = spawn_relay(upstream, client, CAPACITY);
        // Waiting for the first event, neither read buffer is held: both wait in the core's pool.
        eventually(|| buffer_pool::kept(CAPACITY) == 1 && buffer_pool::kept(CAPACITY + 1) == 1).await;
        server.write_all(b"5\r\nhello\r\n").await.0.unwrap();
        read_until(&mut peer, b"5\r\nhello\r\n").await;
        eventually(|| buffer_pool::kept(CAPACITY) == 1 && buffer_pool::kept(CAPACITY + 1) == 1).await;
        server.write_all(b"6\r\nworld!\r\n0\r\n\r\n").await.0.unwrap();
        read_until(&mut peer, b"6\r\nworld!\r\n0\r\n\r\n").await;
        let (outcome, sent) = relay.await;
        assert!(matches!(outcome, WatchedRelay::Relayed(Ok(()))), "{outcome:?}");
        assert!(sent.is_empty());
    }

    #[monoio::test(enable_timer = true)]
    async fn a_client_that_closes_ends_a_quiet_stream_at_once() {
        let (_server, upstream) = pair().await;
        let (peer, client) = pair().await;
        let relay = spawn_relay(upstream, client, 3_003);
        drop(peer);
        let (outcome, _) = relay.await;
        assert!(matches!(outcome, WatchedRelay::ClientGone), "{outcome:?}");
    }

    #[monoio::test(enable_timer = true)]
    async fn bytes_the_client_sends_are_kept_and_the_stream_goes_on() {
        let (mut server, upstream) = pair().await;
        let (mut peer, client) = pair().await;
        let relay = spawn_relay(upstream, client, 3_005);
        let next = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
        peer.write_all(next.to_vec()).await.0.unwrap();
        server.write_all(b"2\r\nok\r\n").await.0.unwrap();
        read_until(&mut peer, b"2\r\nok\r\n").await;
        server.write_all(b"0\r\n\r\n").await.0.unwrap();
        let (outcome, sent) = relay.await;
        assert!(matches!(outcome, WatchedRelay::Relayed(Ok(()))), "{outcome:?}");
        assert_eq!(sent, next, "the pipelined request is kept for after the stream");
    }

    #[monoio::test(enable_timer = true)]
    async fn an_upstream_that_ends_mid_body_is_a_truncation() {
        let (server, upstream) = pair().await;
        let (_peer, client) = pair().await;
        let relay = spawn_relay(upstream, client, 3_007);
        drop(server);
        let (outcome, _) = relay.await;
        assert!(
            matches!(outcome, WatchedRelay::Relayed(Err(RelayError::Truncated))),
            "{outcome:?}"
        );
    }
}
