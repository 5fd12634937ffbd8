//! The verdict that `push`, `admission` and `preflight` are held to. It comes from verifying now
//! (`--policy FILE`, exactly as `airlock verify DIR --policy FILE` with the same flags), from a
//! signed report of an earlier `verify --sign-key` (`--report FILE --report-key PUB`), or is
//! explicitly absent (`--no-verify`). Content that did not pass never goes further.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use airlock::layout::{self, load::load_view, Layout};
use airlock::oci::manifest::ANNOTATION_REF_NAME;
use airlock::oci::Digest;
use airlock::policy::Policy;
use airlock::report::{render, vsa, Finding, Outcome, Report};
use airlock::trust::keys;
use airlock::verify::{verify, LockInput, Trust};

use super::common;
use super::Fatal;

/// The inputs `airlock verify DIR` takes besides the policy, shared by every command that
/// verifies a bundle before acting on it.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct VerifyFlags {
    /// Directory of public keys: `<name>.pub` supplies the policy's key `<name>`; other keys there
    /// are known but untrusted (used to name who signed).
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
    /// Pins file: `registry/repo[:tag]@sha256:<hex>` per line.
    #[arg(long, value_name = "FILE")]
    pub pins: Option<PathBuf>,
    /// Public key that signed the lock (requires DIR/airlock.lock.dsse.json).
    #[arg(long, value_name = "PUB")]
    pub capture_key: Option<PathBuf>,
    /// Verification time (RFC 3339), default now.
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// The source repository (`REGISTRY/REPO`) of entries whose ref name is a bare tag, as in
    /// layouts written by `skopeo copy … oci:DIR:TAG`. Never guessed otherwise.
    #[arg(long, value_name = "REGISTRY/REPO")]
    pub source_prefix: Option<String>,
}

/// `--at`, checked, or now.
pub fn verification_time(at: Option<&str>) -> Result<String, Fatal> {
    match at {
        Some(t) => {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .map_err(|e| {
                    Fatal(format!(
                        "--at {t:?}: expected RFC 3339 (e.g. 2026-01-31T12:00:00Z): {e}"
                    ))
                })?;
            Ok(t.to_string())
        }
        None => Ok(common::now_rfc3339()),
    }
}

/// `--source-prefix`, checked: a repository without tag or digest.
pub fn source_prefix(given: Option<&str>) -> Result<Option<String>, Fatal> {
    let Some(p) = given else {
        return Ok(None);
    };
    match airlock::oci::Reference::parse(p) {
        Ok(r)
            if r.digest().is_none()
                && p.contains('/')
                && !p.rsplit('/').next().is_some_and(|last| last.contains(':')) =>
        {
            Ok(Some(r.repository()))
        }
        _ => Err(Fatal(format!(
            "--source-prefix {p:?}: expected a repository REGISTRY/REPO (e.g. quay.io/team/app), without a tag or digest"
        ))),
    }
}

/// Verify a bundle directory offline, as `airlock verify DIR --policy FILE` does.
/// The one place a verification's trust material is put together: the policy's keys, the
/// Sigstore trusted roots at the verification time (TUF entries verified at `at`, problems
/// returned as findings for the report), the pins, and the lock as the caller read it
/// (directory, archive or `--lock` file). `verify DIR`, `verify FILE.chunks.json` and
/// `verify --registry` all go through here.
#[allow(clippy::too_many_arguments)]
pub fn assemble_trust(
    policy: &Policy,
    keys_map: BTreeMap<String, keys::PublicKey>,
    known: Vec<(String, keys::PublicKey)>,
    pins: airlock::pins::Pins,
    at: &str,
    bundle_tuf: Option<&common::BundleTuf>,
    lock: LockInput,
) -> Result<(Trust, Vec<Finding>), Fatal> {
    let (trusted_roots, root_findings) = common::load_trusted_roots_at(policy, at, bundle_tuf)?;
    Ok((
        Trust {
            trusted_roots,
            keys: keys_map,
            known_keys: known,
            lock,
            pins,
        },
        root_findings,
    ))
}

/// `--capture-key PUB`, loaded.
pub fn capture_key(path: Option<&Path>) -> Result<Option<keys::PublicKey>, Fatal> {
    match path {
        Some(p) => Ok(Some(keys::load_public_key_file(p)?)),
        None => Ok(None),
    }
}

