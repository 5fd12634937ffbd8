//! Renderings of a report: text (terminal) and JSON. (HTML and Markdown: see `report show`.)
use std::fmt::Write;

use super::{Outcome, Report};

/// JSON, pretty, with a trailing newline.
pub fn json(report: &Report) -> String {
    let mut s =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

fn verdict(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "PASS",
        Outcome::Fail => "FAIL",
    }
}

/// A readable table: one line per image, its findings under it, then a summary.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let width = report
        .images
        .iter()
        .map(|i| i.r#ref.len())
        .max()
        .unwrap_or(0)
        .clamp(10, 80);
    for f in &report.findings {
        let _ = writeln!(
            out,
            "{:5} {}: {} [{}]",
            sev(f.is_error()),
            f.code,
            f.message,
            f.subject
        );
        if !f.hint.is_empty() {
            let _ = writeln!(out, "      hint: {}", f.hint);
        }
    }
    for img in &report.images {
        let digest_short = img.digest.get(..19).unwrap_or(&img.digest);
        let sigs = img.signatures.iter().filter(|s| s.verified).count();
        let atts = img.attestations.iter().filter(|s| s.verified).count();
        let _ = writeln!(
            out,
            "{:4}  {:width$}  {}  platforms={} signatures={} attestations={} sboms={}",
            verdict(img.result),
            img.r#ref,
            digest_short,
            img.platforms.len(),
            sigs,
            atts,
            img.sboms.len(),
        );
        for f in &img.findings {
            let _ = writeln!(
                out,
                "      {:5} {}: {}",
                sev(f.is_error()),
                f.code,
                f.message
            );
            if !f.hint.is_empty() {
                let _ = writeln!(out, "            hint: {}", f.hint);
            }
        }
    }
    let s = &report.summary;
    let _ =
        writeln!(
        out,
        "{}: {} image(s), {} passed, {} failed; {} error(s), {} warning(s); policy {} (sha256 {})",
        verdict(report.result),
        s.images,
        s.passed,
        s.failed,
        s.errors,
        s.warnings,
        report.policy.path,
        report.policy.sha256.get(..12).unwrap_or(&report.policy.sha256),
    );
    out
}

fn sev(error: bool) -> &'static str {
    if error {
        "error"
    } else {
        "warn"
    }
}
