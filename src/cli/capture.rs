//! `airlock capture REF... -o DIR`: the connected side.
use std::path::PathBuf;
use std::sync::Arc;

use airlock::capture::{capture, CaptureOptions, Progress};
use airlock::helm;
use airlock::layout::{self, Layout};
use airlock::lock::{SourceKind, LOCK_PAYLOAD_TYPE};
use airlock::oci::Reference;
use airlock::report::{render, Code, Finding};
use airlock::sources::{self, ChartSpec, Request, Wanted};

use super::common::{self, Format, RegistryFlags};
use super::{Fatal, EXIT_FAIL, EXIT_OK};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Image or artifact references (`registry/repo:tag`, `registry/repo@sha256:…`, `oci://…`).
    #[arg(value_name = "REF")]
    refs: Vec<String>,
    /// Image list: one reference per line (`#` comments), or a Hauler manifest, Zarf package
    /// config, `aicr mirror list` YAML/JSON or oc-mirror ImageSetConfiguration (recognised by
    /// content). Repeatable.
    #[arg(short = 'f', long = "images-file", value_name = "FILE")]
    images_file: Vec<PathBuf>,
    /// A chart from a classic Helm repository (`index.yaml`), stored as a Helm OCI artifact.
    /// Repeatable.
    #[arg(long, num_args = 3, value_names = ["REPO_URL", "NAME", "VERSION"], action = clap::ArgAction::Append)]
    chart: Vec<String>,
    /// Also capture the images charts declare in `Chart.yaml` (`images` and `helm.sh/images`
    /// annotations, subcharts under charts/ included). Templates are not rendered.
    #[arg(long)]
    chart_images: bool,
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
    /// Verification time for --policy (RFC 3339), default now; the lock's `created` is always now.
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
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
    /// Copy this TUF repository snapshot (timestamp.json, N.snapshot.json, N.targets.json,
    /// N.root.json rotations, targets/) into the bundle (as blobs) and record every file's path and
    /// digest in the lock, so the trust material crosses the gap inside the (signed) bundle.
    #[arg(long, value_name = "DIR")]
    tuf: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryFlags,
}

/// Everything asked for: command-line references, `-f` files, `--chart`.
fn read_requests(a: &Args) -> Result<Vec<Request>, Fatal> {
    let mut out: Vec<Request> = Vec::new();
    for t in &a.refs {
        Reference::parse(t)?;
        out.push(Request {
            wanted: Wanted::Image {
                reference: t.clone(),
                platform: None,
            },
            chart: false,
            origin: "command line".into(),
        });
    }
    for f in &a.images_file {
        let name = f.display().to_string();
        let meta = std::fs::metadata(f).map_err(|e| Fatal(format!("-f {name}: {e}")))?;
        if meta.len() > sources::MAX_LIST_BYTES as u64 {
            return Err(Fatal(format!(
                "-f {name}: {} bytes, over the {}-byte limit for -f files",
                meta.len(),
                sources::MAX_LIST_BYTES
            )));
        }
        let t = std::fs::read_to_string(f).map_err(|e| Fatal(format!("-f {name}: {e}")))?;
        let (_, reqs) = sources::parse(&name, &t).map_err(|e| Fatal(e.to_string()))?;
        for q in reqs {
            if let Wanted::Image { reference, .. } = &q.wanted {
                let line_hint = q.origin.clone();
                Reference::parse(reference).map_err(|e| Fatal(format!("{line_hint}: {e}")))?;
            }
            out.push(q);
        }
    }
    for c in a.chart.chunks(3) {
        let [repo, name, version] = c else {
            return Err(Fatal(
                "--chart takes three values: REPO_URL NAME VERSION".into(),
            ));
        };
        let repository = repo.trim_end_matches('/');
        let wanted = if let Some(rest) = repository.strip_prefix("oci://") {
            Wanted::Image {
                reference: format!("{rest}/{name}:{}", version.replace('+', "_")),
                platform: None,
            }
        } else if repository.starts_with("https://") || repository.starts_with("http://") {
            Wanted::ClassicChart(ChartSpec {
                repository: repository.to_string(),
                name: name.clone(),
                version: version.clone(),
            })
        } else {
            return Err(Fatal(format!(
                "--chart {repo:?}: expected a classic Helm repository URL (https://… or \
                 http://…, the directory holding index.yaml) or oci://HOST/PATH"
            )));
        };
        out.push(Request {
            wanted,
            chart: true,
            origin: format!("--chart {repo} {name} {version}"),
        });
    }
    if out.is_empty() {
        return Err(Fatal(
            "no references: give REF arguments, -f IMAGES_FILE or --chart REPO_URL NAME VERSION"
                .into(),
        ));
    }
    Ok(out)
}

