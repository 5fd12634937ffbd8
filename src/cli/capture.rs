//! `airlock capture REF... -o DIR`: the connected side.
use std::path::PathBuf;
use std::sync::Arc;

use airlock::capture::{capture, CaptureOptions, Progress};
use airlock::layout::{self, Layout};
use airlock::lock::LOCK_PAYLOAD_TYPE;
use airlock::oci::Reference;
use airlock::report::{render, Finding};

use super::common::{self, Format, RegistryFlags};
use super::{Fatal, EXIT_FAIL, EXIT_OK};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Image or artifact references (`registry/repo:tag`, `registry/repo@sha256:…`, `oci://…`).
    #[arg(value_name = "REF")]
    refs: Vec<String>,
    /// File with one reference per line (`#` comments).
    #[arg(short = 'f', long = "images-file", value_name = "FILE")]
    images_file: Option<PathBuf>,
    /// Output bundle directory.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: PathBuf,
    /// Only these platforms' manifests (the index is still kept byte-exact). Repeatable.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Vec<String>,
    /// Pins file: fail with pin-mismatch when a reference resolves elsewhere.
    #[arg(long, value_name = "FILE")]
    pins: Option<PathBuf>,
    /// Verify the bundle with this policy right after capture.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Directory of public keys for --policy (see verify --keys).
    #[arg(long, value_name = "DIR")]
    keys: Option<PathBuf>,
    /// Sign the lock (DSSE) with this private key (passphrase from AIRLOCK_PASSWORD/COSIGN_PASSWORD),
    /// or the key a pkcs11: URI names in an HSM (PIN from the URI or AIRLOCK_PKCS11_PIN).
    #[arg(long, value_name = "KEY")]
    sign_key: Option<PathBuf>,
    /// Parallel blob downloads.
    #[arg(long, value_name = "N", default_value_t = 8)]
    jobs: usize,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the JSON verification report (with --policy) to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Capture only the I-th of N deterministic shards of the references (split by
    /// repository, so one repository's tags stay together); `airlock merge` joins the shards.
    #[arg(long, value_name = "I/N", value_parser = airlock::merge::parse_shard)]
    shard: Option<(usize, usize)>,
    /// Delta capture against the previous bundle: its lock (`airlock.lock.json`), its bundle
    /// directory, or its chunk list. Blobs the base lists are recorded in the lock (marked as
    /// held by the base) but not written; the lock records the base lock's sha256.
    #[arg(long, value_name = "OLD")]
    base: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryFlags,
}

fn read_refs(a: &Args) -> Result<Vec<Reference>, Fatal> {
    let mut texts: Vec<String> = a.refs.clone();
    if let Some(f) = &a.images_file {
        let t =
            std::fs::read_to_string(f).map_err(|e| Fatal(format!("-f {}: {e}", f.display())))?;
        for (i, line) in t.lines().enumerate() {
            let l = line.split('#').next().unwrap_or("").trim();
            if !l.is_empty() {
                Reference::parse(l)
                    .map_err(|e| Fatal(format!("{}:{}: {e}", f.display(), i + 1)))?;
                texts.push(l.to_string());
            }
        }
    }
    if texts.is_empty() {
        return Err(Fatal(
            "no references: give REF arguments or -f IMAGES_FILE".into(),
        ));
    }
    let mut out: Vec<Reference> = Vec::new();
    for t in texts {
        let r = Reference::parse(&t)?;
        if !out.iter().any(|x| x.given() == r.given()) {
            out.push(r);
        }
    }
    Ok(out)
}

/// Environment variable overriding the capture metadata budget (bytes), for constrained hosts.
pub const METADATA_BUDGET_ENV: &str = "AIRLOCK_CAPTURE_METADATA_BUDGET";

fn metadata_budget() -> Result<u64, Fatal> {
    match std::env::var(METADATA_BUDGET_ENV) {
        Ok(v) => v.trim().parse::<u64>().map_err(|_| {
            Fatal(format!(
                "{METADATA_BUDGET_ENV}={v:?} is not a number of bytes (default {})",
                airlock::capture::MAX_CAPTURE_METADATA_BYTES
            ))
        }),
        Err(_) => Ok(airlock::capture::MAX_CAPTURE_METADATA_BYTES),
    }
}

