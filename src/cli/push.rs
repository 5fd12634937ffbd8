//! `airlock push DIR HOST[/PREFIX]`: push a verified bundle byte-exact, read it back, write the
//! mapping. With `--attest-key KEY` the gate then attaches its signed verification summary to
//! every pushed image (`airlock::push::attest`; docs/push.md, "Gate attestation").
use std::path::{Path, PathBuf};
use std::sync::Arc;

use airlock::mapping::MappedVerdict;
use airlock::oci::Digest;
use airlock::push::{
    attest, push, push_source, AttestOptions, AttestOutcome, GatePolicy, PushOptions, PushOutcome,
    PushProgress, Target,
};
use airlock::report::{render, vsa, Finding};
use airlock::trust::keys::SigningKey;

use super::common::{self, Format, RegistryFlags};
use super::verdict::{
    verdict_by_verifying, verdict_from_signed_report, BundleInput, Verdict, VerifyFlags,
};
use super::{Fatal, EXIT_FAIL, EXIT_OK};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The bundle: an OCI image layout written by `airlock capture`, or an archive written by
    /// `airlock pack` (FILE.chunks.json, or a plain tar FILE), pushed without unpacking.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Target registry and optional path prefix, e.g. `registry.site.local:5000/mirror`.
    #[arg(value_name = "HOST[/PREFIX]")]
    target: String,
    /// Keep the source registry host as the first path component
    /// (`HOST/PREFIX/quay.io/team/app` instead of `HOST/PREFIX/team/app`).
    #[arg(long)]
    keep_host: bool,
    /// Parallel blob uploads and manifest requests.
    #[arg(long, value_name = "N", default_value_t = 8)]
    jobs: usize,
    /// `json` prints the outcome (counts, findings, mapping) on stdout.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Gate mode: after a push read back without errors, attach to every pushed image a cosign
    /// `.att` attestation (SLSA verification summary, PASSED) signed by this private key
    /// (cosign-format encrypted or PKCS#8 PEM; passphrase from AIRLOCK_PASSWORD or
    /// COSIGN_PASSWORD), or a pkcs11: URI naming a key in an HSM (PIN from the URI or
    /// AIRLOCK_PKCS11_PIN). `airlock admission --gate-key PUB` emits the matching cluster policy.
    #[arg(long, value_name = "KEY")]
    attest_key: Option<PathBuf>,
    /// Verdict: verify the bundle offline against this policy first, exactly as
    /// `airlock verify DIR --policy FILE` with the same flags; only images that pass are pushed
    /// (with --attest-key, the policy is recorded in the attestation).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    #[command(flatten)]
    verify: VerifyFlags,
    /// With --policy, for a delta bundle (`capture --base`): its base bundle (directory,
    /// FILE.chunks.json or tar), so the delta is verified as the union of both. The base's blobs
    /// are not pushed: the target must hold them already.
    #[arg(long, value_name = "OLD_BUNDLE", requires = "policy")]
    base: Option<PathBuf>,
    /// Verdict: a signed report from `airlock verify --sign-key` (checked with --report-key
    /// against the bundle and the policy); only images it passed are pushed.
    #[arg(long, value_name = "FILE", requires = "report_key")]
    report: Option<PathBuf>,
    /// Public key that signed --report.
    #[arg(long, value_name = "PUB", requires = "report")]
    report_key: Option<PathBuf>,
    /// No verdict: push everything, recorded in the mapping as `unverified`.
    #[arg(long, conflicts_with_all = ["policy", "report"])]
    no_verify: bool,
    /// Write the mapping here instead of DIR/airlock.mapping.json (for an archive: the
    /// airlock.mapping.json beside it); for read-only import media.
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// For a bundle captured with `--platform`: push this platform's manifest (with its
    /// signatures, attestations and SBOMs) under each tag instead of the index, which the
    /// registry would refuse without its other children. The mapping records that manifest.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    #[command(flatten)]
    registry: RegistryFlags,
}

fn summary(o: &PushOutcome, target: &str) -> String {
    format!(
        "pushed {} image(s) into {} repositories at {target}: blobs {} uploaded ({} bytes), {} mounted, {} already present; manifests {} pushed, {} already present; referrers tags {} updated; read back {} manifests and {} blobs; {} requests",
        // Exact: nothing counts as pushed when push stopped before writing the mapping.
        if o.mapping.is_some() { o.images } else { 0 },
        o.repositories,
        o.blobs_uploaded,
        o.bytes_uploaded,
        o.blobs_mounted,
        o.blobs_present,
        o.manifests_pushed,
        o.manifests_present,
        o.referrer_tags_updated,
        o.manifests_read_back,
        o.blobs_read_back,
        o.requests
    )
}

fn print_findings(findings: &[Finding]) {
    for f in findings {
        eprintln!(
            "{} {}: {} [{}]",
            f.severity.short(),
            f.code,
            f.message,
            f.subject
        );
        if f.is_error() && !f.hint.is_empty() {
            eprintln!("  hint: {}", f.hint);
        }
    }
}

