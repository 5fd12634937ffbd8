//! `capture -f FILE`: image and chart lists in the formats other tools write, recognised by
//! content (never by file name).
//!
//! Supported inputs:
//! - the plain list: one reference per line, `#` comments;
//! - Hauler manifests (`apiVersion: content.hauler.cattle.io/v1` or `v1alpha1`), documents of
//!   `kind: Images` (`spec.images[].name`, optional `platform`) and `kind: Charts`
//!   (`spec.charts[].{name, repoURL, version}`);
//! - Zarf package configs (`kind: ZarfPackageConfig`): `components[].images[]` and
//!   `components[].charts[].{name, version, url, repoName}`;
//! - `aicr mirror list` YAML or JSON: `images: [...]`, `charts: [{name, repository, chart,
//!   version}]` (and the images listed under `components[]`);
//! - oc-mirror `ImageSetConfiguration`: `mirror.additionalImages[].name` and
//!   `mirror.helm.repositories[].{url, charts[].{name, version}}`.
//!
//! Anything in those files that would bring content airlock does not capture (Hauler `Files`,
//! Zarf `manifests`/`files`/`repos`, oc-mirror `platform`/`operators`/`helm.local`, …) is an
//! error naming the file, the line and what is supported: it is never dropped silently.
//!
//! This module is pure: it takes the file's name and text and returns typed requests.
use serde_yaml::{Mapping, Value};

/// Largest `-f` file accepted.
pub const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;
/// Most entries (images plus charts) one `-f` file may list.
pub const MAX_LIST_ENTRIES: usize = 50_000;
/// Most YAML documents in one `-f` file.
pub const MAX_LIST_DOCUMENTS: usize = 1_000;

/// What an entry asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// An image or OCI artifact reference, optionally restricted to one platform.
    Image {
        reference: String,
        platform: Option<String>,
    },
    /// A chart in a classic Helm repository (`http(s)://…`).
    ClassicChart(ChartSpec),
}

/// A chart in a classic Helm repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartSpec {
    /// The repository URL (`https://charts.example/stable`), without a trailing `/`.
    pub repository: String,
    pub name: String,
    pub version: String,
}

/// One entry of an input file, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub wanted: Wanted,
    /// Whether this is a chart (an OCI chart is captured like an image but is still a chart).
    pub chart: bool,
    /// `FILE:LINE (what)`, e.g. `hauler.yaml:12 (Hauler Images spec.images[1])`.
    pub origin: String,
}

/// The recognised format of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Plain,
    Hauler,
    Zarf,
    Aicr,
    OcMirror,
}

impl ListFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ListFormat::Plain => "plain list",
            ListFormat::Hauler => "Hauler manifest",
            ListFormat::Zarf => "Zarf package config",
            ListFormat::Aicr => "aicr mirror list",
            ListFormat::OcMirror => "oc-mirror ImageSetConfiguration",
        }
    }
}

/// Why a file cannot be used (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{file}: {size} bytes, over the {MAX_LIST_BYTES}-byte limit for -f files")]
    TooLarge { file: String, size: usize },
    #[error("{file}: more than {MAX_LIST_ENTRIES} entries; split the list")]
    TooManyEntries { file: String },
    #[error("{file}: more than {MAX_LIST_DOCUMENTS} YAML documents; split the file")]
    TooManyDocuments { file: String },
    /// Something in the file airlock does not support or cannot read.
    #[error("{file}:{line}: {message}")]
    At {
        file: String,
        line: usize,
        message: String,
    },
}

/// What `-f` understands, for error messages.
pub const SUPPORTED: &str = "supported: a plain list (one reference per line), Hauler `Images` \
     and `Charts` documents (content.hauler.cattle.io/v1 or v1alpha1), a Zarf package config \
     (components[].images and components[].charts), an `aicr mirror list` YAML/JSON (images, \
     charts) and an oc-mirror ImageSetConfiguration (mirror.additionalImages, \
     mirror.helm.repositories)";

