//! The docs name every finding code the binary can emit, and the README's commands exist.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use airlock::report::Code;

#[test]
fn findings_doc_lists_every_code_with_its_meaning() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/findings.md")).unwrap();
    for c in Code::ALL {
        assert!(
            doc.contains(&format!("| `{}` | {} |", c.as_str(), c.meaning())),
            "docs/findings.md lacks or misdescribes {c}"
        );
    }
}

#[test]
fn readme_names_the_two_setup_commands_and_the_test_script_exists() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    assert!(readme.contains(
        "cargo run --release -- verify testdata/bundles/demo --policy policies/demo.yaml"
    ));
    assert!(readme.contains("scripts/test.sh"));
    let ci = std::fs::read_to_string(format!("{root}/.ci/run")).unwrap();
    assert!(ci.contains("scripts/test.sh"));
}