/// The `--attest-key`, loaded before anything is read or sent, so a wrong passphrase stops the
/// command (exit 2) with nothing pushed.
fn load_attest_key(a: &Args) -> Result<Option<SigningKey>, Fatal> {
    let Some(path) = &a.attest_key else {
        return Ok(None);
    };
    common::load_signing_key("--attest-key", path)
        .map(Some)
        .map_err(|Fatal(m)| Fatal(format!("{m}; nothing was pushed")))
}

/// The policy recorded in the gate attestation: the file given, or the one the report names.
fn gate_policy_for(policy_path: &Path, sha256: &str) -> Result<GatePolicy, Fatal> {
    let digest = Digest::parse(&format!("sha256:{}", sha256.trim_start_matches("sha256:")))
        .map_err(|e| Fatal(format!("policy {}: {e}", policy_path.display())))?;
    let uri = match policy_path.canonicalize() {
        Ok(p) => vsa::file_uri(&p.to_string_lossy()),
        Err(_) => vsa::path_uri(&policy_path.to_string_lossy()),
    };
    Ok(GatePolicy { uri, digest })
}

/// The verdict push is held to; `None` with `--no-verify`.
fn verdict(a: &Args, bundle: &BundleInput<'_>) -> Result<Option<Verdict>, Fatal> {
    if a.no_verify {
        return Ok(None);
    }
    if let (Some(r), Some(k)) = (&a.report, &a.report_key) {
        return verdict_from_signed_report(r, k, a.policy.as_deref(), Some(bundle)).map(Some);
    }
    if let Some(p) = &a.policy {
        return verdict_by_verifying(
            bundle,
            p,
            &a.verify,
            a.base.as_deref(),
            common::default_jobs(),
        )
        .map(Some);
    }
    Err(Fatal(
        "push needs a verdict: --policy FILE (verify the bundle now, as `airlock verify`), \
         --report FILE --report-key PUB (a signed report from `airlock verify --sign-key`), or \
         --no-verify (push everything, recorded as unverified); nothing was pushed"
            .into(),
    ))
}

/// The mapping's directory must be writable before anything is uploaded.
fn check_writable(path: &Path) -> Result<(), Fatal> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let probe = dir.join(format!(".airlock-write-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(Fatal(format!(
            "cannot write the mapping to {} ({e}); give --mapping FILE on writable media. Nothing was pushed",
            path.display()
        ))),
    }
}

fn attest_summary(o: &AttestOutcome) -> String {
    let present = o.attestations.iter().filter(|a| a.already_present).count();
    let extended = o
        .attestations
        .iter()
        .filter(|a| !a.already_present && a.kept_layers > 0)
        .count();
    format!(
        "gate attestation on {} image(s): {} written ({} appended to an existing .att, keeping its layers), {} already present; {} requests",
        o.attestations.len(),
        o.attestations.len() - present,
        extended,
        present,
        o.requests
    )
}

