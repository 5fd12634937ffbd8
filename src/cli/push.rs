//! `airlock push DIR HOST[/PREFIX]`: push a verified bundle byte-exact, read it back, write the
//! mapping.
use std::path::PathBuf;
use std::sync::Arc;

use airlock::push::{push, PushOptions, PushOutcome, PushProgress, Target};
use airlock::report::Finding;

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
            if f.is_error() { "error" } else { "warn" },
            f.code,
            f.message,
            f.subject
        );
        if f.is_error() && !f.hint.is_empty() {
            eprintln!("  hint: {}", f.hint);
        }
    }
}

pub fn run(a: Args) -> Result<u8, Fatal> {
    if a.jobs == 0 {
        return Err(Fatal("--jobs must be at least 1".into()));
    }
    let target = Target::parse(&a.target, a.keep_host)?;
    let client = a.registry.client()?;
    let progress: Arc<dyn PushProgress> = if common::stderr_is_terminal() {
        let pb = indicatif::ProgressBar::new(0);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Arc::new(Bar(pb))
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
    let outcome = rt.block_on(push(&client, &a.dir, &target, &opts, progress))?;
    eprintln!("{}", summary(&outcome, &target.display()));
    print_findings(&outcome.findings);
    match &outcome.mapping {
        Some(_) => eprintln!(
            "mapping written to {}",
            a.dir.join(airlock::layout::MAPPING_FILE).display()
        ),
        None => eprintln!("nothing was pushed: fix the bundle problems above first"),
    }
    if a.format == Format::Json {
        let doc = serde_json::json!({
            "result": if outcome.failed() { "fail" } else { "pass" },
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
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    Ok(if outcome.failed() { EXIT_FAIL } else { EXIT_OK })
}
