//! Checks and matchers for the policy's small languages: repository patterns (`match`,
//! `identities`), platforms (`os/arch[/variant]`) and regular expressions (`issuerRegExp`,
//! `subjectRegExp`).
//!
//! Every `check_*` function returns `Err(message)` where the message says what was found, what
//! was expected and what to do; the caller adds the file, line and column.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// Longest repository pattern accepted (a repository name is at most 255 characters; a pattern
/// is allowed some slack for wildcards).
pub const MAX_PATTERN_LEN: usize = 1024;

/// Longest regular expression accepted.
pub const MAX_REGEXP_LEN: usize = 4096;

/// Check one repository pattern (an entry of `match` or of `signatures.identities`).
///
/// Accepted: segments separated by `/`, each made of `A-Z a-z 0-9 . _ - :` (upper case and `:`
/// only in the first segment, the registry host) and `*`; `**` only as a whole segment. The first
/// segment must be a registry host (`quay.io`, `localhost:5000`, `localhost`) or a wildcard,
/// because repositories are matched in normalised form (`docker.io/library/nginx`).
pub fn check_pattern(p: &str) -> Result<(), String> {
    const EXAMPLES: &str = "e.g. `registry.example/team/app` or `quay.io/minio/**`";
    if p.is_empty() {
        return Err(format!(
            "found an empty pattern; expected a repository or a glob ({EXAMPLES})"
        ));
    }
    if p.len() > MAX_PATTERN_LEN {
        return Err(format!(
            "found a pattern of {} characters, longer than the limit of {MAX_PATTERN_LEN}; \
             shorten it with `*` or `**`",
            p.len()
        ));
    }
    if let Some(c) = p.chars().find(|c| !is_pattern_char(*c)) {
        let why = match c {
            '@' => {
                "patterns match repositories, not digests: remove the `@sha256:…` part".to_string()
            }
            '?' | '[' | ']' | '{' | '}' | '\\' | '!' => format!(
                "`{c}` is not supported: the only wildcards are `*` (within one path segment) \
                 and `**` (any number of segments)"
            ),
            c if c.is_whitespace() => "remove the whitespace".to_string(),
            c => format!(
                "`{}` cannot appear in a repository name",
                c.escape_default()
            ),
        };
        return Err(format!("pattern `{p}`: {why}"));
    }
    let segments: Vec<&str> = p.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        if seg.is_empty() {
            return Err(format!(
                "pattern `{p}` has an empty path segment (a leading, trailing or doubled `/`); \
                 expected segments separated by single slashes ({EXAMPLES})"
            ));
        }
        if seg.contains("**") && *seg != "**" {
            return Err(format!(
                "pattern `{p}`: `**` must be a whole path segment (as in `quay.io/**` or \
                 `quay.io/**/app`), found `{seg}`; use `*` to match within a segment"
            ));
        }
        if i > 0 && seg.contains(':') {
            return Err(format!(
                "pattern `{p}`: patterns match repositories, not tags: remove the `:{}` part",
                seg.split_once(':').map(|(_, tag)| tag).unwrap_or_default()
            ));
        }
        if i > 0 && seg.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "pattern `{p}`: repository paths are lower case, so `{seg}` can never match; \
                 write it as `{}`",
                seg.to_ascii_lowercase()
            ));
        }
    }
    let first = segments[0];
    if segments.len() == 1 && first != "**" {
        return Err(format!(
            "pattern `{p}` has a single segment, but a repository always has a registry host and a \
             path (`docker.io/library/nginx`); write `docker.io/library/{p}` for a Docker Hub \
             image, `{p}/**` for everything on a registry, or `**` for everything"
        ));
    }
    if !first.contains('*') {
        if matches!(
            first,
            "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com"
        ) {
            return Err(format!(
                "pattern `{p}`: Docker Hub repositories are matched in normalised form, under \
                 `docker.io`; write `docker.io/{}`",
                segments[1..].join("/")
            ));
        }
        let is_host = first.contains('.') || first.contains(':') || first == "localhost";
        if !is_host {
            return Err(format!(
                "pattern `{p}`: `{first}` is not a registry host, and repositories are matched in \
                 normalised form (`docker.io/library/nginx`, not `nginx` or `library/nginx`); \
                 write `docker.io/{p}`{}",
                if first == "library" {
                    ""
                } else {
                    " (or `docker.io/library/…` for official images)"
                }
            ));
        }
        if first == "docker.io" && segments.len() == 2 && !segments[1].contains('*') {
            return Err(format!(
                "pattern `{p}`: Docker Hub official images are normalised to \
                 `docker.io/library/{}`; write that instead",
                segments[1]
            ));
        }
    }
    Ok(())
}

fn is_pattern_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '*')
}

