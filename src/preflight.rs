//! Preflight: before a workload is deployed in the gap, check that every image it would pull is
//! in the bundle, pinned, and say what to pull instead (`mirror/…@sha256:…`).
//!
//! [`scan`] reads Kubernetes YAML as `kubectl` or `helm template` writes it: several documents per
//! file (`---`), comments, `kind: List`, Pods, the workload controllers (Deployment, StatefulSet,
//! DaemonSet, ReplicaSet, Job, CronJob's `jobTemplate`, ReplicationController, PodTemplate) and
//! any custom resource that embeds a pod spec. Every map that has a `containers` list is a pod
//! spec; its `initContainers`, `containers` and `ephemeralContainers` are read.
//!
//! [`Catalog::check`] compares one image reference with the lock (and the mapping `push`
//! wrote), after Docker Hub normalisation (`busybox:1.36` is `docker.io/library/busybox:1.36`),
//! by source name or by mirrored name:
//! - a repository the bundle does not hold: `image-missing` (reason `not-in-bundle`);
//! - a tag the lock does not pin: `image-missing` (reason `tag-not-pinned`);
//! - a digest other than the lock's: `pin-mismatch` (reason `digest-mismatch`);
//! - held by the bundle but not pushed (absent from the mapping): `image-missing` (reason
//!   `not-mirrored`);
//! - not a valid reference: `image-missing` (reason `invalid-reference`).
//!
//! [`rewrite`] gives the manifest text with every checked image replaced by its digest reference,
//! editing only the image values (comments and layout are kept).
//!
//! Everything here is pure: the caller reads the files (with [`MAX_MANIFEST_BYTES`]) and writes
//! any output.
use std::collections::BTreeMap;

use serde::Serialize;
use serde_yaml::Value;

use crate::lock::Lock;
use crate::mapping::Mapping;
use crate::oci::reference::same_repository;
use crate::oci::{Digest, Reference};
use crate::report::{Code, Finding};

/// Schema name of the JSON output.
pub const PREFLIGHT_SCHEMA: &str = "airlock.preflight/v1";
/// Largest manifest file read (bytes).
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;
/// Most YAML documents in one file.
pub const MAX_DOCUMENTS_PER_FILE: usize = 10_000;
/// Most image references in one run (all files).
pub const MAX_IMAGES: usize = 100_000;
/// Most manifest files in one run.
pub const MAX_FILES: usize = 10_000;
/// Longest image reference string accepted in a manifest.
pub const MAX_IMAGE_LEN: usize = crate::oci::reference::MAX_REFERENCE_LEN;

/// Why the manifests could not be read (the run cannot judge them: exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("{file}: {message}")]
    Manifest { file: String, message: String },
    #[error("{0}")]
    Limit(String),
    #[error("{0}")]
    Input(String),
}

/// One manifest file's text, with the name to show for it.
#[derive(Clone, Debug)]
pub struct ManifestFile {
    pub name: String,
    pub text: String,
}

/// Which list of a pod spec the container is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ContainerList {
    InitContainers,
    Containers,
    EphemeralContainers,
}

impl ContainerList {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerList::InitContainers => "initContainers",
            ContainerList::Containers => "containers",
            ContainerList::EphemeralContainers => "ephemeralContainers",
        }
    }
    /// Short prefix for tables: `init:`, ``, `ephemeral:`.
    fn prefix(self) -> &'static str {
        match self {
            ContainerList::InitContainers => "init:",
            ContainerList::Containers => "",
            ContainerList::EphemeralContainers => "ephemeral:",
        }
    }
}

/// Where one image reference appears.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageUse {
    pub file: String,
    /// Position of the YAML document in the file, from 1.
    pub document: usize,
    /// Line of the `image:` value in the file, from 1, when it could be found in the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The object holding the pod spec (`Deployment`, or the item of a `List`).
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub container_list: ContainerList,
    pub container: String,
    /// YAML path of the container inside the document (`spec.template.spec.containers[0]`).
    pub path: String,
    /// The image as written (empty when the container has no image string).
    pub image: String,
}

impl ImageUse {
    /// `chart.yaml:3` (document) or `chart.yaml:45` (line), for messages.
    pub fn location(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.file),
            None => format!("{} (document {})", self.file, self.document),
        }
    }
    /// `Deployment default/web container app`, for messages.
    pub fn object(&self) -> String {
        let ns = self
            .namespace
            .as_deref()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        format!(
            "{} {ns}{} {}container {}",
            self.kind,
            self.name,
            self.container_list.prefix(),
            self.container
        )
    }
}

