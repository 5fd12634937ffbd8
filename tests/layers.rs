//! The module layering of `docs/architecture.md`, enforced: every `crate::` path a library file
//! names must belong to its own layer or one below, and the graph of modules has no cycle.
//!
//! The order is written once, in the "Layers" list of `docs/architecture.md`; this test reads it
//! from there. A module belongs to the layer of the longest listed path that prefixes it
//! (`trust::keys` before `trust`), and the top-level modules form no cycle either. Test modules (`#[cfg(test)]`) are not part of the graph.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layers, lowest first: (name, module paths).
fn read_layers(doc: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in doc.lines() {
        if line.starts_with("## ") {
            inside = line.trim() == "## Layers";
            continue;
        }
        if !inside {
            continue;
        }
        // `1. **vocabulary**: `text`, `oci`, …`
        let Some((head, rest)) = line.split_once("**:") else {
            continue;
        };
        let Some((num, name)) = head.split_once(". **") else {
            continue;
        };
        if num.trim().parse::<usize>().is_err() {
            continue;
        }
        let modules: Vec<String> = rest
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        out.push((name.to_string(), modules));
    }
    out
}

/// The module path of a source file (`src/trust/keys.rs` -> `trust::keys`).
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.last_mut() {
        *last = last.trim_end_matches(".rs").to_string();
    }
    if parts.last().map(String::as_str) == Some("mod") {
        parts.pop();
    }
    parts.join("::")
}

/// Source text without `#[cfg(test)]` items (the test module of a file is its tail in this
/// code base; a `#[cfg(test)]` elsewhere cuts from there, which can only hide edges of test code).
fn library_part(src: &str) -> &str {
    match src.find("#[cfg(test)]") {
        Some(i) => &src[..i],
        None => src,
    }
}

/// Every `crate::a::b::…` path named in `src`, as module paths (identifiers starting lowercase).
fn crate_paths(src: &str) -> BTreeSet<String> {
    named_paths(src, "")
}

/// Every module path named in `src` (a file of module `module`): `crate::…` paths as they are,
/// `super::…` (and `super::super::…`) resolved against `module`, brace groups expanded.
fn named_paths(src: &str, module: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = src.as_bytes();
    for keyword in ["crate::", "super::"] {
        let mut i = 0;
        while let Some(p) = src[i..].find(keyword) {
            let start = i + p;
            i = start + keyword.len();
            if start > 0
                && (bytes[start - 1].is_ascii_alphanumeric()
                    || matches!(bytes[start - 1], b'_' | b'$' | b':'))
            {
                continue; // `$crate::`, `somecrate::`, or the middle of a `super::super::` chain
            }
            let mut base: Vec<String> = if keyword == "crate::" {
                Vec::new()
            } else {
                let mut m: Vec<String> = module.split("::").map(str::to_string).collect();
                if module.is_empty() || m.pop().is_none() {
                    continue;
                }
                while src[i..].starts_with("super::") {
                    i += "super::".len();
                    if m.pop().is_none() {
                        break;
                    }
                }
                m
            };
            if src[i..].starts_with('{') {
                for item in group_items(&src[i..]) {
                    let segs = leading_segments(&item);
                    if !segs.is_empty() && segs[0] != "self" {
                        let mut full = base.clone();
                        full.extend(segs);
                        out.insert(full.join("::"));
                    } else if !base.is_empty() {
                        out.insert(base.join("::"));
                    }
                }
            } else {
                base.extend(leading_segments(&src[i..]));
                if !base.is_empty() {
                    out.insert(base.join("::"));
                }
            }
        }
    }
    out
}

