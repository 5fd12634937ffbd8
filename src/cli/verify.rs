//! `airlock verify DIR --policy FILE`: offline verification of a bundle.
//! `airlock verify --registry HOST[/PREFIX] --lock FILE --policy FILE`: the same checks against
//! what the registry serves (see `airlock::registry_view`).
use std::path::{Path, PathBuf};

use airlock::layout;
use airlock::pins::Pins;
use airlock::report::{render, vsa};
use airlock::trust::keys;
use airlock::verify::{verify, LockInput};

use super::common::{self, Format, RegistryFlags};
use super::verdict::{verification_time, verify_dir, VerifyFlags};
use super::{Fatal, EXIT_FAIL, EXIT_OK};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The bundle: an OCI image layout directory, or an archive written by `airlock pack`
    /// (FILE.chunks.json, or a plain tar FILE), read without unpacking. Not used with --registry.
    #[arg(
        value_name = "DIR",
        required_unless_present = "registry",
        conflicts_with = "registry"
    )]
    dir: Option<PathBuf>,
    /// Policy file (YAML, apiVersion airlock/v1).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    #[command(flatten)]
    verify: VerifyFlags,
    /// Lock file (default: DIR/airlock.lock.json when present). With --registry it may also be
    /// an archive (FILE.chunks.json or a tar) holding the lock.
    #[arg(long, value_name = "FILE")]
    lock: Option<PathBuf>,
    /// Write the report to FILE: the JSON report, or with --sign-key its signed form (a DSSE
    /// envelope around an in-toto statement with a SLSA verification summary; docs/report.md).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Sign the --report with this private key (cosign-format encrypted or PKCS#8 PEM; the
    /// passphrase comes from AIRLOCK_PASSWORD or COSIGN_PASSWORD), or a pkcs11: URI naming a key
    /// in an HSM (PIN from the URI or AIRLOCK_PKCS11_PIN).
    #[arg(long, value_name = "KEY", requires = "report")]
    sign_key: Option<PathBuf>,
    /// The --sign-key, loaded by `run` before verifying (a wrong passphrase stops early).
    #[arg(skip)]
    loaded_sign_key: Option<keys::SigningKey>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Hashing threads (with --registry: parallel blob requests).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Verify what this registry serves (as pushed by `airlock push`) instead of a bundle
    /// directory; needs --lock. Only this registry is contacted.
    #[arg(long, value_name = "HOST[/PREFIX]", requires = "lock")]
    registry: Option<String>,
    /// Mapping written by push (default: airlock.mapping.json next to the lock, when present;
    /// else push's naming rules).
    #[arg(long, value_name = "FILE", requires = "registry")]
    mapping: Option<PathBuf>,
    /// With --registry and no mapping: the push used --keep-host.
    #[arg(long, requires = "registry")]
    keep_host: bool,
    /// With --registry: GET and hash every blob instead of a HEAD (slow).
    #[arg(long, requires = "registry")]
    rehash_blobs: bool,
    /// A delta bundle's base (the previous bundle: a directory, FILE.chunks.json or a tar
    /// written by `airlock pack`): the delta is verified as the union of both.
    #[arg(long, value_name = "OLD_BUNDLE", conflicts_with = "registry")]
    base: Option<PathBuf>,
    #[command(flatten)]
    transport: RegistryFlags,
}

pub fn run(mut a: Args) -> Result<u8, Fatal> {
    a.loaded_sign_key = load_sign_key(&a)?;
    let jobs = common::clamp_jobs(a.jobs.unwrap_or_else(common::default_jobs));
    if let Some(reg) = &a.registry {
        let (policy, keys_map, known) =
            common::load_policy_and_keys(&a.policy, a.verify.keys.as_deref())?;
        let pins = common::load_pins(a.verify.pins.as_deref())?;
        let at = verification_time(a.verify.at.as_deref())?;
        return run_registry(&a, reg, policy, keys_map, known, pins, &at, jobs);
    }
    let Some(dir) = a.dir.clone() else {
        return Err(Fatal(
            "give the bundle DIR, or --registry HOST[/PREFIX] with --lock FILE".into(),
        ));
    };
    if dir.is_file() {
        let opened = super::archive::OpenedArchive::open(&dir, jobs)?;
        let (report, _) = super::verdict::verify_archive(
            &opened,
            &a.policy,
            &a.verify,
            a.lock.as_deref(),
            a.base.as_deref(),
            jobs,
        )?;
        return finish(&a, &report);
    }
    let (report, _) = verify_dir(
        &dir,
        &a.policy,
        &a.verify,
        a.lock.as_deref(),
        a.base.as_deref(),
        jobs,
    )?;
    finish(&a, &report)
}

fn finish(a: &Args, report: &airlock::report::Report) -> Result<u8, Fatal> {
    let written = write_report(a, report);
    common::print_report(report, a.format);
    written?;
    Ok(if report.passed() { EXIT_OK } else { EXIT_FAIL })
}

// --- `--report FILE [--sign-key KEY]`: the (signed) report, docs/report.md ---

/// The `--sign-key`, loaded before verifying so a wrong passphrase stops the command early.
fn load_sign_key(a: &Args) -> Result<Option<keys::SigningKey>, Fatal> {
    let Some(path) = &a.sign_key else {
        return Ok(None);
    };
    super::common::load_signing_key("--sign-key", path).map(Some)
}

