//! The Markdown rendering of a report (GitHub-flavoured: tables), for tickets and change records.
//!
//! Every string from the report is hostile: it goes through [`md`] (inline text, with Markdown
//! and HTML metacharacters backslash-escaped) or [`code`] (a code span whose fence is longer than
//! any backtick run inside). Both make control and bidi characters visible and escape `|`, so a
//! value can neither end a table cell, start a new block, inject HTML nor form a link.
use std::fmt::Write;

use super::render::{details, verdict, visible};
use super::vsa::Seal;
use super::{Finding, ImageReport, Report};

/// Inline text: backslash-escape what Markdown or HTML would interpret.
pub fn md(s: &str) -> String {
    let v = visible(s);
    let mut out = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        if needs_escape(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The punctuation that can start or end Markdown (or HTML) syntax anywhere inside a line. Other
/// punctuation (`#`, `-`, `1.`, …) only matters at the start of a line, which a rendered value
/// never is: values are always preceded by a table pipe, a list marker or a heading word.
fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~' | '!'
    )
}

/// A code span holding `s` verbatim (after [`visible`]), with `|` escaped for table cells.
/// Empty text gives an empty string.
pub fn code(s: &str) -> String {
    let v = visible(s).replace('|', "\\|");
    if v.is_empty() {
        return String::new();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in v.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if v.starts_with('`') || v.ends_with('`') || v.starts_with(' ') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{v}{pad}{fence}")
}

/// The report as Markdown.
pub fn render(report: &Report, seal: &Seal) -> String {
    let mut out = String::new();
    let s = &report.summary;
    let _ = writeln!(
        out,
        "# airlock verification report: **{}**\n",
        verdict(report.result)
    );
    let _ = writeln!(
        out,
        "{} image(s): {} passed, {} failed; {} error(s), {} warning(s).\n",
        s.images, s.passed, s.failed, s.errors, s.warnings
    );
    let _ = writeln!(out, "| | |\n|---|---|");
    for (k, v) in details(report, seal) {
        // `details` values are already visible(); escape them for Markdown.
        let _ = writeln!(out, "| {} | {} |", k, md(&v));
    }
    out.push('\n');

    if !report.images.is_empty() {
        let _ = writeln!(
            out,
            "| Result | Image | Digest | Platforms | Signatures | Attestations | SBOMs | Findings |\n\
             |---|---|---|---|---|---|---|---|"
        );
        for img in &report.images {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                verdict(img.result),
                code(&img.r#ref),
                code(super::render::prefix(&img.digest, 19)),
                img.platforms.len(),
                img.signatures.iter().filter(|g| g.verified).count(),
                img.attestations.iter().filter(|a| a.verified).count(),
                img.sboms.len(),
                img.findings.len(),
            );
        }
        out.push('\n');
    }

    if !report.findings.is_empty() {
        let _ = writeln!(out, "## Findings not tied to one image\n");
        findings_table(&mut out, &report.findings);
    }
    for img in &report.images {
        image_section(&mut out, img);
    }
    out
}

fn image_section(out: &mut String, img: &ImageReport) {
    let _ = writeln!(out, "## {} {}\n", verdict(img.result), md(&img.r#ref));
    let _ = writeln!(out, "- Digest: {}", code(&img.digest));
    if let Some(rule) = &img.rule {
        let _ = writeln!(out, "- Policy rule: {}", code(rule));
    }
    out.push('\n');

    let _ = writeln!(out, "### Platforms\n");
    if img.platforms.is_empty() {
        let _ = writeln!(out, "Single-platform image.\n");
    } else {
        let _ = writeln!(out, "| Platform | Digest | In bundle |\n|---|---|---|");
        for p in &img.platforms {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                code(&p.platform),
                code(&p.digest),
                if p.present { "yes" } else { "**no**" }
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "### Signatures\n");
    if img.signatures.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        let _ = writeln!(
            out,
            "| Verified | Format | Signer | Key id | Signed reference | Subject | Manifest |\n\
             |---|---|---|---|---|---|---|"
        );
        for g in &img.signatures {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                yes_no(g.verified),
                md(&g.format),
                md(g.signer.as_deref().unwrap_or("")),
                code(g.key_id.as_deref().unwrap_or("")),
                code(g.docker_reference.as_deref().unwrap_or("")),
                code(super::render::prefix(&g.subject, 19)),
                code(super::render::prefix(&g.manifest, 19)),
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "### Attestations\n");
    if img.attestations.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        let _ = writeln!(
            out,
            "| Verified | Predicate type | Signer | Key id | Subject | Manifest |\n\
             |---|---|---|---|---|---|"
        );
        for a in &img.attestations {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                yes_no(a.verified),
                code(&a.predicate_type),
                md(a.signer.as_deref().unwrap_or("")),
                code(a.key_id.as_deref().unwrap_or("")),
                code(super::render::prefix(&a.subject, 19)),
                code(super::render::prefix(&a.manifest, 19)),
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "### SBOMs\n");
    if img.sboms.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        let _ = writeln!(
            out,
            "| Format | Spec version | Packages | Source | Document |\n|---|---|---|---|---|"
        );
        for b in &img.sboms {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                md(&b.format),
                md(&b.spec_version),
                b.packages,
                md(&b.source),
                md(b.name.as_deref().unwrap_or("")),
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "### Findings\n");
    if img.findings.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        findings_table(out, &img.findings);
    }
}

fn findings_table(out: &mut String, findings: &[Finding]) {
    let _ = writeln!(
        out,
        "| Severity | Code | Subject | Message | Hint |\n|---|---|---|---|---|"
    );
    for f in findings {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            match f.severity {
                crate::report::Severity::Error => "**error**",
                crate::report::Severity::Warning => "warning",
                crate::report::Severity::Info => "info",
            },
            code(f.code.as_str()),
            code(&f.subject),
            md(&f.message),
            md(&f.hint),
        );
    }
    out.push('\n');
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "**no**"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_text_cannot_inject_markup() {
        assert_eq!(md("a|b"), "a\\|b");
        assert_eq!(md("<img src=x>"), "\\<img src=x\\>");
        assert_eq!(md("[x](javascript:1)"), "\\[x\\](javascript:1)");
        assert_eq!(md("line\nbreak"), "line\\\\u{a}break");
        assert_eq!(
            md("sha256:abc registry.example/a_b"),
            "sha256:abc registry.example/a\\_b"
        );
    }

    #[test]
    fn code_span_fence_outgrows_backticks_and_escapes_pipes() {
        assert_eq!(code("x"), "`x`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code(""), "");
    }
}