/// `a::b::Type` -> [a, b]: the lowercase identifiers a path starts with.
fn leading_segments(s: &str) -> Vec<String> {
    let mut segs = Vec::new();
    let mut rest = s.trim_start();
    loop {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let seg = &rest[..end];
        if seg.is_empty() || !seg.starts_with(|c: char| c.is_ascii_lowercase()) {
            break;
        }
        segs.push(seg.to_string());
        match rest[end..].strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    segs
}

/// The top-level items of the brace group `s` starts with (`{a::B, c::{D, E}}` -> `a::B`, `c::{D, E}`).
fn group_items(s: &str) -> Vec<String> {
    let mut depth = 0usize;
    let mut item = String::new();
    let mut items = Vec::new();
    for c in s.chars() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => {
                items.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        item.push(c);
    }
    items.push(item);
    items
}

/// The layer index of `module`: the longest listed path that is it or a parent of it.
fn layer_of(layers: &[(String, Vec<String>)], module: &str) -> Option<(usize, String)> {
    let mut best: Option<(usize, String)> = None;
    for (i, (_, mods)) in layers.iter().enumerate() {
        for m in mods {
            let covers = module == m || module.starts_with(&format!("{m}::"));
            if covers && best.as_ref().is_none_or(|(_, b)| m.len() > b.len()) {
                best = Some((i, m.clone()));
            }
        }
    }
    best
}

/// What is wrong with `edges` (file module -> named paths) under `layers`.
fn check(
    layers: &[(String, Vec<String>)],
    edges: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    // The graph between listed modules (each node is a listed path).
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in edges {
        let Some((lf, nf)) = layer_of(layers, from) else {
            problems.push(format!(
                "module `{from}` is in no layer of docs/architecture.md"
            ));
            continue;
        };
        for t in targets {
            let Some((lt, nt)) = layer_of(layers, t) else {
                problems.push(format!("`{from}` names `crate::{t}`, which is in no layer"));
                continue;
            };
            if lt > lf {
                problems.push(format!(
                    "upward import: `{from}` (layer {}, {}) names `crate::{t}` (layer {}, {})",
                    lf + 1,
                    layers[lf].0,
                    lt + 1,
                    layers[lt].0
                ));
            }
            if nf != nt {
                graph.entry(nf.clone()).or_default().insert(nt);
            }
        }
    }
    // Cycles between listed modules (also within one layer), and between top-level modules (a
    // circle through submodules of different layers, `a::x -> b`, `b -> a::y`, is one too).
    problems.extend(cycles(&graph));
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in edges {
        let f = from.split("::").next().unwrap_or(from).to_string();
        for t in targets {
            let t = t.split("::").next().unwrap_or(t).to_string();
            if t != f {
                top.entry(f.clone()).or_default().insert(t);
            }
        }
    }
    problems.extend(cycles(&top).into_iter().map(|c| format!("top-level {c}")));
    problems
}

/// Every cycle found by a depth-first walk of `graph`, as `cycle: a -> b -> a`.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        found: &mut Vec<String>,
    ) {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for t in graph.get(n).into_iter().flatten() {
            match state.get(t.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|s| s == t).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(t.clone());
                    found.push(format!("cycle: {}", cycle.join(" -> ")));
                }
                Some(_) => {}
                None => visit(t, graph, state, stack, found),
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
    }
    let mut found = Vec::new();
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if !state.contains_key(n.as_str()) {
            visit(n, graph, &mut state, &mut Vec::new(), &mut found);
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn library_modules_import_only_their_own_layer_or_below_and_form_no_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let layers = read_layers(&doc);
    assert!(
        layers.len() >= 5,
        "docs/architecture.md lists the layers: {layers:?}"
    );
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let module = module_of(rel);
        // The binary (`main`, `cli`) is the top and may name anything; `lib` only declares.
        if module == "main" || module == "lib" || module == "cli" || module.starts_with("cli::") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        edges
            .entry(module.clone())
            .or_default()
            .extend(named_paths(library_part(&text), &module));
    }
    let problems = check(&layers, &edges);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn synthetic_layers() -> Vec<(String, Vec<String>)> {
    read_layers(
        "# x\n## Layers\n1. **vocabulary**: `oci`, `finding`\n2. **keys**: `trust::keys`\n3. **core**: `verify`, `trust`\n## Other\n4. **not a layer**: `x`\n",
    )
}

