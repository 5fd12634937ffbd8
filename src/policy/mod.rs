//! The policy file (`apiVersion: airlock/v1`, `kind: Policy`).
