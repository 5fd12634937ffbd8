//! What an archive member is, decided from its raw name and type before anything is written.
use crate::oci::{Algorithm, Digest};

/// A member airlock accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Member {
    /// `blobs`, `blobs/sha256`, `blobs/sha512`.
    Dir(String),
    /// A regular file at the top of the bundle (`oci-layout`, `index.json`, the lock, …).
    TopFile(String),
    /// `blobs/<alg>/<hex>`.
    Blob(Digest),
    /// A pax global header (ignored).
    Ignored,
}

/// Why a member is refused (the `archive-invalid` finding).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MemberError {
    #[error("absolute path: members must be relative to the bundle directory")]
    Absolute,
    #[error("'..' in the path: a member may not point outside the bundle directory")]
    DotDot,
    #[error("a {0}: a bundle holds only regular files and directories")]
    NotRegular(&'static str),
    #[error("archive junk ({0}): remove it before packing, after checking how it got there")]
    Junk(&'static str),
    #[error("not part of an OCI image layout ({0})")]
    Unexpected(&'static str),
    #[error("listed twice: a member may appear only once")]
    Duplicate,
}

/// Classify a member by its raw path bytes and tar entry type.
pub fn classify(path: &[u8], kind: tar::EntryType) -> Result<Member, MemberError> {
    use tar::EntryType as E;
    if kind == E::XGlobalHeader {
        return Ok(Member::Ignored);
    }
    if path.first() == Some(&b'/') {
        return Err(MemberError::Absolute);
    }
    let Ok(s) = std::str::from_utf8(path) else {
        return Err(MemberError::Unexpected("name is not UTF-8"));
    };
    if s.contains('\0') || s.contains('\\') {
        return Err(MemberError::Unexpected("name holds NUL or backslash"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(MemberError::DotDot),
            "__MACOSX" => return Err(MemberError::Junk("a macOS __MACOSX folder")),
            c if c.starts_with("._") => {
                return Err(MemberError::Junk("a macOS AppleDouble ._ file"))
            }
            c => parts.push(c),
        }
    }
    match kind {
        E::Symlink | E::Link => return Err(MemberError::NotRegular("link")),
        E::Char | E::Block => return Err(MemberError::NotRegular("device")),
        E::Fifo => return Err(MemberError::NotRegular("FIFO")),
        E::Directory | E::Regular | E::Continuous => {}
        _ => return Err(MemberError::NotRegular("special tar entry")),
    }
    if kind == E::Directory {
        return match parts.as_slice() {
            [] => Ok(Member::Ignored),
            ["blobs"] => Ok(Member::Dir("blobs".into())),
            ["blobs", alg] if algorithm(alg).is_some() => Ok(Member::Dir(format!("blobs/{alg}"))),
            _ => Err(MemberError::Unexpected(
                "a directory other than blobs/<algorithm>",
            )),
        };
    }
    match parts.as_slice() {
        [name] => {
            if name.starts_with('.') {
                return Err(MemberError::Unexpected("a hidden top-level file"));
            }
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                return Err(MemberError::Unexpected(
                    "a top-level name with unusual characters",
                ));
            }
            Ok(Member::TopFile((*name).to_string()))
        }
        ["blobs", alg, hex] => {
            let Some(alg) = algorithm(alg) else {
                return Err(MemberError::Unexpected("an unknown blob algorithm"));
            };
            Digest::parse(&format!("{}:{hex}", alg.as_str()))
                .map(Member::Blob)
                .map_err(|_| MemberError::Unexpected("a blob name that is not a digest"))
        }
        _ => Err(MemberError::Unexpected(
            "a path outside blobs/<algorithm>/<hex>",
        )),
    }
}

fn algorithm(s: &str) -> Option<Algorithm> {
    match s {
        "sha256" => Some(Algorithm::Sha256),
        "sha512" => Some(Algorithm::Sha512),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tar::EntryType as E;

    const HEX: &str = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    #[test]
    fn layout_members_are_accepted() {
        assert_eq!(
            classify(b"oci-layout", E::Regular),
            Ok(Member::TopFile("oci-layout".into()))
        );
        assert_eq!(
            classify(b"./index.json", E::Regular),
            Ok(Member::TopFile("index.json".into()))
        );
        assert_eq!(
            classify(format!("blobs/sha256/{HEX}").as_bytes(), E::Regular),
            Ok(Member::Blob(
                Digest::parse(&format!("sha256:{HEX}")).unwrap()
            ))
        );
        assert_eq!(
            classify(b"blobs/", E::Directory),
            Ok(Member::Dir("blobs".into()))
        );
        assert_eq!(classify(b"./", E::Directory), Ok(Member::Ignored));
    }

    #[test]
    fn hostile_members_are_refused_by_kind() {
        assert_eq!(classify(b"../x", E::Regular), Err(MemberError::DotDot));
        assert_eq!(
            classify(b"blobs/../../x", E::Regular),
            Err(MemberError::DotDot)
        );
        assert_eq!(
            classify(b"/etc/passwd", E::Regular),
            Err(MemberError::Absolute)
        );
        assert_eq!(
            classify(b"index.json", E::Symlink),
            Err(MemberError::NotRegular("link"))
        );
        assert_eq!(
            classify(b"index.json", E::Link),
            Err(MemberError::NotRegular("link"))
        );
        assert_eq!(
            classify(b"dev", E::Char),
            Err(MemberError::NotRegular("device"))
        );
        assert_eq!(
            classify(b"dev", E::Block),
            Err(MemberError::NotRegular("device"))
        );
        assert!(matches!(
            classify(b"__MACOSX/._x", E::Regular),
            Err(MemberError::Junk(_))
        ));
        assert!(matches!(
            classify(b"blobs/sha256/._a", E::Regular),
            Err(MemberError::Junk(_))
        ));
        assert!(matches!(
            classify(b"blobs/sha256/nothex", E::Regular),
            Err(MemberError::Unexpected(_))
        ));
        assert!(matches!(
            classify(b"etc/cron.d/x", E::Regular),
            Err(MemberError::Unexpected(_))
        ));
        assert!(matches!(
            classify(b"a\\b", E::Regular),
            Err(MemberError::Unexpected(_))
        ));
    }
}
