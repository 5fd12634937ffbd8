//! `airlock push DIR HOST[/PREFIX]`: push a verified bundle byte-exact, read it back, write the
//! mapping. With `--attest-key KEY` the gate then attaches its signed verification summary to
//! every pushed image (`airlock::push::attest`; docs/push.md, "Gate attestation").
use std::path::{Path, PathBuf};
use std::sync::Arc;

use airlock::layout::{self, load::load_view};
use airlock::oci::Digest;
use airlock::push::{
    attest, push, AttestOptions, AttestOutcome, GatePolicy, PushOptions, PushOutcome, PushProgress,
    Target,
};
use airlock::report::{render, vsa, Finding};
use airlock::trust::keys::{self, SigningKey};
use airlock::verify::{verify, LockInput, Trust};

use super::common::{self, Format, RegistryFlags};
use super::{Fatal, EXIT_FAIL, EXIT_OK};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The bundle (an OCI image layout written by `airlock capture`).
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
    /// COSIGN_PASSWORD). `airlock admission --gate-key PUB` emits the matching cluster policy.
    #[arg(long, value_name = "KEY")]
    attest_key: Option<PathBuf>,
    /// With --attest-key: verify the bundle offline against this policy before pushing (as
    /// `airlock verify DIR --policy FILE`; a failure pushes nothing) and record it in the
    /// attestation (`predicate.policy`: file URI and sha256).
    #[arg(long, value_name = "FILE", requires = "attest_key")]
    policy: Option<PathBuf>,
    /// With --policy: directory of public keys, as for `airlock verify --keys`.
    #[arg(long, value_name = "DIR", requires = "policy")]
    keys: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryFlags,
}

struct Bar(indicatif::ProgressBar);
impl PushProgress for Bar {
    fn phase(&self, what: &str) {
        self.0.set_message(what.to_string());
    }
    fn blobs_planned(&self, count: usize, bytes: u64) {
        self.0.set_length(bytes);
        self.0.set_message(format!("blobs ({count})"));
    }
    fn blob_done(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

fn summary(o: &PushOutcome, target: &str) -> String {
    format!(
        "pushed {} image(s) into {} repositories at {target}: blobs {} uploaded ({} bytes), {} mounted, {} already present; manifests {} pushed, {} already present; referrers tags {} updated; read back {} manifests and {} blobs; {} requests",
        o.images,
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
    keys::load_signing_key_file(path, keys::passphrase_from_env().as_deref())
        .map(Some)
        .map_err(|e| {
            Fatal(format!(
                "--attest-key: {e} (the passphrase is read from AIRLOCK_PASSWORD or COSIGN_PASSWORD); nothing was pushed"
            ))
        })
}

/// `--policy`: verify the bundle offline (no network) as `airlock verify DIR --policy FILE
/// [--keys DIR]` does. `Ok(Err(report))` when it does not pass.
fn verify_bundle(
    a: &Args,
    policy_path: &Path,
) -> Result<Result<GatePolicy, airlock::report::Report>, Fatal> {
    let (policy, keys_map, known) = common::load_policy_and_keys(policy_path, a.keys.as_deref())?;
    let lock_path = a.dir.join(layout::LOCK_FILE);
    let trust = Trust {
        trusted_roots: common::load_trusted_roots(&policy)?,
        keys: keys_map,
        known_keys: known,
        lock: LockInput {
            source: lock_path.display().to_string(),
            bytes: std::fs::read(&lock_path).ok(),
            envelope: std::fs::read(a.dir.join(layout::LOCK_DSSE_FILE)).ok(),
            capture_key: None,
        },
        pins: Default::default(),
    };
    let view = load_view(&a.dir, common::default_jobs());
    let report = verify(&view, &policy, &trust, &common::now_rfc3339());
    if !report.passed() {
        return Ok(Err(report));
    }
    let digest = Digest::parse(&policy.sha256)
        .map_err(|e| Fatal(format!("--policy {}: {e}", policy_path.display())))?;
    let uri = match policy_path.canonicalize() {
        Ok(p) => vsa::file_uri(&p.to_string_lossy()),
        Err(_) => vsa::path_uri(&policy_path.to_string_lossy()),
    };
    Ok(Ok(GatePolicy { uri, digest }))
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
    let target = Target::parse(&a.target, a.keep_host)?;
    let attest_key = load_attest_key(&a)?;
    let gate_policy = match &a.policy {
        Some(p) => match verify_bundle(&a, p)? {
            Ok(g) => Some(g),
            Err(report) => {
                eprint!("{}", render::text(&report));
                eprintln!(
                    "the bundle does not pass the policy {}; nothing was pushed and nothing attested",
                    p.display()
                );
                if a.format == Format::Json {
                    let doc = serde_json::json!({
                        "result": "fail",
                        "target": target.display(),
                        "verification": report,
                    });
                    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
                }
                return Ok(EXIT_FAIL);
            }
        },
        None => None,
    };
    if attest_key.is_some() && gate_policy.is_none() {
        eprintln!("note: --attest-key without --policy: the gate attestation records no policy, and push does not verify the bundle (run `airlock verify DIR --policy FILE` first, or give --policy)");
    }
    let client = a.registry.client()?;
    let progress: Arc<dyn PushProgress> = if common::stderr_is_terminal() {
        Arc::new(Bar(common::progress_bar()))
    } else {
        Arc::new(airlock::push::Quiet)
    };
    let opts = PushOptions {
        jobs: a.jobs,
        created: common::now_rfc3339(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut outcome = rt.block_on(push(&client, &a.dir, &target, &opts, progress))?;
    let attested = match &attest_key {
        Some(key) if !outcome.failed() && outcome.mapping.is_some() => {
            let aopts = AttestOptions {
                key,
                time_verified: common::now_rfc3339(),
                policy: gate_policy,
                jobs: a.jobs,
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
    let failed = outcome.failed() || attested.as_ref().is_some_and(AttestOutcome::failed);
    match &outcome.mapping {
        Some(_) => eprintln!(
            "mapping written to {}",
            a.dir.join(airlock::layout::MAPPING_FILE).display()
        ),
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
