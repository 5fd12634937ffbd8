//! `airlock --version`, `airlock completions SHELL` and `airlock man`.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use assert_cmd::Command;

fn airlock(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("airlock")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn version_shows_the_package_version_and_a_commit() {
    let o = airlock(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    let want = format!("airlock {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(out.starts_with(&want), "{out}");
    let commit = out[want.len()..].trim_end().trim_end_matches(')');
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{out}"
    );
}

#[test]
fn completions_for_bash_zsh_and_fish_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let o = airlock(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let out = String::from_utf8_lossy(&o.stdout);
        for sub in ["capture", "verify", "push", "inspect", "completions", "man"] {
            assert!(out.contains(sub), "{shell} completion lacks {sub}");
        }
    }
}

#[test]
fn completions_for_an_unknown_shell_is_exit_2() {
    let o = airlock(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn man_prints_a_roff_page_with_the_subcommands() {
    let o = airlock(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(".TH airlock 1"), "{out}");
    assert!(out.contains("capture"), "{out}");
}
