//! Flags and helpers shared by subcommands.
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use airlock::policy::Policy;
use airlock::registry::auth::AuthStore;
use airlock::registry::{Client, ClientOptions};
use airlock::report::{render, Report};
use airlock::trust::keys::{self, PublicKey};

use super::Fatal;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct RegistryFlags {
    /// Use plain HTTP for this registry host (repeatable).
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Trust this CA certificate (PEM) for registry TLS (repeatable).
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_file: Vec<PathBuf>,
    /// Docker config.json with credentials (default: $REGISTRY_AUTH_FILE or ~/.docker/config.json).
    #[arg(long = "auth-file", value_name = "FILE")]
    pub auth_file: Option<PathBuf>,
}

impl RegistryFlags {
    pub fn client(&self) -> Result<Client, Fatal> {
        let mut ca_pem = Vec::new();
        for p in &self.ca_file {
            ca_pem.push(
                std::fs::read(p).map_err(|e| Fatal(format!("--ca-file {}: {e}", p.display())))?,
            );
        }
        let auth = AuthStore::load(self.auth_file.as_deref())?;
        let insecure: BTreeSet<String> = self
            .insecure_registry
            .iter()
            .map(|h| h.trim_end_matches('/').to_string())
            .collect();
        Ok(Client::new(ClientOptions {
            insecure,
            ca_pem,
            auth,
            retry_base: None,
        })?)
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Text,
    Json,
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

/// A policy with its keys by name, and other known keys.
pub type LoadedPolicy = (
    Policy,
    BTreeMap<String, PublicKey>,
    Vec<(String, PublicKey)>,
);

/// Load the policy and the public keys it names (`--keys DIR` supplies or overrides `<name>.pub`).
pub fn load_policy_and_keys(policy: &Path, keys_dir: Option<&Path>) -> Result<LoadedPolicy, Fatal> {
    let policy = Policy::load(policy)?;
    let mut keys = BTreeMap::new();
    let mut known = Vec::new();
    if let Some(dir) = keys_dir {
        let rd =
            std::fs::read_dir(dir).map_err(|e| Fatal(format!("--keys {}: {e}", dir.display())))?;
        let mut entries: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pub" || x == "pem"))
            .collect();
        entries.sort();
        for p in entries {
            let k = keys::load_public_key_file(&p)?;
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            known.push((name, k));
        }
    }
    for (name, path) in &policy.keys {
        let from_dir = known
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| k.clone());
        let k = match from_dir {
            Some(k) if !path.exists() => k,
            _ => keys::load_public_key_file(path).map_err(|e| {
                Fatal(format!(
                    "policy {}: key {name}: {e}",
                    policy.source.display()
                ))
            })?,
        };
        keys.insert(name.clone(), k);
    }
    Ok((policy, keys, known))
}

/// Load the Sigstore trusted roots the policy names (`trustedRoots`), by name. Each file is
/// parsed and its verifier prepared now, so a bad root stops the command (exit 2) before any
/// verification or network access. Files only: nothing is fetched (no TUF).
pub fn load_trusted_roots(
    policy: &Policy,
) -> Result<BTreeMap<String, airlock::trust::sigstore::TrustedRoot>, Fatal> {
    let mut roots = BTreeMap::new();
    for (name, path) in &policy.trusted_roots {
        let root = airlock::trust::sigstore::TrustedRoot::load(path).map_err(|e| {
            Fatal(format!(
                "policy {}: trusted root {name}: {e}",
                policy.source.display()
            ))
        })?;
        roots.insert(name.clone(), root);
    }
    Ok(roots)
}

/// Record in the report what else the decision depended on: the trusted roots' file digests and
/// the pins file digest (so an auditor can reproduce it).
pub fn record_inputs(report: &mut Report, policy: &Policy, pins: Option<&Path>) {
    for (name, path) in &policy.trusted_roots {
        if let Ok(bytes) = std::fs::read(path) {
            report.inputs.trusted_roots.push(airlock::report::KeyRef {
                name: name.clone(),
                key_id: airlock::oci::Digest::sha256_of(&bytes).to_string(),
                algorithm: "sigstore-trusted-root".into(),
            });
        }
    }
    if let Some(p) = pins {
        if let Ok(bytes) = std::fs::read(p) {
            report.inputs.pins_sha256 = Some(airlock::oci::Digest::sha256_of(&bytes).to_string());
        }
    }
}

/// Read a pins file (`--pins`), or no pins.
pub fn load_pins(path: Option<&Path>) -> Result<airlock::pins::Pins, Fatal> {
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| Fatal(format!("--pins {}: {e}", p.display())))?;
            Ok(airlock::pins::Pins::parse(&text, &p.display().to_string())?)
        }
        None => Ok(airlock::pins::Pins::default()),
    }
}

/// The byte-progress bar shown on a terminal by capture and push.
pub fn progress_bar() -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(0);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb
}

/// Print a report in the chosen format.
pub fn print_report(report: &Report, format: Format) {
    match format {
        Format::Text => print!("{}", render::text(report)),
        Format::Json => print!("{}", render::json(report)),
    }
}

pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
