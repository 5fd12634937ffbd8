//! Push progress when stderr is not a terminal: plain lines whose byte counts add up exactly to
//! the planned blobs (bytes are reported as pieces are sent, see `push::PushProgress`), and
//! nothing with `--quiet`.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod common;

use std::fs;

use common::registry::{Flavour, Registry};

#[test]
fn push_with_stderr_to_a_file_prints_progress_lines_whose_bytes_add_up_and_quiet_prints_none() {
    let src = Registry::start(Flavour::Plain);
    let site = Registry::start(Flavour::Plain);
    // 3 MiB + 4 KiB of layers: the big one is sent in several pieces.
    src.fixtures().image(
        "team/app",
        "v1",
        &[vec![7u8; 3 * 1024 * 1024], vec![8u8; 4096]],
    );
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("bundle");
    let o = src.capture(&[src.image_ref("team/app", "v1")], &bundle, &["--quiet"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let push = |target: &str, extra: &[&str]| {
        let log = tmp.path().join(format!("push-{}.log", extra.len()));
        let file = fs::File::create(&log).unwrap();
        let status = std::process::Command::new(assert_cmd::cargo::cargo_bin("airlock"))
            .envs(site.airlock_env())
            .env("AIRLOCK_PROGRESS_INTERVAL", "0.01")
            .arg("push")
            .arg(&bundle)
            .arg(target)
            .arg("--no-verify")
            .args(site.cli_flags())
            .args(extra)
            .stderr(file)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(0));
        fs::read_to_string(log).unwrap()
    };
    let log = push(&format!("{}/mirror", site.host), &[]);
    let last = log
        .lines()
        .rfind(|l| l.starts_with("push: "))
        .unwrap_or_else(|| panic!("no progress line in {log}"));
    // Config and two layers: exactly the planned bytes, each blob counted once.
    assert!(last.starts_with("push: done, 3 items, 3.0 MiB, "), "{log}");
    assert!(log
        .lines()
        .filter(|l| l.starts_with("push: progress: "))
        .all(|l| l.contains(" items, ") && l.contains("/s, ")));
    let quiet = push(&format!("{}/other", site.host), &["--quiet"]);
    assert!(!quiet.lines().any(|l| l.starts_with("push: ")), "{quiet}");
}
