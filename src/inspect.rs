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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
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
            details: vec![],
            children,
        });
    }
    roots
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
            "{prefix}{branch}{} {}{}",
            n.kind,
            n.name
                .as_deref()
                .map(|s| format!("{s} "))
                .unwrap_or_default(),
            n.digest
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
