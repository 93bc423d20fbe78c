//! `deploy/local/up.sh` and `down.sh`, run against stand-in services (shell
//! scripts that announce their ports and sleep), so that no build is needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SERVICES: [&str; 5] = ["feed-police", "feed-health", "feed-education", "feed-social-care", "broker"];

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/local").join(name)
}

/// A directory of stand-ins: `mashctl` does nothing, each service says what
/// a real one says when it is ready, then sleeps until stopped.
fn stand_ins(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let write = |name: &str, body: &str| -> anyhow::Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n"))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        Ok(())
    };
    write("mashctl", "exit 0")?;
    for service in SERVICES {
        write(
            &format!("mash-{service}"),
            "echo \"listening on 127.0.0.1:0\"\necho \"health on 127.0.0.1:0\"\nexec sleep 60",
        )?;
    }
    Ok(())
}

fn run(name: &str, bin: &Path, state: &Path) -> anyhow::Result<Output> {
    let output = Command::new("bash")
        .arg(script(name))
        .env("MASH_LOCAL_BIN", bin)
        .env("MASH_LOCAL_DIR", state)
        .env_remove("MASH_LOCAL_POSTGRES")
        .output()?;
    anyhow::ensure!(output.status.success(), "{name}: {}", String::from_utf8_lossy(&output.stderr));
    Ok(output)
}

#[test]
fn up_restarts_a_killed_unreaped_service_and_appends_to_its_log() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (bin, state) = (dir.path().join("bin"), dir.path().join("state"));
    std::fs::create_dir_all(&bin)?;
    stand_ins(&bin)?;
    run("up.sh", &bin, &state)?;
    run("down.sh", &bin, &state)?;

    // A feed killed with SIGKILL whose parent (here, this test) has not
    // reaped it: a zombie, which `kill -0` still finds.
    let mut zombie = Command::new("sleep").arg("60").spawn()?;
    Command::new("kill").arg("-9").arg(zombie.id().to_string()).status()?;
    std::thread::sleep(std::time::Duration::from_millis(200));
    std::fs::write(state.join("pids/feed-police.pid"), zombie.id().to_string())?;

    let up = run("up.sh", &bin, &state)?;
    let said = String::from_utf8_lossy(&up.stdout);
    assert!(!said.contains("feed-police already running"), "{said}");
    let pid: u32 = std::fs::read_to_string(state.join("pids/feed-police.pid"))?.trim().parse()?;
    assert_ne!(pid, zombie.id(), "the zombie's pid was kept");
    run("down.sh", &bin, &state)?;
    zombie.wait()?;

    for service in SERVICES {
        let log = std::fs::read_to_string(state.join(format!("logs/{service}.log")))?;
        assert_eq!(log.matches("health on").count(), 2, "{service}: each run's lines are kept:\n{log}");
    }
    Ok(())
}
