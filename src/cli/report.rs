//! `airlock report show FILE [--format text|json|markdown|html] [-o OUT] [--key PUB]` and
//! `airlock report verify FILE --key PUB [--require-pass]`: the auditor's side of the signed
//! verification report that `airlock verify --report FILE --sign-key KEY` writes.
//!
//! Exit codes: `report verify` exits 0 when the signature verifies with the key and the signed
//! statement agrees with its embedded report, 1 when it does not (including a file that is not a
//! well-formed signed report: tampering is a "no", not an operator error), 2 when the file or the
//! key cannot be read. `report show` exits 2 when the file is not a report; with `--key`, 1 when
//! the signature does not hold.
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use airlock::report::vsa::{self, Seal, VsaError, MAX_REPORT_FILE_BYTES};
use airlock::report::{html, markdown, render, Report};
use airlock::trust::keys;

use super::{Fatal, EXIT_FAIL, EXIT_OK};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: ReportCommand,
}

#[derive(clap::Subcommand, Debug)]
enum ReportCommand {
    /// Render a report (the plain JSON or the signed DSSE form) for people: text, JSON, Markdown
    /// or a self-contained HTML page.
    Show(ShowArgs),
    /// Check a signed report: the DSSE signature with the key, the in-toto statement and VSA
    /// predicate types, and that the statement's subjects and result match the embedded report.
    Verify(VerifyArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ShowFormat {
    #[default]
    Text,
    Json,
    Markdown,
    Html,
}

#[derive(clap::Args, Debug)]
struct ShowArgs {
    /// The report file (`-` for standard input).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    format: ShowFormat,
    /// Write the rendering to OUT instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,
    /// Also verify the signed report with this public key (as `report verify`) and say so in the
    /// rendering; exit 1 if it does not verify.
    #[arg(long, value_name = "PUB")]
    key: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
enum VerifyFormat {
    #[default]
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
struct VerifyArgs {
    /// The signed report (DSSE envelope; `-` for standard input).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The public key the report must be signed with (PEM `PUBLIC KEY`, as `cosign.pub`).
    #[arg(long, value_name = "PUB")]
    key: PathBuf,
    /// Also exit 1 when the authentic report's verification result is FAILED.
    #[arg(long)]
    require_pass: bool,
    #[arg(long, value_enum, default_value = "text")]
    format: VerifyFormat,
}

pub fn run(a: Args) -> Result<u8, Fatal> {
    match a.command {
        ReportCommand::Show(s) => show(s),
        ReportCommand::Verify(v) => verify(v),
    }
}

/// Read at most [`MAX_REPORT_FILE_BYTES`] + 1 bytes (so the parser can report the limit).
fn read_limited(path: &Path) -> Result<Vec<u8>, Fatal> {
    let limit = u64::try_from(MAX_REPORT_FILE_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut bytes = Vec::new();
    let res = if path == Path::new("-") {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    res.map_err(|e| {
        Fatal(format!(
            "cannot read the report {}: {e}; expected a report file written by `airlock verify --report`",
            path.display()
        ))
    })?;
    Ok(bytes)
}

fn load_key(path: &Path) -> Result<keys::PublicKey, Fatal> {
    keys::load_public_key_file(path).map_err(|e| Fatal(format!("--key: {e}")))
}

fn show(a: ShowArgs) -> Result<u8, Fatal> {
    let bytes = read_limited(&a.file)?;
    let key = a.key.as_deref().map(load_key).transpose()?;
    let (report, seal): (Report, Seal) = match &key {
        Some(k) => match vsa::verify(&bytes, k) {
            Ok(v) => (v.report().clone(), v.seal()),
            Err(e) => {
                eprintln!(
                    "airlock: report show: {}: signed report does NOT verify: {e}",
                    a.file.display()
                );
                return Ok(EXIT_FAIL);
            }
        },
        None => {
            let o = vsa::open(&bytes).map_err(|e| Fatal(format!("{}: {e}", a.file.display())))?;
            (o.report, o.seal)
        }
    };
    let out = match a.format {
        ShowFormat::Text => render::text_detailed(&report, &seal),
        ShowFormat::Json => render::json(&report),
        ShowFormat::Markdown => markdown::render(&report, &seal),
        ShowFormat::Html => html::render(&report, &seal),
    };
    match &a.output {
        Some(p) => std::fs::write(p, out.as_bytes())
            .map_err(|e| Fatal(format!("-o {}: {e}", p.display())))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(out.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| Fatal(format!("writing to standard output: {e}")))?;
        }
    }
    Ok(EXIT_OK)
}

fn verify(a: VerifyArgs) -> Result<u8, Fatal> {
    let key = load_key(&a.key)?;
    let bytes = read_limited(&a.file)?;
    let file = a.file.display().to_string();
    match vsa::verify(&bytes, &key) {
        Ok(v) => {
            let r = v.report();
            let passed = r.passed();
            match a.format {
                VerifyFormat::Text => {
                    let s = &r.summary;
                    println!("OK: the signed report verifies and matches its statement");
                    println!("  file:          {}", render::visible(&file));
                    println!(
                        "  signed by:     {} ({}), key file {}",
                        v.key_id,
                        v.algorithm,
                        render::visible(&a.key.display().to_string())
                    );
                    println!("  time verified: {}", render::visible(&r.time));
                    println!(
                        "  result:        {} ({} image(s): {} passed, {} failed; {} error(s), {} warning(s))",
                        v.predicate.verification_result,
                        s.images,
                        s.passed,
                        s.failed,
                        s.errors,
                        s.warnings
                    );
                    println!(
                        "  verifier:      {} {}",
                        render::visible(&r.verifier.name),
                        render::visible(&r.verifier.version)
                    );
                    println!(
                        "  policy:        {} (sha256 {})",
                        render::visible(&r.policy.path),
                        render::visible(&r.policy.sha256)
                    );
                    println!(
                        "  resource:      {}",
                        render::visible(&v.predicate.resource_uri)
                    );
                    println!("  subjects:      {} digest(s)", v.subjects.len());
                }
                VerifyFormat::Json => {
                    let doc = serde_json::json!({
                        "verified": true,
                        "file": file,
                        "keyId": v.key_id,
                        "algorithm": v.algorithm,
                        "timeVerified": r.time,
                        "verificationResult": v.predicate.verification_result,
                        "policy": {"path": r.policy.path, "sha256": r.policy.sha256},
                        "resourceUri": v.predicate.resource_uri,
                        "subjects": v.subjects,
                        "summary": r.summary,
                    });
                    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
                }
            }
            if a.require_pass && !passed {
                eprintln!(
                    "airlock: report verify: the report is authentic but its result is FAILED (--require-pass)"
                );
                return Ok(EXIT_FAIL);
            }
            Ok(EXIT_OK)
        }
        Err(e) => {
            let hint = failure_hint(&e);
            match a.format {
                VerifyFormat::Text => {
                    println!("FAILED: {}", render::visible(&file));
                }
                VerifyFormat::Json => {
                    let doc = serde_json::json!({
                        "verified": false, "file": file, "keyId": key.key_id(),
                        "error": e.to_string(), "hint": hint,
                    });
                    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
                }
            }
            eprintln!(
                "airlock: report verify: {}: {}",
                render::visible(&file),
                render::visible(&e.to_string())
            );
            eprintln!("  hint: {hint}");
            Ok(EXIT_FAIL)
        }
    }
}

fn failure_hint(e: &VsaError) -> &'static str {
    match e {
        VsaError::Signature(_) => "check that --key is the public half of the --sign-key used by `airlock verify`; otherwise the report was altered: do not rely on it",
        VsaError::Unsigned => "ask for the signed report (airlock verify --report FILE --sign-key KEY); a plain report proves nothing",
        VsaError::Inconsistent(_) => "the statement was signed but says something its embedded report does not: treat the report as forged or produced by a faulty tool",
        _ => "the file is not an intact signed airlock report: obtain it again from its producer and do not rely on this copy",
    }
}
