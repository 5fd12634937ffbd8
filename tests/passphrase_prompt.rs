//! Passphrases typed at a terminal prompt (a pseudo-terminal from util-linux `script`) when
//! AIRLOCK_PASSWORD/COSIGN_PASSWORD are unset, and the refusal of an empty passphrase; the
//! user PIN of a PKCS#11 token likewise when neither the URI nor AIRLOCK_PKCS11_PIN gives one.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use airlock::trust::keys::{load_public_key_file, load_signing_key_file};

fn bin() -> String {
    assert_cmd::cargo::cargo_bin("airlock")
        .to_string_lossy()
        .into_owned()
}

/// Run `args` on a pseudo-terminal; each time the output shows the next prompt, type its answer.
/// Returns (exit code, everything the terminal showed).
fn on_terminal(args: &str, answers: &[(&str, &str)]) -> (Option<i32>, String) {
    on_terminal_with_env(args, &[], answers)
}

/// [`on_terminal`] with these extra environment variables.
fn on_terminal_with_env(
    args: &str,
    envs: &[(&str, &str)],
    answers: &[(&str, &str)],
) -> (Option<i32>, String) {
    assert!(
        Path::new("/usr/bin/script").exists(),
        "/usr/bin/script is missing: install Debian's util-linux"
    );
    let mut child = Command::new("/usr/bin/script")
        .args(["-q", "-e", "-c", &format!("{} {args}", bin()), "/dev/null"])
        .env_remove("AIRLOCK_PASSWORD")
        .env_remove("COSIGN_PASSWORD")
        .env_remove("AIRLOCK_PKCS11_PIN")
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let mut seen = String::new();
    let mut consumed = 0;
    for (prompt, answer) in answers {
        while !seen[consumed..].contains(prompt) {
            match rx.recv() {
                Ok(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk)),
                Err(_) => panic!("the command ended before prompting {prompt:?}: {seen}"),
            }
        }
        consumed = seen[consumed..].find(prompt).unwrap() + consumed + prompt.len();
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let status = child.wait().unwrap();
    drop(stdin);
    let _ = reader.join();
    while let Ok(chunk) = rx.try_recv() {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    (status.code(), seen)
}

#[test]
fn keys_generate_on_a_terminal_prompts_twice_and_encrypts_with_the_typed_passphrase() {
    let t = tempfile::tempdir().unwrap();
    let prefix = t.path().join("k");
    let (code, shown) = on_terminal(
        &format!("keys generate --scrypt-log-n 15 --out {}", prefix.display()),
        &[
            ("Enter passphrase for the new private key: ", "typed-pw"),
            ("Enter the passphrase again: ", "typed-pw"),
        ],
    );
    assert_eq!(code, Some(0), "{shown}");
    let sk = load_signing_key_file(&t.path().join("k.key"), Some(b"typed-pw")).unwrap();
    assert_eq!(
        sk.public_key(),
        load_public_key_file(&t.path().join("k.pub")).unwrap()
    );
}

#[test]
fn keys_generate_with_two_different_passphrases_is_exit_2_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let prefix = t.path().join("k");
    let (code, shown) = on_terminal(
        &format!("keys generate --scrypt-log-n 15 --out {}", prefix.display()),
        &[
            ("Enter passphrase for the new private key: ", "one"),
            ("Enter the passphrase again: ", "two"),
        ],
    );
    assert_eq!(code, Some(2), "{shown}");
    assert!(shown.contains("differ"), "{shown}");
    assert!(!t.path().join("k.key").exists());
}

#[test]
fn keys_generate_refuses_an_empty_passphrase_unless_allowed() {
    let t = tempfile::tempdir().unwrap();
    let run = |extra: &[&str], name: &str| {
        Command::new(bin())
            .env_remove("AIRLOCK_PASSWORD")
            .env_remove("COSIGN_PASSWORD")
            .args(["keys", "generate", "--scrypt-log-n", "15", "--out"])
            .arg(t.path().join(name))
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = run(&[], "refused");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--allow-empty-passphrase"), "{err}");
    assert!(!t.path().join("refused.key").exists());
    // An empty passphrase typed at the prompt is refused the same way.
    let (code, shown) = on_terminal(
        &format!(
            "keys generate --scrypt-log-n 15 --out {}",
            t.path().join("typed").display()
        ),
        &[
            ("Enter passphrase for the new private key: ", ""),
            ("Enter the passphrase again: ", ""),
        ],
    );
    assert_eq!(code, Some(2), "{shown}");
    assert!(shown.contains("--allow-empty-passphrase"), "{shown}");
    let o = run(&["--allow-empty-passphrase"], "allowed");
    assert_eq!(o.status.code(), Some(0));
    assert!(load_signing_key_file(&t.path().join("allowed.key"), Some(b"")).is_ok());
}

#[test]
fn sign_key_passphrase_is_prompted_on_a_terminal_and_a_wrong_one_is_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let key = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/demo.key");
    let (code, shown) = on_terminal(
        &format!(
            "capture 127.0.0.1:1/team/app:v1 -o {} --sign-key {}",
            t.path().join("b").display(),
            key.display()
        ),
        &[(
            &format!("Enter passphrase for {}: ", key.display()),
            "wrong",
        )],
    );
    assert_eq!(code, Some(2), "{shown}");
    assert!(shown.to_lowercase().contains("passphrase"), "{shown}");
    assert!(!t.path().join("b").exists());
}

#[test]
fn pkcs11_pin_is_prompted_on_a_terminal_and_a_wrong_one_is_exit_2() {
    use common::softhsm::{SoftHsm, TOKEN, USER_PIN};
    let hsm = SoftHsm::init();
    let t = tempfile::tempdir().unwrap();
    let conf = hsm.conf();
    let env = [("SOFTHSM2_CONF", conf.to_str().unwrap())];
    let prompt = format!("Enter user PIN for {TOKEN}: ");
    // The URI is quoted for the shell that `script` runs the command with.
    let generate = |object: &str| {
        format!(
            "keys generate --pkcs11 '{}' --out {}",
            hsm.uri(object),
            t.path().join(object).display()
        )
    };
    let (code, shown) = on_terminal_with_env(&generate("gate"), &env, &[(&prompt, USER_PIN)]);
    assert_eq!(code, Some(0), "{shown}");
    assert!(load_public_key_file(&t.path().join("gate.pub")).is_ok());
    let (code, shown) = on_terminal_with_env(&generate("other"), &env, &[(&prompt, "000000")]);
    assert_eq!(code, Some(2), "{shown}");
    assert!(
        shown.contains(&format!("wrong PIN for token \"{TOKEN}\""))
            && shown.contains("terminal prompt"),
        "{shown}"
    );
    assert!(!t.path().join("other.pub").exists());
}