/// The outcome for one image reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    #[serde(flatten)]
    pub at: ImageUse,
    /// `pass` or `fail`.
    pub result: &'static str,
    /// The lock entry it resolved to (`ref` as captured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The digest the cluster must pull.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// The reference to use instead: `<mirrored repository>@<digest>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<String>,
    /// Why it failed: `not-in-bundle`, `tag-not-pinned`, `digest-mismatch`, `not-mirrored`,
    /// `invalid-reference`, `mapping-mismatch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<Finding>,
    /// A remark on a passing image (e.g. a platform manifest digest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Counts for the summary line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub files: usize,
    pub objects: usize,
    pub images: usize,
    pub passed: usize,
    pub failed: usize,
}

/// The whole result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PreflightReport {
    pub schema: &'static str,
    /// `pass` or `fail`.
    pub result: &'static str,
    pub lock: String,
    pub mapping: Option<String>,
    pub images: Vec<Checked>,
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    pub summary: Summary,
}

impl PreflightReport {
    pub fn passed(&self) -> bool {
        self.result == "pass"
    }
}

// ---------------------------------------------------------------------------------------------
// Reading manifests

/// One YAML document of a file: its text and where it starts.
struct Chunk<'t> {
    /// Position in the file, from 1 (empty documents count).
    index: usize,
    /// Line of the chunk's first line in the file, from 1.
    first_line: usize,
    text: &'t str,
}

/// Split a file at `---` lines (a document marker starts at column 0). Content after the marker
/// on the same line (`--- {a: 1}`) is refused rather than dropped: the error is the line number.
fn split_documents(text: &str) -> Result<Vec<Chunk<'_>>, usize> {
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut offset = 0usize;
    for (line_no, line) in (1usize..).zip(text.split_inclusive('\n')) {
        let bare = line.trim_end_matches(['\n', '\r']);
        let marker = ["---", "..."].iter().find(|m| {
            bare.starts_with(**m) && (bare.len() == 3 || bare[3..].starts_with([' ', '\t']))
        });
        if marker.is_some() {
            let rest = bare[3..].trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                return Err(line_no);
            }
            chunks.push((start, offset, start_line));
            start = offset + line.len();
            start_line = line_no + 1;
        }
        offset += line.len();
    }
    chunks.push((start, text.len(), start_line));
    let mut out = Vec::new();
    for (i, (s, e, l)) in chunks.into_iter().enumerate() {
        out.push(Chunk {
            index: i + 1,
            first_line: l,
            text: &text[s..e],
        });
    }
    // A leading `---` (as `helm template` writes) gives an empty or comment-only first chunk:
    // drop it, so documents count from the first one after it.
    let blank = |t: &str| {
        t.lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    };
    if out.len() > 1 && blank(out[0].text) {
        out.remove(0);
        for (i, c) in out.iter_mut().enumerate() {
            c.index = i + 1;
        }
    }
    Ok(out)
}

/// Find every image reference in the files.
pub fn scan(files: &[ManifestFile]) -> Result<(Vec<ImageUse>, Summary), PreflightError> {
    if files.len() > MAX_FILES {
        return Err(PreflightError::Limit(format!(
            "{} manifest files, over the limit of {MAX_FILES}; check fewer at a time",
            files.len()
        )));
    }
    let mut uses = Vec::new();
    let mut objects = 0usize;
    for f in files {
        if f.text.len() > MAX_MANIFEST_BYTES {
            return Err(PreflightError::Manifest {
                file: f.name.clone(),
                message: format!(
                    "the file is {} bytes, over the {MAX_MANIFEST_BYTES}-byte limit for one \
                     manifest file; split it",
                    f.text.len()
                ),
            });
        }
        let chunks = split_documents(&f.text).map_err(|line| PreflightError::Manifest {
            file: format!("{}:{line}", f.name),
            message: "content after the `---` document marker on the same line; expected the \
                      document to start on the next line (move it there)"
                .to_string(),
        })?;
        if chunks.len() > MAX_DOCUMENTS_PER_FILE {
            return Err(PreflightError::Manifest {
                file: f.name.clone(),
                message: format!(
                    "{} YAML documents, over the limit of {MAX_DOCUMENTS_PER_FILE} per file; \
                     split the file",
                    chunks.len()
                ),
            });
        }
        for chunk in &chunks {
            let value = parse_chunk(&f.name, chunk)?;
            let mut found = Vec::new();
            let mut walker = Walker {
                file: &f.name,
                document: chunk.index,
                out: &mut found,
                objects: &mut objects,
            };
            walker.walk(&value, &Context::default(), "");
            locate_lines(chunk, &mut found);
            uses.extend(found);
            if uses.len() > MAX_IMAGES {
                return Err(PreflightError::Limit(format!(
                    "more than {MAX_IMAGES} image references; check fewer manifests at a time"
                )));
            }
        }
    }
    let summary = Summary {
        files: files.len(),
        objects,
        images: uses.len(),
        passed: 0,
        failed: 0,
    };
    Ok((uses, summary))
}

