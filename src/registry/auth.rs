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
    #[error("credential helper {program} (named in {field} of {file}): {problem}")]
    Helper {
        program: String,
        field: &'static str,
        file: String,
        problem: String,
    },
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

    /// Credentials for a registry host (`host[:port]` as in image references), if any.
    ///
    /// Keys of `auths` and `credHelpers` match in every form docker writes: `host`,
    /// `https://host`, `http://host`, `https://host/v1/`, `https://host/v2/`; Docker Hub
    /// (`docker.io`, `registry-1.docker.io`, `index.docker.io`) also matches
    /// `https://index.docker.io/v1/`. A credential helper that is named but not installed is an
    /// error naming `docker-credential-NAME`.
    pub fn credentials_for(&self, host: &str) -> Result<Option<Credentials>, AuthError> {
        let want = normalize_registry_key(host);
        let server = server_url_for(&want);
        if let Some(helper) = self.find(&self.config.cred_helpers, &want) {
            let helper = helper.clone();
            return self.run_helper(&helper, &server, "credHelpers");
        }
        if let Some(e) = self.find(&self.config.auths, &want) {
            if let Some(c) = entry_credentials(e) {
                return Ok(Some(c));
            }
        }
        if let Some(store) = self.config.creds_store.clone() {
            return self.run_helper(&store, &server, "credsStore");
        }
        Ok(None)
    }

    /// Whether the auth file names this host at all (an `auths` entry or a `credHelpers` entry):
    /// a token realm on another host only gets credentials when its host is named here.
    pub fn names_host(&self, host: &str) -> bool {
        let want = normalize_registry_key(host);
        self.find(&self.config.auths, &want).is_some()
            || self.find(&self.config.cred_helpers, &want).is_some()
    }

    /// The value under the key that normalizes to `want`; a bare `host` key beats URL forms.
    fn find<'a, V>(&self, map: &'a BTreeMap<String, V>, want: &str) -> Option<&'a V> {
        if let Some(v) = map.get(want) {
            return Some(v);
        }
        map.iter()
            .find(|(k, _)| normalize_registry_key(k) == want)
            .map(|(_, v)| v)
    }

    fn run_helper(
        &self,
        helper: &str,
        server: &str,
        field: &'static str,
    ) -> Result<Option<Credentials>, AuthError> {
        run_helper(helper, server).map_err(|problem| AuthError::Helper {
            program: format!("docker-credential-{helper}"),
            field,
            file: self
                .source
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            problem,
        })
    }
}

/// The registry host a `config.json` key stands for: scheme, path and trailing slashes removed,
/// lowercased; every Docker Hub spelling becomes `docker.io`.
pub fn normalize_registry_key(key: &str) -> String {
    let k = key.trim();
    let k = k
        .strip_prefix("https://")
        .or_else(|| k.strip_prefix("http://"))
        .unwrap_or(k);
    let host = k.split('/').next().unwrap_or("").to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" | "docker.io" => {
            "docker.io".into()
        }
        _ => host,
    }
}

/// The server URL a credential helper is asked about (what `docker login` stores).
fn server_url_for(normalized: &str) -> String {
    if normalized == "docker.io" {
        "https://index.docker.io/v1/".into()
    } else {
        normalized.to_string()
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

/// Run `docker-credential-<helper> get` with the server URL on stdin. `Ok(None)` when the
/// helper has no credentials for it; `Err` when the helper cannot be run or answers nonsense.
fn run_helper(helper: &str, server: &str) -> Result<Option<Credentials>, String> {
    use std::io::Write;
    if helper.is_empty()
        || !helper
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err("the helper name may only hold letters, digits, '-', '_' and '.'".into());
    }
    let program = format!("docker-credential-{helper}");
    let mut child = match std::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "it is not installed (no {program} on PATH); install it or remove the entry"
            ))
        }
        Err(e) => return Err(format!("cannot run it: {e}")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading gives a broken pipe; its exit status says more.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("cannot run it: {e}"))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stdout);
        // The helper protocol's answer for "nothing stored for this server".
        if msg.contains("credentials not found") || out.stdout.is_empty() {
            return Ok(None);
        }
        return Err(format!(
            "it failed ({}): {}",
            out.status,
            crate::text::shorten(msg.trim(), 200)
        ));
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct HelperOut {
        username: String,
        secret: String,
    }
    let h: HelperOut = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!("its answer is not the helper JSON ({{\"Username\",\"Secret\"}}): {e}")
    })?;
    Ok(Some(Credentials {
        username: h.username,
        password: h.secret,
    }))
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
        let c = s.credentials_for("127.0.0.1:5000").unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("user", "pass"));
        assert!(s.credentials_for("other:1").unwrap().is_none());
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

    #[test]
    fn config_keys_match_in_every_form_docker_writes() {
        for (key, host) in [
            ("reg.example:5000", "reg.example:5000"),
            ("https://reg.example:5000", "reg.example:5000"),
            ("https://reg.example:5000/", "reg.example:5000"),
            ("https://reg.example:5000/v1/", "reg.example:5000"),
            ("https://reg.example:5000/v2/", "reg.example:5000"),
            ("http://reg.example", "reg.example"),
            ("https://index.docker.io/v1/", "docker.io"),
            ("https://index.docker.io/v1/", "registry-1.docker.io"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("config.json");
            std::fs::write(
                &p,
                format!(r#"{{"auths":{{"{key}":{{"auth":"dXNlcjpwYXNz"}}}}}}"#),
            )
            .unwrap();
            let s = AuthStore::load(Some(&p)).unwrap();
            let c = s.credentials_for(host).unwrap();
            assert!(c.is_some(), "key {key} should match host {host}");
            assert!(s.credentials_for("reg.example:5001").unwrap().is_none());
        }
    }

    #[test]
    fn missing_credential_helper_is_an_error_naming_the_program() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        std::fs::write(
            &p,
            r#"{"credHelpers":{"https://reg.example/v2/":"airlock-no-such-helper"}}"#,
        )
        .unwrap();
        let s = AuthStore::load(Some(&p)).unwrap();
        let e = s.credentials_for("reg.example").unwrap_err().to_string();
        assert!(
            e.contains("docker-credential-airlock-no-such-helper") && e.contains("not installed"),
            "{e}"
        );
        assert!(s.credentials_for("other.example").unwrap().is_none());
    }
}
