//! Unit tests of the policy parser (compiled for tests only; declared `#[cfg(test)] mod tests` in
//! `policy/mod.rs`): the unwrap/expect calls here run on fixed test inputs, never outside data.
#![cfg(test)]

use super::*;

/// The example from the product spec, verbatim.
const SPEC_EXAMPLE: &str = r#"apiVersion: airlock/v1
kind: Policy
keys:                                # name -> PEM public key
  release: ../keys/release.pub
trustedRoots:                        # name -> Sigstore trusted_root.json (keyless, Rekor, TSA)
  public-good: ../keys/trusted_root.json
rules:                               # first rule whose match covers the source repository applies
  - match: ["quay.io/minio/aistor/**", "registry.example/team/app"]
    signatures:                      # at least one valid signature from any listed signer
      keys: [release]
      keyless:
        - issuer: https://token.actions.githubusercontent.com
          subjectRegExp: "^https://github.com/minio/"
          trustedRoot: public-good
      identities: [source]           # allowed signed docker-reference: "source" (the captured repository,
                                     # the default), explicit repositories, or "any"
    attestations:                    # each entry required; predicate type from the signed statement
      - predicateType: https://slsa.dev/provenance/v1
        keys: [release]
    sbom: required                   # required | optional (SPDX or CycloneDX, attested or attached)
    platforms: [linux/amd64, linux/arm64]   # must all be present when the image is an index
  - match: ["docker.io/library/**"]
    signatures: none                 # explicitly unsigned, still integrity- and pin-checked
unmatched: deny                      # deny (default) | allow
"#;

fn parse(text: &str) -> Result<Policy, PolicyError> {
    Policy::from_yaml(text, Path::new("policies/test.yaml"))
}

fn parse_err(text: &str) -> PolicyError {
    match parse(text) {
        Ok(p) => panic!("expected an error, got {p:#?}"),
        Err(e) => e,
    }
}

/// A minimal valid policy with `rules` replaced by the given YAML (indented as under `rules:`).
fn with_rules(rules: &str) -> String {
    format!(
        "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: release.pub\n  \
         ci: ci.pub\ntrustedRoots:\n  public-good: trusted_root.json\nrules:\n{rules}"
    )
}

fn at(e: &PolicyError) -> (usize, usize) {
    let l = e
        .location()
        .unwrap_or_else(|| panic!("expected a location in {e}"));
    (l.line, l.column)
}

#[test]
fn spec_example_parses_into_the_expected_structure() {
    let p = parse(SPEC_EXAMPLE).unwrap();
    assert_eq!(p.source, PathBuf::from("policies/test.yaml"));
    assert_eq!(
        p.sha256,
        crate::oci::Digest::sha256_of(SPEC_EXAMPLE.as_bytes()).to_string()
    );
    assert!(p.sha256.starts_with("sha256:") && p.sha256.len() == 7 + 64);
    assert_eq!(
        p.keys,
        BTreeMap::from([(
            "release".to_string(),
            PathBuf::from("policies/../keys/release.pub")
        )])
    );
    assert_eq!(
        p.trusted_roots,
        BTreeMap::from([(
            "public-good".to_string(),
            PathBuf::from("policies/../keys/trusted_root.json")
        )])
    );
    assert_eq!(p.unmatched, Unmatched::Deny);
    assert_eq!(p.rules.len(), 2);

    let r = &p.rules[0];
    assert_eq!(r.index, 1);
    assert_eq!(
        r.patterns,
        vec!["quay.io/minio/aistor/**", "registry.example/team/app"]
    );
    assert_eq!(
        r.signatures,
        SignatureRule::Required(Signers {
            keys: vec!["release".to_string()],
            keyless: vec![KeylessSigner {
                issuer: Some("https://token.actions.githubusercontent.com".to_string()),
                issuer_regexp: None,
                subject: None,
                subject_regexp: Some("^https://github.com/minio/".to_string()),
                trusted_root: Some("public-good".to_string()),
                ignore_sct: false,
            }],
            threshold: 1,
            identities: vec![Identity::Source],
            annotations: BTreeMap::new(),
        })
    );
    assert_eq!(
        r.attestations,
        vec![AttestationRule {
            predicate_type: "https://slsa.dev/provenance/v1".to_string(),
            keys: vec!["release".to_string()],
            keyless: vec![],
        }]
    );
    assert_eq!(r.sbom, SbomRequirement::Required);
    assert_eq!(r.platforms, vec!["linux/amd64", "linux/arm64"]);
    assert_eq!(
        r.describe(),
        r#"rule 1 (match ["quay.io/minio/aistor/**", "registry.example/team/app"])"#
    );

    let r = &p.rules[1];
    assert_eq!(r.index, 2);
    assert_eq!(r.patterns, vec!["docker.io/library/**"]);
    assert_eq!(r.signatures, SignatureRule::None);
    assert!(r.attestations.is_empty());
    assert_eq!(r.sbom, SbomRequirement::Optional);
    assert!(r.platforms.is_empty());

    assert_eq!(
        p.rule_for("quay.io/minio/aistor/operator").map(|r| r.index),
        Some(1)
    );
    assert_eq!(
        p.rule_for("registry.example/team/app").map(|r| r.index),
        Some(1)
    );
    assert_eq!(
        p.rule_for("docker.io/library/nginx").map(|r| r.index),
        Some(2)
    );
    assert!(p.rule_for("registry.example/team/other").is_none());
}

