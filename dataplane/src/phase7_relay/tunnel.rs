//! Relaying an upgraded connection (exec, attach, port-forward) in both directions.

use crate::io::{BodySink, IoBuffer, ReadHalf, Stream, WriteHalf};
use crate::metrics::{CoreMetrics, Counted, Direction};

/// Relays an upgraded connection (`101 Switching Protocols`) in both directions until both sides are done.
///
/// Bytes already buffered on either side go first. Each direction half-closes its destination when its
/// source ends, so the peer sees the end of the stream and closes its side in turn. What is relayed is counted
/// in `metrics`.
pub async fn tunnel(
    client: Stream,
    mut client_buf: IoBuffer,
    upstream: Stream,
    mut upstream_buf: IoBuffer,
    metrics: &CoreMetrics,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let mut to_upstream = Counted::new(&mut upstream_write, metrics, Direction::ClientToUpstream);
    let mut to_client = Counted::new(&mut client_write, metrics, Direction::UpstreamToClient);
    monoio::join!(
        pump(&mut client_read, &mut client_buf, &mut to_upstream),
        pump(&mut upstream_read, &mut upstream_buf, &mut to_client),
    );
}

async fn pump(src: &mut ReadHalf, buf: &mut IoBuffer, dst: &mut Counted<'_, WriteHalf>) {
    loop {
        if !buf.is_empty() && dst.write_buffered(buf, buf.len()).await.is_err() {
            return;
        }
        match src.read(buf).await {
            Ok(0) | Err(_) => {
                let _ = dst.inner().shutdown().await;
                return;
            }
            Ok(_) => {}
        }
    }
}