/// Parse `text` (the contents of `file`) into requests, recognising the format by content.
pub fn parse(file: &str, text: &str) -> Result<(ListFormat, Vec<Request>), ListError> {
    if text.len() > MAX_LIST_BYTES {
        return Err(ListError::TooLarge {
            file: file.to_string(),
            size: text.len(),
        });
    }
    let docs = split_documents(text);
    if docs.len() > MAX_LIST_DOCUMENTS {
        return Err(ListError::TooManyDocuments {
            file: file.to_string(),
        });
    }
    // Structured when the first non-empty document is a mapping; otherwise the plain list.
    let mut parsed = Vec::new();
    for d in &docs {
        match serde_yaml::from_str::<Value>(&d.text) {
            Ok(Value::Null) => {}
            Ok(v) => parsed.push((d, v)),
            Err(e) => {
                if parsed.is_empty() && !looks_structured(&d.text) {
                    return plain(file, text);
                }
                let line = e.location().map(|l| l.line()).unwrap_or(1) + d.first_line - 1;
                return Err(at(
                    file,
                    line,
                    format!("not valid YAML or JSON ({e}); {SUPPORTED}"),
                ));
            }
        }
    }
    match parsed.first() {
        Some((_, Value::Mapping(_))) => {}
        _ => return plain(file, text),
    }
    let mut p = Parser {
        file,
        out: Vec::new(),
        format: None,
    };
    for (doc, v) in &parsed {
        p.document(doc, v)?;
        if p.out.len() > MAX_LIST_ENTRIES {
            return Err(ListError::TooManyEntries {
                file: file.to_string(),
            });
        }
    }
    let format = p.format.unwrap_or(ListFormat::Plain);
    Ok((format, p.out))
}

fn at(file: &str, line: usize, message: String) -> ListError {
    ListError::At {
        file: file.to_string(),
        line,
        message,
    }
}

/// A YAML mapping starts with `key:`; a plain list line is a reference (`host/repo:tag` has no
/// space after the colon).
fn looks_structured(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.starts_with('{') || l.contains(": ") || l.ends_with(':'))
        .unwrap_or(false)
}

fn plain(file: &str, text: &str) -> Result<(ListFormat, Vec<Request>), ListError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.split('#').next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        if l.contains(char::is_whitespace) || l.ends_with(':') {
            return Err(at(
                file,
                i + 1,
                format!("expected one image reference per line, found {l:?}; {SUPPORTED}"),
            ));
        }
        out.push(Request {
            wanted: Wanted::Image {
                reference: l.to_string(),
                platform: None,
            },
            chart: false,
            origin: format!("{file}:{}", i + 1),
        });
        if out.len() > MAX_LIST_ENTRIES {
            return Err(ListError::TooManyEntries {
                file: file.to_string(),
            });
        }
    }
    Ok((ListFormat::Plain, out))
}

/// One YAML document of the file, with its first line (1-based).
struct Doc {
    text: String,
    first_line: usize,
}

fn split_documents(text: &str) -> Vec<Doc> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    let mut first = 1;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") && line[3..].trim().is_empty() {
            docs.push(Doc {
                text: std::mem::take(&mut cur),
                first_line: first,
            });
            first = i + 2;
            // Keep line numbers: the separator becomes an empty line of the next document.
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    docs.push(Doc {
        text: cur,
        first_line: first,
    });
    docs
}

struct Parser<'f> {
    file: &'f str,
    out: Vec<Request>,
    format: Option<ListFormat>,
}

/// Finds lines of one document, moving forward so that list entries get their own lines.
struct Lines<'d> {
    doc: &'d Doc,
    cursor: usize,
}

impl Lines<'_> {
    /// The line (1-based, in the file) of the next line at or after the cursor that contains
    /// `needle`; the cursor moves past it. Falls back to the cursor's line.
    fn find(&mut self, needle: &str) -> usize {
        for (i, l) in self.doc.text.lines().enumerate().skip(self.cursor) {
            if l.contains(needle) {
                self.cursor = i + 1;
                return self.doc.first_line + i;
            }
        }
        self.doc.first_line
            + self
                .cursor
                .min(self.doc.text.lines().count().saturating_sub(1))
    }
    /// The line of a key (`key:` or `"key":`) anywhere in the document, without moving.
    fn key(&self, key: &str) -> usize {
        let plain = format!("{key}:");
        let quoted = format!("\"{key}\"");
        for (i, l) in self.doc.text.lines().enumerate() {
            let t = l.trim_start().trim_start_matches("- ");
            if t.starts_with(&plain) || t.starts_with(&quoted) {
                return self.doc.first_line + i;
            }
        }
        self.doc.first_line
    }
}