#[test]
fn signatures_none_accepts_unsigned_images() {
    let p = parse(&with_rules("  - match: [\"**\"]\n    signatures: none\n")).unwrap();
    assert_eq!(p.rules[0].signatures, SignatureRule::None);
}

#[test]
fn signatures_other_string_is_an_error_at_the_value() {
    let e = parse_err(&with_rules("  - match: [\"**\"]\n    signatures: nope\n"));
    assert_eq!(e.kind(), PolicyErrorKind::Invalid);
    assert_eq!(at(&e), (10, 17), "{e}");
    assert!(e.message().contains("found `signatures: nope`"), "{e}");
    assert!(e.message().contains("expected `none` or a map"), "{e}");
}

#[test]
fn missing_signatures_is_an_error_naming_the_rule() {
    let e = parse_err(&with_rules(
        "  - match: [\"quay.io/**\"]\n    sbom: required\n",
    ));
    assert_eq!(e.kind(), PolicyErrorKind::Invalid);
    assert_eq!(at(&e), (9, 5), "{e}");
    let s = e.to_string();
    assert!(s.starts_with("policies/test.yaml:9:5: rules[0]: "), "{s}");
    assert!(s.contains(r#"match ["quay.io/**"]"#), "{s}");
    assert!(
        s.contains("expected `none` or a map with keys/keyless"),
        "{s}"
    );
}

#[test]
fn empty_signatures_value_is_an_error() {
    let e = parse_err(&with_rules("  - match: [\"**\"]\n    signatures:\n"));
    assert!(e.message().contains("`signatures:` is empty"), "{e}");
}

#[test]
fn signatures_without_any_signer_is_an_error() {
    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures:\n      identities: [any]\n",
    ));
    assert!(e.message().contains("names no signer"), "{e}");
    assert_eq!(at(&e).0, 11, "{e}");
}

#[test]
fn unknown_top_level_field_gives_line_and_column() {
    let e = parse_err("apiVersion: airlock/v1\nkind: Policy\nrulez: []\nrules: []\n");
    assert_eq!(e.kind(), PolicyErrorKind::Invalid);
    assert_eq!(at(&e), (3, 1));
    let s = e.to_string();
    assert!(
        s.starts_with("policies/test.yaml:3:1: unknown field `rulez`, expected one of"),
        "{s}"
    );
    assert!(s.contains("`rules`"), "{s}");
    assert!(s.contains("correct its spelling"), "{s}");
    assert!(!s.contains(" at line "), "{s}");
}

#[test]
fn unknown_nested_field_gives_line_and_column() {
    let text = with_rules("  - match: [\"**\"]\n    sigs: none\n");
    let e = parse_err(&text);
    assert_eq!(at(&e), (10, 5), "{e}");
    assert!(
        e.to_string().starts_with(
            "policies/test.yaml:10:5: rules[0]: unknown field `sigs`, expected one of"
        ),
        "{e}"
    );

    // Deeper: inside signatures, a keyless entry, an attestation.
    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures:\n      keys: [release]\n      kyes: [ci]\n",
    ));
    assert_eq!(at(&e), (12, 7), "{e}");
    assert!(e.message().contains("unknown field `kyes`"), "{e}");

    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures:\n      keyless:\n        - issuer: x\n          \
         subject: y\n          sujbect: z\n",
    ));
    assert_eq!(at(&e), (14, 11), "{e}");
    assert!(e.message().contains("unknown field `sujbect`"), "{e}");

    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures: none\n    attestations:\n      - predicateType: x\n        \
         keys: [release]\n        type: y\n",
    ));
    assert_eq!(at(&e), (14, 9), "{e}");
    assert!(e.message().contains("unknown field `type`"), "{e}");
}

#[test]
fn wrong_api_version_names_what_was_found() {
    let e = parse_err("apiVersion: airlock/v2\nkind: Policy\nrules: []\n");
    assert_eq!(e.kind(), PolicyErrorKind::Invalid);
    assert_eq!(at(&e), (1, 13));
    assert!(e.message().contains("found apiVersion `airlock/v2`"), "{e}");
    assert!(e.message().contains("expected `airlock/v1`"), "{e}");
}

#[test]
fn missing_api_version_is_an_error() {
    let e = parse_err("kind: Policy\nrules: []\n");
    assert!(e.message().contains("missing field `apiVersion`"), "{e}");
}

#[test]
fn wrong_kind_names_what_was_found() {
    let e = parse_err("apiVersion: airlock/v1\nkind: ClusterPolicy\nrules: []\n");
    assert_eq!(at(&e), (2, 7));
    assert!(e.message().contains("found kind `ClusterPolicy`"), "{e}");
    assert!(e.message().contains("expected `Policy`"), "{e}");
}

