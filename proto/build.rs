//! Compiles the protobuf definitions with protox, so no system `protoc` is needed.
use std::{env, path::PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "mash/v1/common.proto",
        "mash/v1/records.proto",
        "mash/v1/feed.proto",
        "mash/v1/resources.proto",
        "mash/v1/enquiry_service.proto",
        "mash/v1/frontdoor_service.proto",
        "mash/v1/hold_service.proto",
        "mash/v1/disclosure_log_service.proto",
        "mash/v1/agency_queue_service.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let fds = protox::compile(files, ["."])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    // compile_fds does not write the descriptor set; reflection needs it.
    std::fs::write(out.join("mash_descriptor.bin"), fds.encode_to_vec())?;
    // Every client and server uses `crate::codec::Codec`: prost's, with an
    // undecodable request refused as INVALID_ARGUMENT rather than INTERNAL.
    tonic_prost_build::configure().codec_path("crate::codec::Codec").compile_fds(fds)?;
    Ok(())
}
