//! scamtrail's API contract as Rust: the code tonic and prost generate from `proto/scamtrail/v1`,
//! and the encoded file descriptor set that server reflection serves.
//!
//! This crate holds no logic. Nothing but the build script may change what is in it: edit the
//! `.proto` files instead.

#![allow(missing_docs)] // generated code is documented by the comments in the .proto files

/// Version 1 of the API.
pub mod v1 {
    tonic::include_proto!("scamtrail.v1");
}

/// The file descriptor set of every scamtrail proto and its imports, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/scamtrail_descriptor.bin"));