#[test]
fn undefined_key_reference_is_an_error_at_the_name() {
    let e = parse_err(&with_rules(
        "  - match: [\"quay.io/**\"]\n    signatures:\n      keys: [release, relese]\n",
    ));
    assert_eq!(e.kind(), PolicyErrorKind::Invalid);
    assert_eq!(at(&e), (11, 23), "{e}");
    let s = e.to_string();
    assert!(s.contains("rules[0].signatures.keys[1]"), "{s}");
    assert!(
        s.contains("key \"relese\" is not defined under `keys:`"),
        "{s}"
    );
    assert!(s.contains("(defined: ci, release)"), "{s}");
}

#[test]
fn undefined_key_reference_is_found_when_keys_come_after_rules() {
    let text = "apiVersion: airlock/v1\nkind: Policy\nrules:\n  - match: [\"**\"]\n    \
                signatures: {keys: [ci]}\nkeys:\n  release: r.pub\n";
    let e = parse_err(text);
    assert_eq!(at(&e).0, 5, "{e}");
    assert!(e.message().contains("key \"ci\" is not defined"), "{e}");
    // And a key defined later in the file is fine.
    let ok = text.replace("[ci]", "[release]");
    assert!(parse(&ok).is_ok());
}

#[test]
fn undefined_key_in_attestation_is_an_error() {
    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures: none\n    attestations:\n      - predicateType: \
         https://slsa.dev/provenance/v1\n        keys: [nobody]\n",
    ));
    assert_eq!(at(&e), (13, 16), "{e}");
    assert!(
        e.message().contains("rules[0].attestations[0].keys[0]"),
        "{e}"
    );
}

#[test]
fn key_reference_without_keys_section_says_so() {
    let e = parse_err(
        "apiVersion: airlock/v1\nkind: Policy\nrules:\n  - match: [\"**\"]\n    signatures: {keys: [release]}\n",
    );
    assert!(e.message().contains("there is no `keys:` section"), "{e}");
}

#[test]
fn undefined_trusted_root_is_an_error() {
    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures:\n      keyless:\n        - issuer: https://i\n          \
         subject: me@example.com\n          trustedRoot: private\n",
    ));
    assert_eq!(at(&e), (14, 24), "{e}");
    assert!(
        e.message()
            .contains("trusted root \"private\" is not defined"),
        "{e}"
    );
}

#[test]
fn keyless_without_issuer_is_an_error() {
    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures:\n      keyless:\n        - subject: me@example.com\n",
    ));
    assert_eq!(e.kind(), PolicyErrorKind::Invalid);
    assert_eq!(at(&e), (12, 11), "{e}");
    assert!(
        e.message().contains("rules[0].signatures.keyless[0]"),
        "{e}"
    );
    assert!(
        e.message().contains("neither `issuer` nor `issuerRegExp`"),
        "{e}"
    );
}

#[test]
fn keyless_without_subject_or_with_both_forms_is_an_error() {
    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures:\n      keyless:\n        - issuer: https://i\n",
    ));
    assert!(
        e.message()
            .contains("neither `subject` nor `subjectRegExp`"),
        "{e}"
    );
    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures:\n      keyless:\n        - issuer: https://i\n          \
         issuerRegExp: \"^https://\"\n          subject: s\n",
    ));
    assert!(
        e.message().contains("both `issuer` and `issuerRegExp`"),
        "{e}"
    );
}

#[test]
fn keyless_without_any_trusted_root_is_an_error() {
    let e = parse_err(
        "apiVersion: airlock/v1\nkind: Policy\nrules:\n  - match: [\"**\"]\n    signatures:\n      \
         keyless: [{issuer: https://i, subject: s}]\n",
    );
    assert!(e.message().contains("needs a Sigstore trusted root"), "{e}");
}

#[test]
fn keyless_regexp_with_bad_syntax_is_an_error_at_the_value() {
    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures:\n      keyless:\n        - issuer: https://i\n          \
         subjectRegExp: \"^(https://github.com/minio/\"\n",
    ));
    assert_eq!(at(&e), (13, 26), "{e}");
    assert!(e.message().contains("unclosed `(`"), "{e}");
}