pub fn verify_dir(
    dir: &Path,
    policy_path: &Path,
    flags: &VerifyFlags,
    lock_override: Option<&Path>,
    base: Option<&Path>,
    jobs: usize,
) -> Result<(Report, Policy), Fatal> {
    let (policy, keys_map, known) =
        common::load_policy_and_keys(policy_path, flags.keys.as_deref())?;
    let pins = common::load_pins(flags.pins.as_deref())?;
    let at = verification_time(flags.at.as_deref())?;
    let prefix = source_prefix(flags.source_prefix.as_deref())?;
    let lock_path = lock_override
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join(layout::LOCK_FILE));
    // A FIFO, device or symlink in place of the lock is exit 2 (never a hang, never "absent").
    let lock_bytes = common::read_bundle_file(&lock_path, airlock::lock::MAX_LOCK_BYTES as u64)?;
    if lock_bytes.is_none() && lock_override.is_some() {
        return Err(Fatal(format!(
            "--lock {}: no such file",
            lock_path.display()
        )));
    }
    let envelope = common::read_bundle_file(
        &dir.join(layout::LOCK_DSSE_FILE),
        2 * airlock::lock::MAX_LOCK_BYTES as u64,
    )?;
    let capture_key = capture_key(flags.capture_key.as_deref())?;
    // A TUF snapshot the bundle carries (capture --tuf): read from its blobs by the lock's
    // digests; its capture time is when it was taken (maxAge).
    let mut root_findings = Vec::new();
    let bundle_tuf = match lock_bytes
        .as_deref()
        .and_then(|b| airlock::lock::Lock::parse(b).ok())
    {
        Some(lock) => lock.tuf.map(|t| {
            let files = match layout::Layout::open(dir) {
                Ok(l) => {
                    let (files, found) = airlock::trust::tuf::read_bundle_copy(&t, |d, limit| {
                        l.read_blob(d, limit).map_err(|e| e.to_string())
                    });
                    root_findings.extend(found);
                    files
                }
                Err(e) => {
                    root_findings.push(airlock::report::Finding::error(
                        airlock::report::Code::TrustRootInvalid,
                        "tuf",
                        format!(
                            "the lock records a TUF snapshot, but the bundle cannot be read: {e}"
                        ),
                    ));
                    BTreeMap::new()
                }
            };
            common::BundleTuf {
                name: format!("{} (its TUF snapshot from {})", dir.display(), t.source),
                files,
                taken_at: airlock::trust::sigstore::parse_rfc3339(&lock.created),
            }
        }),
        None => None,
    };
    let (trust, tuf_findings) = assemble_trust(
        &policy,
        keys_map,
        known,
        pins,
        &at,
        bundle_tuf.as_ref(),
        LockInput {
            source: lock_path.display().to_string(),
            bytes: lock_bytes,
            envelope,
            capture_key,
        },
    )?;
    root_findings.extend(tuf_findings);
    let base = open_base(base, jobs)?;
    let shown = super::progress::Progress::start("verify");
    let mut view = match &base {
        Some(b) => airlock::delta::load_view_with_base(dir, b, jobs),
        None => load_view(dir, jobs),
    };
    // Items: manifests and blobs checked; bytes: the distinct blobs hashed.
    let mut blobs = std::collections::BTreeMap::new();
    for m in view.manifests.values() {
        for b in m.blob_descriptors() {
            blobs.insert(b.digest.clone(), b.size);
        }
    }
    let items = (view.manifests.len() + blobs.len()) as u64;
    shown.planned(items, 0);
    shown.items_done(items);
    shown.bytes(blobs.values().sum());
    shown.finish();
    view.source_prefix = prefix;
    let mut report = verify(&view, &policy, &trust, &at, jobs);
    // Helm chart provenance (.prov) is read from the bundle's blobs, base included.
    if policy.rules.iter().any(|r| r.helm.is_some()) {
        let delta = Layout::open(dir)?;
        chart_provenance(&mut report, &policy, &view, &delta, base.as_ref())?;
    }
    // A delta bundle names its base; without the base it cannot be judged complete.
    let delta = airlock::delta::base_findings(
        trust.lock.bytes.as_deref(),
        base.as_ref(),
        &dir.display().to_string(),
    );
    if !delta.is_empty() || !root_findings.is_empty() {
        report.findings.extend(delta);
        report.findings.extend(root_findings);
        report.finalise();
    }
    common::record_inputs(&mut report, &policy, flags.pins.as_deref());
    Ok((report, policy))
}

