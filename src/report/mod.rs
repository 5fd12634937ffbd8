//! Findings, the `airlock.report/v1` document and its renderings.
pub mod finding;

pub use finding::{Code, Finding, Severity};
