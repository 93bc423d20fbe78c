//! Accepting connections: the TLS handshake under a deadline, and a bound on
//! how many connections a server holds.
//!
//! tonic's own TLS acceptor has neither a connection limit nor a way to
//! verify client certificates beyond the CA, so the server does the
//! handshake here and hands tonic finished TLS streams.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming, TlsConnectInfo};

use crate::tls::ConnectionLimits;

/// A connection whose handshake completed, holding its place under the limit
/// until it closes.
pub(crate) struct Connection {
    tls: TlsStream<TcpStream>,
    _place: OwnedSemaphorePermit,
}

/// The accept task, stopped when the server that reads its connections stops.
pub(crate) struct Accepting(JoinHandle<()>);

impl Drop for Accepting {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Accepts from `incoming` in the background; the stream yields connections
/// whose TLS handshake (and so client verification) completed in time.
pub(crate) fn accept(
    incoming: TcpIncoming,
    server: Arc<rustls::ServerConfig>,
    limits: ConnectionLimits,
) -> (ReceiverStream<io::Result<Connection>>, Accepting) {
    let (sender, receiver) = mpsc::channel(64);
    let task = tokio::spawn(accept_loop(incoming, TlsAcceptor::from(server), limits, sender));
    (ReceiverStream::new(receiver), Accepting(task))
}

async fn accept_loop(
    mut incoming: TcpIncoming,
    acceptor: TlsAcceptor,
    limits: ConnectionLimits,
    ready: mpsc::Sender<io::Result<Connection>>,
) {
    let places = Arc::new(Semaphore::new(limits.max_connections));
    let mut handshakes = JoinSet::new();
    loop {
        tokio::select! {
            next = incoming.next() => match next {
                None => return,
                Some(Ok(tcp)) => {
                    // Over the limit, a new connection is closed at once: waiting
                    // would let stalled peers keep everyone else out for longer.
                    let Ok(place) = places.clone().try_acquire_owned() else {
                        tracing::warn!(limit = limits.max_connections, "connection limit reached; closing a new connection");
                        continue;
                    };
                    handshakes.spawn(handshake(acceptor.clone(), tcp, place, limits, ready.clone()));
                }
                Some(Err(error)) => {
                    // Out of file descriptors, typically: pause rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
            () = ready.closed() => return,
        }
    }
}

async fn handshake(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    place: OwnedSemaphorePermit,
    limits: ConnectionLimits,
    ready: mpsc::Sender<io::Result<Connection>>,
) {
    match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => {
            let _ = ready.send(Ok(Connection { tls, _place: place })).await;
        }
        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake refused"),
        Err(_) => tracing::debug!("TLS handshake timed out; connection closed"),
    }
}

impl Connected for Connection {
    // The type tonic's `Request::peer_certs` looks for.
    type ConnectInfo = TlsConnectInfo<TcpConnectInfo>;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.tls.connect_info()
    }
}

impl AsyncRead for Connection {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tls).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tls).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tls.is_write_vectored()
    }
}
