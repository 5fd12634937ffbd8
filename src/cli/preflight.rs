//! `airlock preflight MANIFESTS... --lock LOCK`: every image a workload would pull is in the
//! bundle, pinned; print what to pull instead, and optionally write the manifests with digests.
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use airlock::layout;
use airlock::lock::{Lock, MAX_LOCK_BYTES};
use airlock::preflight::{self, Catalog, ManifestFile, MAX_FILES, MAX_MANIFEST_BYTES};

use super::admission::{load_mapping, read_limited, write_atomically};
use super::common::Format;
use super::verdict::{passed_sources, ReportVerdictFlags};
use super::{Fatal, EXIT_FAIL, EXIT_OK};

/// Deepest directory level walked under a MANIFESTS directory.
const MAX_DIR_DEPTH: usize = 32;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Manifest files or directories (YAML or JSON; `-` reads standard input, e.g. from
    /// `helm template`).
    #[arg(value_name = "MANIFESTS", required = true)]
    manifests: Vec<PathBuf>,
    /// Lock file (or the bundle directory holding airlock.lock.json).
    #[arg(long, value_name = "LOCK")]
    lock: PathBuf,
    /// Mapping written by `airlock push` (default: airlock.mapping.json beside the lock).
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the manifests with every image replaced by its digest reference into DIR (only when
    /// every image passes).
    #[arg(long, value_name = "DIR")]
    rewrite_dir: Option<PathBuf>,
    #[command(flatten)]
    verdict: ReportVerdictFlags,
}

/// A manifest to read, and where its rewritten copy goes (relative to --rewrite-dir).
struct Input {
    name: String,
    source: Option<PathBuf>,
    relative: PathBuf,
}

pub fn run(a: Args) -> Result<u8, Fatal> {
    let lock_path = if a.lock.is_dir() {
        a.lock.join(layout::LOCK_FILE)
    } else {
        a.lock.clone()
    };
    let lock_bytes = read_limited(&lock_path, MAX_LOCK_BYTES, "--lock")?;
    let lock = Lock::parse(&lock_bytes)
        .map_err(|e| Fatal(format!("--lock {}: {e}", lock_path.display())))?;
    let (mapping, mapping_path) = load_mapping(a.mapping.as_deref(), &lock_path)?;

    let inputs = collect_inputs(&a.manifests)?;
    let mut files = Vec::with_capacity(inputs.len());
    for input in &inputs {
        let bytes = match &input.source {
            Some(p) => read_limited(p, MAX_MANIFEST_BYTES, "manifest")?,
            None => {
                let mut b = Vec::new();
                std::io::stdin()
                    .lock()
                    .take(MAX_MANIFEST_BYTES as u64 + 1)
                    .read_to_end(&mut b)
                    .map_err(|e| Fatal(format!("reading standard input: {e}")))?;
                if b.len() > MAX_MANIFEST_BYTES {
                    return Err(Fatal(format!(
                        "standard input is over the {MAX_MANIFEST_BYTES}-byte limit for one \
                         manifest stream; write it to files and check them"
                    )));
                }
                b
            }
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            Fatal(format!(
                "{}: not UTF-8 text (invalid byte at offset {}); expected YAML or JSON manifests",
                input.name,
                e.utf8_error().valid_up_to()
            ))
        })?;
        files.push(ManifestFile {
            name: input.name.clone(),
            text,
        });
    }

    if files.is_empty() {
        return Err(Fatal(
            "no manifest files found (directories are searched for .yaml, .yml and .json); \
             nothing was checked: give the rendered manifests (e.g. `helm template ... > \
             out.yaml`)"
                .into(),
        ));
    }
    let (uses, summary) = preflight::scan(&files)?;
    if uses.is_empty() {
        return Err(Fatal(format!(
            "no workloads found: {} file(s), {} object(s), no container image references; \
             nothing was checked (expected Pods, Deployments, StatefulSets, DaemonSets, Jobs, \
             CronJobs or other objects with a pod template)",
            summary.files, summary.objects
        )));
    }
    let mut catalog = Catalog::new(&lock, mapping.as_ref());
    if let Some(passed) = passed_sources(&a.verdict, mapping.as_ref(), None, "preflight")? {
        catalog = catalog.with_verdict(&passed);
    }
    let mapping_shown = mapping_path.as_ref().map(|p| p.display().to_string());
    let report = preflight::check_all(
        &catalog,
        uses,
        summary,
        &lock_path.display().to_string(),
        mapping_shown.as_deref(),
    );

    let rendered = match a.format {
        Format::Text => preflight::render_text(&report),
        Format::Json => preflight::render_json(&report),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(rendered.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Fatal(format!("writing to standard output: {e}")))?;

    if let Some(dir) = &a.rewrite_dir {
        if !report.passed() {
            eprintln!(
                "airlock: preflight: nothing written to {}: {} image reference(s) failed; fix \
                 them first",
                dir.display(),
                report.summary.failed
            );
        } else {
            let mut notes = Vec::new();
            let written = write_rewrites(dir, &inputs, &files, &report, &mut notes)?;
            for n in notes {
                eprintln!("airlock: preflight: note: {n}");
            }
            eprintln!(
                "airlock: preflight: wrote {written} manifest file(s) with digest references to {}",
                dir.display()
            );
        }
    }
    Ok(if report.passed() { EXIT_OK } else { EXIT_FAIL })
}

/// Files as given, directories walked (sorted; `.yaml`, `.yml`, `.json`), `-` for stdin.
fn collect_inputs(args: &[PathBuf]) -> Result<Vec<Input>, Fatal> {
    let mut out = Vec::new();
    let mut stdin_seen = false;
    for arg in args {
        if arg.as_os_str() == "-" {
            if stdin_seen {
                return Err(Fatal("`-` (standard input) is given twice".into()));
            }
            stdin_seen = true;
            out.push(Input {
                name: "<stdin>".into(),
                source: None,
                relative: PathBuf::from("stdin.yaml"),
            });
            continue;
        }
        let meta = std::fs::metadata(arg)
            .map_err(|e| Fatal(format!("manifest {}: {e}", arg.display())))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(arg, arg, 0, &mut found)?;
            found.sort();
            for p in found {
                let relative = p.strip_prefix(arg).unwrap_or(&p).to_path_buf();
                out.push(Input {
                    name: p.display().to_string(),
                    source: Some(p),
                    relative,
                });
            }
        } else {
            let relative = PathBuf::from(arg.file_name().unwrap_or(arg.as_os_str()));
            out.push(Input {
                name: arg.display().to_string(),
                source: Some(arg.clone()),
                relative,
            });
        }
        if out.len() > MAX_FILES {
            return Err(Fatal(format!(
                "more than {MAX_FILES} manifest files; check fewer at a time"
            )));
        }
    }
    Ok(out)
}

fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), Fatal> {
    if depth > MAX_DIR_DEPTH {
        return Err(Fatal(format!(
            "{}: directories nested deeper than {MAX_DIR_DEPTH} levels under {}",
            dir.display(),
            root.display()
        )));
    }
    let rd = std::fs::read_dir(dir).map_err(|e| Fatal(format!("{}: {e}", dir.display())))?;
    for entry in rd {
        let entry = entry.map_err(|e| Fatal(format!("{}: {e}", dir.display())))?;
        let path = entry.path();
        let ft = entry
            .file_type()
            .map_err(|e| Fatal(format!("{}: {e}", path.display())))?;
        if ft.is_dir() {
            walk(root, &path, depth + 1, out)?;
        } else if ft.is_file()
            && path
                .extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        {
            out.push(path);
            if out.len() > MAX_FILES {
                return Err(Fatal(format!(
                    "more than {MAX_FILES} manifest files under {}; check fewer at a time",
                    root.display()
                )));
            }
        }
    }
    Ok(())
}

fn write_rewrites(
    dir: &Path,
    inputs: &[Input],
    files: &[ManifestFile],
    report: &preflight::PreflightReport,
    notes: &mut Vec<String>,
) -> Result<usize, Fatal> {
    let mut targets: BTreeMap<PathBuf, &str> = BTreeMap::new();
    for input in inputs {
        let target = dir.join(&input.relative);
        if let Some(other) = targets.insert(target.clone(), &input.name) {
            return Err(Fatal(format!(
                "--rewrite-dir: {} and {} would both be written to {}; check them in separate \
                 runs",
                other,
                input.name,
                target.display()
            )));
        }
        if let (Some(src), Ok(t)) = (&input.source, target.canonicalize()) {
            if src.canonicalize().is_ok_and(|s| s == t) {
                return Err(Fatal(format!(
                    "--rewrite-dir {}: writing would overwrite the input {}; choose another \
                     directory",
                    dir.display(),
                    input.name
                )));
            }
        }
    }
    let mut written = 0;
    for (input, file) in inputs.iter().zip(files) {
        let text = preflight::rewrite(file, report, notes);
        let target = dir.join(&input.relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Fatal(format!("--rewrite-dir {}: {e}", parent.display())))?;
        }
        write_atomically(&target, text.as_bytes())?;
        written += 1;
    }
    Ok(written)
}
