//! The policy error: what was expected, what was found, where, and what to do.

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in the policy file, both counted from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What kind of problem a [`PolicyError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// The file could not be read.
    Read,
    /// The file is larger than [`super::MAX_POLICY_BYTES`].
    TooLarge,
    /// The file is not UTF-8 text.
    NotUtf8,
    /// The file holds no YAML document (empty, only comments, or `null`).
    Empty,
    /// The text is not well-formed YAML (or repeats a key in a mapping).
    Syntax,
    /// Well-formed YAML that is not a valid policy: unknown or missing field, wrong type or value,
    /// a reference to an undefined key or trusted root.
    Invalid,
    /// More rules than [`super::MAX_RULES`].
    TooManyRules,
    /// More patterns in one rule than [`super::MAX_PATTERNS_PER_RULE`], or in the whole policy
    /// than [`super::MAX_PATTERNS`].
    TooManyPatterns,
    /// The YAML nests deeper than [`crate::yamldepth::MAX_YAML_DEPTH`] (checked before parsing).
    TooDeep,
}

/// The policy could not be loaded. Displays as `FILE:LINE:COLUMN: MESSAGE` (or `FILE: MESSAGE`
/// when there is no position), where the message says what was found, what was expected and
/// what to do.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", self.place())]
pub struct PolicyError {
    kind: PolicyErrorKind,
    path: PathBuf,
    location: Option<Location>,
    message: String,
    #[source]
    source: Option<std::io::Error>,
}

impl PolicyError {
    pub(crate) fn new(
        kind: PolicyErrorKind,
        path: &Path,
        location: Option<Location>,
        message: impl Into<String>,
    ) -> PolicyError {
        PolicyError {
            kind,
            path: path.to_path_buf(),
            location,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn read(path: &Path, source: std::io::Error) -> PolicyError {
        PolicyError {
            kind: PolicyErrorKind::Read,
            path: path.to_path_buf(),
            location: None,
            message: format!(
                "cannot read the policy file: {source}; check the path given with --policy and \
                 that the file is readable"
            ),
            source: Some(source),
        }
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> PolicyErrorKind {
        self.kind
    }

    /// The policy file, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where in the file, when known.
    pub fn location(&self) -> Option<Location> {
        self.location
    }

    /// The message without the `FILE:LINE:COLUMN: ` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    fn place(&self) -> String {
        match self.location {
            Some(l) => format!("{}:{}", self.path.display(), l),
            None => self.path.display().to_string(),
        }
    }
}
