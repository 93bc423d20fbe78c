//! The README's promise: `cargo run --release -- up` right after
//! `cargo build --release --workspace` rebuilds nothing. That holds only if
//! every package is compiled with the same features in both builds; a
//! benchmark-only dependency once turned on `byteorder/default` for the
//! workspace build alone, and `up` recompiled 16 crates.

use std::collections::BTreeMap;
use std::process::Command;

/// Each package's enabled features, as `cargo tree` resolves them for a
/// build of `selection` (normal and build dependencies: what `cargo build`
/// compiles).
fn features(selection: &[&str]) -> BTreeMap<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--offline", "-e", "normal,build", "--prefix", "none", "-f", "{p}|{f}"])
        .args(selection)
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.trim_end_matches(" (*)").split_once('|'))
        .map(|(package, features)| (package.to_owned(), features.to_owned()))
        .collect()
}

#[test]
fn cargo_run_after_a_workspace_build_rebuilds_nothing() {
    let workspace = features(&["--workspace"]);
    let run = features(&["--package", "mashctl"]);
    let differing: Vec<String> = run
        .iter()
        .filter_map(|(package, wanted)| {
            let built = workspace.get(package)?;
            (built != wanted).then(|| format!("{package}: workspace [{built}], run [{wanted}]"))
        })
        .collect();
    assert!(differing.is_empty(), "features differ between the two builds:\n{}", differing.join("\n"));
}