/// The chart archive (`.tgz` layer) of the Helm OCI artifact `digest` in the bundle.
fn chart_archive(layout: &Layout, digest: &airlock::oci::Digest) -> Result<Vec<u8>, String> {
    let raw = layout
        .read_blob(digest, airlock::oci::manifest::MAX_MANIFEST_BYTES as u64)
        .map_err(|e| e.to_string())?;
    let m = airlock::oci::manifest::Manifest::parse(raw, None).map_err(|e| e.to_string())?;
    let layer = m
        .layers()
        .iter()
        .find(|l| l.media_type == helm::MEDIA_HELM_CHART)
        .ok_or_else(|| format!("no {} layer", helm::MEDIA_HELM_CHART))?;
    layout
        .read_blob(&layer.digest, helm::MAX_CHART_BYTES as u64)
        .map_err(|e| e.to_string())
}

/// The name a reference gets in the lock (`oci://` dropped, as capture does).
fn lock_name(r: &Reference) -> String {
    r.given()
        .strip_prefix("oci://")
        .unwrap_or(r.given())
        .to_string()
}

/// Image references grouped by platform filter (an entry's own platform, else --platform), in
/// first-seen order, deduplicated; with who asked for each.
type Groups = Vec<(Vec<String>, Vec<Reference>)>;

