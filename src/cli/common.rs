//! Flags and helpers shared by subcommands.
use std::collections::{BTreeMap, BTreeSet};
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

/// Print a report in the chosen format.
pub fn print_report(report: &Report, format: Format) {
    match format {
        Format::Text => print!("{}", render::text(report)),
        Format::Json => print!("{}", render::json(report)),
    }
}

/// Take the advisory lock on a bundle directory that this command writes; tells the user when it
/// has to wait for another airlock process.
pub fn lock_bundle_dir(
    dir: &std::path::Path,
    command: &str,
) -> Result<airlock::layout::dirlock::DirLock, Fatal> {
    airlock::layout::dirlock::lock_dir(dir, command, |holder| {
        let who = if holder.is_empty() {
            "another airlock process".to_string()
        } else {
            format!("another airlock process ({holder})")
        };
        eprintln!(
            "airlock: {} is in use by {who}; waiting for it to finish",
            dir.display()
        );
    })
    .map_err(|e| Fatal(e.to_string()))
}

/// Most bytes of a key file read to decide whether it is encrypted (before prompting).
const MAX_KEY_SNIFF_BYTES: u64 = 64 * 1024;

/// The passphrase for the private key at `path`: `AIRLOCK_PASSWORD`/`COSIGN_PASSWORD`, else —
/// when stdin is a terminal and the key is encrypted — typed at a prompt (not echoed), else none.
pub fn passphrase_for_key(path: &std::path::Path) -> Result<Option<Vec<u8>>, Fatal> {
    use std::io::{IsTerminal, Read};
    if let Some(p) = airlock::trust::keys::passphrase_from_env() {
        return Ok(Some(p));
    }
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let mut head = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(MAX_KEY_SNIFF_BYTES).read_to_end(&mut head);
    }
    if !head.windows(9).any(|w| w == b"ENCRYPTED") {
        return Ok(None);
    }
    let p = prompt_passphrase(&format!("Enter passphrase for {}: ", path.display()))?;
    Ok(Some(p.into_bytes()))
}

/// Read a passphrase from the terminal without echo.
pub fn prompt_passphrase(prompt: &str) -> Result<String, Fatal> {
    rpassword::prompt_password(prompt)
        .map_err(|e| Fatal(format!("reading the passphrase from the terminal: {e}")))
}
