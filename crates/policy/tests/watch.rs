//! The policy watcher, in a test binary of its own: it reads the process's
//! metrics, which other tests' reloads would also move.

use std::path::Path;
use std::time::Duration;

fn reload_failures() -> u64 {
    let text = mash_telemetry::metrics::metrics().encode();
    let line = text.lines().find(|l| l.contains("policy_reload_failures") && !l.starts_with('#')).expect("the metric");
    line.rsplit(' ').next().and_then(|n| n.parse().ok()).expect("a count")
}

#[tokio::test]
async fn rejected_files_are_reported_once_not_on_every_look() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy");
    for entry in std::fs::read_dir(shipped).expect("policy/") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.path().join(path.file_name().expect("a file"))).expect("copy");
    }
    let live = mash_policy::LivePolicy::load(dir.path()).await.expect("loads");
    let watcher = live.clone().watch(Duration::from_millis(10));
    let policy = dir.path().join("disclosure_policy.csv");
    let good = std::fs::read_to_string(&policy).expect("read");
    std::fs::write(&policy, format!("{good}\np, *, 1, broken\n")).expect("write");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(reload_failures(), 1, "one rejected version, looked at ~50 times, is one failure");

    // Other broken files are a new failure; good files are loaded as before.
    std::fs::write(&policy, format!("{good}\np, *, 2, broken\n")).expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reload_failures(), 2);
    let before = live.current().version().to_owned();
    std::fs::write(&policy, format!("{good}\n# a comment\n")).expect("write");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_ne!(live.current().version(), before, "valid files are still put in force");
    watcher.abort();
}
