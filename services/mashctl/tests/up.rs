//! `mashctl up` as a newcomer and a process supervisor use it: run from
//! another directory, with a fifth agency added by configuration, stopped
//! with SIGTERM.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

/// `mashctl up` running in `work`, its stdout lines arriving on the receiver.
struct Up {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Up {
    /// Starts `up` with `args` and waits until it says it is ready; returns what it printed.
    fn start(work: &Path, args: &[&OsStr]) -> (Self, Vec<String>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mashctl"))
            .current_dir(work)
            .args(["up", "--base-port", "0", "--no-demo", "--dir", "state"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mashctl up starts");
        let (sender, lines) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        std::thread::spawn(move || stdout.lines().map_while(Result::ok).for_each(|line| drop(sender.send(line))));
        let mut seen = Vec::new();
        while !seen.iter().any(|l: &String| l.starts_with("ready")) {
            match lines.recv_timeout(Duration::from_secs(120)) {
                Ok(line) => seen.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!("`up` never said ready; it printed:\n{}", seen.join("\n"));
                }
            }
        }
        (Self { child, lines }, seen)
    }

    /// SIGTERM, then everything else it printed and how it exited.
    fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
        let status = self.child.wait().expect("up exits");
        (status, self.lines.iter().collect())
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn up_runs_a_fifth_agency_from_another_directory_and_stops_on_sigterm() {
    let work = tempfile::tempdir().expect("tempdir");
    let policy = policy_with_probation(&work.path().join("policy"));
    let mapping = repo().join("deploy/agencies/probation/probation.toml");
    let args = [OsStr::new("--policy-dir"), policy.as_os_str(), OsStr::new("--agency-mapping"), mapping.as_os_str()];
    let (up, seen) = Up::start(work.path(), &args);
    assert!(seen.iter().any(|l| l.starts_with("feed probation")), "no probation feed in:\n{}", seen.join("\n"));

    let endpoints: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path().join("state/endpoints.json")).expect("endpoints.json"))
            .expect("endpoints.json is JSON");
    let ca = endpoints["ca"].as_str().expect("ca path");
    assert!(Path::new(ca).is_absolute(), "endpoints.json must hold absolute paths, not {ca}");
    assert!(endpoints["feeds"]["probation"].is_string(), "probation missing from endpoints.json: {endpoints}");

    let (status, rest) = up.terminate();
    assert!(status.success(), "`up` exited with {status} on SIGTERM");
    assert!(rest.iter().any(|l| l == "stopped"), "`up` said nothing when stopped: {rest:?}");
}

/// An integrator's script: `push --json` reports each rejected row by its
/// line in the file, and a push with rejections exits non-zero.
#[test]
fn push_reports_rejected_rows_as_json_and_fails() {
    let work = tempfile::tempdir().expect("tempdir");
    let (up, _) = Up::start(work.path(), &[]);
    let row = |id: &str, date: &str| {
        serde_json::json!({"record_id": id, "version": "1", "given_name": "Amy", "family_name": "Lee",
            "date_of_birth": "2016-04-12", "postcode": "LS1 4AB", "category": "health/gp-registration",
            "contact_date": date, "setting": "GP surgery", "reason": "registration", "clinical_notes": "none"})
        .to_string()
    };
    let extract = [row("H-1", "2025-01-02"), row("H-2\u{1b}[2J", "2025-01-02"), row("H-3", "not a date")].join("\n");
    std::fs::write(work.path().join("extract.jsonl"), extract).expect("extract");
    let pushed = Command::new(env!("CARGO_BIN_EXE_mashctl"))
        .current_dir(work.path())
        .args(["--endpoints", "state/endpoints.json", "push", "--agency", "health", "--json", "extract.jsonl"])
        .output()
        .expect("mashctl push runs");
    assert!(!pushed.status.success(), "a push with rejected rows must fail: {pushed:?}");
    let report: serde_json::Value = serde_json::from_slice(&pushed.stdout).expect("the report is JSON");
    assert_eq!((report["received"].as_u64(), report["stored"].as_u64()), (Some(3), Some(1)), "{report}");
    let rows: Vec<(u64, &str)> = report["rejected"]
        .as_array()
        .expect("rejected rows")
        .iter()
        .map(|r| (r["row"].as_u64().expect("row"), r["field"].as_str().expect("field")))
        .collect();
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 3], "{report}");
    assert_eq!(rows[0].1, "record_id", "{report}");
    drop(up);
}
