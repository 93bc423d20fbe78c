//! Mutual TLS for every server and client, peer identity from the verified certificate, and the shared server shape.
