//! A linear pre-check of YAML nesting depth, run before a YAML parser sees hostile text.
//!
//! The YAML parser reads the whole event stream before its own recursion limit applies, and its
//! scanner is slow (super-linear) on deeply nested flow collections: 50,000 nested `{a: ` took
//! over a minute to reject. This scan counts nesting in one pass and stops at the first place
//! deeper than [`MAX_YAML_DEPTH`], so such input is refused in microseconds.
//!
//! The count is an upper bound that stays close to the real depth for ordinary documents:
//! block nesting by indentation levels (plus `- ` / `? ` markers on one line) and flow nesting
//! by `[`/`{` that start a node, skipping quoted scalars, comments and block scalars (`|`, `>`).
//! It never needs to be exact: the parser's own limit still applies after it.

/// Deepest nesting accepted in a YAML document (policies and Kubernetes manifests stay far
/// below; the YAML parser itself stops at 128).
pub const MAX_YAML_DEPTH: usize = 100;

/// Most alias references (`*name`) accepted in a YAML document. Policies and Kubernetes
/// manifests rarely use any; an alias bomb needs many, and the parser takes seconds to refuse
/// one.
pub const MAX_YAML_ALIASES: usize = 64;

/// Which limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlLimitKind {
    Depth,
    Aliases,
}

/// Where the text exceeds [`MAX_YAML_DEPTH`] or [`MAX_YAML_ALIASES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("line {line} column {column}: {}", self.problem())]
pub struct YamlTooDeep {
    pub line: usize,
    pub column: usize,
    pub limit: usize,
    pub kind: YamlLimitKind,
}

impl YamlTooDeep {
    /// What is wrong, without the position.
    pub fn problem(&self) -> String {
        match self.kind {
            YamlLimitKind::Depth => format!(
                "the YAML nests more than {} levels deep; expected a document nesting at most \
                 {} levels",
                self.limit, self.limit
            ),
            YamlLimitKind::Aliases => format!(
                "the YAML uses more than {} aliases (`*name`); expected at most {}",
                self.limit, self.limit
            ),
        }
    }
}

/// Check that `text` nests at most [`MAX_YAML_DEPTH`] levels.
pub fn check_yaml_depth(text: &str) -> Result<(), YamlTooDeep> {
    check_yaml_depth_limit(text, MAX_YAML_DEPTH)
}

