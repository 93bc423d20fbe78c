//! Client channels over mutual TLS, each bound to the identity of the server
//! it means to reach.

use std::time::Duration;

use mash_domain::Identity;
use tonic::transport::{Channel, Endpoint};

use crate::{TlsMaterial, TransportError};

/// Long enough for a loaded machine, short enough that a wrong address shows
/// at start-up rather than hanging it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects now, over mutual TLS, to e.g. `https://127.0.0.1:50051`, so that
/// a wrong address or certificate fails at start-up. The server must present
/// a certificate for the URI's host whose one URI SAN is `server`: any other
/// certificate of the same CA (another feed's, say) is refused.
pub async fn connect(uri: &str, tls: &TlsMaterial, server: &Identity) -> Result<Channel, TransportError> {
    endpoint(uri, tls, server)?.connect().await.map_err(|error| TransportError::Connect { uri: uri.to_owned(), error })
}

/// Like [`connect`] but connects on first use, for peers that may start
/// after us (the broker's feeds). Only the URI and TLS setup are checked now;
/// the server's identity is checked on every connection.
pub fn connect_lazy(uri: &str, tls: &TlsMaterial, server: &Identity) -> Result<Channel, TransportError> {
    Ok(endpoint(uri, tls, server)?.connect_lazy())
}

fn endpoint(uri: &str, tls: &TlsMaterial, server: &Identity) -> Result<Endpoint, TransportError> {
    let invalid = |error| TransportError::Endpoint { uri: uri.to_owned(), error };
    let endpoint = Endpoint::from_shared(uri.to_owned()).map_err(invalid)?;
    let (config, verifier) = tls.client_config(server);
    let endpoint = endpoint.tls_config_with_verifier(config, verifier).map_err(invalid)?;
    Ok(endpoint.tcp_nodelay(true).connect_timeout(CONNECT_TIMEOUT))
}