#[test]
fn regexp_check_accepts_common_expressions_and_rejects_broken_ones() {
    for ok in [
        "^https://github.com/minio/",
        r"^https://github\.com/(minio|acme)/[a-z-]+/\.github/workflows/.*@refs/tags/v[0-9]+$",
        "a*?b+?c??",
        "[]a]",
        "[^]]",
        "[[:alpha:]]+",
        "(?i)issuer",
        "(?:ab)+",
        "(?P<name>x)",
        "a{2,3}",
    ] {
        assert!(pattern::check_regexp(ok).is_ok(), "{ok}");
    }
    for bad in [
        "", "(", ")", "a)", "[abc", "*a", "a**", "(+a)", "a|*", "\\", "[[:alpha",
    ] {
        assert!(pattern::check_regexp(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn first_matching_rule_wins() {
    let p = parse(&with_rules(
        "  - match: [\"quay.io/minio/aistor/**\"]\n    signatures: {keys: [release]}\n  \
         - match: [\"quay.io/**\"]\n    signatures: none\n  \
         - match: [\"quay.io/minio/aistor/operator\"]\n    signatures: {keys: [ci]}\n",
    ))
    .unwrap();
    assert_eq!(
        p.rule_for("quay.io/minio/aistor/operator").map(|r| r.index),
        Some(1)
    );
    assert_eq!(p.rule_for("quay.io/other/app").map(|r| r.index), Some(2));
    assert!(p.rule_for("ghcr.io/other/app").is_none());
}

fn rule_with(patterns: &[&str]) -> Rule {
    let list: Vec<String> = patterns.iter().map(|p| format!("{p:?}")).collect();
    let p = parse(&with_rules(&format!(
        "  - match: [{}]\n    signatures: none\n",
        list.join(", ")
    )))
    .unwrap();
    p.rules.into_iter().next().unwrap()
}

#[test]
fn double_star_matches_any_number_of_segments() {
    let r = rule_with(&["quay.io/minio/aistor/**"]);
    assert!(r.matches("quay.io/minio/aistor/x"));
    assert!(r.matches("quay.io/minio/aistor/x/y"));
    assert!(r.matches("quay.io/minio/aistor"), "prefix/** covers prefix");
    assert!(!r.matches("quay.io/minio/aistorx"));
    assert!(!r.matches("quay.io/minio/other"));

    let r = rule_with(&["**"]);
    assert!(r.matches("docker.io/library/nginx"));
    assert!(r.matches("localhost:5000/a/b/c/d"));

    let r = rule_with(&["registry.example/**/app"]);
    assert!(r.matches("registry.example/app"));
    assert!(r.matches("registry.example/team/app"));
    assert!(r.matches("registry.example/org/team/app"));
    assert!(!r.matches("registry.example/team/app/sub"));

    let r = rule_with(&["**/nginx"]);
    assert!(r.matches("docker.io/library/nginx"));
    assert!(!r.matches("docker.io/library/nginx-unprivileged"));
}

#[test]
fn single_star_stays_within_one_segment() {
    let r = rule_with(&["registry.example/*/app"]);
    assert!(r.matches("registry.example/team/app"));
    assert!(!r.matches("registry.example/org/team/app"));
    assert!(!r.matches("registry.example/app"));

    let r = rule_with(&["*.example/team/*"]);
    assert!(r.matches("registry.example/team/app"));
    assert!(r.matches("mirror.example/team/db"));
    assert!(!r.matches("registry.example/team/app/sub"));
    assert!(!r.matches("a/b.example/team/app"));

    let r = rule_with(&["quay.io/minio/aistor-*"]);
    assert!(r.matches("quay.io/minio/aistor-operator"));
    assert!(!r.matches("quay.io/minio/aistor-operator/sidecar"));
}

#[test]
fn exact_pattern_matches_exactly() {
    let r = rule_with(&["registry.example/team/app"]);
    assert!(r.matches("registry.example/team/app"));
    assert!(!r.matches("registry.example/team/app2"));
    assert!(!r.matches("registry.example/team/app/x"));
    assert!(!r.matches("registry.example/team"));
    assert!(!r.matches("Registry.example/team/app"));
}

#[test]
fn bad_patterns_are_errors_at_the_pattern() {
    let cases: &[(&str, &str)] = &[
        ("nginx", "single segment"),
        ("library/nginx", "not a registry host"),
        ("docker.io/nginx", "docker.io/library/nginx"),
        ("index.docker.io/library/nginx", "under `docker.io`"),
        ("quay.io/minio/app:latest", "not tags"),
        ("quay.io/minio/app@sha256:abc", "not digests"),
        ("quay.io/minio/**app", "whole path segment"),
        ("quay.io//app", "empty path segment"),
        ("quay.io/app/", "empty path segment"),
        ("quay.io/{a,b}", "only wildcards"),
        ("quay.io/a?", "only wildcards"),
        ("quay.io/Minio/app", "lower case"),
        ("quay.io/a b", "whitespace"),
        ("", "empty pattern"),
    ];
    for (pattern, expect) in cases {
        let e = parse_err(&with_rules(&format!(
            "  - match: [{pattern:?}]\n    signatures: none\n"
        )));
        assert_eq!(at(&e), (9, 13), "{pattern}: {e}");
        assert!(e.message().contains(expect), "{pattern}: {e}");
    }
    for ok in [
        "localhost:5000/app",
        "localhost/app",
        "Registry.Example/app",
        "docker.io/*",
        "*/team/app",
    ] {
        assert!(check_pattern(ok).is_ok(), "{ok}");
    }
}

#[test]
fn empty_match_list_is_an_error() {
    let e = parse_err(&with_rules("  - match: []\n    signatures: none\n"));
    assert!(e.message().contains("`match` is an empty list"), "{e}");
    let e = parse_err(&with_rules("  - signatures: none\n"));
    assert!(e.message().contains("missing field `match`"), "{e}");
}

#[test]
fn unmatched_defaults_to_deny() {
    let p = parse("apiVersion: airlock/v1\nkind: Policy\nrules: []\n").unwrap();
    assert_eq!(p.unmatched, Unmatched::Deny);
    assert!(p.rules.is_empty() && p.keys.is_empty() && p.trusted_roots.is_empty());
    let p = parse("apiVersion: airlock/v1\nkind: Policy\nrules: []\nunmatched: allow\n").unwrap();
    assert_eq!(p.unmatched, Unmatched::Allow);
    let e = parse_err("apiVersion: airlock/v1\nkind: Policy\nrules: []\nunmatched: alow\n");
    assert_eq!(at(&e), (4, 12));
    assert!(e.message().contains("unknown variant `alow`"), "{e}");
    assert!(e.message().contains("`deny`"), "{e}");
}

#[test]
fn sbom_value_is_checked_and_defaults_to_optional() {
    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures: none\n    sbom: yes-please\n",
    ));
    assert_eq!(at(&e), (11, 11), "{e}");
    assert!(
        e.message().contains("expected `required` or `optional`"),
        "{e}"
    );
}

#[test]
fn platforms_are_checked() {
    let p = parse(&with_rules(
        "  - match: [\"**\"]\n    signatures: none\n    platforms: [linux/amd64, linux/arm64/v8, windows/amd64]\n",
    ))
    .unwrap();
    assert_eq!(
        p.rules[0].platforms,
        vec!["linux/amd64", "linux/arm64/v8", "windows/amd64"]
    );
    for bad in [
        "linux",
        "linux/",
        "Linux/amd64",
        "linux/arm64/v8/x",
        "linux amd64",
    ] {
        let e = parse_err(&with_rules(&format!(
            "  - match: [\"**\"]\n    signatures: none\n    platforms: [{bad:?}]\n"
        )));
        assert_eq!(at(&e), (11, 17), "{bad}: {e}");
        assert!(e.message().contains("expected `os/arch`"), "{bad}: {e}");
    }
    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures: none\n    platforms: [linux/amd64, linux/amd64]\n",
    ));
    assert!(e.message().contains("listed twice"), "{e}");
}

