//! Relaying an open-ended response body (watches, `logs -f`) while watching the client, so a client that goes
//! away releases the API server's stream at once, and a stop signal ends it between two chunks.

use std::pin::pin;

use monoio::io::{CancelHandle, Canceller};

use crate::io::{BodyRelay, IoBuffer, ReadHalf, RelayError, RunEnd, StopSignal, Stream};
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

/// Relays a response body of open-ended length (watches, `logs -f`) from `upstream` to `client` while
/// watching the client: when it closes, the relay stops at once — releasing the apiserver's watch — instead of
/// at the next event. Bytes the client sends meanwhile (a pipelined request) stay in `client_buf`.
///
/// `client` is split for the duration and joined again before returning. What is written to it is counted in
/// `metrics`.
pub async fn relay_watching_client(
    body: &mut BodyRelay,
    upstream: &mut Stream,
    upstream_buf: &mut IoBuffer,
    client: &mut Stream,
    client_buf: &mut IoBuffer,
    stop: &StopSignal,
    metrics: &CoreMetrics,
) -> WatchedRelay {
    let (mut client_read, mut client_write) = std::mem::replace(client, Stream::Detached).into_split();
    let canceller = Canceller::new();
    let outcome = {
        let mut sink = Counted::new(&mut client_write, metrics, Direction::UpstreamToClient);
        let mut relay = pin!(body.run_until(upstream, upstream_buf, &mut sink, stop));
        let mut watch = pin!(watch_for_close(&mut client_read, client_buf, canceller.handle()));
        let finished = |result: Result<RunEnd, RelayError>| match result {
            Ok(RunEnd::Done) => WatchedRelay::Relayed(Ok(())),
            Ok(RunEnd::Stopped) => WatchedRelay::Stopped,
            Err(e) => WatchedRelay::Relayed(Err(e)),
        };
        let outcome = monoio::select! {
            result = relay.as_mut() => Some(finished(result)),
            closed = watch.as_mut() => closed.then_some(WatchedRelay::ClientGone),
        };
        match outcome {
            // The relay finished first: cancel the client read and let it complete, so no byte is lost.
            Some(WatchedRelay::ClientGone) => WatchedRelay::ClientGone,
            Some(done) => {
                let _canceller = canceller.cancel();
                let _ = watch.await;
                done
            }
            // The client sent bytes (kept for the next request): stop watching, finish the relay.
            None => finished(relay.await),
        }
    };
    match Stream::reunite(client_read, client_write) {
        Ok(stream) => *client = stream,
        Err(e) => tracing::warn!(error = %e, "cannot rejoin a client connection"),
    }
    outcome
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