pub fn run(a: Args) -> Result<u8, Fatal> {
    if a.jobs == 0 {
        return Err(Fatal("--jobs must be at least 1".into()));
    }
    if let Some(p) = &a.platform {
        airlock::capture::validate_platform_filter(p).map_err(Fatal)?;
    }
    let target = Target::parse(&a.target, a.keep_host)?;
    let attest_key = load_attest_key(&a)?;
    let is_archive = a.dir.is_file();
    let default_mapping_dir = if is_archive {
        a.dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    } else {
        a.dir.clone()
    };
    let mapping_path = a
        .mapping
        .clone()
        .unwrap_or_else(|| default_mapping_dir.join(airlock::layout::MAPPING_FILE));
    check_writable(&mapping_path)?;
    // An archive (chunk list or tar) is read once: verified and pushed from that one pass.
    let archive = if is_archive {
        let opened = super::archive::OpenedArchive::open(&a.dir, common::default_jobs())?;
        if !opened.is_clean() {
            eprintln!(
                "nothing was pushed: the archive {} did not read cleanly",
                a.dir.display()
            );
            print_findings(&opened.findings);
            if a.format == Format::Json {
                let doc = serde_json::json!({
                    "result": "fail",
                    "target": target.display(),
                    "findings": opened.findings,
                });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            }
            return Ok(EXIT_FAIL);
        }
        Some(opened)
    } else {
        None
    };
    let bundle = match &archive {
        Some(o) => BundleInput::Archive(o),
        None => BundleInput::Dir(&a.dir),
    };
    let verdict = verdict(&a, &bundle)?;
    let mut gate_policy = None;
    let mut any_failed = false;
    if let Some(v) = &verdict {
        for (name, digest, findings) in &v.failed {
            any_failed = true;
            eprintln!("not pushed: {name} ({digest}) did not pass verification");
            print_findings(findings);
        }
        if v.passed.is_empty() {
            eprintln!("no image passed verification; nothing was pushed");
            if a.format == Format::Json {
                let doc = serde_json::json!({
                    "result": "fail",
                    "target": target.display(),
                    "verification": v.report,
                });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            }
            return Ok(EXIT_FAIL);
        }
        let policy_path = a
            .policy
            .clone()
            .unwrap_or_else(|| PathBuf::from(&v.report.policy.path));
        gate_policy = Some(gate_policy_for(&policy_path, &v.report.policy.sha256)?);
        if a.report.is_none() {
            // The report the verdict came from, next to the mapping (its digest is recorded).
            let report_path = mapping_path.with_file_name(airlock::archive::pack::PUSH_REPORT_FILE);
            airlock::layout::write_atomic(&report_path, render::json(&v.report).as_bytes())
                .map_err(|e| Fatal(format!("{}: {e}", report_path.display())))?;
        }
    } else {
        eprintln!("warning: --no-verify: pushing every image without a verdict; the mapping records them as unverified, and admission/preflight will not admit them without --no-verify");
    }
    if attest_key.is_some() && gate_policy.is_none() {
        eprintln!("note: --attest-key with --no-verify: the gate attestation records no policy");
    }
    let client = a.registry.client()?;
    // Push writes the mapping into the bundle: one writer per directory at a time (an archive
    // is only read).
    let _dir_lock = match &archive {
        None => Some(common::lock_bundle_dir(&a.dir, "push")?),
        Some(_) => None,
    };
    let shown = super::progress::Progress::start("push");
    let progress: Arc<dyn PushProgress> = shown.clone();
    let opts = PushOptions {
        jobs: common::clamp_jobs(a.jobs),
        created: common::now_rfc3339(),
        only: verdict.as_ref().map(|v| v.passed.keys().cloned().collect()),
        verdict: if verdict.is_some() {
            MappedVerdict::Pass
        } else {
            MappedVerdict::Unverified
        },
        report_digest: verdict.as_ref().map(|v| v.report_digest.clone()),
        mapping_path: Some(mapping_path.clone()),
        platform: a.platform.clone(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut outcome = match &archive {
        None => rt.block_on(push(&client, &a.dir, &target, &opts, progress))?,
        Some(o) => {
            let Some(read) = o.read.as_ref() else {
                return Err(Fatal(format!(
                    "{}: the archive could not be read",
                    a.dir.display()
                )));
            };
            let lock = match &read.lock {
                Some(b) => Some(airlock::lock::Lock::parse(b).map_err(|e| {
                    Fatal(format!(
                        "{}:{}: {e}",
                        a.dir.display(),
                        airlock::layout::LOCK_FILE
                    ))
                })?),
                None => None,
            };
            rt.block_on(push_source(
                &client,
                read,
                lock.as_ref(),
                &target,
                &opts,
                &mapping_path,
                progress,
            ))?
        }
    };
    shown.finish();
    let attested = match &attest_key {
        Some(key) if !outcome.failed() && outcome.mapping.is_some() => {
            let aopts = AttestOptions {
                key,
                time_verified: common::now_rfc3339(),
                policy: gate_policy,
                jobs: common::clamp_jobs(a.jobs),
            };
            Some(rt.block_on(attest(&client, &target, &mut outcome, &aopts))?)
        }
        _ => None,
    };
    eprintln!("{}", summary(&outcome, &target.display()));
    print_findings(&outcome.findings);
    match &attested {
        Some(at) => {
            eprintln!("{}", attest_summary(at));
            for g in &at.attestations {
                eprintln!(
                    "  {} -> {} ({} layer(s) kept{})",
                    g.target,
                    g.manifest,
                    g.kept_layers,
                    if g.already_present {
                        ", already attested"
                    } else {
                        ""
                    }
                );
            }
            print_findings(&at.findings);
        }
        None if attest_key.is_some() => {
            eprintln!("no gate attestation: the push did not go through without errors")
        }
        None => {}
    }
    let failed =
        any_failed || outcome.failed() || attested.as_ref().is_some_and(AttestOutcome::failed);
    match &outcome.mapping {
        Some(_) => eprintln!("mapping written to {}", mapping_path.display()),
        None => eprintln!("nothing was pushed: fix the bundle problems above first"),
    }
    if a.format == Format::Json {
        let mut doc = serde_json::json!({
            "result": if failed { "fail" } else { "pass" },
            "target": target.display(),
            "images": outcome.images,
            "repositories": outcome.repositories,
            "blobs": {
                "uploaded": outcome.blobs_uploaded,
                "bytesUploaded": outcome.bytes_uploaded,
                "mounted": outcome.blobs_mounted,
                "present": outcome.blobs_present,
                "readBack": outcome.blobs_read_back,
            },
            "manifests": {
                "pushed": outcome.manifests_pushed,
                "present": outcome.manifests_present,
                "readBack": outcome.manifests_read_back,
            },
            "referrerTagsUpdated": outcome.referrer_tags_updated,
            "requests": outcome.requests,
            "findings": outcome.findings,
            "mapping": outcome.mapping,
        });
        if let (Some(at), Some(obj)) = (&attested, doc.as_object_mut()) {
            obj.insert(
                "attestations".into(),
                serde_json::json!({
                    "items": at.attestations,
                    "findings": at.findings,
                    "requests": at.requests,
                }),
            );
        }
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    Ok(if failed { EXIT_FAIL } else { EXIT_OK })
}
