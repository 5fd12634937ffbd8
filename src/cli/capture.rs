//! `airlock capture REF... -o DIR`: the connected side.
use std::path::PathBuf;
use std::sync::Arc;

use airlock::capture::{capture, CaptureOptions, Progress};
use airlock::layout::{self, Layout};
use airlock::lock::LOCK_PAYLOAD_TYPE;
use airlock::oci::Reference;
use airlock::report::{render, Finding};
use airlock::trust::keys;

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
    /// Sign the lock (DSSE) with this private key (passphrase from AIRLOCK_PASSWORD/COSIGN_PASSWORD).
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
    #[command(flatten)]
    registry: RegistryFlags,
}

struct Bar(indicatif::ProgressBar);
impl Progress for Bar {
    fn blobs_planned(&self, count: usize, bytes: u64) {
        self.0.set_length(bytes);
        self.0.set_message(format!("{count} blobs"));
    }
    fn bytes(&self, n: u64) {
        self.0.inc(n);
    }
    fn image_resolved(&self, r: &str) {
        self.0.set_message(format!("resolved {r}"));
    }
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

pub fn run(a: Args) -> Result<u8, Fatal> {
    let refs = read_refs(&a)?;
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
        Some(p) => Some(keys::load_signing_key_file(
            p,
            keys::passphrase_from_env().as_deref(),
        )?),
        None => None,
    };
    let client = a.registry.client()?;
    let layout = Layout::create(&a.output)?;
    let opts = CaptureOptions {
        jobs: a.jobs.max(1),
        platforms: a.platform.clone(),
        pins: pins.clone(),
        created: common::now_rfc3339(),
    };
    let progress: Arc<dyn Progress> = if common::stderr_is_terminal() {
        Arc::new(Bar(common::progress_bar()))
    } else {
        Arc::new(airlock::capture::Quiet)
    };
    // Blob writes and fsyncs block a worker briefly; more workers keep downloads flowing.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.jobs.clamp(4, 16))
        .enable_all()
        .build()?;
    let outcome = rt.block_on(capture(&client, &layout, &refs, &opts, progress))?;
    if let Some(k) = &sign_key {
        let bytes = std::fs::read(a.output.join(layout::LOCK_FILE))?;
        let env = airlock::sign::sign_envelope(LOCK_PAYLOAD_TYPE, &bytes, k)?;
        layout::write_atomic(&a.output.join(layout::LOCK_DSSE_FILE), &env)?;
    }
    let mut failed = outcome.findings.iter().any(Finding::is_error);
    eprintln!(
        "captured {} image(s) into {}: {} manifests, {} blobs fetched ({} bytes), {} already present",
        outcome.lock.images.len(),
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
