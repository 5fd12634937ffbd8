//! The generated cluster resources as YAML, emitted by `serde_yaml`'s serializer.
//!
//! The resources are built as [`Node`] trees whose mappings keep the order they were built in
//! (Kubernetes readers expect `apiVersion`, `kind`, `metadata`, `spec` first); every list that
//! comes from a set (repositories, keys, authorities) is sorted by the builder. The tree is
//! converted to a `serde_yaml::Value` (its mappings keep insertion order) and serialized by the
//! crate: no text is ever concatenated into YAML, so a value — an image name with a newline, a
//! `---`, a quote — can only ever be one scalar (quoted or a literal block as the serializer
//! decides). The same tree always gives the same bytes.

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

    fn to_value(&self) -> serde_yaml::Value {
        use serde_yaml::Value;
        match self {
            Node::Map(pairs) => {
                let mut m = serde_yaml::Mapping::with_capacity(pairs.len());
                for (k, v) in pairs {
                    m.insert(Value::String(k.clone()), v.to_value());
                }
                Value::Mapping(m)
            }
            Node::Seq(items) => Value::Sequence(items.iter().map(Node::to_value).collect()),
            Node::Str(s) => Value::String(s.clone()),
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::Number((*i).into()),
        }
    }
}

/// The document for `node`, ending with a newline (no `---` marker).
pub fn to_yaml(node: &Node) -> String {
    // Serializing a Value of strings, numbers, booleans, sequences and string-keyed mappings
    // cannot fail; should the crate ever refuse one, the output is an empty mapping (no object)
    // rather than partial text.
    serde_yaml::to_string(&node.to_value()).unwrap_or_else(|_| "{}\n".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(node: &Node) -> serde_yaml::Value {
        serde_yaml::from_str(&to_yaml(node)).unwrap()
    }

    #[test]
    fn a_newline_document_marker_in_a_value_stays_one_string_and_adds_no_object() {
        let evil = "registry.example/app:1.0\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: pwned\n";
        let node = Node::map(vec![
            ("apiVersion", Node::str("v1")),
            ("kind", Node::str("ConfigMap")),
            ("data", Node::map(vec![("image", Node::str(evil))])),
        ]);
        let text = to_yaml(&node);
        let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
        assert_eq!(docs.len(), 1, "{text}");
        assert_eq!(docs[0]["data"]["image"].as_str(), Some(evil));
        assert!(!text.contains("\n---\n"), "{text}");
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
