//! `inspect`: the tree of what a bundle holds (like `cosign tree`, for the whole bundle).
use std::fmt::Write;

use serde::Serialize;

use crate::lock::parse_attachment_tag;
use crate::oci::manifest::ANNOTATION_REF_NAME;
use crate::oci::Digest;
use crate::verify::view::BundleView;

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

fn attachments_of(view: &BundleView, subject: &Digest, depth: usize) -> Vec<Node> {
    let mut out = Vec::new();
    if depth > 4 {
        return out;
    }
    for e in &view.entries {
        let Some(name) = e.annotation(ANNOTATION_REF_NAME) else {
            continue;
        };
        let tag = name.rsplit(['/', ':']).next().unwrap_or(name);
        let Some((s, kind)) = parse_attachment_tag(tag) else {
            continue;
        };
        if &s != subject || matches!(kind, crate::lock::AttachmentKind::ReferrersIndex) {
            continue;
        }
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
        out.push(Node {
            kind: format!("{kind:?}").to_lowercase(),
            digest: e.digest.to_string(),
            name: Some(name.to_string()),
            size: content_size(view, &e.digest, 0),
            details,
            children: attachments_of(view, &e.digest, depth + 1),
        });
    }
    for (d, m) in &view.manifests {
        if m.subject().map(|s| &s.digest) == Some(subject) {
            let details = vec![format!("artifactType={}", m.artifact_type().unwrap_or("?"))];
            out.push(Node {
                kind: "referrer".into(),
                digest: d.to_string(),
                name: None,
                size: content_size(view, d, 0),
                details,
                children: attachments_of(view, d, depth + 1),
            });
        }
    }
    out
}

/// Build the tree of roots → platforms → attachments.
pub fn tree(view: &BundleView) -> Vec<Node> {
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
        if let Some(m) = view.manifests.get(&e.digest) {
            for c in m.child_descriptors() {
                let present = view.manifests.contains_key(&c.digest);
                children.push(Node {
                    kind: "platform".into(),
                    digest: c.digest.to_string(),
                    name: c.platform.as_ref().map(|p| p.to_string()),
                    size: content_size(view, &c.digest, 1),
                    details: if present {
                        vec![]
                    } else {
                        vec!["not in bundle".into()]
                    },
                    children: attachments_of(view, &c.digest, 1),
                });
            }
        }
        children.extend(attachments_of(view, &e.digest, 1));
        roots.push(Node {
            kind: "image".into(),
            digest: e.digest.to_string(),
            name,
            size: content_size(view, &e.digest, 0),
            details: vec![],
            children,
        });
    }
    roots
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
            n.kind,
            n.name
                .as_deref()
                .map(|s| format!("{s} "))
                .unwrap_or_default(),
            n.digest,
            n.size
                .map(|b| format!(" ({})", human_size(b)))
                .unwrap_or_default()
        );
        let child_prefix = format!("{prefix}{next}");
        for d in &n.details {
            let _ = writeln!(out, "{child_prefix}  · {d}");
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
