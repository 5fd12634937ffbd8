//! Checked-in fixtures are exactly what their generators in this repository write: the demo
//! bundle (`examples/gen_demo`, builder in `tests/support/bundle.rs`) is regenerated into a
//! temporary directory and compared file by file, byte for byte.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

#[path = "support/bundle.rs"]
mod bundle;

/// Every regular file under `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under dir").to_path_buf();
                out.insert(rel, fs::read(&p).expect("read fixture file"));
            }
        }
    }
    out
}

#[test]
fn demo_bundle_regenerates_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("demo");
    bundle::demo(&fresh);
    let checked_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/bundles/demo");
    let (want, got) = (files(&checked_in), files(&fresh));
    let names = |m: &BTreeMap<PathBuf, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&want),
        names(&got),
        "testdata/bundles/demo has other files than examples/gen_demo writes; regenerate it: \
         rm -rf testdata/bundles/demo && cargo run --example gen_demo"
    );
    for (name, bytes) in &want {
        assert!(
            got[name] == *bytes,
            "testdata/bundles/demo/{} differs from what examples/gen_demo writes; regenerate it",
            name.display()
        );
    }
}