/// Helm chart provenance (.prov), read from the bundle's blobs and, for a delta, its base's.
fn chart_provenance(
    report: &mut Report,
    policy: &Policy,
    view: &airlock::verify::view::BundleView,
    blobs: &dyn airlock::layout::load::BlobSource,
    base: Option<&airlock::delta::BaseBundle>,
) -> Result<(), Fatal> {
    match base {
        Some(b) => {
            let union = airlock::delta::Union {
                delta: blobs,
                base: b.blobs(),
            };
            super::charts::add_chart_provenance(report, policy, view, &union)
        }
        None => super::charts::add_chart_provenance(report, policy, view, blobs),
    }
}

/// `--base OLD_BUNDLE`, opened: a directory, or an archive read in one pass.
pub fn open_base(
    base: Option<&Path>,
    jobs: usize,
) -> Result<Option<airlock::delta::BaseBundle>, Fatal> {
    let Some(b) = base else { return Ok(None) };
    let bar = super::archive::Bar::new();
    let opened = airlock::delta::BaseBundle::open(b, jobs, &bar);
    bar.finish();
    opened
        .map(Some)
        .map_err(|e| Fatal(format!("--base {}: {e}", b.display())))
}

/// Verify a bundle read from an archive (`FILE.chunks.json` or a tar), as `airlock verify FILE`
/// does: the same core over the same view as from the unpacked directory.
pub fn verify_archive(
    opened: &super::archive::OpenedArchive,
    policy_path: &Path,
    flags: &VerifyFlags,
    lock_override: Option<&Path>,
    base: Option<&Path>,
    jobs: usize,
) -> Result<(Report, Policy), Fatal> {
    let (policy, keys_map, known) =
        common::load_policy_and_keys(policy_path, flags.keys.as_deref())?;
    let pins = common::load_pins(flags.pins.as_deref())?;
    let at = verification_time(flags.at.as_deref())?;
    let prefix = source_prefix(flags.source_prefix.as_deref())?;
    let base = open_base(base, jobs)?;
    let file = &opened.file;
    let mut view = match &opened.read {
        Some(r) => match (&base, &r.index, &r.blobs) {
            (Some(b), Some(index), Some(blobs)) => {
                airlock::delta::view_over_base(r.view.clone(), index, blobs, b, jobs)
            }
            _ => r.view.clone(),
        },
        None => airlock::verify::view::BundleView {
            location: file.display().to_string(),
            layout_error: Some("the chunk list does not verify".into()),
            ..Default::default()
        },
    };
    view.source_prefix = prefix;
    let lock_in_archive = opened.read.as_ref().and_then(|r| r.lock.clone());
    let envelope = opened.read.as_ref().and_then(|r| r.lock_envelope.clone());
    let (lock_source, lock_bytes) = match lock_override {
        Some(p) => (
            p.display().to_string(),
            Some(
                layout::read_regular_limited(p, airlock::lock::MAX_LOCK_BYTES as u64)
                    .map_err(|e| Fatal(format!("--lock {}: {e}", p.display())))?,
            ),
        ),
        None => (
            format!("{}:{}", file.display(), layout::LOCK_FILE),
            lock_in_archive,
        ),
    };
    let capture_key = capture_key(flags.capture_key.as_deref())?;
    let (trust, root_findings) = assemble_trust(
        &policy,
        keys_map,
        known,
        pins,
        &at,
        None,
        LockInput {
            source: lock_source,
            bytes: lock_bytes,
            envelope,
            capture_key,
        },
    )?;
    let mut report = verify(&view, &policy, &trust, &at, jobs);
    // Helm chart provenance (.prov) is read from the archive's blobs (and the base's).
    if policy.rules.iter().any(|r| r.helm.is_some()) {
        if let Some(blobs) = opened.read.as_ref().and_then(|r| r.blobs.as_ref()) {
            chart_provenance(&mut report, &policy, &view, blobs, base.as_ref())?;
        }
    }
    report.findings.extend(airlock::delta::base_findings(
        trust.lock.bytes.as_deref(),
        base.as_ref(),
        &file.display().to_string(),
    ));
    report.findings.extend(opened.findings.iter().cloned());
    report.findings.extend(root_findings);
    report.finalise();
    common::record_inputs(&mut report, &policy, flags.pins.as_deref());
    Ok((report, policy))
}

