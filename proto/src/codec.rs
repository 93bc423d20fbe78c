//! The codec of every generated client and server: prost's, except that a
//! message that does not decode is INVALID_ARGUMENT.
//!
//! tonic-prost follows gRPC's guidance and answers INTERNAL for a message
//! that does not parse. To a MASH client that reads as the server's fault,
//! when it was the bytes the client sent; the field at fault is the whole
//! request, so that is the field the status names. The same codec decodes
//! responses on the client side, where such an error would mean a broken
//! server: it keeps the same code there, which a client reports either way.

use tonic::{
    Code, Status,
    codec::{BufferSettings, Codec as TonicCodec, DecodeBuf, Decoder},
};
use tonic_prost::ProstCodec;

/// `ProstCodec`, with undecodable messages refused as INVALID_ARGUMENT.
#[derive(Debug, Clone, Default)]
pub struct Codec<T, U>(ProstCodec<T, U>);

impl<T, U> TonicCodec for Codec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = <ProstCodec<T, U> as TonicCodec>::Encoder;
    type Decoder = InvalidIsInvalidArgument<<ProstCodec<T, U> as TonicCodec>::Decoder>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        InvalidIsInvalidArgument(self.0.decoder())
    }
}

/// A decoder whose INTERNAL (prost's "does not decode") is INVALID_ARGUMENT.
#[derive(Debug)]
pub struct InvalidIsInvalidArgument<D>(D);

impl<D: Decoder<Error = Status>> Decoder for InvalidIsInvalidArgument<D> {
    type Item = D::Item;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        self.0.decode(buf).map_err(|status| match status.code() {
            Code::Internal => {
                Status::invalid_argument(format!("request: is not a valid message: {}", status.message()))
            }
            _ => status,
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