fn parse_chunk(file: &str, chunk: &Chunk<'_>) -> Result<Value, PreflightError> {
    if chunk.text.trim().is_empty() {
        return Ok(Value::Null);
    }
    if let Err(e) = crate::yamldepth::check_yaml_depth(chunk.text) {
        return Err(PreflightError::Manifest {
            file: format!("{file}:{}:{}", chunk.first_line + e.line - 1, e.column),
            message: format!(
                "document {}: {}; expected Kubernetes manifests (this is not what a tool \
                 renders: check the file)",
                chunk.index,
                e.problem()
            ),
        });
    }
    serde_yaml::from_str::<Value>(chunk.text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", chunk.first_line + l.line() - 1, l.column()))
            .unwrap_or_default();
        let mut msg = e.to_string();
        if let Some(l) = e.location() {
            let suffix = format!(" at line {} column {}", l.line(), l.column());
            msg = msg.replace(&suffix, "");
        }
        PreflightError::Manifest {
            file: format!("{file}{at}"),
            message: format!(
                "document {} is not valid YAML ({msg}); expected Kubernetes manifests (fix the \
                 file, or render the chart with `helm template` first)",
                chunk.index
            ),
        }
    })
}

/// The object a pod spec belongs to.
#[derive(Clone, Debug, Default)]
struct Context {
    kind: String,
    name: String,
    namespace: Option<String>,
}

struct Walker<'a> {
    file: &'a str,
    document: usize,
    out: &'a mut Vec<ImageUse>,
    objects: &'a mut usize,
}

fn str_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

impl Walker<'_> {
    fn walk(&mut self, v: &Value, ctx: &Context, path: &str) {
        match v {
            Value::Mapping(m) => {
                let mut ctx = ctx.clone();
                if let Some(kind) = str_at(v, "kind") {
                    if v.get("apiVersion").is_some() || v.get("metadata").is_some() {
                        let meta = v.get("metadata");
                        ctx = Context {
                            kind: kind.to_string(),
                            name: meta
                                .and_then(|m| str_at(m, "name"))
                                .or_else(|| meta.and_then(|m| str_at(m, "generateName")))
                                .unwrap_or("?")
                                .to_string(),
                            namespace: meta
                                .and_then(|m| str_at(m, "namespace"))
                                .map(str::to_string),
                        };
                        if kind != "List" && !kind.ends_with("List") {
                            *self.objects += 1;
                        }
                    }
                }
                let is_pod_spec = matches!(v.get("containers"), Some(Value::Sequence(_)));
                for (k, child) in m {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => serde_yaml::to_string(other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    };
                    let child_path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    let list = match key.as_str() {
                        "initContainers" => Some(ContainerList::InitContainers),
                        "containers" => Some(ContainerList::Containers),
                        "ephemeralContainers" => Some(ContainerList::EphemeralContainers),
                        _ => None,
                    };
                    match (is_pod_spec, list, child) {
                        (true, Some(list), Value::Sequence(items)) => {
                            self.containers(list, items, &ctx, &child_path);
                        }
                        _ => self.walk(child, &ctx, &child_path),
                    }
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk(item, ctx, &format!("{path}[{i}]"));
                }
            }
            Value::Tagged(t) => self.walk(&t.value, ctx, path),
            _ => {}
        }
    }

    fn containers(&mut self, list: ContainerList, items: &[Value], ctx: &Context, path: &str) {
        for (i, c) in items.iter().enumerate() {
            let name = str_at(c, "name").unwrap_or("?").to_string();
            let image = match c.get("image") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => serde_yaml::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            };
            self.out.push(ImageUse {
                file: self.file.to_string(),
                document: self.document,
                line: None,
                kind: if ctx.kind.is_empty() {
                    "?".to_string()
                } else {
                    ctx.kind.clone()
                },
                name: if ctx.name.is_empty() {
                    "?".to_string()
                } else {
                    ctx.name.clone()
                },
                namespace: ctx.namespace.clone(),
                container_list: list,
                container: name,
                path: format!("{path}[{i}]"),
                image,
            });
        }
    }
}

