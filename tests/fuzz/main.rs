//! Fuzz and property targets for every parser of outside input (see `harness.rs` for the engine
//! and `targets.rs` for the targets). `cargo test --test fuzz` runs each briefly with a fixed
//! number of cases; `scripts/fuzz.sh SECONDS` runs each for that long.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod harness;
mod targets;

macro_rules! fuzz_tests {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                targets::run($name);
            }
        )*

        /// The test list and the target list agree (a new target needs its test line).
        #[test]
        fn every_fuzz_target_has_a_test() {
            let mut tested = vec![$($name),*];
            let mut all: Vec<&str> = targets::all().iter().map(|t| t.name).collect();
            tested.sort();
            all.sort();
            assert_eq!(tested, all);
        }
    };
}

fuzz_tests! {
    fuzz_manifest_parser_never_panics_and_accepted_manifests_revalidate => "manifest",
    fuzz_layout_index_never_panics_and_accepted_index_revalidates => "layout-index",
    fuzz_reference_and_digest_parsers_round_trip => "reference",
    fuzz_lock_parser_never_panics_and_round_trips => "lock",
    fuzz_pins_parser_never_panics_and_pins_reparse => "pins",
    fuzz_mapping_parser_never_panics_and_round_trips => "mapping",
    fuzz_policy_parser_never_panics_and_errors_are_typed => "policy",
    fuzz_dsse_parser_never_panics_and_accepted_envelopes_revalidate => "dsse",
    fuzz_intoto_parser_never_panics_and_accepted_statements_revalidate => "intoto",
    fuzz_simple_signing_parser_never_panics_and_digest_revalidates => "simplesign",
    fuzz_sbom_parsers_never_panic_and_are_deterministic => "sbom",
    fuzz_public_key_pem_parser_never_panics_and_round_trips => "public-key-pem",
    fuzz_cosign_key_file_parser_never_panics_and_keys_sign => "cosign-key-file",
    fuzz_trusted_root_parsers_never_panic => "trusted-root",
    fuzz_preflight_manifest_scan_never_panics_and_is_deterministic => "k8s-manifests",
    fuzz_registry_token_and_error_bodies_never_panic => "registry-responses",
}