#[test]
fn identities_default_to_source_and_accept_any_and_repositories() {
    let p = parse(&with_rules(
        "  - match: [\"**\"]\n    signatures:\n      keys: [release]\n  \
         - match: [\"quay.io/**\"]\n    signatures:\n      keys: [release]\n      \
         identities: [source, any, \"registry.example/mirror/**\"]\n      \
         annotations: {env: prod}\n",
    ))
    .unwrap();
    let SignatureRule::Required(s) = &p.rules[0].signatures else {
        panic!("expected signers")
    };
    assert_eq!(s.identities, vec![Identity::Source]);
    assert!(s.allows_identity("quay.io/a/b", "quay.io/a/b"));
    assert!(!s.allows_identity("quay.io/a/b", "quay.io/a/c"));

    let SignatureRule::Required(s) = &p.rules[1].signatures else {
        panic!("expected signers")
    };
    assert_eq!(
        s.identities,
        vec![
            Identity::Source,
            Identity::Any,
            Identity::Repository("registry.example/mirror/**".to_string())
        ]
    );
    assert_eq!(s.annotations.get("env").map(String::as_str), Some("prod"));
    let mirror = Identity::Repository("registry.example/mirror/**".to_string());
    assert!(mirror.allows("quay.io/a/b", "registry.example/mirror/a/b"));
    assert!(!mirror.allows("quay.io/a/b", "registry.example/other/a/b"));
    assert!(Identity::Any.allows("quay.io/a/b", "evil.example/x"));

    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures:\n      keys: [release]\n      identities: []\n",
    ));
    assert!(e.message().contains("`identities` is an empty list"), "{e}");
    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures:\n      keys: [release]\n      identities: [sauce]\n",
    ));
    assert_eq!(at(&e), (12, 20), "{e}");
    assert!(e.message().contains("`source`, `any`"), "{e}");
}

#[test]
fn attestation_without_signer_is_an_error() {
    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures: none\n    attestations:\n      - predicateType: https://spdx.dev/Document\n",
    ));
    assert_eq!(at(&e), (12, 9), "{e}");
    assert!(e.message().contains("names no signer"), "{e}");
    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures: none\n    attestations:\n      - keys: [release]\n",
    ));
    assert!(e.message().contains("missing field `predicateType`"), "{e}");
}

#[test]
fn key_paths_are_resolved_relative_to_the_policy_file() {
    let text = "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: ../keys/release.pub\n  \
                abs: /etc/airlock/abs.pub\n  here: here.pub\ntrustedRoots:\n  pg: roots/tr.json\nrules: []\n";
    let p = Policy::from_yaml(text, Path::new("/srv/site/policies/prod.yaml")).unwrap();
    assert_eq!(
        p.keys["release"],
        PathBuf::from("/srv/site/policies/../keys/release.pub")
    );
    assert_eq!(p.keys["abs"], PathBuf::from("/etc/airlock/abs.pub"));
    assert_eq!(p.keys["here"], PathBuf::from("/srv/site/policies/here.pub"));
    assert_eq!(
        p.trusted_roots["pg"],
        PathBuf::from("/srv/site/policies/roots/tr.json")
    );
    // A bare file name: relative to the current directory, where the file is.
    let p = Policy::from_yaml(text, Path::new("prod.yaml")).unwrap();
    assert_eq!(p.keys["release"], PathBuf::from("../keys/release.pub"));
}