fn get<'v>(m: &'v Mapping, key: &str) -> Option<&'v Value> {
    m.get(Value::String(key.to_string()))
}

fn get_str<'v>(m: &'v Mapping, key: &str) -> Option<&'v str> {
    get(m, key).and_then(Value::as_str)
}

/// A scalar as text (versions are often written as numbers: `version: 1.2`).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn seq(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Sequence(s)) => s,
        _ => &[],
    }
}

impl Parser<'_> {
    fn err(&self, line: usize, message: String) -> ListError {
        at(self.file, line, message)
    }

    fn set_format(&mut self, f: ListFormat, line: usize) -> Result<(), ListError> {
        match self.format {
            Some(old) if old != f => Err(self.err(
                line,
                format!(
                    "this document is a {} but the file started as a {}; expected one format per \
                     file",
                    f.as_str(),
                    old.as_str()
                ),
            )),
            _ => {
                self.format = Some(f);
                Ok(())
            }
        }
    }

    fn document(&mut self, doc: &Doc, v: &Value) -> Result<(), ListError> {
        let mut lines = Lines { doc, cursor: 0 };
        let Value::Mapping(m) = v else {
            return Err(self.err(
                doc.first_line,
                format!("expected a mapping (a structured list), found a plain value; {SUPPORTED}"),
            ));
        };
        let api = get_str(m, "apiVersion").unwrap_or("");
        let kind = get_str(m, "kind").unwrap_or("");
        if api.starts_with("content.hauler.cattle.io/") {
            self.set_format(ListFormat::Hauler, doc.first_line)?;
            if !matches!(
                api,
                "content.hauler.cattle.io/v1" | "content.hauler.cattle.io/v1alpha1"
            ) {
                return Err(self.err(
                    lines.key("apiVersion"),
                    format!(
                        "Hauler apiVersion {api:?} is not supported; expected \
                         content.hauler.cattle.io/v1 or v1alpha1"
                    ),
                ));
            }
            return self.hauler(kind, m, &mut lines);
        }
        match kind {
            "ZarfPackageConfig" => {
                self.set_format(ListFormat::Zarf, doc.first_line)?;
                self.zarf(m, &mut lines)
            }
            "ImageSetConfiguration" => {
                self.set_format(ListFormat::OcMirror, doc.first_line)?;
                self.oc_mirror(m, &mut lines)
            }
            "" if get(m, "images").is_some() || get(m, "charts").is_some() => {
                self.set_format(ListFormat::Aicr, doc.first_line)?;
                self.aicr(m, &mut lines)
            }
            _ => Err(self.err(
                if kind.is_empty() {
                    doc.first_line
                } else {
                    lines.key("kind")
                },
                format!("unrecognised document (apiVersion {api:?}, kind {kind:?}); {SUPPORTED}"),
            )),
        }
    }

    fn image(&mut self, reference: &str, platform: Option<String>, origin: String) {
        self.out.push(Request {
            wanted: Wanted::Image {
                reference: reference.trim().to_string(),
                platform,
            },
            chart: false,
            origin,
        });
    }

    /// A chart from `repository` (`oci://host/path` or a classic `http(s)://` repository).
    fn chart(
        &mut self,
        repository: &str,
        name: &str,
        version: &str,
        origin: String,
        line: usize,
    ) -> Result<(), ListError> {
        let repository = repository.trim().trim_end_matches('/');
        let wanted = if let Some(rest) = repository.strip_prefix("oci://") {
            Wanted::Image {
                reference: format!("{rest}/{name}:{}", version.replace('+', "_")),
                platform: None,
            }
        } else if repository.starts_with("https://") || repository.starts_with("http://") {
            Wanted::ClassicChart(ChartSpec {
                repository: repository.to_string(),
                name: name.to_string(),
                version: version.to_string(),
            })
        } else {
            return Err(self.err(
                line,
                format!(
                    "chart {name:?}: repository {repository:?} is neither oci://… nor an \
                     http(s):// Helm repository; local chart paths are not supported"
                ),
            ));
        };
        self.out.push(Request {
            wanted,
            chart: true,
            origin,
        });
        Ok(())
    }

    fn hauler(&mut self, kind: &str, m: &Mapping, lines: &mut Lines<'_>) -> Result<(), ListError> {
        let spec = match get(m, "spec") {
            Some(Value::Mapping(s)) => s.clone(),
            _ => Mapping::new(),
        };
        match kind {
            "Images" => {
                for (i, e) in seq(get(&spec, "images")).iter().enumerate() {
                    let (name, platform) = match e {
                        Value::Mapping(em) => (
                            get_str(em, "name").map(str::to_string),
                            get_str(em, "platform").map(str::to_string),
                        ),
                        _ => (None, None),
                    };
                    let Some(name) = name else {
                        let line = lines.find("name");
                        return Err(self.err(
                            line,
                            format!("Hauler Images spec.images[{i}] has no `name`; expected `- name: REFERENCE`"),
                        ));
                    };
                    let line = lines.find(&name);
                    let origin = format!("{}:{line} (Hauler Images spec.images[{i}])", self.file);
                    self.image(&name, platform, origin);
                }
                Ok(())
            }
            "Charts" => {
                for (i, e) in seq(get(&spec, "charts")).iter().enumerate() {
                    let Value::Mapping(em) = e else { continue };
                    let name = get_str(em, "name").unwrap_or("");
                    let line = lines.find(name);
                    let repo = get_str(em, "repoURL");
                    let version = get(em, "version").and_then(scalar);
                    let (Some(repo), Some(version), false) = (repo, version, name.is_empty())
                    else {
                        return Err(self.err(
                            line,
                            format!(
                                "Hauler Charts spec.charts[{i}]: expected `name`, `repoURL` and \
                                 `version` (airlock captures a pinned version from a repository)"
                            ),
                        ));
                    };
                    let origin = format!("{}:{line} (Hauler Charts spec.charts[{i}])", self.file);
                    self.chart(repo, name, &version, origin, line)?;
                }
                Ok(())
            }
            other => Err(self.err(
                lines.key("kind"),
                format!(
                    "Hauler kind {other:?} is not supported (airlock captures images and charts, \
                     not files); expected kind Images or Charts"
                ),
            )),
        }
    }

    fn zarf(&mut self, m: &Mapping, lines: &mut Lines<'_>) -> Result<(), ListError> {
        for c in seq(get(m, "components")) {
            let Value::Mapping(cm) = c else { continue };
            let cname = get_str(cm, "name").unwrap_or("?").to_string();
            lines.find(&format!("- name: {cname}"));
            for field in ["manifests", "files", "repos", "dataInjections", "import"] {
                if get(cm, field).is_some() {
                    let line = lines.find(&format!("{field}:"));
                    return Err(self.err(
                        line,
                        format!(
                            "Zarf component {cname:?} has `{field}`, which airlock does not \
                             capture; supported in a Zarf package config: components[].images \
                             and components[].charts (with url and version); remove the field \
                             or list its content separately"
                        ),
                    ));
                }
            }
            for (i, img) in seq(get(cm, "images")).iter().enumerate() {
                let Some(r) = img.as_str() else { continue };
                let line = lines.find(r);
                let origin = format!("{}:{line} (Zarf component {cname} images[{i}])", self.file);
                self.image(r, None, origin);
            }
            for (i, ch) in seq(get(cm, "charts")).iter().enumerate() {
                let Value::Mapping(chm) = ch else { continue };
                let name = get_str(chm, "name").unwrap_or("");
                let line = lines.find(&format!("name: {name}"));
                let url = get_str(chm, "url");
                let version = get(chm, "version").and_then(scalar);
                let (Some(url), Some(version)) = (url, version) else {
                    return Err(self.err(
                        line,
                        format!(
                            "Zarf component {cname:?} charts[{i}] ({name:?}): expected `url` \
                             (oci://… or a Helm repository) and `version`; local charts \
                             (localPath) and git charts are not supported"
                        ),
                    ));
                };
                let origin = format!("{}:{line} (Zarf component {cname} charts[{i}])", self.file);
                if let Some(rest) = url.strip_prefix("oci://") {
                    // Zarf's OCI url names the chart itself.
                    let reference = format!(
                        "{}:{}",
                        rest.trim_end_matches('/'),
                        version.replace('+', "_")
                    );
                    self.out.push(Request {
                        wanted: Wanted::Image {
                            reference,
                            platform: None,
                        },
                        chart: true,
                        origin,
                    });
                } else {
                    let chart_name = get_str(chm, "repoName").unwrap_or(name);
                    self.chart(url, chart_name, &version, origin, line)?;
                }
            }
        }
        Ok(())
    }

    fn aicr(&mut self, m: &Mapping, lines: &mut Lines<'_>) -> Result<(), ListError> {
        for (i, img) in seq(get(m, "images")).iter().enumerate() {
            let r = match img {
                Value::String(s) => s.clone(),
                Value::Mapping(im) => match get_str(im, "image").or_else(|| get_str(im, "name")) {
                    Some(s) => s.to_string(),
                    None => continue,
                },
                _ => continue,
            };
            let line = lines.find(&r);
            let origin = format!("{}:{line} (aicr images[{i}])", self.file);
            self.image(&r, None, origin);
        }
        for (i, ch) in seq(get(m, "charts")).iter().enumerate() {
            let Value::Mapping(chm) = ch else { continue };
            let chart = get_str(chm, "chart")
                .or_else(|| get_str(chm, "name"))
                .unwrap_or("");
            let line = lines.find(chart);
            let repo = get_str(chm, "repository");
            let version = get(chm, "version").and_then(scalar);
            let (Some(repo), Some(version), false) = (repo, version, chart.is_empty()) else {
                return Err(self.err(
                    line,
                    format!(
                        "aicr charts[{i}]: expected `repository`, `chart` (or `name`) and \
                         `version`"
                    ),
                ));
            };
            let origin = format!("{}:{line} (aicr charts[{i}])", self.file);
            self.chart(repo, chart, &version, origin, line)?;
        }
        // Images listed per component are also in `images`; any that are not are still captured.
        let mut lines2 = Lines {
            doc: lines.doc,
            cursor: 0,
        };
        for c in seq(get(m, "components")) {
            let Value::Mapping(cm) = c else { continue };
            let cname = get_str(cm, "component").unwrap_or("?").to_string();
            for img in seq(get(cm, "images")) {
                let Some(r) = img.as_str() else { continue };
                let known = self.out.iter().any(|q| {
                    matches!(&q.wanted, Wanted::Image { reference, .. } if reference == r.trim())
                });
                if !known {
                    let line = lines2.find(r);
                    let origin = format!("{}:{line} (aicr component {cname} images)", self.file);
                    self.image(r, None, origin);
                }
            }
        }
        Ok(())
    }

    fn oc_mirror(&mut self, m: &Mapping, lines: &mut Lines<'_>) -> Result<(), ListError> {
        let mirror = match get(m, "mirror") {
            Some(Value::Mapping(x)) => x.clone(),
            _ => Mapping::new(),
        };
        for field in ["platform", "operators", "blockedImages", "samples"] {
            if get(&mirror, field).is_some() {
                return Err(self.err(
                    lines.key(field),
                    format!(
                        "oc-mirror mirror.{field} is not supported (airlock does not mirror \
                         OpenShift releases or operator catalogs); supported in an \
                         ImageSetConfiguration: mirror.additionalImages[].name and \
                         mirror.helm.repositories[].{{url, charts[].{{name, version}}}}"
                    ),
                ));
            }
        }
        for (i, img) in seq(get(&mirror, "additionalImages")).iter().enumerate() {
            let Some(name) = img.as_mapping().and_then(|x| get_str(x, "name")) else {
                continue;
            };
            let line = lines.find(name);
            let origin = format!(
                "{}:{line} (oc-mirror mirror.additionalImages[{i}])",
                self.file
            );
            self.image(name, None, origin);
        }
        if let Some(Value::Mapping(helm)) = get(&mirror, "helm") {
            if get(helm, "local").is_some() {
                return Err(self.err(
                    lines.key("local"),
                    "oc-mirror mirror.helm.local (charts from local paths) is not supported; \
                     expected mirror.helm.repositories[].{url, charts[].{name, version}}"
                        .into(),
                ));
            }
            for (ri, r) in seq(get(helm, "repositories")).iter().enumerate() {
                let Value::Mapping(rm) = r else { continue };
                let url = get_str(rm, "url").unwrap_or("").to_string();
                let rline = lines.find(&url);
                if url.is_empty() {
                    return Err(self.err(
                        rline,
                        format!("oc-mirror mirror.helm.repositories[{ri}] has no `url`"),
                    ));
                }
                for (ci, c) in seq(get(rm, "charts")).iter().enumerate() {
                    let Value::Mapping(cm) = c else { continue };
                    let name = get_str(cm, "name").unwrap_or("");
                    let line = lines.find(name);
                    let Some(version) = get(cm, "version").and_then(scalar) else {
                        return Err(self.err(
                            line,
                            format!(
                                "oc-mirror mirror.helm.repositories[{ri}].charts[{ci}] ({name:?}) \
                                 has no `version`; airlock captures pinned chart versions only"
                            ),
                        ));
                    };
                    let origin = format!(
                        "{}:{line} (oc-mirror mirror.helm.repositories[{ri}].charts[{ci}])",
                        self.file
                    );
                    self.chart(&url, name, &version, origin, line)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(r: &[Request]) -> Vec<String> {
        r.iter()
            .map(|q| match &q.wanted {
                Wanted::Image { reference, .. } => reference.clone(),
                Wanted::ClassicChart(c) => format!("{} {} {}", c.repository, c.name, c.version),
            })
            .collect()
    }

    #[test]
    fn plain_list_keeps_lines_and_comments() {
        let (f, r) = parse(
            "l.txt",
            "# c\nreg.example/a:1\n\nreg.example/b@sha256:00 # x\n",
        )
        .unwrap();
        assert_eq!(f, ListFormat::Plain);
        assert_eq!(refs(&r), ["reg.example/a:1", "reg.example/b@sha256:00"]);
        assert_eq!(r[1].origin, "l.txt:4");
    }

    #[test]
    fn hauler_images_and_charts_with_lines() {
        let t = "apiVersion: content.hauler.cattle.io/v1\nkind: Images\nmetadata:\n  name: x\nspec:\n  images:\n    - name: reg.example/a:1\n    - name: reg.example/b:2\n      platform: linux/arm64\n---\napiVersion: content.hauler.cattle.io/v1\nkind: Charts\nspec:\n  charts:\n    - name: podinfo\n      repoURL: https://charts.example/podinfo/\n      version: 6.1.0\n    - name: app\n      repoURL: oci://reg.example/charts\n      version: 1.0.0+b1\n";
        let (f, r) = parse("h.yaml", t).unwrap();
        assert_eq!(f, ListFormat::Hauler);
        assert_eq!(
            refs(&r),
            [
                "reg.example/a:1",
                "reg.example/b:2",
                "https://charts.example/podinfo podinfo 6.1.0",
                "reg.example/charts/app:1.0.0_b1"
            ]
        );
        assert_eq!(r[0].origin, "h.yaml:7 (Hauler Images spec.images[0])");
        assert_eq!(r[2].origin, "h.yaml:15 (Hauler Charts spec.charts[0])");
        assert!(r[3].chart && !r[0].chart);
        assert!(
            matches!(&r[1].wanted, Wanted::Image { platform: Some(p), .. } if p == "linux/arm64")
        );
    }

    #[test]
    fn hauler_files_is_refused_with_its_line() {
        let t = "apiVersion: content.hauler.cattle.io/v1\nkind: Images\nspec:\n  images: []\n---\napiVersion: content.hauler.cattle.io/v1\nkind: Files\nspec:\n  files:\n    - path: https://x/y\n";
        let e = parse("h.yaml", t).unwrap_err().to_string();
        assert!(e.starts_with("h.yaml:7: Hauler kind \"Files\""), "{e}");
    }

    #[test]
    fn zarf_images_and_charts_and_manifests_refused() {
        let t = "kind: ZarfPackageConfig\nmetadata:\n  name: p\ncomponents:\n  - name: web\n    required: true\n    charts:\n      - name: podinfo\n        version: 6.4.0\n        url: oci://ghcr.example/charts/podinfo\n      - name: nginx\n        version: 1.2.3\n        url: https://charts.example\n        repoName: nginx-chart\n    images:\n      - ghcr.example/podinfo:6.4.0\n";
        let (f, r) = parse("zarf.yaml", t).unwrap();
        assert_eq!(f, ListFormat::Zarf);
        assert_eq!(
            refs(&r),
            [
                "ghcr.example/podinfo:6.4.0",
                "ghcr.example/charts/podinfo:6.4.0",
                "https://charts.example nginx-chart 1.2.3"
            ]
        );
        assert_eq!(r[0].origin, "zarf.yaml:16 (Zarf component web images[0])");
        let bad = format!("{t}    manifests:\n      - name: m\n");
        let e = parse("zarf.yaml", &bad).unwrap_err().to_string();
        assert!(
            e.starts_with("zarf.yaml:17: Zarf component \"web\" has `manifests`"),
            "{e}"
        );
    }

    #[test]
    fn aicr_yaml_and_json() {
        let y = "images:\n  - nvcr.example/gpu-operator:v1\ncharts:\n  - name: gpu-operator\n    repository: https://helm.example/nvidia\n    chart: gpu-operator\n    version: v25.3.0\ncomponents:\n  - component: gpu\n    type: Helm\n    images:\n      - nvcr.example/gpu-operator:v1\n      - nvcr.example/driver:550\n";
        let (f, r) = parse("m.yaml", y).unwrap();
        assert_eq!(f, ListFormat::Aicr);
        assert_eq!(
            refs(&r),
            [
                "nvcr.example/gpu-operator:v1",
                "https://helm.example/nvidia gpu-operator v25.3.0",
                "nvcr.example/driver:550"
            ]
        );
        let j = "{\n  \"images\": [\n    \"nvcr.example/a:1\"\n  ],\n  \"charts\": [\n    {\"name\": \"x\", \"repository\": \"oci://reg.example/c\", \"chart\": \"x\", \"version\": \"1\"}\n  ]\n}\n";
        let (f, r) = parse("m.json", j).unwrap();
        assert_eq!(f, ListFormat::Aicr);
        assert_eq!(refs(&r), ["nvcr.example/a:1", "reg.example/c/x:1"]);
        assert_eq!(r[0].origin, "m.json:3 (aicr images[0])");
    }

    #[test]
    fn oc_mirror_and_unsupported_fields() {
        let t = "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  additionalImages:\n    - name: reg.example/a:1\n  helm:\n    repositories:\n      - name: podinfo\n        url: https://charts.example/podinfo\n        charts:\n          - name: podinfo\n            version: 5.0.0\n";
        let (f, r) = parse("isc.yaml", t).unwrap();
        assert_eq!(f, ListFormat::OcMirror);
        assert_eq!(
            refs(&r),
            [
                "reg.example/a:1",
                "https://charts.example/podinfo podinfo 5.0.0"
            ]
        );
        let bad = t.replace("mirror:\n", "mirror:\n  operators:\n    - catalog: x\n");
        let e = parse("isc.yaml", &bad).unwrap_err().to_string();
        assert!(
            e.starts_with("isc.yaml:4: oc-mirror mirror.operators"),
            "{e}"
        );
        let bad = t.replace("mirror:\n", "mirror:\n  platform:\n    channels: []\n");
        let e = parse("isc.yaml", &bad).unwrap_err().to_string();
        assert!(
            e.starts_with("isc.yaml:4: oc-mirror mirror.platform"),
            "{e}"
        );
    }

    #[test]
    fn unknown_document_names_what_is_supported() {
        let e = parse("x.yaml", "apiVersion: v1\nkind: ConfigMap\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.yaml:2: unrecognised document"), "{e}");
        assert!(e.contains("Hauler"), "{e}");
        let e = parse("x.txt", "reg.example/a:1\nnot a ref\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.txt:2:"), "{e}");
    }
}
