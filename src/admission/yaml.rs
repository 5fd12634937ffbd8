//! A small, deterministic YAML writer for the generated cluster resources.
//!
//! The resources are built as [`Node`] trees whose mappings keep the order they were built in
//! (Kubernetes readers expect `apiVersion`, `kind`, `metadata`, `spec` first); every list that
//! comes from a set (repositories, keys, authorities) is sorted by the builder. The writer emits
//! block style with two-space indentation, plain scalars only where no YAML 1.1 or 1.2 reader can
//! take them for anything but a string, literal blocks (`|`) for multi-line text such as PEM keys
//! and CUE policies, and double-quoted strings with escapes for everything else. The same tree
//! always gives the same bytes.

/// One YAML value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A mapping, in the order given.
    Map(Vec<(String, Node)>),
    /// A sequence.
    Seq(Vec<Node>),
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
}

impl Node {
    /// A mapping from `(key, value)` pairs, in this order.
    pub fn map<K: Into<String>>(pairs: Vec<(K, Node)>) -> Node {
        Node::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string.
    pub fn str(s: impl Into<String>) -> Node {
        Node::Str(s.into())
    }

    /// A sequence of strings.
    pub fn strs<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Node {
        Node::Seq(items.into_iter().map(|s| Node::str(s.as_ref())).collect())
    }
}

/// The document for `node`, ending with a newline (no `---` marker).
pub fn to_yaml(node: &Node) -> String {
    let mut out = String::new();
    match node {
        Node::Map(pairs) if !pairs.is_empty() => write_map(&mut out, pairs, 0, false),
        Node::Seq(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        other => {
            write_inline(&mut out, other, 2);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// Mapping entries at column `col`. When `continued`, the first key follows text already on the
/// line (a `- ` sequence marker).
fn write_map(out: &mut String, pairs: &[(String, Node)], col: usize, continued: bool) {
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 || !continued {
            indent(out, col);
        }
        out.push_str(&scalar(key, col + 2));
        out.push(':');
        match value {
            Node::Map(inner) if !inner.is_empty() => {
                out.push('\n');
                write_map(out, inner, col + 2, false);
            }
            Node::Seq(items) if !items.is_empty() => {
                out.push('\n');
                write_seq(out, items, col);
            }
            other => {
                out.push(' ');
                write_inline(out, other, col + 2);
                out.push('\n');
            }
        }
    }
}

/// Sequence items with their `- ` marker at column `col`.
fn write_seq(out: &mut String, items: &[Node], col: usize) {
    for item in items {
        indent(out, col);
        out.push('-');
        match item {
            Node::Map(inner) if !inner.is_empty() => {
                out.push(' ');
                write_map(out, inner, col + 2, true);
            }
            Node::Seq(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, col + 2);
            }
            other => {
                out.push(' ');
                write_inline(out, other, col + 2);
                out.push('\n');
            }
        }
    }
}

/// A value that fits after `key: ` or `- ` (block scalars continue on the next lines, indented to
/// `content_col`).
fn write_inline(out: &mut String, node: &Node, content_col: usize) {
    match node {
        Node::Map(_) => out.push_str("{}"),
        Node::Seq(_) => out.push_str("[]"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Int(i) => out.push_str(&i.to_string()),
        Node::Str(s) => out.push_str(&scalar(s, content_col)),
    }
}

/// A string as a YAML scalar: plain when safe, a literal block for clean multi-line text, else
/// double-quoted.
fn scalar(s: &str, content_col: usize) -> String {
    if is_plain_safe(s) {
        return s.to_string();
    }
    if let Some(block) = literal_block(s, content_col) {
        return block;
    }
    double_quoted(s)
}

/// Words that YAML 1.1 or 1.2 readers turn into booleans or null.
const SPECIAL_WORDS: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
];

/// Can `s` be written as a plain scalar and read back as the same string by any YAML reader?
/// Conservative: a letter or `/` first (so never a number, an indicator or a special float),
/// then letters, digits and `. _ / - : @ *` only, not ending with `:`, and not a word that YAML
/// 1.1 reads as a boolean or null.
fn is_plain_safe(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '/' => {}
        _ => return false,
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._/-:@*".contains(c))
    {
        return false;
    }
    if s.ends_with(':') {
        return false;
    }
    !SPECIAL_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// A literal block (`|` or `|-`) for multi-line text whose lines survive it unchanged: printable
/// characters and spaces only, no trailing spaces, no leading space on the first line, at most
/// one final newline.
fn literal_block(s: &str, content_col: usize) -> Option<String> {
    if !s.contains('\n') || s.ends_with("\n\n") || s.starts_with(' ') || s.starts_with('\n') {
        return None;
    }
    let body = s.strip_suffix('\n');
    let text = body.unwrap_or(s);
    for line in text.split('\n') {
        if line.ends_with(' ') || line.chars().any(|c| c.is_control() || is_special_break(c)) {
            return None;
        }
    }
    let mut out = String::from(if body.is_some() { "|" } else { "|-" });
    for line in text.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(&mut out, content_col);
            out.push_str(line);
        }
    }
    Some(out)
}

/// Characters YAML treats as line breaks or that readers may strip.
fn is_special_break(c: char) -> bool {
    matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// A double-quoted scalar with YAML escapes.
fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || is_special_break(c) => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(node: &Node) -> serde_yaml::Value {
        serde_yaml::from_str(&to_yaml(node)).unwrap()
    }

    #[test]
    fn risky_strings_are_quoted_and_read_back_as_strings() {
        for s in [
            "yes",
            "No",
            "on",
            "null",
            "~",
            "1.0",
            "0x1f",
            "1e3",
            "12:30",
            "-a",
            "*alias",
            "&a",
            "@x",
            "a: b",
            "a #b",
            "",
            " lead",
            "trail ",
            "!tag",
            "%d",
            "a:",
            "{x}",
            "[x]",
            "'q'",
            "\"d\"",
            "tab\there",
            "ctl\u{1}",
            "127.0.0.1:5000/a@*",
            ".inf",
            "=",
        ] {
            let node = Node::map(vec![("k", Node::str(s))]);
            let back = round_trip(&node);
            assert_eq!(back["k"], serde_yaml::Value::String(s.to_string()), "{s:?}");
        }
    }

    #[test]
    fn pem_text_becomes_a_literal_block() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n";
        let node = Node::map(vec![(
            "a",
            Node::Seq(vec![Node::map(vec![("data", Node::str(pem))])]),
        )]);
        let text = to_yaml(&node);
        assert!(text.contains("data: |\n    -----BEGIN"), "{text}");
        assert_eq!(round_trip(&node)["a"][0]["data"].as_str(), Some(pem));
        let no_newline = pem.trim_end();
        let node = Node::map(vec![("d", Node::str(no_newline))]);
        assert!(to_yaml(&node).contains("d: |-\n"));
        assert_eq!(round_trip(&node)["d"].as_str(), Some(no_newline));
    }

    #[test]
    fn nesting_round_trips() {
        let node = Node::map(vec![
            ("apiVersion", Node::str("v1")),
            ("empty", Node::Map(vec![])),
            ("none", Node::Seq(vec![])),
            (
                "list",
                Node::Seq(vec![
                    Node::map(vec![("a", Node::Int(1)), ("b", Node::Bool(true))]),
                    Node::Seq(vec![Node::str("x"), Node::str("y")]),
                    Node::str("multi\nline\n"),
                ]),
            ),
        ]);
        let back = round_trip(&node);
        assert_eq!(back["apiVersion"].as_str(), Some("v1"));
        assert!(back["empty"].as_mapping().unwrap().is_empty());
        assert!(back["none"].as_sequence().unwrap().is_empty());
        assert_eq!(back["list"][0]["a"].as_i64(), Some(1));
        assert_eq!(back["list"][0]["b"].as_bool(), Some(true));
        assert_eq!(back["list"][1][1].as_str(), Some("y"));
        assert_eq!(back["list"][2].as_str(), Some("multi\nline\n"));
    }
}