#[test]
fn trusted_roots_for_a_signer_are_the_named_one_or_all() {
    let text = "apiVersion: airlock/v1\nkind: Policy\ntrustedRoots:\n  a: a.json\n  b: b.json\nrules: []\n";
    let p = Policy::from_yaml(text, Path::new("p.yaml")).unwrap();
    let named = KeylessSigner {
        trusted_root: Some("b".to_string()),
        ..KeylessSigner::default()
    };
    assert_eq!(
        p.trusted_roots_for(&named),
        vec![("b", Path::new("b.json"))]
    );
    assert_eq!(p.trusted_roots_for(&KeylessSigner::default()).len(), 2);
}

#[test]
fn bad_key_names_and_paths_are_errors() {
    let e =
        parse_err("apiVersion: airlock/v1\nkind: Policy\nkeys:\n  \"my key\": k.pub\nrules: []\n");
    assert_eq!(at(&e), (4, 3), "{e}");
    assert!(e.message().contains("found the name `my key`"), "{e}");
    let e = parse_err("apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: \"\"\nrules: []\n");
    assert_eq!(at(&e), (4, 12), "{e}");
    assert!(e.message().contains("empty path"), "{e}");
}

#[test]
fn duplicate_keys_are_errors() {
    let e = parse_err(
        "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: a.pub\n  release: b.pub\nrules: []\n",
    );
    assert_eq!(e.kind(), PolicyErrorKind::Syntax);
    assert!(e.message().contains("duplicate entry"), "{e}");
    assert!(e.location().is_some(), "{e}");
}

#[test]
fn size_limit_is_enforced() {
    let mut text = String::from("apiVersion: airlock/v1\nkind: Policy\nrules: []\n");
    while text.len() <= MAX_POLICY_BYTES {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let e = parse_err(&text);
    assert_eq!(e.kind(), PolicyErrorKind::TooLarge);
    assert!(
        e.message()
            .contains("larger than the limit of 1048576 bytes"),
        "{e}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    std::fs::write(&path, &text).unwrap();
    let e = Policy::load(&path).unwrap_err();
    assert_eq!(e.kind(), PolicyErrorKind::TooLarge);
    assert_eq!(e.path(), path.as_path());
}

#[test]
fn rule_limit_is_enforced() {
    let mut rules = String::new();
    for _ in 0..=MAX_RULES {
        rules.push_str("- {match: [\"**\"], signatures: none}\n");
    }
    let text = format!("apiVersion: airlock/v1\nkind: Policy\nrules:\n{rules}");
    assert!(text.len() < MAX_POLICY_BYTES);
    let e = parse_err(&text);
    assert_eq!(e.kind(), PolicyErrorKind::TooManyRules, "{e}");
    assert!(e.message().contains("more than 10000 rules"), "{e}");
}

#[test]
fn pattern_limits_are_enforced() {
    let many: Vec<String> = (0..=MAX_PATTERNS_PER_RULE)
        .map(|i| format!("\"r.example/a{i}\""))
        .collect();
    let e = parse_err(&with_rules(&format!(
        "  - match: [{}]\n    signatures: none\n",
        many.join(", ")
    )));
    assert_eq!(e.kind(), PolicyErrorKind::TooManyPatterns, "{e}");
    assert!(e.message().contains("in one rule"), "{e}");

    let per_rule: Vec<String> = (0..MAX_PATTERNS_PER_RULE)
        .map(|i| format!("\"r.e/{i}\""))
        .collect();
    let line = format!("- {{match: [{}], signatures: none}}\n", per_rule.join(","));
    let rules = line.repeat(MAX_PATTERNS / MAX_PATTERNS_PER_RULE + 1);
    let text = format!("apiVersion: airlock/v1\nkind: Policy\nrules:\n{rules}");
    assert!(text.len() < MAX_POLICY_BYTES, "{}", text.len());
    let e = parse_err(&text);
    assert_eq!(e.kind(), PolicyErrorKind::TooManyPatterns, "{e}");
    assert!(e.message().contains("in the policy"), "{e}");
}

#[test]
fn non_mapping_yaml_is_an_error() {
    for (text, found) in [
        ("- a\n- b\n", "sequence"),
        ("just a string\n", "string"),
        ("42\n", "integer"),
    ] {
        let e = parse_err(text);
        assert_eq!(e.kind(), PolicyErrorKind::Invalid, "{e}");
        assert!(e.message().contains(found), "{text}: {e}");
        assert!(
            e.message().contains("expected a policy: a YAML mapping"),
            "{e}"
        );
        assert!(e.location().is_some(), "{e}");
    }
}

#[test]
fn empty_file_is_an_error() {
    for text in ["", "\n\n", "# only a comment\n", "---\n", "null\n"] {
        let e = parse_err(text);
        assert_eq!(e.kind(), PolicyErrorKind::Empty, "{text:?}: {e}");
        assert!(e.message().contains("the policy is empty"), "{e}");
        assert!(e.to_string().starts_with("policies/test.yaml: "), "{e}");
    }
}

#[test]
fn malformed_yaml_is_a_syntax_error_with_position() {
    let e = parse_err("apiVersion: airlock/v1\nkind: Policy\nrules:\n  - match: [\"**\"\n");
    assert_eq!(e.kind(), PolicyErrorKind::Syntax, "{e}");
    assert!(e.location().is_some(), "{e}");
    assert!(
        e.message().starts_with("the policy is not valid YAML"),
        "{e}"
    );
    let e = parse_err("apiVersion: airlock/v1\n---\nkind: Policy\n");
    assert!(e.message().contains("more than one document"), "{e}");
}

#[test]
fn alias_expansion_is_bounded() {
    // Nine aliases per level, eleven levels: 9^11 strings if expanded.
    let mut text = String::from(
        "apiVersion: airlock/v1\nkind: Policy\nrules: []\nx0: &a0 [x,x,x,x,x,x,x,x,x]\n",
    );
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "x{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"
        ));
    }
    // Rejected before parsing by the alias count (serde_yaml's repetition limit is the backstop).
    let e = parse_err(&text);
    assert!(
        e.message().contains("more than 64 aliases")
            || e.message().contains("repetition limit exceeded"),
        "{e}"
    );

    let e = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures: none\n    sbom: &x {a: [*x]}\n",
    ));
    assert!(
        e.message().contains("recursion limit exceeded") || e.message().contains("aliases"),
        "{e}"
    );
}

