//! `mashctl up` as a newcomer and a process supervisor use it: run from
//! another directory, with a fifth agency added by configuration, stopped
//! with SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shipped policy with probation's rows appended to each file they belong in.
fn policy_with_probation(dir: &Path) -> PathBuf {
    let probation = repo().join("deploy/agencies/probation");
    std::fs::create_dir_all(dir).expect("policy dir");
    for entry in std::fs::read_dir(repo().join("policy")).expect("policy/") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("a file");
        let mut text = std::fs::read_to_string(&path).expect("policy file");
        if let Ok(rows) = std::fs::read_to_string(probation.join(name)) {
            text.push_str(&rows);
        }
        std::fs::write(dir.join(name), text).expect("write policy file");
    }
    dir.to_path_buf()
}

#[test]
fn up_runs_a_fifth_agency_from_another_directory_and_stops_on_sigterm() {
    let work = tempfile::tempdir().expect("tempdir");
    let policy = policy_with_probation(&work.path().join("policy"));
    let mapping = repo().join("deploy/agencies/probation/probation.toml");
    let mut up = Command::new(env!("CARGO_BIN_EXE_mashctl"))
        .current_dir(work.path())
        .args(["up", "--base-port", "0", "--no-demo", "--dir", "state"])
        .arg("--policy-dir")
        .arg(&policy)
        .arg("--agency-mapping")
        .arg(&mapping)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mashctl up starts");
    let (lines, received) = mpsc::channel();
    let stdout = BufReader::new(up.stdout.take().expect("stdout"));
    std::thread::spawn(move || stdout.lines().map_while(Result::ok).for_each(|line| drop(lines.send(line))));
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.starts_with("ready")) {
        match received.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = up.kill();
                panic!("`up` never said ready; it printed:\n{}", seen.join("\n"));
            }
        }
    }
    assert!(seen.iter().any(|l| l.starts_with("feed probation")), "no probation feed in:\n{}", seen.join("\n"));

    let endpoints: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path().join("state/endpoints.json")).expect("endpoints.json"))
            .expect("endpoints.json is JSON");
    let ca = endpoints["ca"].as_str().expect("ca path");
    assert!(Path::new(ca).is_absolute(), "endpoints.json must hold absolute paths, not {ca}");
    assert!(endpoints["feeds"]["probation"].is_string(), "probation missing from endpoints.json: {endpoints}");

    let pid = up.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let status = up.wait().expect("up exits");
    let rest: Vec<String> = received.iter().collect();
    assert!(status.success(), "`up` exited with {status} on SIGTERM");
    assert!(rest.iter().any(|l| l == "stopped"), "`up` said nothing when stopped: {rest:?}");
}
