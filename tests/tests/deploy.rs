//! The Kubernetes manifests build and validate: `deploy/validate.sh`, run
//! from the test suite so that a manifest that no longer builds, or that
//! breaks a rule of the firewall, fails `cargo test --workspace`.
//!
//! Its first run installs kustomize (pykustomize) and the schemas
//! (kubernetes-validate) from PyPI into a cached virtualenv; after that it
//! runs offline in a couple of seconds.

use std::path::Path;
use std::process::Command;

#[test]
fn kubernetes_manifests_build_and_validate() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/validate.sh");
    let output = Command::new("bash").arg(&script).output().expect("bash runs deploy/validate.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "deploy/validate.sh failed ({}):\n{stdout}{stderr}", output.status);
    assert!(stdout.contains(": ok"), "deploy/validate.sh printed no verdict:\n{stdout}{stderr}");
}