#[test]
fn the_layer_list_is_read_from_the_doc_with_nested_paths() {
    let l = synthetic_layers();
    assert_eq!(l.len(), 3, "{l:?}");
    assert_eq!(l[1], ("keys".to_string(), vec!["trust::keys".to_string()]));
    assert_eq!(layer_of(&l, "trust::keys::pem").unwrap().0, 1);
    assert_eq!(layer_of(&l, "trust::sigstore").unwrap().0, 2);
    assert_eq!(layer_of(&l, "verify::core").unwrap().0, 2);
    assert!(layer_of(&l, "registry").is_none());
}

#[test]
fn the_checker_fails_on_an_upward_import() {
    let l = synthetic_layers();
    let mut edges = BTreeMap::new();
    edges.insert(
        "oci::digest".to_string(),
        crate_paths("use crate::verify::core::run;\nfn f() { crate::finding::Code::X; }"),
    );
    let p = check(&l, &edges);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("upward import: `oci::digest` (layer 1"),
        "{p:?}"
    );
}

#[test]
fn the_checker_fails_on_a_cycle_inside_one_layer_and_on_an_unlisted_module() {
    let l = synthetic_layers();
    let mut edges = BTreeMap::new();
    edges.insert(
        "verify::core".to_string(),
        crate_paths("use crate::trust::sigstore;"),
    );
    edges.insert(
        "trust::sigstore".to_string(),
        crate_paths("use crate::verify::view::X;"),
    );
    edges.insert("registry".to_string(), BTreeSet::new());
    let p = check(&l, &edges);
    assert!(p.iter().any(|x| x.starts_with("cycle: ")), "{p:?}");
    assert!(
        p.iter().any(|x| x.contains("`registry` is in no layer")),
        "{p:?}"
    );
    // Downward and same-module imports alone are fine.
    let mut ok = BTreeMap::new();
    ok.insert(
        "verify".to_string(),
        crate_paths("use crate::{oci::Digest}; use crate::trust::keys; use crate::verify::x;"),
    );
    ok.insert(
        "trust::keys".to_string(),
        crate_paths("use crate::oci::digest::Digest;"),
    );
    assert_eq!(check(&l, &ok), Vec::<String>::new());
}

#[test]
fn the_checker_fails_on_a_top_level_cycle_through_submodules_of_different_layers() {
    // Every import is downward or within a layer and the listed nodes form no cycle, yet
    // `verify -> trust::keys` and `trust::sigstore -> verify` close `trust <-> verify`.
    let l = synthetic_layers();
    let mut edges = BTreeMap::new();
    edges.insert(
        "verify::core".to_string(),
        crate_paths("use crate::trust::keys::Key;"),
    );
    edges.insert(
        "trust::keys".to_string(),
        crate_paths("use crate::oci::Digest;"),
    );
    edges.insert(
        "trust::sigstore".to_string(),
        crate_paths("use crate::verify::judge;"),
    );
    let p = check(&l, &edges);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("top-level cycle: "), "{p:?}");
}

#[test]
fn super_paths_resolve_against_the_file_module() {
    let p = named_paths(
        "use super::keys::{KeyAlgorithm, PublicKey};\nuse super::super::oci::Digest; use super::{pkcs11, sigstore::x};",
        "trust::keys::pkcs11",
    );
    assert_eq!(
        p.into_iter().collect::<Vec<_>>(),
        [
            "trust::keys::keys",
            "trust::keys::pkcs11",
            "trust::keys::sigstore::x",
            "trust::oci"
        ]
    );
    let l = synthetic_layers();
    let mut edges = BTreeMap::new();
    // `super::` that climbs to a higher layer is an upward import like any other.
    edges.insert(
        "trust::keys".to_string(),
        named_paths("use super::sigstore::Root;", "trust::keys"),
    );
    let p = check(&l, &edges);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("names `crate::trust::sigstore`"), "{p:?}");
}

#[test]
fn crate_paths_are_read_from_use_lines_and_expressions() {
    let p = crate_paths(
        "use crate::oci::{self, Digest};\nlet x = crate::trust::keys::load(); $crate::no; mycrate::no\nuse crate::{report::{Code, Finding}, verify::view, Limits};",
    );
    assert_eq!(
        p.into_iter().collect::<Vec<_>>(),
        ["oci", "report", "trust::keys::load", "verify::view"]
    );
}
