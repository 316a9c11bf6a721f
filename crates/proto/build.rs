//! Compiles `proto/` with protox (pure Rust, so no protoc is needed) and generates tonic code.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = [
        "scamtrail/v1/report.proto",
        "scamtrail/v1/cluster.proto",
        "scamtrail/v1/intake.proto",
        "scamtrail/v1/triage.proto",
        "scamtrail/v1/lookup.proto",
        "scamtrail/v1/auth.proto",
        "scamtrail/v1/admin.proto",
        "scamtrail/v1/export.proto",
    ];
    println!("cargo:rerun-if-changed={}", root.display());
    let fds = protox::compile(files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("scamtrail_descriptor.bin"), prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(fds)?;
    Ok(())
}
