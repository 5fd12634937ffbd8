//! The HTML rendering of a report: one self-contained page for auditors.
//!
//! - Self-contained: inline CSS, no JavaScript, no images, fonts or other fetches; a
//!   Content-Security-Policy `<meta>` forbids loading anything, so the page behaves the same
//!   inside the air gap and an escaping mistake could still not run script or phone home.
//! - Every string from the report goes through [`esc`] (HTML-escaped, control and bidi
//!   characters made visible): a report is written from hostile bundles and may itself be forged.
//! - Print-friendly: `@media print` drops the page background, keeps the verdict colours
//!   (`print-color-adjust: exact`) and avoids breaking a finding across pages.
use std::fmt::Write;

use super::render::{prefix, verdict, visible};
use super::vsa::Seal;
use super::{Finding, ImageReport, Outcome, Report};

/// HTML-escape `s` for text and double-quoted attribute values, after [`visible`].
pub fn esc(s: &str) -> String {
    let v = visible(s);
    let mut out = String::with_capacity(v.len() + 16);
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root{--ink:#1d2330;--muted:#5b6474;--line:#d9dee7;--bg:#f3f5f8;--card:#fff;
--pass:#16794a;--pass-bg:#e5f4ec;--fail:#b42318;--fail-bg:#fdecea;--warn:#9a5b00;--warn-bg:#fff4e0;
--mono:ui-monospace,"SFMono-Regular","DejaVu Sans Mono",Menlo,Consolas,monospace}
*{box-sizing:border-box}
html{background:var(--bg)}
body{margin:0 auto;max-width:1120px;padding:28px 32px 48px;color:var(--ink);
font:14px/1.5 system-ui,-apple-system,"Segoe UI","DejaVu Sans",Roboto,"Helvetica Neue",Arial,sans-serif}
header.top{display:flex;align-items:center;gap:20px;margin-bottom:18px}
header.top h1{font-size:22px;margin:0;font-weight:650;letter-spacing:-.01em}
header.top .sub{color:var(--muted);font-size:13px}
.verdict{font-weight:800;font-size:22px;letter-spacing:.06em;padding:10px 22px;border-radius:8px;
border:2px solid currentColor;white-space:nowrap}
.verdict.pass{color:var(--pass);background:var(--pass-bg)}
.verdict.fail{color:var(--fail);background:var(--fail-bg)}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 22px;margin:16px 0;
box-shadow:0 1px 2px rgba(16,24,40,.04)}
.counts{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin:0 0 16px}
.count{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px}
.count b{display:block;font-size:24px;line-height:1.2}
.count span{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em}
.count.bad b{color:var(--fail)} .count.good b{color:var(--pass)} .count.warn b{color:var(--warn)}
h2{font-size:17px;margin:0 0 12px;display:flex;align-items:center;gap:10px;flex-wrap:wrap}
h2 .ref{font-family:var(--mono);font-size:15px;font-weight:600;word-break:break-all}
h3{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:18px 0 6px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;vertical-align:top;padding:6px 10px;border-bottom:1px solid var(--line)}
th{font-weight:600;color:var(--muted);font-size:12px;background:#fafbfc}
table.kv th{width:150px;background:none;color:var(--muted)}
table.kv td,table.kv th{border-bottom:1px dotted var(--line)}
code,.mono{font-family:var(--mono);font-size:12px;word-break:break-all}
.badge{display:inline-block;font-weight:700;font-size:11px;letter-spacing:.05em;padding:2px 8px;border-radius:999px;
border:1px solid currentColor;white-space:nowrap}
.badge.pass{color:var(--pass);background:var(--pass-bg)}
.badge.fail{color:var(--fail);background:var(--fail-bg)}
.badge.warn{color:var(--warn);background:var(--warn-bg)}
.yes{color:var(--pass);font-weight:600} .no{color:var(--fail);font-weight:700}
.none{color:var(--muted);font-style:italic;margin:4px 0}
.finding{border:1px solid var(--line);border-left:4px solid var(--fail);border-radius:6px;padding:10px 14px;margin:8px 0;
background:#fff;break-inside:avoid}
.finding.warning{border-left-color:var(--warn)}
.finding .head{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.finding .code{font-family:var(--mono);font-weight:700;font-size:13px}
.finding .msg{margin:6px 0 2px}
.finding .subj,.finding .hint{color:var(--muted);font-size:12.5px;margin:2px 0}
.finding .hint b,.finding .subj b{color:var(--ink);font-weight:600}
.seal{padding:8px 12px;border-radius:6px;font-size:13px;border:1px solid var(--line);word-break:break-word}
.seal.verified{background:var(--pass-bg);border-color:#b7dfc8}
.seal.unchecked,.seal.plain{background:var(--warn-bg);border-color:#f0d5a8}
.fp{font-family:var(--mono);font-size:12px;color:var(--muted);word-break:break-all}
.alg{color:var(--muted);font-size:12px;margin-left:6px}
.nw{font-family:var(--mono);font-size:12px;white-space:nowrap}
nav.toc ol{margin:6px 0 0;padding-left:20px} nav.toc li{margin:2px 0}
nav.toc a{color:var(--ink);text-decoration:none} nav.toc a:hover{text-decoration:underline}
footer{color:var(--muted);font-size:12px;margin-top:28px;border-top:1px solid var(--line);padding-top:10px}
footer code{word-break:normal;white-space:nowrap}
@page{margin:14mm}
@media print{html{background:#fff}body{padding:0;max-width:none;font-size:11px}
.card,.count{box-shadow:none;break-inside:avoid-page}.image{break-inside:auto}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}a{color:inherit;text-decoration:none}}
"#;

/// The report as one self-contained HTML page.
pub fn render(report: &Report, seal: &Seal) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let v = verdict(report.result);
    let class = outcome_class(report.result);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>airlock report: {v} ({} image(s), {})</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        report.summary.images,
        esc(&report.time),
    );

    // Summary.
    let s = &report.summary;
    let _ = writeln!(
        out,
        "<header class=\"top\"><div class=\"verdict {class}\" id=\"verdict\">{v}</div>\
         <div><h1>airlock verification report</h1><div class=\"sub\">{}. Verified {} by {} {}.</div></div></header>",
        esc(&headline(report)),
        esc(&report.time),
        esc(&report.verifier.name),
        esc(&report.verifier.version),
    );
    let _ = writeln!(
        out,
        "<div class=\"counts\">{}{}{}{}{}</div>",
        count("images", s.images, ""),
        count("passed", s.passed, if s.passed > 0 { "good" } else { "" }),
        count("failed", s.failed, if s.failed > 0 { "bad" } else { "" }),
        count("errors", s.errors, if s.errors > 0 { "bad" } else { "" }),
        count(
            "warnings",
            s.warnings,
            if s.warnings > 0 { "warn" } else { "" }
        ),
    );
    inputs(&mut out, report);
    let _ = writeln!(out, "<h3>This report</h3>{}</section>", seal_html(seal));

    if report.images.len() > 1 {
        out.push_str("<nav class=\"card toc\"><h2>Images</h2><ol>\n");
        for (n, img) in report.images.iter().enumerate() {
            let _ = writeln!(
                out,
                "<li><a href=\"#image-{}\"><span class=\"badge {}\">{}</span> <code>{}</code></a> \
                 ({} finding(s))</li>",
                n + 1,
                outcome_class(img.result),
                verdict(img.result),
                esc(&img.r#ref),
                img.findings.len()
            );
        }
        out.push_str("</ol></nav>\n");
    }

    if !report.findings.is_empty() {
        out.push_str(
            "<section class=\"card\" id=\"global-findings\"><h2>Findings not tied to one image</h2>\n",
        );
        for f in &report.findings {
            finding(&mut out, f);
        }
        out.push_str("</section>\n");
    }
    for (n, img) in report.images.iter().enumerate() {
        image(&mut out, n + 1, img);
    }
    let _ = write!(
        out,
        "<footer>{}: {} image(s), {} passed, {} failed; {} error(s), {} warning(s). \
         Rendered by airlock from an {} document; check a signed report with \
         <code>airlock report verify FILE --key PUB</code>.</footer>\n</body>\n</html>\n",
        v,
        s.images,
        s.passed,
        s.failed,
        s.errors,
        s.warnings,
        esc(&report.schema),
    );
    out
}

/// "What the decision depended on": time, verifier, policy, bundle, lock, pins, keys, roots.
fn inputs(out: &mut String, report: &Report) {
    out.push_str(
        "<section class=\"card\" id=\"inputs\"><h2>What the decision depended on</h2>\n<table class=\"kv\">\n",
    );
    let row = |out: &mut String, k: &str, v: String| {
        let _ = writeln!(out, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    row(out, "Time verified", esc(&report.time));
    row(
        out,
        "Verifier",
        format!(
            "{} {}",
            esc(&report.verifier.name),
            esc(&report.verifier.version)
        ),
    );
    row(
        out,
        "Policy",
        format!(
            "<span class=\"mono\">{}</span><br><span class=\"fp\">sha256 {}</span>",
            esc(&report.policy.path),
            esc(&report.policy.sha256)
        ),
    );
    let i = &report.inputs;
    if let Some(b) = &i.bundle {
        row(
            out,
            "Bundle",
            format!("<span class=\"mono\">{}</span>", esc(b)),
        );
    }
    if let Some(l) = &i.lock_sha256 {
        row(
            out,
            "Bundle lock",
            format!("<span class=\"fp\">{}</span>", esc(l)),
        );
    }
    if let Some(l) = &i.lock_signed_by {
        row(
            out,
            "Lock signed by",
            format!("<span class=\"fp\">{}</span>", esc(l)),
        );
    }
    if let Some(p) = &i.pins_sha256 {
        row(out, "Pins", format!("<span class=\"fp\">{}</span>", esc(p)));
    }
    for (label, list) in [("Key", &i.keys), ("Trusted root", &i.trusted_roots)] {
        for k in list {
            row(
                out,
                label,
                format!(
                    "<b>{}</b> <span class=\"alg\">{}</span><br><span class=\"fp\">{}</span>",
                    esc(&k.name),
                    esc(&k.algorithm),
                    esc(&k.key_id)
                ),
            );
        }
    }
    if i.keys.is_empty() && i.trusted_roots.is_empty() {
        row(out, "Keys", "<span class=\"none\">none</span>".to_string());
    }
    out.push_str("</table>\n");
}

fn seal_html(seal: &Seal) -> String {
    match seal {
        Seal::Verified { key_id, algorithm } => format!(
            "<div class=\"seal verified\"><b>Signature verified</b> with key <span class=\"fp\">{}</span> \
             ({}); the signed statement matches this report.</div>",
            esc(key_id),
            esc(algorithm)
        ),
        Seal::Unchecked { key_ids } => {
            let ids: Vec<String> = key_ids
                .iter()
                .map(|k| {
                    if k.is_empty() {
                        "(none given)".to_string()
                    } else {
                        format!("<span class=\"fp\">{}</span>", esc(k))
                    }
                })
                .collect();
            format!(
                "<div class=\"seal unchecked\"><b>Signed report; the signature was not checked by this \
                 rendering.</b> Key id hint: {}. Check it with <code>airlock report verify FILE --key PUB</code> \
                 before relying on it.</div>",
                ids.join(", ")
            )
        }
        Seal::Plain => "<div class=\"seal plain\"><b>Unsigned report.</b> Nothing vouches for its content; \
             ask for the signed form (<code>airlock verify --report FILE --sign-key KEY</code>).</div>"
            .to_string(),
    }
}

fn headline(report: &Report) -> String {
    let s = &report.summary;
    match report.result {
        Outcome::Pass => format!(
            "{} verified against the policy, {}",
            plural(s.images, "image", "images"),
            plural(s.warnings, "warning", "warnings")
        ),
        Outcome::Fail => format!(
            "The gate says no: {} of {} failed, {}, {}",
            s.failed,
            plural(s.images, "image", "images"),
            plural(s.errors, "error", "errors"),
            plural(s.warnings, "warning", "warnings")
        ),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn outcome_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
    }
}

fn count(label: &str, n: usize, class: &str) -> String {
    format!("<div class=\"count {class}\"><b>{n}</b><span>{label}</span></div>")
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "<span class=\"yes\">yes</span>"
    } else {
        "<span class=\"no\">no</span>"
    }
}

fn opt(s: Option<&str>) -> String {
    s.map(esc).unwrap_or_default()
}

/// A digest or key id shortened to `sha256:` and 12 hex digits, the full value in a tooltip.
fn short(d: &str) -> String {
    if d.chars().count() <= 19 {
        return format!("<span class=\"nw\">{}</span>", esc(d));
    }
    format!(
        "<span class=\"nw\" title=\"{}\">{}…</span>",
        esc(d),
        esc(prefix(d, 19))
    )
}

fn image(out: &mut String, n: usize, img: &ImageReport) {
    let _ = write!(
        out,
        "<section class=\"card image\" id=\"image-{n}\"><h2><span class=\"badge {}\">{}</span> \
         <span class=\"ref\">{}</span></h2>\n<table class=\"kv\"><tr><th>digest</th><td class=\"mono\">{}</td></tr>",
        outcome_class(img.result),
        verdict(img.result),
        esc(&img.r#ref),
        esc(&img.digest),
    );
    if let Some(rule) = &img.rule {
        let _ = write!(
            out,
            "<tr><th>policy rule</th><td class=\"mono\">{}</td></tr>",
            esc(rule)
        );
    }
    out.push_str("</table>\n");

    out.push_str("<h3>Platforms</h3>\n");
    if img.platforms.is_empty() {
        out.push_str("<p class=\"none\">Single-platform image.</p>\n");
    } else {
        out.push_str("<table><tr><th>Platform</th><th>Digest</th><th>In bundle</th></tr>\n");
        for p in &img.platforms {
            let _ = writeln!(
                out,
                "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                esc(&p.platform),
                esc(&p.digest),
                yes_no(p.present)
            );
        }
        out.push_str("</table>\n");
    }

    out.push_str("<h3>Signatures</h3>\n");
    if img.signatures.is_empty() {
        out.push_str("<p class=\"none\">None.</p>\n");
    } else {
        out.push_str(
            "<table><tr><th>Verified</th><th>Signer</th><th>Key id</th><th>Format</th>\
             <th>Signed reference</th><th>Manifest</th></tr>\n",
        );
        for g in &img.signatures {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                yes_no(g.verified),
                opt(g.signer.as_deref()),
                short(g.key_id.as_deref().unwrap_or("")),
                esc(&g.format),
                opt(g.docker_reference.as_deref()),
                short(&g.manifest),
            );
        }
        out.push_str("</table>\n");
    }

    out.push_str("<h3>Attestations</h3>\n");
    if img.attestations.is_empty() {
        out.push_str("<p class=\"none\">None.</p>\n");
    } else {
        out.push_str(
            "<table><tr><th>Verified</th><th>Predicate type</th><th>Signer</th><th>Key id</th>\
             <th>Manifest</th></tr>\n",
        );
        for a in &img.attestations {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                yes_no(a.verified),
                esc(&a.predicate_type),
                opt(a.signer.as_deref()),
                short(a.key_id.as_deref().unwrap_or("")),
                short(&a.manifest),
            );
        }
        out.push_str("</table>\n");
    }

    out.push_str("<h3>SBOM</h3>\n");
    if img.sboms.is_empty() {
        out.push_str("<p class=\"none\">None.</p>\n");
    } else {
        out.push_str(
            "<table><tr><th>Format</th><th>Spec version</th><th>Packages</th><th>Source</th>\
             <th>Document</th></tr>\n",
        );
        for b in &img.sboms {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&b.format),
                esc(&b.spec_version),
                b.packages,
                esc(&b.source),
                opt(b.name.as_deref()),
            );
        }
        out.push_str("</table>\n");
    }

    let _ = writeln!(out, "<h3>Findings ({})</h3>", img.findings.len());
    if img.findings.is_empty() {
        out.push_str("<p class=\"none\">None.</p>\n");
    }
    for f in &img.findings {
        finding(out, f);
    }
    out.push_str("</section>\n");
}

fn finding(out: &mut String, f: &Finding) {
    let (class, badge, word) = match f.severity {
        crate::report::Severity::Error => ("finding error", "fail", "error"),
        crate::report::Severity::Warning => ("finding warning", "warn", "warning"),
        crate::report::Severity::Info => ("finding info", "info", "info"),
    };
    let _ = write!(
        out,
        "<div class=\"{class}\"><div class=\"head\"><span class=\"badge {badge}\">{word}</span>\
         <span class=\"code\">{}</span></div><div class=\"msg\">{}</div>",
        esc(f.code.as_str()),
        esc(&f.message),
    );
    if !f.subject.is_empty() {
        let _ = write!(
            out,
            "<div class=\"subj\"><b>Subject:</b> <span class=\"mono\">{}</span></div>",
            esc(&f.subject)
        );
    }
    if !f.hint.is_empty() {
        let _ = write!(
            out,
            "<div class=\"hint\"><b>What to do:</b> {}</div>",
            esc(&f.hint)
        );
    }
    out.push_str("</div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Code, PolicyRef};

    fn hostile() -> Report {
        let mut r = Report::new(
            "2026-01-31T12:00:00Z".into(),
            PolicyRef {
                path: "<b>p</b>".into(),
                sha256: "\"onmouseover=x".into(),
            },
        );
        r.images.push(ImageReport {
            r#ref: "<script>alert(1)</script>".into(),
            digest: "sha256:'><img src=x onerror=alert(1)>".into(),
            result: Outcome::Pass,
            rule: None,
            platforms: vec![],
            signatures: vec![],
            attestations: vec![],
            sboms: vec![],
            findings: vec![Finding::error(
                Code::SignatureMissing,
                "<iframe src=http://evil/>",
                "a\u{1b}[2Jb & <style>",
            )],
            judged: Default::default(),
        });
        r.finalise();
        r
    }

    #[test]
    fn hostile_strings_are_escaped_and_nothing_is_fetched_or_run() {
        let h = render(&hostile(), &Seal::Plain);
        for bad in [
            "<script",
            "<img",
            "<iframe",
            "<b>p",
            "\"onmouseover",
            "\u{1b}",
            "<style>\"",
        ] {
            assert!(!h.contains(bad), "{bad} in output");
        }
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(h.contains("\\u{1b}[2Jb &amp; &lt;style&gt;"));
        assert!(!h.contains("src=\"http"));
        assert!(!h.contains("href=\"http"));
        assert!(h.contains("default-src 'none'"));
        assert_eq!(h.matches("<style>").count(), 1);
        assert!(h.contains(">FAIL<"));
        assert!(h.contains("signature-missing"));
    }
}