/// An `image:` value on one line of text: the byte range of the value and the value itself.
struct ImageLine {
    start: usize,
    end: usize,
    value: String,
}

/// Parse `[indent][- ]image: value [# comment]` (also `"image": "value",` as in JSON). Values
/// in double quotes with escapes, flow mappings and multi-line values are not recognised.
fn image_line(line: &str) -> Option<ImageLine> {
    let body_start = line.len() - line.trim_start().len();
    let mut rest = &line[body_start..];
    let mut pos = body_start;
    while let Some(after) = rest.strip_prefix("- ") {
        let skipped = rest.len() - after.trim_start().len();
        pos += skipped;
        rest = after.trim_start();
    }
    let key_len = ["image:", "\"image\":", "'image':"]
        .iter()
        .find(|k| rest.starts_with(**k))
        .map(|k| k.len())?;
    pos += key_len;
    rest = &rest[key_len..];
    let ws = rest.len() - rest.trim_start().len();
    if ws == 0 && !rest.is_empty() {
        return None;
    }
    pos += ws;
    rest = &rest[ws..];
    let (start, end, value) = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let close = rest[1..].find(q)? + 1;
            let inner = &rest[1..close];
            if (q == '"' && inner.contains('\\'))
                || (q == '\'' && rest[close + 1..].starts_with('\''))
            {
                return None;
            }
            (pos + 1, pos + close, inner.to_string())
        }
        Some(_) => {
            let v_end = rest.find(" #").unwrap_or(rest.len());
            let v = rest[..v_end].trim_end_matches(['\r', '\n']).trim_end();
            if v.is_empty() || v.starts_with(['{', '[', '&', '*', '|', '>', '!']) {
                return None;
            }
            (pos, pos + v.len(), v.to_string())
        }
        None => return None,
    };
    Some(ImageLine { start, end, value })
}