#[test]
fn load_reads_the_file_and_reports_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, SPEC_EXAMPLE).unwrap();
    let p = Policy::load(&path).unwrap();
    assert_eq!(p.source, path);
    assert_eq!(p.keys["release"], dir.path().join("../keys/release.pub"));
    assert_eq!(p.sha256, parse(SPEC_EXAMPLE).unwrap().sha256);

    let missing = dir.path().join("nope.yaml");
    let e = Policy::load(&missing).unwrap_err();
    assert_eq!(e.kind(), PolicyErrorKind::Read);
    assert!(
        e.to_string()
            .contains("nope.yaml: cannot read the policy file"),
        "{e}"
    );
}

#[test]
fn load_rejects_non_utf8_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, b"apiVersion: airlock/v1\nkind: Po\xfflicy\n").unwrap();
    let e = Policy::load(&path).unwrap_err();
    assert_eq!(e.kind(), PolicyErrorKind::NotUtf8);
    assert_eq!(at(&e), (2, 9));
}

#[test]
fn errors_leave_no_context_behind() {
    // A failed parse must not leak its key names into the next parse on this thread.
    let _ = parse_err(&with_rules(
        "  - match: [\"**\"]\n    signatures: {keys: [nobody]}\n",
    ));
    let e = parse_err(
        "apiVersion: airlock/v1\nkind: Policy\nrules:\n  - match: [\"**\"]\n    signatures: {keys: [release]}\n",
    );
    assert!(e.message().contains("no `keys:` section"), "{e}");
}

#[test]
fn shipped_example_policies_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let demo = Policy::load(&root.join("demo.yaml")).unwrap();
    assert_eq!(demo.keys["release"], root.join("../keys/demo.pub"));
    assert_eq!(demo.rules.len(), 1);
    assert!(demo.rule_for("docker.io/library/nginx").is_some());
    assert_eq!(demo.rules[0].sbom, SbomRequirement::Required);
    assert_eq!(demo.rules[0].platforms, vec!["linux/amd64", "linux/arm64"]);
    assert_eq!(demo.unmatched, Unmatched::Deny);

    let full = Policy::load(&root.join("example-full.yaml")).unwrap();
    assert!(full.rules.len() >= 3);
    let server = full.rule_for("quay.io/minio/aistor-server/app").unwrap();
    let SignatureRule::Required(s) = &server.signatures else {
        panic!("required")
    };
    assert_eq!(s.threshold, 2);
    let prov = server.provenance.as_ref().unwrap();
    assert!(prov.builder_ids.as_ref().unwrap().matches("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0"));
    assert!(prov
        .source_repos
        .as_ref()
        .unwrap()
        .matches("https://github.com/minio/aistor"));
    let v = server.vulnerabilities.as_ref().unwrap();
    assert_eq!(v.max_severity, crate::formats::vuln::Severity::High);
    assert_eq!(v.max_scan_age, Some(168 * 3600));
    assert_eq!(v.allow[0].id, "CVE-2023-44487");
    assert_eq!(v.vex.as_ref().unwrap().keys, vec!["vendor"]);
    assert_eq!(server.sbom, SbomRequirement::Required);
    assert_eq!(server.deny_packages.len(), 2);
    let old = &full.key_validity["old-release"];
    assert!(old.valid_from.is_some() && old.valid_until.is_some() && !old.revoked);
    assert!(full.keys.contains_key("old-release"));
}

