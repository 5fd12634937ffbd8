//! Renderings of a report: text (terminal, short and detailed) and JSON. HTML and Markdown are in
//! [`super::html`] and [`super::markdown`].
//!
//! Every string in a report may come from a hostile bundle (references, messages, names), so the
//! text renderings pass them through [`visible`], which makes control characters (terminal escape
//! sequences, line breaks inside a field) and bidirectional overrides visible instead of acting.
use std::borrow::Cow;
use std::fmt::Write;

use super::vsa::Seal;
use super::{Outcome, Report};

/// JSON, pretty, with a trailing newline.
pub fn json(report: &Report) -> String {
    let mut s =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

pub use crate::text::{is_invisible as is_hidden, visible};

/// `PASS` or `FAIL`.
pub fn verdict(o: Outcome) -> &'static str {
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
        .map(|i| visible(&i.r#ref).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(10, 80);
    for f in &report.findings {
        let _ = writeln!(
            out,
            "{:5} {}: {} [{}]",
            sev(f.severity),
            f.code,
            visible(&f.message),
            visible(&f.subject)
        );
        if !f.hint.is_empty() {
            let _ = writeln!(out, "      hint: {}", visible(&f.hint));
        }
    }
    for img in &report.images {
        let sigs = img.signatures.iter().filter(|s| s.verified).count();
        let atts = img.attestations.iter().filter(|s| s.verified).count();
        let _ = writeln!(
            out,
            "{:4}  {:width$}  {}  platforms={} signatures={} attestations={} sboms={}",
            verdict(img.result),
            visible(&img.r#ref),
            short_digest(&img.digest),
            img.platforms.len(),
            sigs,
            atts,
            img.sboms.len(),
        );
        for f in &img.findings {
            let _ = writeln!(
                out,
                "      {:5} {}: {}",
                sev(f.severity),
                f.code,
                visible(&f.message)
            );
            if !f.hint.is_empty() {
                let _ = writeln!(out, "            hint: {}", visible(&f.hint));
            }
        }
    }
    let _ = writeln!(out, "{}", summary_line(report));
    out
}

/// `PASS: 1 image(s), 1 passed, …; policy FILE (sha256 …)`.
fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    format!(
        "{}: {} image(s), {} passed, {} failed; {} error(s), {} warning(s); policy {} (sha256 {})",
        verdict(report.result),
        s.images,
        s.passed,
        s.failed,
        s.errors,
        s.warnings,
        visible(&report.policy.path),
        visible(prefix(&report.policy.sha256, 12)),
    )
}

/// The first `n` characters of `s` (all of it when shorter).
pub fn prefix(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `sha256:` and the first 12 hex digits.
pub fn short_digest(d: &str) -> Cow<'_, str> {
    visible(prefix(d, 19))
}

/// The auditor's text view (`airlock report show --format text`): what the decision depended on,
/// then every image with its platforms, signers, attestations, SBOMs and findings with hints.
pub fn text_detailed(report: &Report, seal: &Seal) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "airlock verification report: {}",
        verdict(report.result)
    );
    let s = &report.summary;
    let rows = details(report, seal);
    let label_width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let _ = writeln!(
        out,
        "  {:label_width$} {} image(s): {} passed, {} failed; {} error(s), {} warning(s)",
        "images:", s.images, s.passed, s.failed, s.errors, s.warnings
    );
    for (k, v) in &rows {
        let _ = writeln!(out, "  {:label_width$} {}", format!("{k}:"), v);
    }
    if !report.findings.is_empty() {
        let _ = writeln!(out, "\nfindings not tied to one image:");
        for f in &report.findings {
            finding_text(&mut out, f, "  ");
        }
    }
    for img in &report.images {
        let _ = writeln!(out, "\n{}  {}", verdict(img.result), visible(&img.r#ref));
        let _ = writeln!(out, "  digest:      {}", visible(&img.digest));
        if let Some(rule) = &img.rule {
            let _ = writeln!(out, "  rule:        {}", visible(rule));
        }
        if img.platforms.is_empty() {
            let _ = writeln!(out, "  platforms:   (single-platform image)");
        }
        for p in &img.platforms {
            let _ = writeln!(
                out,
                "  platform:    {:16} {}{}",
                visible(&p.platform),
                visible(&p.digest),
                if p.present {
                    ""
                } else {
                    "  (not in the bundle)"
                }
            );
        }
        if img.signatures.is_empty() {
            let _ = writeln!(out, "  signatures:  none");
        }
        for g in &img.signatures {
            let _ = writeln!(
                out,
                "  signature:   {} {} by {}{}  (manifest {}{})",
                if g.verified {
                    "verified"
                } else {
                    "NOT verified"
                },
                visible(&g.format),
                signer_text(g.signer.as_deref(), g.key_id.as_deref()),
                g.docker_reference
                    .as_deref()
                    .map(|r| format!(", for {}", visible(r)))
                    .unwrap_or_default(),
                short_digest(&g.manifest),
                subject_note(&g.subject, &img.digest),
            );
        }
        if img.attestations.is_empty() {
            let _ = writeln!(out, "  attestations: none");
        }
        for a in &img.attestations {
            let _ = writeln!(
                out,
                "  attestation: {} {} by {}  (manifest {}{})",
                if a.verified {
                    "verified"
                } else {
                    "NOT verified"
                },
                visible(&a.predicate_type),
                signer_text(a.signer.as_deref(), a.key_id.as_deref()),
                short_digest(&a.manifest),
                subject_note(&a.subject, &img.digest),
            );
        }
        if img.sboms.is_empty() {
            let _ = writeln!(out, "  sboms:       none");
        }
        for b in &img.sboms {
            let _ = writeln!(
                out,
                "  sbom:        {} {}, {} package(s), from the {}{}",
                visible(&b.format),
                visible(&b.spec_version),
                b.packages,
                visible(&b.source),
                b.name
                    .as_deref()
                    .map(|n| format!(", document {}", visible(n)))
                    .unwrap_or_default(),
            );
        }
        if img.findings.is_empty() {
            let _ = writeln!(out, "  findings:    none");
        }
        for f in &img.findings {
            finding_text(&mut out, f, "  ");
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(report));
    out
}

fn finding_text(out: &mut String, f: &super::Finding, indent: &str) {
    let _ = writeln!(
        out,
        "{indent}{:5} {}: {}",
        sev(f.severity),
        f.code,
        visible(&f.message)
    );
    if !f.subject.is_empty() {
        let _ = writeln!(out, "{indent}      subject: {}", visible(&f.subject));
    }
    if !f.hint.is_empty() {
        let _ = writeln!(out, "{indent}      hint:    {}", visible(&f.hint));
    }
}

fn signer_text(signer: Option<&str>, key_id: Option<&str>) -> String {
    match (signer, key_id) {
        (Some(s), Some(k)) => format!("{} ({})", visible(s), visible(k)),
        (Some(s), None) => visible(s).into_owned(),
        (None, Some(k)) => visible(k).into_owned(),
        (None, None) => "an unknown signer".to_string(),
    }
}

fn subject_note(subject: &str, image_digest: &str) -> String {
    if subject.is_empty() || subject == image_digest {
        String::new()
    } else {
        format!(", for {}", short_digest(subject))
    }
}

/// The rows of the "what the decision depended on" block, as `(label, value)`, values already
/// made [`visible`]. Shared by the text, Markdown and HTML renderings (which escape further).
pub fn details(report: &Report, seal: &Seal) -> Vec<(&'static str, String)> {
    let mut rows: Vec<(&'static str, String)> = vec![
        ("time verified", visible(&report.time).into_owned()),
        (
            "verifier",
            format!(
                "{} {}",
                visible(&report.verifier.name),
                visible(&report.verifier.version)
            ),
        ),
        (
            "policy",
            format!(
                "{} (sha256 {})",
                visible(&report.policy.path),
                visible(&report.policy.sha256)
            ),
        ),
    ];
    let i = &report.inputs;
    if let Some(b) = &i.bundle {
        rows.push(("bundle", visible(b).into_owned()));
    }
    if let Some(l) = &i.lock_sha256 {
        rows.push(("lock", visible(l).into_owned()));
    }
    if let Some(l) = &i.lock_signed_by {
        rows.push(("lock signed by", visible(l).into_owned()));
    }
    if let Some(p) = &i.pins_sha256 {
        rows.push(("pins", visible(p).into_owned()));
    }
    for k in &i.keys {
        rows.push((
            "key",
            format!(
                "{} {} ({})",
                visible(&k.name),
                visible(&k.key_id),
                visible(&k.algorithm)
            ),
        ));
    }
    for k in &i.trusted_roots {
        rows.push((
            "trusted root",
            format!(
                "{} {} ({})",
                visible(&k.name),
                visible(&k.key_id),
                visible(&k.algorithm)
            ),
        ));
    }
    rows.push(("report", visible(&seal.to_string()).into_owned()));
    rows
}

fn sev(s: crate::report::Severity) -> &'static str {
    s.short()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_escapes_terminal_controls_and_bidi_overrides() {
        assert_eq!(visible("plain"), "plain");
        assert_eq!(visible("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(visible("x\ny"), "x\\u{a}y");
        assert_eq!(visible("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
    }

    #[test]
    fn prefix_is_char_safe() {
        assert_eq!(prefix("ééé", 2), "éé");
        assert_eq!(prefix("ab", 5), "ab");
    }
}
