//! Build script: a digest of the sources that decide polscan's results
//! (this crate's, the engine's, the evidence's and report-model's sources and manifests, and the
//! workspace's Cargo.lock) enters the build as `POLSCAN_BUILD_ID`. Stored
//! reports are reused only under the build that made them
//! (`scan::reuse`): a rebuilt engine may judge differently under one
//! version number, and neither the version nor the binary's size or
//! modification time tells builds apart.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn files(root: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, found);
        } else {
            found.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let inputs = [
        manifest.join("src"),
        manifest.join("Cargo.toml"),
        manifest.join("../engine/src"),
        manifest.join("../engine/Cargo.toml"),
        manifest.join("../evidence/src"),
        manifest.join("../evidence/Cargo.toml"),
        manifest.join("../../report-model/src"),
        manifest.join("../../report-model/Cargo.toml"),
        manifest.join("../../Cargo.lock"),
    ];
    let mut found = Vec::new();
    for input in &inputs {
        println!("cargo:rerun-if-changed={}", input.display());
        if input.is_dir() {
            files(input, &mut found);
        } else if input.is_file() {
            found.push(input.clone());
        }
    }
    found.sort();
    let mut hasher = Sha256::new();
    for path in &found {
        let name = path.strip_prefix(&manifest).unwrap_or(path);
        hasher.update(name.to_string_lossy().as_bytes());
        hasher.update([0u8]);
        let bytes = std::fs::read(path).unwrap_or_default();
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    let digest = hasher.finalize();
    let id: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo:rustc-env=POLSCAN_BUILD_ID={id}");
}
