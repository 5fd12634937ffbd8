//! `inspect`: the tree of what a bundle holds (like `cosign tree`, for the whole bundle).
use std::fmt::Write;

use serde::Serialize;

use crate::lock::parse_attachment_tag;
use crate::oci::manifest::ANNOTATION_REF_NAME;
use crate::oci::Digest;
use crate::view::BundleView;

#[derive(Debug, Serialize)]
pub struct Node {
    pub kind: String,
    pub digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Exact bytes of this node's content in the bundle: the manifest, its config and layers
    /// (for an index: the index and its children present in the bundle). Attachments count on
    /// their own nodes. `None` when the manifest is not in the bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
}

/// Bytes of a manifest and what it references (see [`Node::size`]); indexes nest at most
/// `depth` levels.
fn content_size(view: &BundleView, d: &Digest, depth: usize) -> Option<u64> {
    let m = view.manifests.get(d)?;
    let mut total = m.size();
    for b in m.blob_descriptors() {
        total = total.saturating_add(b.size);
    }
    if depth < 4 {
        for c in m.child_descriptors() {
            total = total.saturating_add(content_size(view, &c.digest, depth + 1).unwrap_or(0));
        }
    }
    Some(total)
}

/// `1.5 MiB`-style size for people (JSON has exact bytes).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Most nodes one `inspect` tree may hold (a crafted bundle can make the tree of shared
/// attachments grow exponentially; past this, `inspect` stops with `limit-exceeded`).
pub const MAX_INSPECT_NODES: usize = 1_000_000;
/// Memory budget for the strings of one `inspect` tree.
pub const MAX_INSPECT_BYTES: usize = 256 * 1024 * 1024;
/// Deepest attachment nesting shown (a signature of a signature of ...).
const MAX_ATTACHMENT_DEPTH: usize = 4;

/// The tree would exceed [`MAX_INSPECT_NODES`] or [`MAX_INSPECT_BYTES`].
#[derive(Debug, thiserror::Error)]
#[error(
    "limit-exceeded: the bundle's tree would exceed {what}; a bundle this shape is not what \
     capture writes (check it with `airlock verify`)"
)]
pub struct InspectLimit {
    pub what: String,
}

/// Attachments by subject, built once (so the tree costs O(entries), not O(entries²)).
struct Index<'v> {
    /// Subject -> (entry, kind, name) from cosign-style tags.
    tagged: std::collections::HashMap<Digest, Vec<(usize, crate::lock::AttachmentKind, &'v str)>>,
    /// Subject -> referrer manifests (by their `subject` field).
    referrers: std::collections::HashMap<Digest, Vec<&'v Digest>>,
    nodes: usize,
    bytes: usize,
}