#[test]
fn provenance_vulnerability_and_sbom_map_fields_are_checked_where_written() {
    let yaml = |rule: &str| {
        format!(
            "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  ci: ci.pub\nrules:\n  - match: [\"quay.io/**\"]\n    signatures: none\n{rule}"
        )
    };
    let ok = Policy::from_yaml(
        &yaml("    sbom: optional\n    vulnerabilities:\n      signers: {keys: [ci]}\n"),
        Path::new("p.yaml"),
    )
    .unwrap();
    assert_eq!(
        ok.rules[0].vulnerabilities.as_ref().unwrap().max_severity,
        crate::formats::vuln::Severity::None
    );
    for (rule, needle) in [
        ("    provenance:\n      signers: {keys: [nope]}\n", "key \"nope\" is not defined"),
        ("    provenance:\n      signers: {}\n", "names no signer"),
        ("    provenance:\n      signers: {keys: [ci]}\n      builderIds: []\n", "empty list"),
        ("    vulnerabilities:\n      signers: {keys: [ci]}\n      maxSeverity: severe\n", "expected none, low"),
        ("    vulnerabilities:\n      signers: {keys: [ci]}\n      maxScanAge: 1w\n", "duration"),
        ("    vulnerabilities:\n      signers: {keys: [ci]}\n      allow: [{id: CVE-1, until: soon}]\n", "RFC 3339"),
        ("    sbom: {required: true, denyPackages: [log4j]}\n", "not a package URL"),
        ("    sbom: sometimes\n", "expected `required` or `optional`"),
    ] {
        let e = Policy::from_yaml(&yaml(rule), Path::new("p.yaml")).unwrap_err();
        assert!(e.to_string().contains(needle), "{rule}: {e}");
        assert!(e.location().is_some(), "{rule}: {e}");
    }
}

#[test]
fn threshold_and_key_validity_parse_and_impossible_values_are_errors() {
    let base = "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  a: a.pub\n  b:\n    path: b.pub\n    validUntil: 2026-01-01\n    revoked: true\nrules:\n  - match: [\"quay.io/**\"]\n    signatures:\n      keys: [a, b]\n";
    let p = Policy::from_yaml(&format!("{base}      threshold: 2\n"), Path::new("p.yaml")).unwrap();
    let SignatureRule::Required(s) = &p.rules[0].signatures else {
        panic!("required")
    };
    assert_eq!(s.threshold, 2);
    assert!(p.key_validity["b"].revoked);
    assert_eq!(p.keys["b"], Path::new("b.pub"));
    assert!(!p.key_validity.contains_key("a"));
    let e =
        Policy::from_yaml(&format!("{base}      threshold: 3\n"), Path::new("p.yaml")).unwrap_err();
    assert!(e.to_string().contains("could never be met"), "{e}");
    let e =
        Policy::from_yaml(&format!("{base}      threshold: 0\n"), Path::new("p.yaml")).unwrap_err();
    assert!(e.to_string().contains("at least 1"), "{e}");
}

#[test]
fn keyless_ignore_sct_switch_parses_and_defaults_to_false() {
    let yaml = |extra: &str| {
        format!(
            "apiVersion: airlock/v1\nkind: Policy\ntrustedRoots:\n  pg: root.json\nrules:\n  - match: [\"quay.io/**\"]\n    signatures:\n      keyless:\n        - issuer: https://accounts.google.com\n          subject: a@b.c\n{extra}"
        )
    };
    let p = Policy::from_yaml(&yaml(""), std::path::Path::new("p.yaml")).unwrap();
    let SignatureRule::Required(s) = &p.rules[0].signatures else {
        panic!("required")
    };
    assert!(!s.keyless[0].ignore_sct);
    let p = Policy::from_yaml(
        &yaml("          ignoreSCT: true\n"),
        std::path::Path::new("p.yaml"),
    )
    .unwrap();
    let SignatureRule::Required(s) = &p.rules[0].signatures else {
        panic!("required")
    };
    assert!(s.keyless[0].ignore_sct);
}

#[test]
fn trusted_root_entry_may_be_a_tuf_snapshot_with_root_and_max_age() {
    let text = "apiVersion: airlock/v1\nkind: Policy\ntrustedRoots:\n  pg: roots/tr.jsonl\n  \
                sigstore:\n    tuf: ../trust/sigstore-tuf\n    root: ../trust/root.json\n    \
                maxAge: 720h\nrules: []\n";
    let p = Policy::from_yaml(text, Path::new("/srv/p/prod.yaml")).unwrap();
    assert_eq!(
        p.trusted_roots["pg"],
        PathBuf::from("/srv/p/roots/tr.jsonl")
    );
    assert!(!p.trusted_roots_tuf.contains_key("pg"));
    let t = &p.trusted_roots_tuf["sigstore"];
    assert_eq!(t.dir, Some(PathBuf::from("/srv/p/../trust/sigstore-tuf")));
    assert_eq!(t.root, PathBuf::from("/srv/p/../trust/root.json"));
    assert_eq!(t.max_age_secs, Some(720 * 3600));
}

#[test]
fn tuf_entry_with_a_bad_max_age_or_unknown_field_is_an_error() {
    let e = parse_err(
        "apiVersion: airlock/v1\nkind: Policy\ntrustedRoots:\n  s:\n    tuf: d\n    root: r.json\n    maxAge: 3w\nrules: []\n",
    );
    assert!(
        e.message().contains("maxAge \"3w\" is not a duration"),
        "{e}"
    );
    let e = parse_err(
        "apiVersion: airlock/v1\nkind: Policy\ntrustedRoots:\n  s:\n    tuf: d\n    root: r.json\n    mirror: x\nrules: []\n",
    );
    assert!(e.message().contains("unknown field `mirror`"), "{e}");
}
