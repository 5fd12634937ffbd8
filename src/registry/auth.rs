//! Registry credentials: docker `config.json` (auths, credential helpers) and token challenges.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;

/// Largest auth file accepted.
pub const MAX_AUTH_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A username/password pair (or identity token as password with `<token>` user).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// Credentials for registries, from a docker-style auth file.
#[derive(Debug, Default)]
pub struct AuthStore {
    source: Option<PathBuf>,
    config: DockerConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{path}: cannot read auth file: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: auth file is over {MAX_AUTH_FILE_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path}: not a docker config.json: {problem}")]
    Parse { path: PathBuf, problem: String },
}

impl AuthStore {
    /// Load from an explicit file, else `$REGISTRY_AUTH_FILE`, else `~/.docker/config.json`
    /// (a missing default file means no credentials; a missing explicit file is an error).
    pub fn load(explicit: Option<&Path>) -> Result<AuthStore, AuthError> {
        let (path, must_exist) = match explicit {
            Some(p) => (Some(p.to_path_buf()), true),
            None => match std::env::var_os("REGISTRY_AUTH_FILE") {
                Some(p) if !p.is_empty() => (Some(PathBuf::from(p)), false),
                _ => (
                    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json")),
                    false,
                ),
            },
        };
        let Some(path) = path else {
            return Ok(AuthStore::default());
        };
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if !must_exist && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(AuthStore::default())
            }
            Err(e) => return Err(AuthError::Read { path, source: e }),
        };
        if meta.len() > MAX_AUTH_FILE_BYTES {
            return Err(AuthError::TooLarge { path });
        }
        let bytes = std::fs::read(&path).map_err(|e| AuthError::Read {
            path: path.clone(),
            source: e,
        })?;
        let config: DockerConfig =
            serde_json::from_slice(&bytes).map_err(|e| AuthError::Parse {
                path: path.clone(),
                problem: e.to_string(),
            })?;
        Ok(AuthStore {
            source: Some(path),
            config,
        })
    }

    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// Credentials for a registry host, if any.
    pub fn credentials_for(&self, host: &str) -> Option<Credentials> {
        let candidates: Vec<String> = if host == "registry-1.docker.io" || host == "docker.io" {
            vec![
                "https://index.docker.io/v1/".into(),
                "index.docker.io".into(),
                "docker.io".into(),
                "registry-1.docker.io".into(),
            ]
        } else {
            vec![
                host.to_string(),
                format!("https://{host}"),
                format!("http://{host}"),
                format!("https://{host}/v1/"),
            ]
        };
        for key in &candidates {
            if let Some(helper) = self.config.cred_helpers.get(key) {
                if let Some(c) = run_helper(helper, key) {
                    return Some(c);
                }
            }
        }
        for key in &candidates {
            if let Some(e) = self.config.auths.get(key) {
                if let Some(c) = entry_credentials(e) {
                    return Some(c);
                }
            }
        }
        if let Some(store) = &self.config.creds_store {
            for key in &candidates {
                if let Some(c) = run_helper(store, key) {
                    return Some(c);
                }
            }
        }
        None
    }
}

fn entry_credentials(e: &AuthEntry) -> Option<Credentials> {
    if let Some(tok) = &e.identitytoken {
        return Some(Credentials {
            username: "<token>".into(),
            password: tok.clone(),
        });
    }
    if let (Some(u), Some(p)) = (&e.username, &e.password) {
        return Some(Credentials {
            username: u.clone(),
            password: p.clone(),
        });
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(e.auth.as_deref()?.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some(Credentials {
        username: u.to_string(),
        password: p.to_string(),
    })
}

/// Run `docker-credential-<helper> get` with the server URL on stdin.
fn run_helper(helper: &str, server: &str) -> Option<Credentials> {
    use std::io::Write;
    if !helper
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return None;
    }
    let mut child = std::process::Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(server.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct HelperOut {
        username: String,
        secret: String,
    }
    let h: HelperOut = serde_json::from_slice(&out.stdout).ok()?;
    Some(Credentials {
        username: h.username,
        password: h.secret,
    })
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    Other(String),
}

/// Parse a `WWW-Authenticate` header value.
pub fn parse_challenge(v: &str) -> Challenge {
    let v = v.trim();
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Challenge::Basic,
        "bearer" => {
            let params = parse_params(rest);
            match params.get("realm") {
                Some(realm) => Challenge::Bearer {
                    realm: realm.clone(),
                    service: params.get("service").cloned(),
                    scope: params.get("scope").cloned(),
                },
                None => Challenge::Other(v.to_string()),
            }
        }
        _ => Challenge::Other(v.to_string()),
    }
}

fn parse_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq]
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        rest = &rest[eq + 1..];
        let value;
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').unwrap_or(r.len());
            value = r[..end].to_string();
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        out.insert(key, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge_with_commas_in_scope_parses() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#,
        );
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/nginx:pull,push".into())
            }
        );
    }

    #[test]
    fn basic_challenge_parses() {
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Challenge::Basic
        );
    }

    #[test]
    fn auth_file_entries_decode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        std::fs::write(
            &p,
            r#"{"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYXNz"}}}"#,
        )
        .unwrap();
        let s = AuthStore::load(Some(&p)).unwrap();
        let c = s.credentials_for("127.0.0.1:5000").unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("user", "pass"));
        assert!(s.credentials_for("other:1").is_none());
    }

    #[test]
    fn missing_explicit_auth_file_is_an_error_and_junk_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AuthStore::load(Some(&dir.path().join("nope.json"))).is_err());
        let p = dir.path().join("bad.json");
        std::fs::write(&p, "{").unwrap();
        let e = AuthStore::load(Some(&p)).unwrap_err();
        assert!(e.to_string().contains("bad.json"));
    }
}
