//! `airlock verify DIR --policy FILE`: offline verification of a bundle.
use std::path::PathBuf;

use airlock::layout::{self, load::load_view};
use airlock::pins::Pins;
use airlock::report::render;
use airlock::trust::keys;
use airlock::verify::{verify, LockInput, Trust};

use super::common::{self, Format};
use super::{Fatal, EXIT_FAIL, EXIT_OK};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The bundle (an OCI image layout directory).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Policy file (YAML, apiVersion airlock/v1).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Directory of public keys: `<name>.pub` supplies the policy's key `<name>`; other keys there
    /// are known but untrusted (used to name who signed).
    #[arg(long, value_name = "DIR")]
    keys: Option<PathBuf>,
    /// Pins file: `registry/repo[:tag]@sha256:<hex>` per line.
    #[arg(long, value_name = "FILE")]
    pins: Option<PathBuf>,
    /// Lock file (default: DIR/airlock.lock.json when present).
    #[arg(long, value_name = "FILE")]
    lock: Option<PathBuf>,
    /// Public key that signed the lock (requires DIR/airlock.lock.dsse.json).
    #[arg(long, value_name = "PUB")]
    capture_key: Option<PathBuf>,
    /// Write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Evaluation time (RFC 3339), default now.
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// Hashing threads.
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
}

pub fn run(a: Args) -> Result<u8, Fatal> {
    let (policy, keys_map, known) = common::load_policy_and_keys(&a.policy, a.keys.as_deref())?;
    let pins = match &a.pins {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| Fatal(format!("--pins {}: {e}", p.display())))?;
            Pins::parse(&text, &p.display().to_string())?
        }
        None => Pins::default(),
    };
    let at = match &a.at {
        Some(t) => {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .map_err(|e| {
                    Fatal(format!(
                        "--at {t:?}: expected RFC 3339 (e.g. 2026-01-31T12:00:00Z): {e}"
                    ))
                })?;
            t.clone()
        }
        None => common::now_rfc3339(),
    };
    let lock_path = a
        .lock
        .clone()
        .unwrap_or_else(|| a.dir.join(layout::LOCK_FILE));
    let lock_bytes = match std::fs::read(&lock_path) {
        Ok(b) => Some(b),
        Err(e) if a.lock.is_some() => {
            return Err(Fatal(format!("--lock {}: {e}", lock_path.display())))
        }
        Err(_) => None,
    };
    let envelope = std::fs::read(a.dir.join(layout::LOCK_DSSE_FILE)).ok();
    let capture_key = match &a.capture_key {
        Some(p) => Some(keys::load_public_key_file(p)?),
        None => None,
    };
    let trust = Trust {
        keys: keys_map,
        known_keys: known,
        lock: LockInput {
            source: lock_path.display().to_string(),
            bytes: lock_bytes,
            envelope,
            capture_key,
        },
        pins,
    };
    let view = load_view(&a.dir, a.jobs.unwrap_or_else(common::default_jobs));
    let report = verify(&view, &policy, &trust, &at);
    if let Some(path) = &a.report {
        std::fs::write(path, render::json(&report))
            .map_err(|e| Fatal(format!("--report {}: {e}", path.display())))?;
    }
    common::print_report(&report, a.format);
    Ok(if report.passed() { EXIT_OK } else { EXIT_FAIL })
}