pub fn run(a: Args) -> Result<u8, Fatal> {
    for p in &a.platform {
        airlock::capture::validate_platform_filter(p).map_err(Fatal)?;
    }
    let metadata_budget = metadata_budget()?;
    let mut refs = read_refs(&a)?;
    if let Some((i, n)) = a.shard {
        let repos: Vec<String> = refs.iter().map(|r| r.repository()).collect();
        let mine = airlock::merge::shard_of(&repos, i, n);
        refs.retain(|r| mine.contains(&r.repository()));
        eprintln!(
            "shard {i}/{n}: {} reference(s) from {} repositories",
            refs.len(),
            mine.len()
        );
        if refs.is_empty() {
            eprintln!("shard {i}/{n} holds no repository; writing an empty shard bundle");
        }
    }
    let pins = common::load_pins(a.pins.as_deref())?;
    // Load everything the operator supplied before touching the network.
    let policy = match &a.policy {
        Some(p) => Some(common::load_policy_and_keys(p, a.keys.as_deref())?),
        None => None,
    };
    let trusted_roots = match &policy {
        Some((p, _, _)) => common::load_trusted_roots(p)?,
        None => Default::default(),
    };
    let sign_key = match &a.sign_key {
        Some(p) => Some(common::load_signing_key("--sign-key", p)?),
        None => None,
    };
    let client = a.registry.client()?;
    // One writer per bundle directory: a second capture (or push/unpack) waits for this one.
    let _dir_lock = common::lock_bundle_dir(&a.output, "capture")?;
    let mut layout = Layout::create(&a.output)?;
    // Blobs are fsynced together at the end of the capture instead of one by one.
    layout.set_durable(false);
    let opts = CaptureOptions {
        jobs: common::clamp_jobs(a.jobs),
        platforms: a.platform.clone(),
        pins: pins.clone(),
        created: common::now_rfc3339(),
        base: match &a.base {
            Some(p) => Some(load_base(p)?),
            None => None,
        },
        metadata_budget,
    };
    let shown = super::progress::Progress::start("capture");
    let progress: Arc<dyn Progress> = shown.clone();
    // Blob writes and fsyncs block a worker briefly; more workers keep downloads flowing.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.jobs.clamp(4, 16))
        .enable_all()
        .build()?;
    let outcome = rt.block_on(capture(&client, &layout, &refs, &opts, progress))?;
    shown.finish();
    if let Some(k) = &sign_key {
        let bytes = std::fs::read(a.output.join(layout::LOCK_FILE))?;
        let env = airlock::sign::sign_envelope(LOCK_PAYLOAD_TYPE, &bytes, k)?;
        layout::write_atomic(&a.output.join(layout::LOCK_DSSE_FILE), &env)?;
    }
    let mut failed = outcome.findings.iter().any(Finding::is_error);
    eprintln!(
        "captured {} image(s) into {}: {} manifests, {} blobs fetched ({} bytes), {} already present",
        outcome.images,
        a.output.display(),
        outcome.manifests,
        outcome.blobs_fetched,
        outcome.bytes_fetched,
        outcome.blobs_skipped
    );
    for f in &outcome.findings {
        eprintln!(
            "{} {}: {} [{}]",
            f.severity.short(),
            f.code,
            f.message,
            f.subject
        );
    }
    if let Some((policy, keys_map, known)) = policy {
        let view = airlock::layout::load::load_view(&a.output, common::default_jobs());
        let capture_key = sign_key.as_ref().map(|k| k.public_key());
        let lock_bytes = std::fs::read(a.output.join(layout::LOCK_FILE)).ok();
        let envelope = std::fs::read(a.output.join(layout::LOCK_DSSE_FILE)).ok();
        let trust = airlock::verify::Trust {
            trusted_roots,
            keys: keys_map,
            known_keys: known,
            lock: airlock::verify::LockInput {
                source: a.output.join(layout::LOCK_FILE).display().to_string(),
                bytes: lock_bytes,
                envelope,
                capture_key,
            },
            pins,
        };
        let mut report = airlock::verify::verify(&view, &policy, &trust, &common::now_rfc3339());
        report.findings.extend(outcome.findings.iter().cloned());
        report.finalise();
        if let Some(path) = &a.report {
            std::fs::write(path, render::json(&report))
                .map_err(|e| Fatal(format!("--report {}: {e}", path.display())))?;
        }
        common::print_report(&report, a.format);
        failed |= !report.passed();
    } else if a.format == Format::Json {
        print!("{}", String::from_utf8_lossy(&outcome.lock.to_json()));
    }
    Ok(if failed { EXIT_FAIL } else { EXIT_OK })
}

/// The base of a delta capture: its lock bytes' digest and the blobs it lists.
pub fn load_base(path: &std::path::Path) -> Result<airlock::capture::BaseLock, Fatal> {
    let bytes = super::archive::base_lock_bytes(path)?;
    let lock = airlock::lock::Lock::parse(&bytes)
        .map_err(|e| Fatal(format!("--base {}: {e}", path.display())))?;
    let mut blobs: std::collections::BTreeSet<airlock::oci::Digest> = lock
        .blobs
        .iter()
        .filter(|b| !b.base)
        .map(|b| b.digest.clone())
        .collect();
    if lock.base.is_some() {
        return Err(Fatal(format!(
            "--base {}: that lock is itself a delta; capture against a full bundle",
            path.display()
        )));
    }
    if blobs.is_empty() && path.is_dir() {
        // A lock from before blob lists: the base directory's own blobs.
        let l = layout::Layout::open(path)?;
        for alg in [
            airlock::oci::Algorithm::Sha256,
            airlock::oci::Algorithm::Sha512,
        ] {
            let Ok(rd) = std::fs::read_dir(path.join("blobs").join(alg.as_str())) else {
                continue;
            };
            for e in rd.flatten() {
                let name = format!("{}:{}", alg.as_str(), e.file_name().to_string_lossy());
                if let Ok(d) = airlock::oci::Digest::parse(&name) {
                    if l.has_verified_blob(&d, None) {
                        blobs.insert(d);
                    }
                }
            }
        }
    }
    if blobs.is_empty() {
        return Err(Fatal(format!(
            "--base {}: the base lock lists no blobs (written by an older airlock); give the base bundle directory instead",
            path.display()
        )));
    }
    Ok(airlock::capture::BaseLock {
        sha256: airlock::oci::Digest::sha256_of(&bytes),
        blobs,
    })
}