/// Fill in `line` for each use: the n-th use of an image in a document is the n-th `image:` line
/// with that value.
fn locate_lines(chunk: &Chunk<'_>, uses: &mut [ImageUse]) {
    let mut lines: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, line) in chunk.text.lines().enumerate() {
        if let Some(il) = image_line(line) {
            lines
                .entry(il.value)
                .or_default()
                .push(chunk.first_line + i);
        }
    }
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    for u in uses.iter_mut() {
        let n = taken.entry(u.image.clone()).or_insert(0);
        u.line = lines.get(&u.image).and_then(|v| v.get(*n)).copied();
        *n += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Checking against the lock

/// One lock entry, with where it was pushed.
#[derive(Clone, Debug)]
struct Entry {
    /// The lock's `ref`.
    source: String,
    source_repository: String,
    tag: Option<String>,
    digest: Digest,
    platform_digests: Vec<(String, Digest)>,
    /// The mirrored repository (`None` when not in the mapping).
    target_repository: Option<String>,
    /// The mapping names another digest for this source.
    mapping_digest: Option<Digest>,
}

/// What the bundle holds, indexed for [`Catalog::check`].
#[derive(Clone, Debug)]
pub struct Catalog {
    entries: Vec<Entry>,
    mapped: bool,
    /// Source references that are in the bundle but did not pass verification (a verdict was
    /// given): a workload using one fails with `image-unverified`.
    unverified: std::collections::BTreeSet<String>,
}

impl Catalog {
    /// Index the lock and, when given, the mapping written by `push`.
    pub fn new(lock: &Lock, mapping: Option<&Mapping>) -> Catalog {
        let mut entries = Vec::new();
        for li in &lock.images {
            let parsed = Reference::parse(&li.r#ref).ok();
            let source_repository = parsed
                .as_ref()
                .map(|r| r.repository())
                .unwrap_or_else(|| li.repository.clone());
            // `repo:tag@digest` pins the tag; `repo@digest` has none; `repo` alone is `latest`.
            let tag = parsed.as_ref().and_then(|r| r.tag().map(str::to_string));
            let (target_repository, mapping_digest) = match mapping {
                None => (None, None),
                Some(m) => {
                    let e = m.by_source(&li.r#ref).or_else(|| {
                        m.images.iter().find(|e| {
                            e.digest == li.digest
                                && same_repository(&e.source_repository, &source_repository)
                        })
                    });
                    match e {
                        Some(e) if e.digest != li.digest => {
                            (Some(e.target_repository.clone()), Some(e.digest.clone()))
                        }
                        Some(e) => (Some(e.target_repository.clone()), None),
                        None => (None, None),
                    }
                }
            };
            entries.push(Entry {
                source: li.r#ref.clone(),
                source_repository,
                tag,
                digest: li.digest.clone(),
                platform_digests: li
                    .platforms
                    .iter()
                    .filter(|p| p.captured)
                    .map(|p| (p.platform.clone(), p.digest.clone()))
                    .collect(),
                target_repository,
                mapping_digest,
            });
        }
        entries.sort_by(|a, b| a.source.cmp(&b.source));
        Catalog {
            entries,
            mapped: mapping.is_some(),
            unverified: Default::default(),
        }
    }

    /// Hold the catalog to a verdict: only these source references passed.
    pub fn with_verdict(mut self, passed: &std::collections::BTreeSet<String>) -> Catalog {
        self.unverified = self
            .entries
            .iter()
            .filter(|e| !passed.contains(&e.source))
            .map(|e| e.source.clone())
            .collect();
        self
    }

    /// Check one image reference as written in a manifest: in the bundle, pinned, mirrored, and
    /// (with a verdict) passed.
    pub fn check(&self, at: ImageUse) -> Checked {
        let mut c = self.check_listed(at);
        if c.result == "pass" {
            if let Some(src) = c.source.clone().filter(|s| self.unverified.contains(s)) {
                let where_ = format!("{} ({})", c.at.location(), c.at.object());
                c.result = "fail";
                c.rewrite = None;
                c.reason = Some("not-verified");
                c.finding = Some(Finding::error(
                    Code::ImageUnverified,
                    c.at.image.clone(),
                    format!(
                        "{where_}: {} resolves to {src}, which is in the bundle but did not pass verification",
                        c.at.image
                    ),
                ));
            }
        }
        c
    }

    fn check_listed(&self, at: ImageUse) -> Checked {
        let image = at.image.clone();
        let fail =
            |at: ImageUse, reason: &'static str, code: Code, message: String, hint: String| {
                let subject = at.image.clone();
                let mut finding = Finding::error(code, subject, message);
                finding.hint = hint;
                Checked {
                    at,
                    result: "fail",
                    source: None,
                    digest: None,
                    rewrite: None,
                    reason: Some(reason),
                    finding: Some(finding),
                    note: None,
                }
            };
        let where_ = format!("{} ({})", at.location(), at.object());
        if image.is_empty() || image.len() > MAX_IMAGE_LEN {
            let message = format!(
                "{where_}: expected an image reference, found {}",
                if image.is_empty() {
                    "none".to_string()
                } else {
                    format!("{} characters", image.len())
                }
            );
            return fail(
                at,
                "invalid-reference",
                Code::ImageMissing,
                message,
                "set the container's image (check the chart values)".into(),
            );
        }
        let r = match Reference::parse(&image) {
            Ok(r) => r,
            Err(e) => {
                let message = format!("{where_}: {e}");
                return fail(
                    at,
                    "invalid-reference",
                    Code::ImageMissing,
                    message,
                    "write the image as registry/repository[:tag][@sha256:…] (check the chart \
                     values)"
                        .into(),
                );
            }
        };
        let repo = r.repository();
        // By source name first; by mirrored name when no source matches.
        let mut candidates: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| same_repository(&e.source_repository, &repo))
            .collect();
        if candidates.is_empty() {
            candidates = self
                .entries
                .iter()
                .filter(|e| {
                    e.target_repository
                        .as_deref()
                        .is_some_and(|t| same_repository(t, &repo))
                })
                .collect();
        }
        if candidates.is_empty() {
            let message = format!(
                "{where_}: {image} is not in the bundle: the lock holds no image of {repo} \
                 (compared by source and by mirrored name)"
            );
            return fail(
                at,
                "not-in-bundle",
                Code::ImageMissing,
                message,
                "add the image to the capture list on the connected side, capture, verify and \
                 push again; or fix the image name"
                    .into(),
            );
        }
        // The entry the reference resolves to, and the digest the cluster would pull.
        let (entry, digest, note) = match r.digest() {
            Some(d) => {
                if let Some(tag) = r.tag() {
                    if let Some(e) = candidates
                        .iter()
                        .find(|e| e.tag.as_deref() == Some(tag) && &e.digest != d)
                    {
                        let message = format!(
                            "{where_}: {image} names {d}, but the lock pins {}:{tag} to {}",
                            repo, e.digest
                        );
                        return fail(
                            at,
                            "digest-mismatch",
                            Code::PinMismatch,
                            message,
                            format!("use {}@{}, or capture the digest you meant", repo, e.digest),
                        );
                    }
                }
                if let Some(e) = candidates.iter().find(|e| &e.digest == d) {
                    (*e, d.clone(), None)
                } else if let Some((e, platform)) = candidates.iter().find_map(|e| {
                    e.platform_digests
                        .iter()
                        .find(|(_, pd)| pd == d)
                        .map(|(p, _)| (*e, p.clone()))
                }) {
                    (
                        e,
                        d.clone(),
                        Some(format!(
                            "{d} is the {platform} manifest of {} ({}); signatures are on the \
                             index digest, so admission that checks signatures needs the index",
                            e.source, e.digest
                        )),
                    )
                } else {
                    let pinned: Vec<String> = candidates
                        .iter()
                        .map(|e| format!("{} ({})", e.digest, e.source))
                        .collect();
                    let message = format!(
                        "{where_}: {image} names digest {d}, but the lock pins {repo} only at {}",
                        pinned.join(", ")
                    );
                    return fail(
                        at,
                        "digest-mismatch",
                        Code::PinMismatch,
                        message,
                        "use a digest the lock pins (see the rewrite of a passing reference), or \
                         capture the image at the digest you meant"
                            .into(),
                    );
                }
            }
            None => {
                let tag = r.tag().unwrap_or("latest");
                let tagged: Vec<&&Entry> = candidates
                    .iter()
                    .filter(|e| e.tag.as_deref() == Some(tag))
                    .collect();
                let mut digests: Vec<&Digest> = tagged.iter().map(|e| &e.digest).collect();
                digests.sort();
                digests.dedup();
                match (tagged.first(), digests.len()) {
                    (Some(e), 1) => (**e, e.digest.clone(), None),
                    (Some(_), _) => {
                        let message = format!(
                            "{where_}: {image} is ambiguous: the lock pins {repo}:{tag} to \
                             several digests ({})",
                            digests
                                .iter()
                                .map(|d| d.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                        return fail(
                            at,
                            "digest-mismatch",
                            Code::PinMismatch,
                            message,
                            "reference the image by digest".into(),
                        );
                    }
                    (None, _) => {
                        let mut pinned: Vec<String> = candidates
                            .iter()
                            .map(|e| match &e.tag {
                                Some(t) => format!("{t} ({})", e.digest.short()),
                                None => format!("{} (no tag)", e.digest.short()),
                            })
                            .collect();
                        pinned.sort();
                        pinned.dedup();
                        let message = format!(
                            "{where_}: {image} uses tag {tag:?}, which the lock does not pin for \
                             {repo}; pinned: {}",
                            pinned.join(", ")
                        );
                        return fail(
                            at,
                            "tag-not-pinned",
                            Code::ImageMissing,
                            message,
                            "use a pinned tag or the digest (airlock preflight --rewrite-dir \
                             writes the manifests with digests), or capture this tag"
                                .into(),
                        );
                    }
                }
            }
        };
        if let Some(md) = &entry.mapping_digest {
            let message = format!(
                "{where_}: the mapping says {} was pushed as {md}, but the lock pins {}",
                entry.source, entry.digest
            );
            return fail(
                at,
                "mapping-mismatch",
                Code::PinMismatch,
                message,
                "use the mapping written by `airlock push` for this lock, or push again".into(),
            );
        }
        let target = match (&entry.target_repository, self.mapped) {
            (Some(t), _) => t.clone(),
            (None, false) => entry.source_repository.clone(),
            (None, true) => {
                let message = format!(
                    "{where_}: {image} is in the bundle ({} {}) but not in the mapping, so it \
                     was not pushed to the private registry",
                    entry.source, entry.digest
                );
                return fail(
                    at,
                    "not-mirrored",
                    Code::ImageMissing,
                    message,
                    "push the bundle again (airlock push DIR HOST[/PREFIX]) and use its mapping"
                        .into(),
                );
            }
        };
        Checked {
            at,
            result: "pass",
            source: Some(entry.source.clone()),
            rewrite: Some(format!("{target}@{digest}")),
            digest: Some(digest),
            reason: None,
            finding: None,
            note,
        }
    }
}

/// Check every use and build the report.
pub fn check_all(
    catalog: &Catalog,
    uses: Vec<ImageUse>,
    mut summary: Summary,
    lock: &str,
    mapping: Option<&str>,
) -> PreflightReport {
    let mut images: Vec<Checked> = uses.into_iter().map(|u| catalog.check(u)).collect();
    images.sort_by(|a, b| {
        (
            a.at.file.as_str(),
            a.at.document,
            a.at.line,
            a.at.path.as_str(),
        )
            .cmp(&(
                b.at.file.as_str(),
                b.at.document,
                b.at.line,
                b.at.path.as_str(),
            ))
    });
    let findings: Vec<Finding> = images.iter().filter_map(|c| c.finding.clone()).collect();
    summary.failed = images.iter().filter(|c| c.result == "fail").count();
    summary.passed = images.len() - summary.failed;
    let mut notes = Vec::new();
    if mapping.is_none() {
        notes.push(
            "no mapping file: rewrites use the SOURCE repositories; run `airlock push` (it \
             writes airlock.mapping.json beside the lock) or give --mapping FILE for the mirrored \
             names"
                .to_string(),
        );
    }
    if images.is_empty() {
        notes.push("no container image found in the manifests".to_string());
    }
    PreflightReport {
        schema: PREFLIGHT_SCHEMA,
        result: if summary.failed == 0 { "pass" } else { "fail" },
        lock: lock.to_string(),
        mapping: mapping.map(str::to_string),
        images,
        findings,
        notes,
        summary,
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// The report as pretty JSON (with a final newline).
pub fn render_json(report: &PreflightReport) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
    s.push('\n');
    s
}

/// The report as a table, then the findings and a summary line.
pub fn render_text(report: &PreflightReport) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "WHERE".into(),
        "OBJECT / CONTAINER".into(),
        "IMAGE".into(),
        "RESULT".into(),
        "PULL AS".into(),
    ]];
    for c in &report.images {
        let object = format!(
            "{}/{} {}{}",
            c.at.kind,
            c.at.name,
            c.at.container_list.prefix(),
            c.at.container
        );
        let result = match c.reason {
            Some(r) => format!("FAIL {r}"),
            None => "ok".into(),
        };
        rows.push([
            c.at.location(),
            object,
            if c.at.image.is_empty() {
                "(none)".into()
            } else {
                c.at.image.clone()
            },
            result,
            c.rewrite.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                for _ in cell.chars().count()..widths[i] + 2 {
                    line.push(' ');
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if !report.findings.is_empty() {
        out.push('\n');
        for f in &report.findings {
            out.push_str(&format!("error {}: {}\n", f.code, f.message));
            if !f.hint.is_empty() {
                out.push_str(&format!("  hint: {}\n", f.hint));
            }
        }
    }
    for c in &report.images {
        if let Some(n) = &c.note {
            out.push_str(&format!("note: {}: {n}\n", c.at.location()));
        }
    }
    for n in &report.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    let s = &report.summary;
    out.push_str(&format!(
        "\n{}: {} image reference(s) in {} object(s), {} file(s): {} ok, {} failed\n",
        if report.passed() { "PASS" } else { "FAIL" },
        s.images,
        s.objects,
        s.files,
        s.passed,
        s.failed
    ));
    out
}

// ---------------------------------------------------------------------------------------------
// Rewriting

/// The file's text with every checked image replaced by its rewrite, or `None` when a document
/// could not be edited in place (then that document is re-serialised; `notes` says which).
///
/// Only images that passed are rewritten; the caller decides whether to write at all when some
/// failed.
pub fn rewrite(file: &ManifestFile, report: &PreflightReport, notes: &mut Vec<String>) -> String {
    let Ok(chunks) = split_documents(&file.text) else {
        return file.text.clone();
    };
    // document index -> (image -> replacement), and how many uses to replace.
    let mut wanted: BTreeMap<usize, Vec<(&str, &str)>> = BTreeMap::new();
    for c in &report.images {
        if c.at.file != file.name {
            continue;
        }
        if let Some(rw) = &c.rewrite {
            wanted
                .entry(c.at.document)
                .or_default()
                .push((c.at.image.as_str(), rw.as_str()));
        }
    }
    let mut out = String::with_capacity(file.text.len());
    let mut pos = 0usize;
    for chunk in &chunks {
        let start = chunk.text.as_ptr() as usize - file.text.as_ptr() as usize;
        out.push_str(&file.text[pos..start]);
        pos = start + chunk.text.len();
        let Some(list) = wanted.get(&chunk.index) else {
            out.push_str(chunk.text);
            continue;
        };
        let map: BTreeMap<&str, &str> = list.iter().copied().collect();
        let mut edited = String::with_capacity(chunk.text.len());
        let mut replaced = 0usize;
        for line in chunk.text.split_inclusive('\n') {
            match image_line(line) {
                Some(il) if map.contains_key(il.value.as_str()) => {
                    edited.push_str(&line[..il.start]);
                    edited.push_str(map.get(il.value.as_str()).copied().unwrap_or_default());
                    edited.push_str(&line[il.end..]);
                    replaced += 1;
                }
                _ => edited.push_str(line),
            }
        }
        if replaced >= list.len() {
            out.push_str(&edited);
        } else {
            out.push_str(&reserialise(chunk.text, &map).unwrap_or_else(|| edited.clone()));
            notes.push(format!(
                "{} document {}: image values not written as `image: value` lines; the document \
                 was re-serialised (comments in it are lost)",
                file.name, chunk.index
            ));
        }
    }
    out.push_str(&file.text[pos..]);
    out
}

/// Re-serialise one document with the image values replaced.
fn reserialise(text: &str, map: &BTreeMap<&str, &str>) -> Option<String> {
    let mut value: Value = serde_yaml::from_str(text).ok()?;
    replace_images(&mut value, map, false);
    serde_yaml::to_string(&value).ok()
}

fn replace_images(v: &mut Value, map: &BTreeMap<&str, &str>, in_container: bool) {
    match v {
        Value::Mapping(m) => {
            let pod_spec = matches!(m.get("containers"), Some(Value::Sequence(_)));
            for (k, child) in m.iter_mut() {
                let key = k.as_str().unwrap_or_default();
                if in_container && key == "image" {
                    if let Value::String(s) = child {
                        if let Some(new) = map.get(s.as_str()) {
                            *s = (*new).to_string();
                        }
                    }
                    continue;
                }
                let is_list = pod_spec
                    && matches!(key, "containers" | "initContainers" | "ephemeralContainers");
                if is_list {
                    if let Value::Sequence(items) = child {
                        for item in items {
                            replace_images(item, map, true);
                        }
                    }
                } else {
                    replace_images(child, map, false);
                }
            }
        }
        Value::Sequence(items) => {
            for item in items {
                replace_images(item, map, false);
            }
        }
        Value::Tagged(t) => replace_images(&mut t.value, map, in_container),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_lines_are_recognised() {
        let l = image_line("      image: busybox:1.36 # pinned").unwrap();
        assert_eq!(l.value, "busybox:1.36");
        let l = image_line("  - image: \"nginx:1.25\"").unwrap();
        assert_eq!(l.value, "nginx:1.25");
        assert_eq!(&"  - image: \"nginx:1.25\""[l.start..l.end], "nginx:1.25");
        let l = image_line("    \"image\": \"quay.io/a/b:1\",").unwrap();
        assert_eq!(l.value, "quay.io/a/b:1");
        assert!(image_line("    imagePullPolicy: Always").is_none());
        assert!(image_line("    image: {name: x}").is_none());
        assert!(image_line("    image:").is_none());
        assert!(image_line("    myimage: x").is_none());
    }

    #[test]
    fn documents_split_at_markers_with_line_numbers() {
        let text = "# c\n---\na: 1\n---\n\n---\nb: 2\n";
        let chunks = split_documents(text).unwrap();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0].text, "a: 1\n");
        assert_eq!(chunks[0].first_line, 3);
        assert_eq!(chunks[2].text, "b: 2\n");
        assert_eq!(chunks[2].first_line, 7);
        assert_eq!(split_documents("a: 1\n--- {b: 2}\n").err(), Some(2));
        assert_eq!(split_documents("---  # c\nb: 2\n").unwrap().len(), 1);
    }
}
