//! Client channels over mutual TLS.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::{TlsMaterial, TransportError};

/// Long enough for a loaded machine, short enough that a wrong address shows
/// at start-up rather than hanging it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects now, over mutual TLS, to e.g. `https://127.0.0.1:50051`, so that
/// a wrong address or certificate fails at start-up.
pub async fn connect(uri: &str, tls: &TlsMaterial) -> Result<Channel, TransportError> {
    endpoint(uri, tls)?.connect().await.map_err(|error| TransportError::Connect { uri: uri.to_owned(), error })
}

/// Like [`connect`] but connects on first use, for peers that may start
/// after us (the broker's feeds). Only the URI and TLS setup are checked now.
pub fn connect_lazy(uri: &str, tls: &TlsMaterial) -> Result<Channel, TransportError> {
    Ok(endpoint(uri, tls)?.connect_lazy())
}

fn endpoint(uri: &str, tls: &TlsMaterial) -> Result<Endpoint, TransportError> {
    let invalid = |error| TransportError::Endpoint { uri: uri.to_owned(), error };
    let endpoint = Endpoint::from_shared(uri.to_owned()).map_err(invalid)?;
    let endpoint = endpoint.tls_config(tls.client_config()).map_err(invalid)?;
    Ok(endpoint.tcp_nodelay(true).connect_timeout(CONNECT_TIMEOUT))
}