fn group_images(requests: &[Request], platforms: &[String]) -> Result<Groups, Fatal> {
    let mut groups: Groups = Vec::new();
    for q in requests {
        let Wanted::Image {
            reference,
            platform,
        } = &q.wanted
        else {
            continue;
        };
        let r = Reference::parse(reference)?;
        let filter = match platform {
            Some(p) => vec![p.clone()],
            None => platforms.to_vec(),
        };
        let idx = match groups.iter().position(|(f, _)| *f == filter) {
            Some(i) => i,
            None => {
                groups.push((filter, Vec::new()));
                groups.len() - 1
            }
        };
        let seen = groups
            .iter()
            .any(|(_, refs)| refs.iter().any(|x| x.given() == r.given()));
        if !seen {
            groups[idx].1.push(r);
        }
    }
    Ok(groups)
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
    let requests = read_requests(&a)?;
    let mut groups = group_images(&requests, &a.platform)?;
    if let Some((i, n)) = a.shard {
        let repos: Vec<String> = groups
            .iter()
            .flat_map(|(_, refs)| refs.iter().map(|r| r.repository()))
            .collect();
        let mine = airlock::merge::shard_of(&repos, i, n);
        for (_, refs) in groups.iter_mut() {
            refs.retain(|r| mine.contains(&r.repository()));
        }
        groups.retain(|(_, refs)| !refs.is_empty());
        let count: usize = groups.iter().map(|(_, refs)| refs.len()).sum();
        eprintln!(
            "shard {i}/{n}: {count} reference(s) from {} repositories",
            mine.len()
        );
        if count == 0 {
            eprintln!("shard {i}/{n} holds no repository; writing an empty shard bundle");
        }
    }
    let pins = common::load_pins(a.pins.as_deref())?;
    // Load everything the operator supplied before touching the network.
    let policy = match &a.policy {
        Some(p) => Some(common::load_policy_and_keys(p, a.keys.as_deref())?),
        None => None,
    };
    // Checked before anything is fetched: a bad --at is an operator mistake (exit 2).
    let verify_at = super::verdict::verification_time(a.at.as_deref())?;
    let (trusted_roots, root_findings) = match &policy {
        Some((p, _, _)) => common::load_trusted_roots_at(p, &verify_at, None)?,
        None => Default::default(),
    };
    let tuf_files = match &a.tuf {
        Some(d) => Some(
            airlock::trust::tuf::read_snapshot_dir(d)
                .map_err(|e| Fatal(format!("--tuf {}: {e}", d.display())))?,
        ),
        None => None,
    };
    let sign_key = match &a.sign_key {
        Some(p) => Some(common::load_signing_key("--sign-key", p)?),
        None => None,
    };
    let client = a.registry.client()?;
    // One writer per bundle directory: a second capture (or push/unpack) waits for this one.
    let _dir_lock = common::lock_bundle_dir(&a.output, "capture")?;
    let mut layout = Layout::create(&a.output)?;
    // Blobs are fsynced together at the end of each capture run instead of one by one.
    layout.set_durable(false);
    let base = match &a.base {
        Some(p) => Some(load_base(p)?),
        None => None,
    };
    let created = common::now_rfc3339();
    // Sources recorded by an earlier capture into the same directory.
    let mut earlier_sources = std::fs::read(a.output.join(layout::LOCK_FILE))
        .ok()
        .and_then(|b| airlock::lock::Lock::parse(&b).ok())
        .map(|l| l.sources)
        .unwrap_or_default();
    let shown = super::progress::Progress::start("capture");
    let progress: Arc<dyn Progress> = shown.clone();
    // Blob writes and fsyncs block a worker briefly; more workers keep downloads flowing.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.jobs.clamp(4, 16))
        .enable_all()
        .build()?;
    let mut findings: Vec<Finding> = Vec::new();
    let (mut manifests, mut blobs_fetched, mut bytes_fetched, mut blobs_skipped) = (0, 0, 0, 0);
    let mut images = 0;
    for (platforms, refs) in &groups {
        let opts = CaptureOptions {
            jobs: common::clamp_jobs(a.jobs),
            platforms: platforms.clone(),
            pins: pins.clone(),
            created: created.clone(),
            base: base.clone(),
            metadata_budget,
        };
        let o = rt.block_on(capture(&client, &layout, refs, &opts, progress.clone()))?;
        findings.extend(o.findings);
        manifests += o.manifests;
        blobs_fetched += o.blobs_fetched;
        bytes_fetched += o.bytes_fetched;
        blobs_skipped += o.blobs_skipped;
        images += o.images;
    }
    // Charts from classic repositories are stored one file at a time, each made durable.
    layout.set_durable(true);
    let lock_path = a.output.join(layout::LOCK_FILE);
    let mut lock = match std::fs::read(&lock_path) {
        Ok(b) => airlock::lock::Lock::parse(&b)
            .map_err(|e| Fatal(format!("{}: {e}", lock_path.display())))?,
        Err(_) => airlock::lock::Lock::new(created.clone()),
    };
    lock.sources.append(&mut earlier_sources);
    for q in &requests {
        if let Wanted::Image { reference, .. } = &q.wanted {
            let r = Reference::parse(reference)?;
            let name = lock_name(&r);
            if lock.image(&name).is_some() {
                let kind = if q.chart {
                    SourceKind::Chart
                } else {
                    SourceKind::Image
                };
                lock.add_source(&name, kind, &q.origin);
            }
        }
    }
    // Charts from classic Helm repositories, each once, with every entry that asked for it.
    let mut classic: Vec<(ChartSpec, Vec<String>)> = Vec::new();
    for q in &requests {
        if let Wanted::ClassicChart(spec) = &q.wanted {
            match classic.iter_mut().find(|(s, _)| s == spec) {
                Some((_, by)) => by.push(q.origin.clone()),
                None => classic.push((spec.clone(), vec![q.origin.clone()])),
            }
        }
    }
    if !classic.is_empty() {
        let mut ca_pem = Vec::new();
        for p in &a.registry.ca_file {
            ca_pem.push(
                std::fs::read(p).map_err(|e| Fatal(format!("--ca-file {}: {e}", p.display())))?,
            );
        }
        let auth = airlock::registry::auth::AuthStore::load(a.registry.auth_file.as_deref())
            .map_err(|e| Fatal(e.to_string()))?;
        let fetcher = helm::Fetcher::new(&ca_pem, auth).map_err(|e| Fatal(e.to_string()))?;
        for (spec, by) in &classic {
            let fetched = rt
                .block_on(fetcher.fetch(spec))
                .map_err(|e| Fatal(e.to_string()))?;
            match fetched {
                Err(f) => findings.push(f),
                Ok(chart) => {
                    images += 1;
                    if let Some(f) = helm::store(&layout, &chart, &mut lock, by)? {
                        findings.push(f);
                    }
                }
            }
        }
    }
    if a.chart_images {
        let mut wanted: Vec<(Reference, String)> = Vec::new();
        for s in lock.sources.iter().filter(|s| s.kind == SourceKind::Chart) {
            let Some(img) = lock.image(&s.r#ref) else {
                continue;
            };
            let declared = chart_archive(&layout, &img.digest)
                .and_then(|archive| helm::declared_images(&archive));
            match declared {
                Err(e) => findings.push(Finding::error(
                    Code::ManifestInvalid,
                    &s.r#ref,
                    format!(
                        "chart {}: {e}; its declared images were not captured",
                        s.r#ref
                    ),
                )),
                Ok(list) => {
                    for d in list {
                        let origin = format!(
                            "chart {} ({} annotation of {})",
                            s.r#ref, d.annotation, d.chart
                        );
                        match Reference::parse(&d.image) {
                            Ok(r) => wanted.push((r, origin)),
                            Err(e) => findings.push(Finding::error(
                                Code::ManifestInvalid,
                                &s.r#ref,
                                format!("{origin}: {e}; not captured"),
                            )),
                        }
                    }
                }
            }
        }
        let mut refs: Vec<Reference> = Vec::new();
        for (r, _) in &wanted {
            if lock.image(&lock_name(r)).is_none() && !refs.iter().any(|x| x.given() == r.given()) {
                refs.push(r.clone());
            }
        }
        if !refs.is_empty() {
            // capture() merges with the lock on disk: write the charts stored so far first.
            layout::write_atomic(&lock_path, &lock.to_json())?;
            let opts = CaptureOptions {
                jobs: common::clamp_jobs(a.jobs),
                platforms: a.platform.clone(),
                pins: pins.clone(),
                created: created.clone(),
                base: base.clone(),
                metadata_budget,
            };
            let o = rt.block_on(capture(&client, &layout, &refs, &opts, progress.clone()))?;
            findings.extend(o.findings);
            manifests += o.manifests;
            blobs_fetched += o.blobs_fetched;
            bytes_fetched += o.bytes_fetched;
            blobs_skipped += o.blobs_skipped;
            images += o.images;
            // capture() rewrote the lock with the new images; keep the sources recorded so far.
            let bytes = std::fs::read(&lock_path)?;
            let mut merged = airlock::lock::Lock::parse(&bytes)
                .map_err(|e| Fatal(format!("{}: {e}", lock_path.display())))?;
            merged.sources = std::mem::take(&mut lock.sources);
            lock = merged;
        }
        for (r, origin) in &wanted {
            let name = lock_name(r);
            if lock.image(&name).is_some() {
                lock.add_source(&name, SourceKind::Image, origin);
            }
        }
    }
    lock.sources
        .retain(|s| lock.images.iter().any(|i| i.r#ref == s.r#ref));
    layout::write_atomic(&lock_path, &lock.to_json())?;
    shown.finish();
    if let (Some(dir), Some(files)) = (&a.tuf, &tuf_files) {
        // Written after the capture's batched fsync: these few blobs one by one.
        layout.set_durable(true);
        let locked = store_tuf_snapshot(&layout, dir, files)?;
        eprintln!(
            "stored the TUF snapshot {} ({} files) in the bundle; the lock records them",
            dir.display(),
            locked.files.len()
        );
        lock.tuf = Some(locked);
        layout::write_atomic(&lock_path, &lock.to_json())?;
    }
    if let Some(k) = &sign_key {
        let bytes = std::fs::read(a.output.join(layout::LOCK_FILE))?;
        let env = airlock::sign::sign_envelope(LOCK_PAYLOAD_TYPE, &bytes, k)?;
        layout::write_atomic(&a.output.join(layout::LOCK_DSSE_FILE), &env)?;
    }
    let mut failed = findings.iter().any(Finding::is_error);
    eprintln!(
        "captured {} image(s) into {}: {manifests} manifests, {blobs_fetched} blobs fetched ({bytes_fetched} bytes), {blobs_skipped} already present",
        images,
        a.output.display(),
    );
    for f in &findings {
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
        let mut report =
            airlock::verify::verify(&view, &policy, &trust, &verify_at, common::default_jobs());
        super::charts::add_chart_provenance(&mut report, &policy, &view, &layout)?;
        report.findings.extend(findings.iter().cloned());
        report.findings.extend(root_findings);
        report.finalise();
        if let Some(path) = &a.report {
            std::fs::write(path, render::json(&report))
                .map_err(|e| Fatal(format!("--report {}: {e}", path.display())))?;
        }
        common::print_report(&report, a.format);
        failed |= !report.passed();
    } else if a.format == Format::Json {
        print!("{}", String::from_utf8_lossy(&lock.to_json()));
    }
    Ok(if failed { EXIT_FAIL } else { EXIT_OK })
}

/// Store a TUF snapshot (read by `--tuf` before capture) as blobs of the bundle and describe it
/// for the lock.
fn store_tuf_snapshot(
    layout: &Layout,
    source: &std::path::Path,
    files: &[(String, Vec<u8>)],
) -> Result<airlock::lock::LockedTuf, Fatal> {
    let mut locked = Vec::with_capacity(files.len());
    for (rel, bytes) in files {
        locked.push(airlock::lock::LockedFile {
            path: rel.clone(),
            digest: layout.put_blob(bytes)?,
            size: bytes.len() as u64,
        });
    }
    Ok(airlock::lock::LockedTuf {
        source: source.display().to_string(),
        files: locked,
    })
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