/// Compile patterns (already accepted by [`check_pattern`]) into one matcher.
///
/// `*` never crosses a `/`; `**` matches any number of segments, including none; and
/// `prefix/**` also matches `prefix` itself.
pub fn compile(patterns: &[String]) -> Result<GlobSet, globset::Error> {
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        builder.add(glob(p)?);
        if let Some(prefix) = p.strip_suffix("/**") {
            builder.add(glob(prefix)?);
        }
    }
    builder.build()
}

fn glob(p: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(p)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
}

/// Does one pattern (accepted by [`check_pattern`]) cover `repository`? A pattern that does not
/// compile covers nothing.
pub fn pattern_matches(pattern: &str, repository: &str) -> bool {
    compile(std::slice::from_ref(&pattern.to_string()))
        .map(|set| set.is_match(repository))
        .unwrap_or(false)
}

/// Check a platform: `os/arch` or `os/arch/variant`, lower case (`linux/amd64`, `linux/arm64/v8`).
pub fn check_platform(p: &str) -> Result<(), String> {
    let parts: Vec<&str> = p.split('/').collect();
    let part_ok = |s: &&str| {
        !s.is_empty()
            && s.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })
    };
    if (2..=3).contains(&parts.len()) && parts.iter().all(part_ok) {
        Ok(())
    } else {
        Err(format!(
            "found platform `{p}`; expected `os/arch` or `os/arch/variant` in lower case, such as \
             `linux/amd64` or `linux/arm64/v8`"
        ))
    }
}

/// A minimal syntax check for a regular expression (RE2/Go syntax as cosign uses).
///
/// The crate has no regex engine yet, so this catches the common mistakes only: an empty
/// expression, unbalanced `(`/`)` or `[`/`]`, a trailing `\`, and a repetition with nothing to
/// repeat (`*abc`, `(+a)`, `a**`).
pub fn check_regexp(re: &str) -> Result<(), String> {
    if re.is_empty() {
        return Err(
            "found an empty regular expression; expected a pattern such as \
             `^https://github.com/minio/`, or remove the field"
                .to_string(),
        );
    }
    if re.len() > MAX_REGEXP_LEN {
        return Err(format!(
            "found a regular expression of {} characters, longer than the limit of \
             {MAX_REGEXP_LEN}; shorten it",
            re.len()
        ));
    }
    let bad = |pos: usize, what: &str| {
        Err(format!(
            "`{re}` is not a valid regular expression: {what} at character {}; fix the \
             expression (RE2 syntax, as cosign uses)",
            pos + 1
        ))
    };
    let chars: Vec<char> = re.chars().collect();
    // Open groups, by character position.
    let mut groups: Vec<usize> = Vec::new();
    // What the previous token was, to catch repetitions of nothing.
    #[derive(PartialEq)]
    enum Prev {
        Start,
        Atom,
        Repeat,
        RepeatLazy,
    }
    let mut prev = Prev::Start;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                if i + 1 >= chars.len() {
                    return bad(i, "trailing `\\`");
                }
                i += 2;
                prev = Prev::Atom;
                continue;
            }
            '(' => {
                groups.push(i);
                // `(?flags)`, `(?:…)`, `(?P<name>…)`: skip the `?` so it is not a repetition.
                if chars.get(i + 1) == Some(&'?') {
                    i += 1;
                }
                prev = Prev::Start;
            }
            ')' => {
                if groups.pop().is_none() {
                    return bad(i, "`)` without a matching `(`");
                }
                prev = Prev::Atom;
            }
            '|' => prev = Prev::Start,
            '*' | '+' | '?' => match prev {
                Prev::Start => return bad(i, &format!("`{c}` with nothing to repeat")),
                Prev::Repeat if c == '?' => prev = Prev::RepeatLazy,
                Prev::Repeat | Prev::RepeatLazy => {
                    return bad(i, &format!("`{c}` repeats a repetition"))
                }
                Prev::Atom => prev = Prev::Repeat,
            },
            '[' => {
                let start = i;
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                // A `]` right after `[` or `[^` is a literal.
                if chars.get(i) == Some(&']') {
                    i += 1;
                }
                let mut closed = false;
                while i < chars.len() {
                    match chars[i] {
                        '\\' => i += 2,
                        '[' if chars.get(i + 1) == Some(&':') => {
                            // `[:alpha:]`
                            let rest: String = chars[i..].iter().collect();
                            match rest.find(":]") {
                                Some(end) => i += rest[..end + 2].chars().count(),
                                None => return bad(i, "unclosed `[:` character class name"),
                            }
                        }
                        ']' => {
                            closed = true;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                if !closed {
                    return bad(start, "unclosed `[`");
                }
                prev = Prev::Atom;
            }
            _ => prev = Prev::Atom,
        }
        i += 1;
    }
    if let Some(open) = groups.pop() {
        return bad(open, "unclosed `(`");
    }
    Ok(())
}
