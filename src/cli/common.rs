//! Flags and helpers shared by subcommands.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use airlock::policy::Policy;
use airlock::registry::auth::AuthStore;
use airlock::registry::tls::{load_ca_file, TlsSettings, DEFAULT_CERT_DIRS};
use airlock::registry::{Client, ClientOptions};
use airlock::report::{render, Report};
use airlock::trust::keys::{self, PublicKey};

use super::Fatal;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct RegistryFlags {
    /// Use plain HTTP for this registry: HOST[:PORT] or http://HOST[:PORT] (repeatable).
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Trust this CA certificate (PEM) for registry TLS; a self-signed registry certificate
    /// given here is trusted exactly (repeatable).
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_file: Vec<PathBuf>,
    /// certs.d directory: DIR/HOST[:PORT]/*.crt are trusted CAs, client.cert + client.key a
    /// client certificate for mutual TLS (repeatable; /etc/containers/certs.d and
    /// /etc/docker/certs.d are also used when they exist).
    #[arg(long = "cert-dir", value_name = "DIR")]
    pub cert_dir: Vec<PathBuf>,
    /// Docker config.json with credentials (default: $REGISTRY_AUTH_FILE or ~/.docker/config.json).
    #[arg(long = "auth-file", value_name = "FILE")]
    pub auth_file: Option<PathBuf>,
    /// Seconds to wait for a connection and between received bytes before a registry request
    /// fails (default 30).
    #[arg(long = "timeout", value_name = "SECONDS", value_parser = parse_timeout)]
    pub timeout: Option<std::time::Duration>,
}

fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let secs = t.strip_suffix('s').unwrap_or(t);
    match secs.parse::<u64>() {
        Ok(n) if (1..=86_400).contains(&n) => Ok(std::time::Duration::from_secs(n)),
        _ => Err(format!(
            "{s:?}: give whole seconds from 1 to 86400 (e.g. --timeout 30)"
        )),
    }
}

