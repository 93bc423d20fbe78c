//! Generated protobuf and gRPC code for the MASH broker and the agency feeds.
//!
//! Everything generated lives behind this crate boundary. Other crates convert
//! these wire types into domain types at the gRPC edge and never pass them
//! further in.
#![allow(clippy::all, missing_docs)]

pub mod codec;

pub mod v1 {
    tonic::include_proto!("mash.v1");
}

/// The encoded descriptor set, served by gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("mash_descriptor");