impl<'v> Index<'v> {
    fn new(view: &'v BundleView) -> Index<'v> {
        let mut tagged: std::collections::HashMap<_, Vec<_>> = Default::default();
        for (i, e) in view.entries.iter().enumerate() {
            let Some(name) = e.annotation(ANNOTATION_REF_NAME) else {
                continue;
            };
            let tag = name.rsplit(['/', ':']).next().unwrap_or(name);
            let Some((s, kind)) = parse_attachment_tag(tag) else {
                continue;
            };
            if matches!(kind, crate::lock::AttachmentKind::ReferrersIndex) {
                continue;
            }
            tagged.entry(s).or_default().push((i, kind, name));
        }
        let mut referrers: std::collections::HashMap<_, Vec<_>> = Default::default();
        for (d, m) in &view.manifests {
            if let Some(s) = m.subject() {
                referrers.entry(s.digest.clone()).or_default().push(d);
            }
        }
        Index {
            tagged,
            referrers,
            nodes: 0,
            bytes: 0,
        }
    }

    fn node(&mut self, n: Node) -> Result<Node, InspectLimit> {
        self.nodes += 1;
        self.bytes += 128
            + n.kind.len()
            + n.digest.len()
            + n.name.as_ref().map_or(0, String::len)
            + n.details.iter().map(String::len).sum::<usize>();
        if self.nodes > MAX_INSPECT_NODES {
            return Err(InspectLimit {
                what: format!("{MAX_INSPECT_NODES} nodes"),
            });
        }
        if self.bytes > MAX_INSPECT_BYTES {
            return Err(InspectLimit {
                what: format!("the {MAX_INSPECT_BYTES}-byte memory budget"),
            });
        }
        Ok(n)
    }
}

fn attachments_of(
    view: &BundleView,
    ix: &mut Index<'_>,
    subject: &Digest,
    path: &mut Vec<Digest>,
) -> Result<Vec<Node>, InspectLimit> {
    let mut out = Vec::new();
    // Depth limit, and no cycles (an attachment whose subject is itself or an ancestor).
    if path.len() > MAX_ATTACHMENT_DEPTH || path.contains(subject) {
        return Ok(out);
    }
    path.push(subject.clone());
    let tagged = ix.tagged.get(subject).cloned().unwrap_or_default();
    for (i, kind, name) in tagged {
        let e = &view.entries[i];
        let mut details = Vec::new();
        if let Some(m) = view.manifests.get(&e.digest) {
            for l in m.layers() {
                let mut d = l.media_type.clone();
                if let Some(p) = l.annotation("predicateType") {
                    d.push_str(&format!(" predicateType={p}"));
                }
                details.push(d);
            }
        }
        let children = attachments_of(view, ix, &e.digest, path)?;
        out.push(ix.node(Node {
            kind: format!("{kind:?}").to_lowercase(),
            digest: e.digest.to_string(),
            name: Some(name.to_string()),
            size: content_size(view, &e.digest, 0),
            details,
            children,
        })?);
    }
    let referrers = ix.referrers.get(subject).cloned().unwrap_or_default();
    for d in referrers {
        let Some(m) = view.manifests.get(d) else {
            continue;
        };
        let details = vec![format!("artifactType={}", m.artifact_type().unwrap_or("?"))];
        let children = attachments_of(view, ix, d, path)?;
        out.push(ix.node(Node {
            kind: "referrer".into(),
            digest: d.to_string(),
            name: None,
            size: content_size(view, d, 0),
            details,
            children,
        })?);
    }
    path.pop();
    Ok(out)
}

/// Build the tree of roots → platforms → attachments, within [`MAX_INSPECT_NODES`] and
/// [`MAX_INSPECT_BYTES`].
pub fn tree(view: &BundleView) -> Result<Vec<Node>, InspectLimit> {
    let mut ix = Index::new(view);
    let mut roots = Vec::new();
    for e in &view.entries {
        let name = e.annotation(ANNOTATION_REF_NAME).map(str::to_string);
        if let Some(n) = &name {
            let tag = n.rsplit(['/', ':']).next().unwrap_or(n);
            if parse_attachment_tag(tag).is_some() {
                continue;
            }
        }
        if view
            .manifests
            .get(&e.digest)
            .is_some_and(|m| m.subject().is_some())
        {
            continue;
        }
        let mut children = Vec::new();
        let mut path = vec![e.digest.clone()];
        if let Some(m) = view.manifests.get(&e.digest) {
            for c in m.child_descriptors() {
                let present = view.manifests.contains_key(&c.digest);
                let grandchildren = attachments_of(view, &mut ix, &c.digest, &mut path)?;
                children.push(ix.node(Node {
                    kind: "platform".into(),
                    digest: c.digest.to_string(),
                    name: c.platform.as_ref().map(|p| p.to_string()),
                    size: content_size(view, &c.digest, 1),
                    details: if present {
                        vec![]
                    } else {
                        vec!["not in bundle".into()]
                    },
                    children: grandchildren,
                })?);
            }
        }
        path.clear();
        children.extend(attachments_of(view, &mut ix, &e.digest, &mut path)?);
        roots.push(ix.node(Node {
            kind: "image".into(),
            digest: e.digest.to_string(),
            name,
            size: content_size(view, &e.digest, 0),
            details: vec![],
            children,
        })?);
    }
    Ok(roots)
}

/// `s` made safe for a terminal (see [`crate::text::visible`]).
pub fn escape_terminal(s: &str) -> std::borrow::Cow<'_, str> {
    crate::text::visible(s)
}

/// Mark the roots the lock records as charts (`kind: chart`) and add who asked for each item
/// (`requested by …`: the `-f` file and entry, `--chart`, or the chart that declared an image).
pub fn annotate_sources(nodes: &mut [Node], lock: &crate::lock::Lock) {
    for n in nodes.iter_mut() {
        let Some(name) = n.name.as_deref() else {
            continue;
        };
        let Some(s) = lock.sources.iter().find(|s| s.r#ref == name) else {
            continue;
        };
        if s.kind == crate::lock::SourceKind::Chart {
            n.kind = "chart".into();
        }
        if let Some(c) = &s.chart {
            n.details
                .push(format!("from {} ({} {})", c.url, c.name, c.version));
        }
        for by in &s.requested_by {
            n.details.push(format!("requested by {by}"));
        }
    }
}

/// Text rendering of the tree.
pub fn render_text(nodes: &[Node]) -> String {
    fn walk(out: &mut String, n: &Node, prefix: &str, last: bool, top: bool) {
        let (branch, next) = if top {
            ("", "")
        } else if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let _ = writeln!(
            out,
            "{prefix}{branch}{} {}{}{}",
            escape_terminal(&n.kind),
            n.name
                .as_deref()
                .map(|s| format!("{} ", escape_terminal(s)))
                .unwrap_or_default(),
            escape_terminal(&n.digest),
            n.size
                .map(|b| format!(" ({})", human_size(b)))
                .unwrap_or_default()
        );
        let child_prefix = format!("{prefix}{next}");
        for d in &n.details {
            let _ = writeln!(out, "{child_prefix}  · {}", escape_terminal(d));
        }
        for (i, c) in n.children.iter().enumerate() {
            walk(out, c, &child_prefix, i + 1 == n.children.len(), false);
        }
    }
    let mut out = String::new();
    for n in nodes {
        walk(&mut out, n, "", true, true);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn human_size_uses_binary_units_with_one_decimal() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(human_size(u64::MAX), "16384.0 PiB");
    }
}
