//! `mashctl synth | head -1`: the reader goes away after the first line.

use std::process::{Command, Stdio};

#[test]
fn synth_into_a_closed_pipe_writes_every_extract_and_does_not_panic() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("synth");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mashctl"))
        .args(["synth", "--people", "60", "--seed", "3", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // The reading end is closed before the first line is written.
    drop(child.stdout.take());
    let output = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    for agency in ["police", "health", "education", "social-care"] {
        assert!(out.join(format!("{agency}.jsonl")).metadata()?.len() > 0, "{agency}");
    }
    Ok(())
}