/// Write `--report FILE`: the JSON report, or its signed form when `--sign-key` is given.
/// The statement's `resourceUri` names the bundle directory (`file://`) or the registry
/// (`oci://HOST[/PREFIX]`); `policy.uri` the policy file.
fn write_report(a: &Args, report: &airlock::report::Report) -> Result<(), Fatal> {
    let Some(path) = &a.report else {
        return Ok(());
    };
    let bytes = match &a.loaded_sign_key {
        None => render::json(report).into_bytes(),
        Some(key) => {
            let mut ctx = vsa::Context::from_report(report);
            if let Some(Ok(dir)) = a.dir.as_ref().map(|d| d.canonicalize()) {
                ctx.resource_uri = vsa::file_uri(&dir.to_string_lossy());
            }
            if let Some(reg) = &a.registry {
                ctx.resource_uri = format!("oci://{}", reg.trim_end_matches('/'));
            }
            if let Ok(p) = a.policy.canonicalize() {
                ctx.policy_uri = vsa::file_uri(&p.to_string_lossy());
            }
            vsa::sign(report, &ctx, key)
                .map_err(|e| Fatal(format!("--report {}: {e}", path.display())))?
        }
    };
    std::fs::write(path, bytes).map_err(|e| Fatal(format!("--report {}: {e}", path.display())))
}

/// The lock's signed form next to it (`airlock.lock.dsse.json`), when present.
fn envelope_next_to(lock: &Path) -> Option<Vec<u8>> {
    let dir = lock
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    common::read_bundle_file(&dir.join(layout::LOCK_DSSE_FILE), DSSE_FILE_LIMIT)
        .ok()
        .flatten()
}

/// Largest lock file read (the lock parser's own limit).
const LOCK_FILE_LIMIT: u64 = airlock::lock::MAX_LOCK_BYTES as u64;
/// Largest signed-lock envelope read (base64 of a lock, plus signatures).
const DSSE_FILE_LIMIT: u64 = 2 * airlock::lock::MAX_LOCK_BYTES as u64;

#[allow(clippy::too_many_arguments)]
fn run_registry(
    a: &Args,
    registry: &str,
    policy: airlock::policy::Policy,
    keys_map: std::collections::BTreeMap<String, keys::PublicKey>,
    known: Vec<(String, keys::PublicKey)>,
    pins: Pins,
    at: &str,
    jobs: usize,
) -> Result<u8, Fatal> {
    use airlock::lock::Lock;
    use airlock::mapping::Mapping;
    use airlock::push::Target;
    use airlock::registry_view::{add_edge_findings, load_registry_view, RegistryViewOptions};

    let Some(lock_path) = a.lock.clone() else {
        return Err(Fatal(
            "--registry needs --lock FILE (the airlock.lock.json written by capture)".into(),
        ));
    };
    let name = lock_path.to_string_lossy();
    let lock_bytes = if name.ends_with(airlock::archive::CHUNKS_SUFFIX) || !name.ends_with(".json")
    {
        // The lock inside an archive (FILE.chunks.json or a tar), as `push FILE` pushed it.
        super::archive::base_lock_bytes(&lock_path)?
    } else {
        common::read_bundle_file(&lock_path, LOCK_FILE_LIMIT)?
            .ok_or_else(|| Fatal(format!("--lock {}: not found", lock_path.display())))?
    };
    let lock = Lock::parse(&lock_bytes)
        .map_err(|e| Fatal(format!("--lock {}: {e}", lock_path.display())))?;
    let mapping_path = match &a.mapping {
        Some(p) => Some(p.clone()),
        None => {
            let dir = lock_path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let p = dir.join(layout::MAPPING_FILE);
            p.exists().then_some(p)
        }
    };
    let mapping = match &mapping_path {
        Some(p) => {
            let bytes = layout::read_regular_limited(p, airlock::mapping::MAX_MAPPING_BYTES as u64)
                .map_err(|e| Fatal(format!("--mapping: {e}")))?;
            Some(
                Mapping::parse(&bytes)
                    .map_err(|e| Fatal(format!("--mapping {}: {e}", p.display())))?,
            )
        }
        None => None,
    };
    let target = Target::parse(registry, a.keep_host)?;
    let capture_key = super::verdict::capture_key(a.verify.capture_key.as_deref())?;
    let client = a.transport.client()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let opts = RegistryViewOptions {
        jobs,
        rehash_blobs: a.rehash_blobs,
    };
    let loaded = rt
        .block_on(load_registry_view(
            &client,
            &target,
            &lock,
            mapping.as_ref(),
            &opts,
        ))
        .map_err(|e| match &mapping_path {
            Some(p) => Fatal(format!("{e} (mapping {})", p.display())),
            None => Fatal(e.to_string()),
        })?;
    let (trust, root_findings) = super::verdict::assemble_trust(
        &policy,
        keys_map,
        known,
        pins,
        at,
        None,
        LockInput {
            source: lock_path.display().to_string(),
            bytes: Some(lock_bytes),
            envelope: envelope_next_to(&lock_path),
            capture_key,
        },
    )?;
    let mut report = verify(&loaded.view, &policy, &trust, at, jobs);
    report.findings.extend(root_findings);
    add_edge_findings(&mut report, &loaded.findings);
    common::record_inputs(&mut report, &policy, a.verify.pins.as_deref());
    finish(a, &report)
}