/// `--insecure-registry` value: `HOST[:PORT]` or `http://HOST[:PORT]`; anything else is refused.
pub fn parse_insecure_registry(given: &str) -> Result<String, Fatal> {
    let bad = |why: &str| {
        Fatal(format!(
            "--insecure-registry {:?}: {why}; give HOST[:PORT] or http://HOST[:PORT]",
            airlock::text::shorten(given, 200)
        ))
    };
    let s = given.trim();
    let rest = if let Some(r) = s.strip_prefix("http://") {
        r
    } else if s.contains("://") {
        return Err(bad(
            "only the http:// scheme means anything here (HTTPS is the default)",
        ));
    } else {
        s
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('/') || rest.contains('?') || rest.contains('#') {
        return Err(bad(
            "a path is not allowed (the flag names a registry host)",
        ));
    }
    if rest.is_empty()
        || !rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
    {
        return Err(bad("not a host name or address with an optional :PORT"));
    }
    Ok(rest.to_ascii_lowercase())
}

impl RegistryFlags {
    pub fn client(&self) -> Result<Client, Fatal> {
        let mut tls = TlsSettings::default();
        for p in &self.ca_file {
            tls.ca_files
                .push(load_ca_file(p).map_err(|e| Fatal(format!("--ca-file {e}")))?);
        }
        for d in &self.cert_dir {
            if !d.is_dir() {
                return Err(Fatal(format!(
                    "--cert-dir {}: not a directory (expected the certs.d layout DIR/HOST[:PORT]/ca.crt)",
                    d.display()
                )));
            }
            tls.cert_dirs.push(d.clone());
        }
        for d in DEFAULT_CERT_DIRS {
            let d = Path::new(d);
            if d.is_dir() {
                tls.cert_dirs.push(d.to_path_buf());
            }
        }
        let auth = AuthStore::load(self.auth_file.as_deref())?;
        let mut insecure = BTreeSet::new();
        for h in &self.insecure_registry {
            insecure.insert(parse_insecure_registry(h)?);
        }
        Ok(Client::new(ClientOptions {
            insecure,
            tls,
            auth,
            retry_base: None,
            timeout: self.timeout,
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

/// Most parallel jobs any command runs (`--jobs` above this is clamped to it).
pub const MAX_JOBS: usize = 64;

/// `--jobs N` clamped to `1..=MAX_JOBS` (a huge value would spawn that many threads).
pub fn clamp_jobs(n: usize) -> usize {
    n.clamp(1, MAX_JOBS)
}

/// Read a file of a bundle (the lock, its signed form): `None` when absent; a FIFO, device,
/// socket, symlink or directory in its place, or a file over `limit` bytes, is an error
/// (exit 2) rather than something to open (a FIFO would block forever).
pub fn read_bundle_file(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, Fatal> {
    match airlock::layout::read_regular_limited(path, limit) {
        Ok(b) => Ok(Some(b)),
        Err(airlock::layout::LayoutError::Missing { .. }) => Ok(None),
        Err(e) => Err(Fatal(format!(
            "{e}; expected a regular file written by `airlock capture` (replace it, or remove it \
             and re-run capture)"
        ))),
    }
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

/// The `trusted_root.json` target of the policy's TUF entry `name`, verified now (for commands
/// without a verification time of their own); a snapshot that does not verify stops the command.
pub fn tuf_trusted_root_now(policy: &Policy, name: &str) -> Result<Vec<u8>, Fatal> {
    let fail = |m: String| {
        Fatal(format!(
            "policy {}: trusted root {name}: {m}",
            policy.source.display()
        ))
    };
    let src = policy
        .trusted_roots_tuf
        .get(name)
        .ok_or_else(|| fail("not a TUF entry".into()))?;
    let now = now_rfc3339();
    let at = airlock::trust::sigstore::parse_rfc3339(&now)
        .ok_or_else(|| fail(format!("the current time {now:?} is not RFC 3339")))?;
    let (files, taken) = snapshot_files(src, None).map_err(fail)?;
    match airlock::trust::tuf::verify_snapshot(src, files, at, taken) {
        Ok(v) => Ok(v.trusted_root_json),
        Err(airlock::trust::tuf::TufError::Unusable(m)) => Err(fail(m)),
        Err(airlock::trust::tuf::TufError::Finding(f)) => {
            Err(fail(format!("{} [{}]", f.message, f.code.as_str())))
        }
    }
}

/// The TUF snapshot carried in the bundle being verified (`capture --tuf`), read from its blobs
/// by the lock's digests, and when it was taken (the lock's `created` time).
#[derive(Debug)]
pub struct BundleTuf {
    pub name: String,
    pub files: BTreeMap<String, Vec<u8>>,
    pub taken_at: Option<i64>,
}

/// When the TUF snapshot in `dir` was taken, for `maxAge`: the modification time of its
/// `timestamp.json`, which TUF clients write on every refresh.
fn snapshot_taken_at(dir: &Path) -> Option<i64> {
    std::fs::metadata(dir.join("timestamp.json"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
}

/// Where a TUF entry's snapshot is read from: its `tuf:` directory, or (without one) the
/// bundle's own snapshot; with when it was taken. `Err`: neither is there.
fn snapshot_files(
    src: &airlock::trust::tuf::TufSource,
    bundle: Option<&BundleTuf>,
) -> Result<(airlock::trust::tuf::SnapshotFiles, Option<i64>), String> {
    match (&src.dir, bundle) {
        (Some(d), _) => Ok((
            airlock::trust::tuf::SnapshotFiles::Dir(d.clone()),
            snapshot_taken_at(d),
        )),
        (None, Some(b)) => Ok((
            airlock::trust::tuf::SnapshotFiles::Memory {
                name: b.name.clone(),
                files: b.files.clone(),
            },
            b.taken_at,
        )),
        (None, None) => Err(
            "the entry names no tuf: directory, so it means the TUF snapshot the bundle carries \
             (capture --tuf), and there is none: the bundle's lock records no TUF snapshot, or \
             this is not a bundle directory (verify the unpacked bundle directory)"
                .into(),
        ),
    }
}

fn files_name(f: &airlock::trust::tuf::SnapshotFiles) -> String {
    match f {
        airlock::trust::tuf::SnapshotFiles::Dir(d) => d.display().to_string(),
        airlock::trust::tuf::SnapshotFiles::Memory { name, .. } => name.clone(),
    }
}

/// Load the Sigstore trusted roots the policy names (`trustedRoots`), by name, at verification
/// time `at` (RFC 3339). Each file is parsed and its verifier prepared now, so a bad root stops
/// the command (exit 2) before any verification or network access. A TUF entry
/// (`{tuf, root, maxAge}`) is verified offline at `at`; when it does not verify it is left out
/// and returned as a finding (`trust-root-invalid` / `trust-root-stale`, subject
/// `trustedRoots.NAME`) for the report.
pub fn load_trusted_roots_at(
    policy: &Policy,
    at: &str,
    bundle: Option<&BundleTuf>,
) -> Result<
    (
        BTreeMap<String, airlock::trust::sigstore::TrustedRoot>,
        Vec<airlock::report::Finding>,
    ),
    Fatal,
> {
    let at_unix = airlock::trust::sigstore::parse_rfc3339(at)
        .ok_or_else(|| Fatal(format!("verification time {at:?} is not RFC 3339")))?;
    let mut roots = BTreeMap::new();
    let mut findings = Vec::new();
    for (name, path) in &policy.trusted_roots {
        if let Some(src) = policy.trusted_roots_tuf.get(name) {
            let (files, taken) = match snapshot_files(src, bundle) {
                Ok(x) => x,
                Err(m) => {
                    findings.push(airlock::report::Finding::error(
                        airlock::report::Code::TrustRootInvalid,
                        format!("trustedRoots.{name}"),
                        m,
                    ));
                    continue;
                }
            };
            let shown = files_name(&files);
            match airlock::trust::tuf::verify_snapshot(src, files, at_unix, taken) {
                Ok(v) => {
                    let source = format!(
                        "{shown} (TUF: {} target, root v{}, timestamp v{}, snapshot v{}, targets v{})",
                        airlock::trust::tuf::TRUSTED_ROOT_TARGET,
                        v.versions[0],
                        v.versions[1],
                        v.versions[2],
                        v.versions[3]
                    );
                    match airlock::trust::sigstore::TrustedRoot::from_json(
                        &v.trusted_root_json,
                        &source,
                    ) {
                        Ok(r) => {
                            roots.insert(name.clone(), r);
                        }
                        Err(e) => findings.push(airlock::report::Finding::error(
                            airlock::report::Code::TrustRootInvalid,
                            format!("trustedRoots.{name}"),
                            e.to_string(),
                        )),
                    }
                }
                Err(airlock::trust::tuf::TufError::Unusable(m)) => {
                    return Err(Fatal(format!(
                        "policy {}: trusted root {name}: {m}",
                        policy.source.display()
                    )))
                }
                Err(airlock::trust::tuf::TufError::Finding(f)) => {
                    findings.push(airlock::report::Finding::error(
                        f.code,
                        format!("trustedRoots.{name}"),
                        f.message,
                    ))
                }
            }
            continue;
        }
        let root = airlock::trust::sigstore::TrustedRoot::load(path).map_err(|e| {
            Fatal(format!(
                "policy {}: trusted root {name}: {e}",
                policy.source.display()
            ))
        })?;
        roots.insert(name.clone(), root);
    }
    Ok((roots, findings))
}

/// Record in the report what else the decision depended on: the trusted roots' file digests and
/// the pins file digest (so an auditor can reproduce it).
pub fn record_inputs(report: &mut Report, policy: &Policy, pins: Option<&Path>) {
    for (name, path) in &policy.trusted_roots {
        // A TUF entry: the initial trusted root.json the chain starts from.
        let (path, algorithm) = match policy.trusted_roots_tuf.get(name) {
            Some(src) => (&src.root, "tuf-root"),
            None => (path, "sigstore-trusted-root"),
        };
        if let Ok(bytes) = airlock::limited::read_file_limited(
            path,
            airlock::trust::sigstore::MAX_TRUSTED_ROOT_BYTES as u64,
        ) {
            report.inputs.trusted_roots.push(airlock::report::KeyRef {
                name: name.clone(),
                key_id: airlock::oci::Digest::sha256_of(&bytes).to_string(),
                algorithm: algorithm.into(),
            });
        }
    }
    if let Some(p) = pins {
        if let Ok(bytes) =
            airlock::limited::read_file_limited(p, airlock::pins::MAX_PINS_BYTES as u64)
        {
            report.inputs.pins_sha256 = Some(airlock::oci::Digest::sha256_of(&bytes).to_string());
        }
    }
}

/// Read a pins file (`--pins`), or no pins.
pub fn load_pins(path: Option<&Path>) -> Result<airlock::pins::Pins, Fatal> {
    match path {
        Some(p) => Ok(airlock::pins::Pins::load(p).map_err(|e| Fatal(format!("--pins {e}")))?),
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

/// The signing key given to `--sign-key` or `--attest-key` (`flag` names it in messages): a key
/// file (passphrase as [`passphrase_for_key`]) or a `pkcs11:` URI naming a key in a PKCS#11
/// token (PIN from the URI, `AIRLOCK_PKCS11_PIN`, else typed at a prompt on a terminal).
/// Every failure is exit 2, naming the flag, and for a token the token and object.
pub fn load_signing_key(flag: &str, given: &Path) -> Result<keys::SigningKey, Fatal> {
    use airlock::trust::pkcs11;
    if let Some(uri) = given.to_str().filter(|s| pkcs11::is_pkcs11_uri(s)) {
        return load_pkcs11_key(flag, uri);
    }
    keys::load_signing_key_file(given, passphrase_for_key(given)?.as_deref()).map_err(|e| {
        Fatal(format!(
            "{flag}: {e} (the passphrase is read from AIRLOCK_PASSWORD or COSIGN_PASSWORD)"
        ))
    })
}

fn load_pkcs11_key(flag: &str, uri: &str) -> Result<keys::SigningKey, Fatal> {
    let pin = pkcs11_prompt_pin(uri, flag)?;
    keys::SigningKey::open_pkcs11(uri, pin).map_err(|e| Fatal(format!("{flag} (PKCS#11): {e}")))
}

/// A PIN typed at the terminal, asked only when the URI gives none, `AIRLOCK_PKCS11_PIN` is
/// unset and stdin is a terminal.
pub fn pkcs11_prompt_pin(
    uri: &str,
    flag: &str,
) -> Result<Option<zeroize::Zeroizing<String>>, Fatal> {
    use airlock::trust::pkcs11::{Pkcs11Uri, PIN_ENV};
    use std::io::IsTerminal;
    let parsed = Pkcs11Uri::parse(uri).map_err(|e| Fatal(format!("{flag}: {e}")))?;
    let has_pin = parsed
        .pin()
        .map_err(|e| Fatal(format!("{flag} (PKCS#11): {e}")))?
        .is_some();
    if has_pin || std::env::var_os(PIN_ENV).is_some() || !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let token = parsed.token.as_deref().unwrap_or("the PKCS#11 token");
    let pin = prompt_passphrase(&format!("Enter user PIN for {token}: "))?;
    Ok(Some(zeroize::Zeroizing::new(pin)))
}