/// Which images may go further, and why.
#[derive(Debug)]
pub struct Verdict {
    /// Source reference (as captured) -> digest, of every image whose result is pass.
    pub passed: BTreeMap<String, Digest>,
    /// Images that did not pass, with their error findings.
    pub failed: Vec<(String, String, Vec<Finding>)>,
    /// `sha256:` of the report bytes the verdict came from.
    pub report_digest: Digest,
    /// The report itself.
    pub report: Report,
}

impl Verdict {
    pub fn from_report(report: Report, bytes: &[u8]) -> Verdict {
        let mut passed = BTreeMap::new();
        let mut failed = Vec::new();
        let global_errors: Vec<Finding> = report
            .findings
            .iter()
            .filter(|f| f.is_error())
            .cloned()
            .collect();
        for img in &report.images {
            let ok = img.result == Outcome::Pass && global_errors.is_empty();
            match (ok, Digest::parse(&img.digest)) {
                (true, Ok(d)) => {
                    passed.insert(img.r#ref.clone(), d);
                }
                _ => {
                    let mut fs: Vec<Finding> = img
                        .findings
                        .iter()
                        .filter(|f| f.is_error())
                        .cloned()
                        .collect();
                    fs.extend(global_errors.iter().cloned());
                    failed.push((img.r#ref.clone(), img.digest.clone(), fs));
                }
            }
        }
        Verdict {
            passed,
            failed,
            report_digest: Digest::sha256_of(bytes),
            report,
        }
    }
}

/// What push reads: a bundle directory or an archive read in one pass.
pub enum BundleInput<'a> {
    Dir(&'a Path),
    Archive(&'a super::archive::OpenedArchive),
}

impl BundleInput<'_> {
    /// `index.json` and the lock bytes, for checking a signed report against the bundle.
    fn index_and_lock(&self) -> Result<(airlock::oci::Manifest, Option<Vec<u8>>), String> {
        match self {
            BundleInput::Dir(dir) => {
                let index = layout::Layout::open(dir)
                    .and_then(|l| l.read_index())
                    .map_err(|e| e.to_string())?;
                // Regular files only, within the lock limit (a FIFO here must not hang push).
                let lock = match layout::read_regular_limited(
                    &dir.join(layout::LOCK_FILE),
                    airlock::lock::MAX_LOCK_BYTES as u64,
                ) {
                    Ok(b) => Some(b),
                    Err(layout::LayoutError::Missing { .. }) => None,
                    Err(e) => return Err(e.to_string()),
                };
                Ok((index, lock))
            }
            BundleInput::Archive(a) => {
                let r = a.read.as_ref().ok_or_else(|| {
                    format!("{}: the archive could not be read", a.file.display())
                })?;
                let index = r.index.clone().ok_or_else(|| {
                    r.view
                        .layout_error
                        .clone()
                        .unwrap_or_else(|| "the archive holds no valid index.json".into())
                })?;
                Ok((index, r.lock.clone()))
            }
        }
    }
}

/// Verify now: the report's JSON bytes are what the verdict's digest names.
pub fn verdict_by_verifying(
    bundle: &BundleInput<'_>,
    policy_path: &Path,
    flags: &VerifyFlags,
    base: Option<&Path>,
    jobs: usize,
) -> Result<Verdict, Fatal> {
    let (report, _) = match bundle {
        BundleInput::Dir(dir) => verify_dir(dir, policy_path, flags, None, base, jobs)?,
        BundleInput::Archive(a) => verify_archive(a, policy_path, flags, None, base, jobs)?,
    };
    let bytes = render::json(&report).into_bytes();
    Ok(Verdict::from_report(report, &bytes))
}

/// A signed report from an earlier `verify --sign-key`: its signature, its policy digest and
/// every digest in it are checked against the bundle (exit 2 when they do not hold).
pub fn verdict_from_signed_report(
    report_path: &Path,
    report_key: &Path,
    policy: Option<&Path>,
    bundle: Option<&BundleInput<'_>>,
) -> Result<Verdict, Fatal> {
    let bytes = layout::read_regular_limited(report_path, vsa::MAX_REPORT_FILE_BYTES as u64)
        .map_err(|e| Fatal(format!("--report {}: {e}", report_path.display())))?;
    let key = keys::load_public_key_file(report_key)?;
    let verified = vsa::verify(&bytes, &key).map_err(|e| {
        Fatal(format!(
            "--report {}: the signed report does not verify with --report-key {}: {e}; nothing was done",
            report_path.display(),
            report_key.display()
        ))
    })?;
    let report = verified.report().clone();
    // The policy the report was made under must be the one in force here.
    let policy_path = policy
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(&report.policy.path));
    // `Policy::load` reads the file within the policy size limit and hashes its exact bytes.
    let in_force = Policy::load(&policy_path).map_err(|e| {
        Fatal(format!(
            "--report: cannot load the policy {} to check the report's policy digest ({e}); give --policy FILE",
            policy_path.display()
        ))
    })?;
    let want = in_force.sha256.clone();
    if want.trim_start_matches("sha256:") != report.policy.sha256.trim_start_matches("sha256:") {
        return Err(Fatal(format!(
            "--report {}: the report was made under a policy with sha256 {}, but {} has {want}; verify again under the policy in force",
            report_path.display(),
            report.policy.sha256,
            policy_path.display()
        )));
    }
    if let Some(bundle) = bundle {
        check_report_matches_bundle(&report, bundle).map_err(|e| {
            Fatal(format!(
                "--report {}: {e}; the report is not about this bundle",
                report_path.display()
            ))
        })?;
    }
    Ok(Verdict::from_report(report, &bytes))
}

/// Every image the report names is in the bundle's index.json under the same name and digest,
/// and the lock is the one the report saw.
fn check_report_matches_bundle(report: &Report, bundle: &BundleInput<'_>) -> Result<(), String> {
    let (index, lock) = bundle.index_and_lock()?;
    let mut named: BTreeMap<String, Digest> = BTreeMap::new();
    for e in index.child_descriptors() {
        if let Some(n) = e.annotation(ANNOTATION_REF_NAME) {
            named.insert(n.to_string(), e.digest.clone());
        }
    }
    for img in &report.images {
        match named.get(&img.r#ref) {
            Some(d) if d.to_string() == img.digest => {}
            Some(d) => {
                return Err(format!(
                    "it says {} is {}, the bundle holds {d}",
                    img.r#ref, img.digest
                ))
            }
            None => {
                return Err(format!(
                    "it names {}, which the bundle does not hold",
                    img.r#ref
                ))
            }
        }
    }
    if let Some(want) = &report.inputs.lock_sha256 {
        let have = match &lock {
            Some(b) => Digest::sha256_of(b).to_string(),
            None => "no lock".into(),
        };
        if &have != want {
            return Err(format!(
                "it was made with lock {want}, the bundle's lock is {have}"
            ));
        }
    }
    Ok(())
}

/// `--report FILE --report-key PUB` / `--no-verify`, for commands that act on pushed images.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReportVerdictFlags {
    /// A signed report from `airlock verify --sign-key`: only images it passed are used.
    #[arg(long = "report", value_name = "FILE", requires = "report_key")]
    pub verdict_report: Option<PathBuf>,
    /// Public key that signed --report.
    #[arg(long, value_name = "PUB", requires = "verdict_report")]
    pub report_key: Option<PathBuf>,
    /// Use every image without a verdict (recorded as unverified). Not for production.
    #[arg(long, conflicts_with = "verdict_report")]
    pub no_verify: bool,
}

/// The source references admission and preflight may use: those with verdict `pass` in the
/// mapping, or passed by `--report`; `None` with `--no-verify` (everything). No verdict source
/// at all is an error (exit 2) that names the three ways to give one.
pub fn passed_sources(
    flags: &ReportVerdictFlags,
    mapping: Option<&airlock::mapping::Mapping>,
    policy: Option<&Path>,
    command: &str,
) -> Result<Option<std::collections::BTreeSet<String>>, Fatal> {
    use airlock::mapping::MappedVerdict;
    if flags.no_verify {
        return Ok(None);
    }
    if let (Some(r), Some(k)) = (&flags.verdict_report, &flags.report_key) {
        let v = verdict_from_signed_report(r, k, policy, None)?;
        return Ok(Some(v.passed.into_keys().collect()));
    }
    match mapping {
        Some(m) if m.images.iter().any(|i| i.verdict.is_some()) => Ok(Some(
            m.images
                .iter()
                .filter(|i| i.verdict == Some(MappedVerdict::Pass))
                .map(|i| i.source.clone())
                .collect(),
        )),
        _ => Err(Fatal(format!(
            "{command} needs a verdict: a mapping written by `airlock push --policy` or \
             `--report` (its entries carry verdict: pass), --report FILE --report-key PUB (a \
             signed report from `airlock verify --sign-key`), or --no-verify"
        ))),
    }
}
