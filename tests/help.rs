//! Every subcommand's `--help`, snapshotted: the command line is public API (the spec's flags and
//! file names), so any change to it shows up here as a diff to review. The list of subcommands is
//! read from `airlock --help` itself (recursively), so a new subcommand without a snapshot fails.
//! Regenerate after an intended change with `UPDATE_GOLDEN=1 cargo test --test help`.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::path::PathBuf;

use assert_cmd::Command;

fn help(path: &[&str]) -> String {
    let out = Command::cargo_bin("airlock")
        .unwrap()
        .args(path)
        .arg("--help")
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{path:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommand names listed under `Commands:` (without `help`).
fn subcommands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("Commands:") {
            inside = true;
            continue;
        }
        if inside {
            if line.trim().is_empty() || !line.starts_with("  ") {
                break;
            }
            if let Some(name) = line.split_whitespace().next() {
                if name != "help" {
                    out.push(name.to_string());
                }
            }
        }
    }
    out
}

fn snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/help")
}

#[test]
fn every_subcommand_help_matches_its_snapshot() {
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    let mut checked = Vec::new();
    let mut problems = Vec::new();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        for sub in subcommands(&text) {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
        let name = if path.is_empty() {
            "airlock".to_string()
        } else {
            format!("airlock-{}", path.join("-"))
        };
        let file = snapshot_dir().join(format!("{name}.txt"));
        if update {
            std::fs::create_dir_all(snapshot_dir()).unwrap();
            std::fs::write(&file, &text).unwrap();
        } else {
            match std::fs::read_to_string(&file) {
                Ok(want) if want == text => {}
                Ok(want) => {
                    let line = want
                        .lines()
                        .zip(text.lines())
                        .position(|(a, b)| a != b)
                        .unwrap_or(want.lines().count().min(text.lines().count()));
                    problems.push(format!(
                        "{name} --help differs from {} at line {}:\n  snapshot: {:?}\n  actual:   {:?}",
                        file.display(),
                        line + 1,
                        want.lines().nth(line),
                        text.lines().nth(line)
                    ));
                }
                Err(_) => problems.push(format!("{name} has no snapshot {}", file.display())),
            }
        }
        checked.push(name);
    }
    assert!(
        problems.is_empty(),
        "{}\nif the change is intended: UPDATE_GOLDEN=1 cargo test --test help",
        problems.join("\n")
    );
    // The spec's commands are all there (a renamed or lost subcommand is not a snapshot update).
    for cmd in [
        "capture",
        "verify",
        "verify-bundle",
        "push",
        "report",
        "admission",
        "preflight",
        "inspect",
        "pack",
        "unpack",
        "merge",
        "keys",
        "completions",
        "man",
    ] {
        assert!(
            checked.contains(&format!("airlock-{cmd}")),
            "{cmd}: {checked:?}"
        );
    }
    // No stale snapshot of a command that no longer exists.
    for e in std::fs::read_dir(snapshot_dir()).unwrap() {
        let f = e.unwrap().file_name().to_string_lossy().into_owned();
        let stem = f.trim_end_matches(".txt").to_string();
        assert!(checked.contains(&stem), "stale snapshot {f}");
    }
}

#[test]
fn subcommands_are_read_from_the_commands_section() {
    let text = "Usage: x\n\nCommands:\n  capture  Copy\n  verify   Check\n  help     Print\n\nOptions:\n  -h\n";
    assert_eq!(subcommands(text), ["capture", "verify"]);
    assert!(subcommands("Usage: x\n\nOptions:\n  -h\n").is_empty());
}
