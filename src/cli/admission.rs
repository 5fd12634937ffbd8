//! `airlock admission --format kyverno|policy-controller --policy FILE --lock LOCK`: cluster
//! admission policy for the images of the lock as mirrored into the private registry.
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use airlock::admission::{
    self, Format, Inputs, Options, TrustedRoot, DEFAULT_CONTROLLER_NAMESPACE, DEFAULT_NAME,
    DEFAULT_WEBHOOK_TIMEOUT_SECONDS,
};
use airlock::layout;
use airlock::lock::{Lock, MAX_LOCK_BYTES};
use airlock::mapping::{Mapping, MAX_MAPPING_BYTES};
use airlock::oci::Digest;
use airlock::trust::keys;

use super::common;
use super::verdict::{passed_sources, ReportVerdictFlags};
use super::{Fatal, EXIT_FAIL, EXIT_OK};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdmissionFormat {
    /// Kyverno ClusterPolicy (kyverno.io/v1) with verifyImages.
    Kyverno,
    /// Sigstore policy-controller ClusterImagePolicy, TrustRoot and its ConfigMap.
    PolicyController,
    /// Kyverno ImageValidatingPolicy (policies.kyverno.io/v1, CEL).
    KyvernoIvpol,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which admission controller to write for (`--controller` names the same thing; elsewhere
    /// `--format` is the output format).
    #[arg(long, visible_alias = "controller", value_enum, value_name = "FORMAT")]
    format: AdmissionFormat,
    /// Policy file (YAML, apiVersion airlock/v1); optional with --gate-key.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Lock file (or the bundle directory holding airlock.lock.json).
    #[arg(long, value_name = "LOCK")]
    lock: PathBuf,
    /// Mapping written by `airlock push` (default: airlock.mapping.json beside the lock).
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Directory of public keys: `<name>.pub` supplies the policy's key `<name>`.
    #[arg(long, value_name = "DIR")]
    keys: Option<PathBuf>,
    /// Gate mode: require the verification-summary attestation that `push --attest-key` attaches,
    /// signed by this public key, instead of the upstream signers.
    #[arg(long, value_name = "PUB")]
    gate_key: Option<PathBuf>,
    /// Write the YAML to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Resource name (prefix), a Kubernetes name.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_NAME)]
    name: String,
    /// Namespace of the policy-controller deployment (for its ConfigMap).
    #[arg(long, value_name = "NS", default_value = DEFAULT_CONTROLLER_NAMESPACE)]
    controller_namespace: String,
    /// Admission webhook timeout in seconds (1-30).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_WEBHOOK_TIMEOUT_SECONDS)]
    webhook_timeout: u32,
    #[command(flatten)]
    verdict: ReportVerdictFlags,
}

pub fn run(a: Args) -> Result<u8, Fatal> {
    let format = match a.format {
        AdmissionFormat::Kyverno => Format::Kyverno,
        AdmissionFormat::PolicyController => Format::PolicyController,
        AdmissionFormat::KyvernoIvpol => Format::KyvernoIvpol,
    };
    if a.policy.is_none() && a.gate_key.is_none() {
        return Err(Fatal(
            "expected --policy FILE (the upstream signers per rule) or --gate-key PUB (the \
             gate's attestation); neither was given"
                .into(),
        ));
    }
    let loaded = match &a.policy {
        Some(p) => Some(common::load_policy_and_keys(p, a.keys.as_deref())?),
        None => None,
    };
    let mut roots = BTreeMap::new();
    if let Some((policy, _, _)) = &loaded {
        for (name, path) in &policy.trusted_roots {
            let fail = |e: String| {
                Fatal(format!(
                    "policy {}: trustedRoots {name}: {e}",
                    policy.source.display()
                ))
            };
            // A TUF snapshot: its trusted_root.json target, verified now.
            let root = match policy.trusted_roots_tuf.get(name) {
                Some(_) => {
                    let bytes = common::tuf_trusted_root_now(policy, name)?;
                    TrustedRoot::parse(&bytes).map_err(fail)?
                }
                None => TrustedRoot::load(path).map_err(|e| fail(e.to_string()))?,
            };
            roots.insert(name.clone(), root);
        }
    }
    let gate_key = match &a.gate_key {
        Some(p) => {
            Some(keys::load_public_key_file(p).map_err(|e| Fatal(format!("--gate-key: {e}")))?)
        }
        None => None,
    };

    let lock_path = if a.lock.is_dir() {
        a.lock.join(layout::LOCK_FILE)
    } else {
        a.lock.clone()
    };
    let lock_bytes = read_limited(&lock_path, MAX_LOCK_BYTES, "--lock")?;
    let mut lock = Lock::parse(&lock_bytes)
        .map_err(|e| Fatal(format!("--lock {}: {e}", lock_path.display())))?;
    let (mapping, mapping_path) = load_mapping(a.mapping.as_deref(), &lock_path)?;
    // Only images whose verdict is pass are admitted.
    if let Some(passed) = passed_sources(
        &a.verdict,
        mapping.as_ref(),
        a.policy.as_deref(),
        "admission",
    )? {
        let (keep, left): (Vec<_>, Vec<_>) = std::mem::take(&mut lock.images)
            .into_iter()
            .partition(|i| passed.contains(&i.r#ref));
        for i in &left {
            eprintln!(
                "airlock: admission: left out {} ({}): it did not pass verification",
                airlock::report::render::visible(&i.r#ref),
                i.digest
            );
        }
        lock.images = keep;
        if lock.images.is_empty() {
            eprintln!("airlock: admission: no image passed verification; nothing to admit");
            return Ok(EXIT_FAIL);
        }
    }

    let empty = BTreeMap::new();
    let inputs = Inputs {
        policy: loaded.as_ref().map(|(p, _, _)| p),
        keys: loaded.as_ref().map(|(_, k, _)| k).unwrap_or(&empty),
        trusted_roots: &roots,
        lock: &lock,
        lock_sha256: Digest::sha256_of(&lock_bytes).to_string(),
        mapping: mapping.as_ref(),
        gate_key: gate_key.as_ref(),
    };
    let options = Options {
        name: a.name.clone(),
        controller_namespace: a.controller_namespace.clone(),
        webhook_timeout_seconds: a.webhook_timeout,
    };
    let generated = match admission::generate(format, &inputs, &options) {
        Ok(g) => g,
        Err(e) if e.is_content_failure() => {
            eprintln!("airlock: admission: {e}");
            return Ok(EXIT_FAIL);
        }
        Err(e) => return Err(Fatal(format!("admission: {e}"))),
    };
    if let Some(p) = &mapping_path {
        eprintln!("airlock: admission: mirrored names from {}", p.display());
    }
    for note in &generated.notes {
        eprintln!("airlock: admission: note: {note}");
    }
    match &a.output {
        Some(path) => {
            write_atomically(path, generated.yaml.as_bytes())?;
            eprintln!(
                "airlock: admission: wrote {} ({} images) to {}",
                format.as_str(),
                generated.images.len(),
                path.display()
            );
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(generated.yaml.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| Fatal(format!("writing to standard output: {e}")))?;
        }
    }
    Ok(EXIT_OK)
}

/// The mapping: `--mapping FILE` (must exist), else `airlock.mapping.json` beside the lock when
/// it exists.
pub(super) fn load_mapping(
    given: Option<&Path>,
    lock_path: &Path,
) -> Result<(Option<Mapping>, Option<PathBuf>), Fatal> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => {
            let beside = lock_path
                .parent()
                .unwrap_or_else(|| Path::new(""))
                .join(layout::MAPPING_FILE);
            if !beside.exists() {
                return Ok((None, None));
            }
            beside
        }
    };
    let bytes = read_limited(&path, MAX_MAPPING_BYTES, "--mapping")?;
    let mapping =
        Mapping::parse(&bytes).map_err(|e| Fatal(format!("--mapping {}: {e}", path.display())))?;
    Ok((Some(mapping), Some(path)))
}

/// Read at most `limit` bytes of `path`; a larger file is an error.
pub(super) fn read_limited(path: &Path, limit: usize, flag: &str) -> Result<Vec<u8>, Fatal> {
    let file = std::fs::File::open(path)
        .map_err(|e| Fatal(format!("{flag} {}: cannot open it: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Fatal(format!("{flag} {}: cannot read it: {e}", path.display())))?;
    if bytes.len() > limit {
        return Err(Fatal(format!(
            "{flag} {}: the file is over the {limit}-byte limit; check the path",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Write `bytes` to a temporary file beside `path`, then rename it into place.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Fatal> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "output".to_string());
    let tmp = dir.join(format!(".{file_name}.airlock-tmp"));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Fatal(format!("cannot write {}: {e}", path.display()))
        })
}