/// [`check_yaml_depth`] with an explicit limit.
pub fn check_yaml_depth_limit(text: &str, limit: usize) -> Result<(), YamlTooDeep> {
    // Indentation of each open block level.
    let mut block: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    // Inside a quoted scalar that continues on the next line: the quote character.
    let mut quote: Option<u8> = None;
    // Inside a block scalar: lines indented more than this belong to it.
    let mut block_scalar: Option<usize> = None;
    let mut aliases = 0usize;
    for (line_no, line) in (1usize..).zip(text.split('\n')) {
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|b| **b == b' ').count();
        let blank = bytes[indent..].iter().all(|b| b.is_ascii_whitespace());
        if let Some(parent) = block_scalar {
            if blank || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        if quote.is_none() && flow == 0 {
            if blank || bytes[indent] == b'#' {
                continue;
            }
            if indent == 0 && (line.starts_with("---") || line.starts_with("...")) {
                block.clear();
                continue;
            }
            while block.last().is_some_and(|top| *top >= indent) {
                block.pop();
            }
            block.push(indent);
        }
        let too_deep = |col: usize| YamlTooDeep {
            line: line_no,
            column: col + 1,
            limit,
            kind: YamlLimitKind::Depth,
        };
        // Markers that open a nested node on the same line (`- - a`, `? a`).
        let mut inline = 0usize;
        // The previous significant byte on this line (None at its start).
        let mut prev: Option<u8> = None;
        let mut i = if quote.is_none() && flow == 0 {
            indent
        } else {
            0
        };
        while i < bytes.len() {
            let b = bytes[i];
            if let Some(q) = quote {
                if q == b'"' && b == b'\\' {
                    i += 2;
                    continue;
                }
                if b == q {
                    if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    quote = None;
                    prev = Some(b);
                }
                i += 1;
                continue;
            }
            let starts_node = matches!(prev, None | Some(b'-' | b':' | b'?' | b'[' | b'{' | b','));
            match b {
                b' ' | b'\t' | b'\r' => {
                    i += 1;
                    continue;
                }
                b'#' if i == 0 || matches!(bytes[i - 1], b' ' | b'\t') => break,
                b'"' | b'\'' if starts_node => quote = Some(b),
                b'[' | b'{' if starts_node || flow > 0 && prev != Some(b'"') => {
                    flow += 1;
                }
                b']' | b'}' if flow > 0 => flow -= 1,
                b'*' if starts_node => {
                    aliases += 1;
                    if aliases > MAX_YAML_ALIASES {
                        return Err(YamlTooDeep {
                            line: line_no,
                            column: i + 1,
                            limit: MAX_YAML_ALIASES,
                            kind: YamlLimitKind::Aliases,
                        });
                    }
                }
                b'-' | b'?'
                    if flow == 0
                        && starts_node
                        && matches!(bytes.get(i + 1), None | Some(b' ' | b'\t')) =>
                {
                    inline += 1;
                }
                b'|' | b'>' if flow == 0 && starts_node => {
                    block_scalar = Some(indent);
                    break;
                }
                _ => {}
            }
            if block.len() + inline + flow > limit {
                return Err(too_deep(i));
            }
            prev = Some(b);
            i += 1;
        }
        if block.len() + inline + flow > limit {
            return Err(too_deep(0));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_documents_pass() {
        let k8s = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web # [x\nspec:\n  \
                   template:\n    spec:\n      containers:\n      - name: app\n        image: \
                   r.example/app:1[a\n        args: [\"[[[[\", '{{{{', \"a\\\"[\"]\n        \
                   command:\n        - |\n          [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n\
                   \x20         {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n";
        assert_eq!(check_yaml_depth_limit(k8s, 12), Ok(()));
        let mut wide = String::from("items:\n");
        for _ in 0..10_000 {
            wide.push_str("- {a: [1, 2, {b: c}]}\n");
        }
        assert_eq!(check_yaml_depth_limit(&wide, 8), Ok(()));
    }

    #[test]
    fn deep_flow_block_and_dash_nesting_is_refused_at_the_first_deep_place() {
        let flow = "{a: ".repeat(50_000) + "1" + &"}".repeat(50_000);
        let e = check_yaml_depth(&flow).unwrap_err();
        assert_eq!((e.line, e.limit), (1, MAX_YAML_DEPTH));
        assert!(e.column < 500, "{e}");
        let seq = "[".repeat(200) + &"]".repeat(200);
        assert!(check_yaml_depth(&seq).is_err());
        let mut block = String::new();
        for i in 0..200 {
            block.push_str(&" ".repeat(i));
            block.push_str("a:\n");
        }
        assert_eq!(
            check_yaml_depth(&block).unwrap_err().line,
            MAX_YAML_DEPTH + 1
        );
        assert!(check_yaml_depth(&("- ".repeat(500) + "a")).is_err());
        // At the limit is fine.
        assert_eq!(
            check_yaml_depth(&("[".repeat(99) + &"]".repeat(99))),
            Ok(())
        );
    }

    #[test]
    fn alias_bombs_are_refused_and_a_few_aliases_pass() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..30 {
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            ));
        }
        let e = check_yaml_depth(&bomb).unwrap_err();
        assert_eq!(e.kind, YamlLimitKind::Aliases);
        let few = "base: &b {a: 1}\nx: *b\ny: [*b, *b]\nz: \"*not an alias\"\nw: a*b\n";
        assert_eq!(check_yaml_depth(few), Ok(()));
    }
}
