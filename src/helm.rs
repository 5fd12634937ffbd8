//! Helm charts from classic repositories (`REPO/index.yaml`), stored in the bundle as Helm OCI
//! artifacts so that `push` puts them into a registry `helm pull oci://…` can read.
//!
//! Fetching is an I/O edge ([`Fetcher`]); everything else here is pure: parsing `index.yaml`,
//! checking the archive against the index's `digest` (a mismatch is the finding
//! `chart-digest-mismatch`, not an error), reading `Chart.yaml` out of the archive and building
//! the OCI manifest with Helm's media types.
#![allow(clippy::disallowed_methods)] // an edge: file I/O (and clocks for timeouts) live here by design
use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;

use crate::oci::manifest::{Descriptor, MEDIA_OCI_MANIFEST};
use crate::oci::Digest;
use crate::registry::auth::AuthStore;
use crate::report::{Code, Finding};
use crate::sources::ChartSpec;

/// Helm's OCI config media type (the chart's `Chart.yaml` as JSON).
pub const MEDIA_HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm's OCI chart layer (the `.tgz` bytes unchanged).
pub const MEDIA_HELM_CHART: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Helm's OCI provenance layer (the `.prov` file unchanged).
pub const MEDIA_HELM_PROV: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";

/// Largest `index.yaml` accepted.
pub const MAX_INDEX_BYTES: usize = 64 * 1024 * 1024;
/// Largest chart archive accepted.
pub const MAX_CHART_BYTES: usize = 128 * 1024 * 1024;
/// Largest `.prov` file accepted.
pub const MAX_PROV_BYTES: usize = 1024 * 1024;
/// Largest uncompressed file read out of a chart archive (`Chart.yaml`).
pub const MAX_CHART_FILE_BYTES: u64 = 1024 * 1024;
/// Most tar entries read from one chart archive.
pub const MAX_CHART_ENTRIES: usize = 100_000;
/// Most bytes decompressed from one chart archive.
pub const MAX_CHART_UNPACKED_BYTES: u64 = 1024 * 1024 * 1024;

/// Could not fetch or read (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    #[error("{url}: {size} bytes or more, over the {limit}-byte limit")]
    TooLarge {
        url: String,
        size: usize,
        limit: usize,
    },
    #[error("{url}: not a Helm repository index: {message}")]
    Index { url: String, message: String },
    #[error("{repository}: chart {name:?} version {version:?} is not in index.yaml{hint}")]
    NotInIndex {
        repository: String,
        name: String,
        version: String,
        hint: String,
    },
    #[error("chart archive {url}: {message}")]
    Archive { url: String, message: String },
    #[error("{0}")]
    Setup(String),
}

#[derive(Debug, Deserialize)]
struct Index {
    #[serde(default)]
    entries: BTreeMap<String, Vec<IndexEntry>>,
}

#[derive(Debug, Deserialize)]
struct IndexEntry {
    #[serde(default)]
    version: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    urls: Vec<String>,
}

/// One chart version as the index lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Absolute archive URL.
    pub url: String,
    /// The index's `digest` (sha256 of the archive), when given.
    pub digest: Option<Digest>,
}

/// Find `spec` in the bytes of `REPO/index.yaml`.
pub fn find_in_index(spec: &ChartSpec, index_url: &str, bytes: &[u8]) -> Result<Listed, HelmError> {
    if bytes.len() > MAX_INDEX_BYTES {
        return Err(HelmError::TooLarge {
            url: index_url.to_string(),
            size: bytes.len(),
            limit: MAX_INDEX_BYTES,
        });
    }
    let index: Index = serde_yaml::from_slice(bytes).map_err(|e| HelmError::Index {
        url: index_url.to_string(),
        message: e.to_string(),
    })?;
    let versions = index.entries.get(&spec.name);
    let Some(entry) = versions.and_then(|v| v.iter().find(|e| e.version == spec.version)) else {
        let hint = match versions {
            None => format!(
                "; the index lists {} chart(s){}",
                index.entries.len(),
                if index.entries.len() <= 20 {
                    format!(
                        ": {}",
                        index.entries.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                } else {
                    String::new()
                }
            ),
            Some(v) => format!(
                "; versions listed: {}",
                v.iter()
                    .take(20)
                    .map(|e| e.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        return Err(HelmError::NotInIndex {
            repository: spec.repository.clone(),
            name: spec.name.clone(),
            version: spec.version.clone(),
            hint,
        });
    };
    let Some(first) = entry.urls.first() else {
        return Err(HelmError::Index {
            url: index_url.to_string(),
            message: format!("{} {} has no urls", spec.name, spec.version),
        });
    };
    let base =
        reqwest::Url::parse(&format!("{}/", spec.repository)).map_err(|e| HelmError::Index {
            url: index_url.to_string(),
            message: format!("repository URL: {e}"),
        })?;
    let url = base.join(first).map_err(|e| HelmError::Index {
        url: index_url.to_string(),
        message: format!("archive URL {first:?}: {e}"),
    })?;
    let digest = match &entry.digest {
        None => None,
        Some(d) => {
            let text = if d.contains(':') {
                d.clone()
            } else {
                format!("sha256:{d}")
            };
            Some(Digest::parse(&text).map_err(|e| HelmError::Index {
                url: index_url.to_string(),
                message: format!("{} {}: digest {d:?}: {e}", spec.name, spec.version),
            })?)
        }
    };
    Ok(Listed {
        url: url.to_string(),
        digest,
    })
}

/// The bundle name of a classic chart: `HOST[:PORT]/PATH/NAME:VERSION` (lower-case path, `+` in
/// the version becomes `_`, as Helm does for OCI tags).
pub fn oci_name(spec: &ChartSpec) -> Result<String, HelmError> {
    let url = reqwest::Url::parse(&spec.repository)
        .map_err(|e| HelmError::Setup(format!("repository URL {:?}: {e}", spec.repository)))?;
    let host = url.host_str().ok_or_else(|| {
        HelmError::Setup(format!("repository URL {:?} has no host", spec.repository))
    })?;
    let host = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let mut parts = vec![host];
    for seg in url.path().split('/').filter(|s| !s.is_empty()) {
        parts.push(clean_component(seg));
    }
    parts.push(clean_component(&spec.name));
    Ok(format!(
        "{}:{}",
        parts.join("/"),
        spec.version.replace('+', "_")
    ))
}

/// An OCI repository path component: lower-case letters, digits and `._-`.
fn clean_component(s: &str) -> String {
    let out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    out.trim_matches(|c| matches!(c, '.' | '_' | '-'))
        .to_string()
}

/// A chart archive downloaded and checked against its index entry.
#[derive(Clone, Debug)]
pub struct FetchedChart {
    pub spec: ChartSpec,
    pub url: String,
    pub archive: Vec<u8>,
    pub prov: Option<Vec<u8>>,
}

/// Compare the archive with the index's digest: `chart-digest-mismatch` when they differ.
pub fn check_digest(spec: &ChartSpec, listed: &Listed, archive: &[u8]) -> Option<Finding> {
    let actual = Digest::sha256_of(archive);
    match &listed.digest {
        Some(expected) if *expected != actual => Some(Finding::error(
            Code::ChartDigestMismatch,
            format!("{} {} {}", spec.repository, spec.name, spec.version),
            format!(
                "{}: index.yaml says digest {}, the archive received hashes to {actual}; not \
                 captured",
                listed.url,
                expected.hex()
            ),
        )),
        _ => None,
    }
}

/// Read the files named `want(path)` (at most [`MAX_CHART_FILE_BYTES`] each) out of a `.tgz`.
pub fn read_files(
    archive: &[u8],
    want: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let gz = flate2::read::GzDecoder::new(archive);
    let mut tar = tar::Archive::new(gz.take(MAX_CHART_UNPACKED_BYTES));
    let mut out = Vec::new();
    let entries = tar
        .entries()
        .map_err(|e| format!("not a gzip'd tar: {e}"))?;
    for (n, entry) in entries.enumerate() {
        if n >= MAX_CHART_ENTRIES {
            return Err(format!("more than {MAX_CHART_ENTRIES} entries"));
        }
        let mut entry = entry.map_err(|e| format!("not a gzip'd tar: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = match entry.path() {
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(_) => continue,
        };
        if !want(&path) {
            continue;
        }
        if entry.size() > MAX_CHART_FILE_BYTES {
            return Err(format!(
                "{path} is {} bytes, over the {MAX_CHART_FILE_BYTES}-byte limit",
                entry.size()
            ));
        }
        let mut buf = Vec::new();
        (&mut entry)
            .take(MAX_CHART_FILE_BYTES)
            .read_to_end(&mut buf)
            .map_err(|e| format!("{path}: {e}"))?;
        out.push((path, buf));
    }
    Ok(out)
}

/// The chart's own `Chart.yaml` (`<top>/Chart.yaml`, not a subchart's) as JSON.
pub fn chart_config(archive: &[u8]) -> Result<Vec<u8>, String> {
    let files = read_files(archive, &|p| {
        p.ends_with("/Chart.yaml") && p.matches('/').count() == 1
    })?;
    let Some((_, yaml)) = files.into_iter().next() else {
        return Err("no Chart.yaml at the top of the archive".into());
    };
    let v: serde_json::Value =
        serde_yaml::from_slice(&yaml).map_err(|e| format!("Chart.yaml: {e}"))?;
    if !v.is_object() {
        return Err("Chart.yaml is not a mapping".into());
    }
    serde_json::to_vec(&v).map_err(|e| format!("Chart.yaml: {e}"))
}

/// Most images one chart (with its subcharts) may declare.
pub const MAX_DECLARED_IMAGES: usize = 10_000;

/// An image a chart declares in its `Chart.yaml` annotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredImage {
    /// The image reference.
    pub image: String,
    /// Which chart declared it: `NAME` or `NAME > SUB` for a subchart under `charts/`.
    pub chart: String,
    /// `images` (Bitnami) or `helm.sh/images`.
    pub annotation: String,
}

/// The images a chart and its subcharts (directories under `charts/`) declare in the `images`
/// and `helm.sh/images` annotations of their `Chart.yaml` (each a YAML list of `{name, image}`
/// or of plain references). Templates are not rendered: images only named in templates or values
/// are not found here.
pub fn declared_images(archive: &[u8]) -> Result<Vec<DeclaredImage>, String> {
    let files = read_files(archive, &|p| p.ends_with("/Chart.yaml"))?;
    let mut out = Vec::new();
    let mut files = files;
    // The chart itself first, then subcharts by path.
    files.sort_by_key(|(p, _)| (p.matches('/').count(), p.clone()));
    for (path, bytes) in files {
        let parts: Vec<&str> = path.split('/').collect();
        // `top/Chart.yaml`, `top/charts/sub/Chart.yaml`, `top/charts/sub/charts/x/Chart.yaml`, …
        let chain: Vec<&str> = parts
            .iter()
            .enumerate()
            .filter(|(i, _)| *i + 1 < parts.len())
            .filter(|(i, s)| *i == 0 || (parts[i - 1] == "charts" && **s != "charts"))
            .map(|(_, s)| *s)
            .collect();
        let depth_ok = parts.len() == 2
            || (parts.len() >= 4
                && parts[1..parts.len() - 1]
                    .chunks(2)
                    .all(|c| c.len() == 2 && c[0] == "charts"));
        if !depth_ok {
            continue;
        }
        let v: serde_yaml::Value =
            serde_yaml::from_slice(&bytes).map_err(|e| format!("{path}: not valid YAML: {e}"))?;
        let chart_name = v
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| chain.last().copied().unwrap_or("?").to_string());
        let label = if chain.len() <= 1 {
            chart_name
        } else {
            format!("{} > {chart_name}", chain[..chain.len() - 1].join(" > "))
        };
        let Some(ann) = v.get("annotations") else {
            continue;
        };
        for key in ["images", "helm.sh/images"] {
            let Some(text) = ann.get(key).and_then(|t| t.as_str()) else {
                continue;
            };
            let list: serde_yaml::Value = serde_yaml::from_str(text)
                .map_err(|e| format!("{path}: annotation {key}: not valid YAML: {e}"))?;
            let Some(items) = list.as_sequence() else {
                return Err(format!(
                    "{path}: annotation {key}: expected a YAML list of {{name, image}}"
                ));
            };
            for item in items {
                let image = match item {
                    serde_yaml::Value::String(s) => Some(s.clone()),
                    other => other
                        .get("image")
                        .and_then(|i| i.as_str())
                        .map(str::to_string),
                };
                let Some(image) = image else {
                    return Err(format!(
                        "{path}: annotation {key}: an entry has no `image`; expected {{name, image}}"
                    ));
                };
                out.push(DeclaredImage {
                    image: image.trim().to_string(),
                    chart: label.clone(),
                    annotation: key.to_string(),
                });
                if out.len() > MAX_DECLARED_IMAGES {
                    return Err(format!(
                        "more than {MAX_DECLARED_IMAGES} declared images; refusing"
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// The blobs and manifest of the Helm OCI artifact for a fetched chart.
#[derive(Clone, Debug)]
pub struct Artifact {
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
    pub manifest_digest: Digest,
}

/// Build the OCI manifest (config, chart layer, provenance layer when present).
pub fn artifact(chart: &FetchedChart) -> Result<Artifact, String> {
    let config = chart_config(&chart.archive)?;
    let mut layers = vec![Descriptor::new(
        MEDIA_HELM_CHART,
        Digest::sha256_of(&chart.archive),
        chart.archive.len() as u64,
    )];
    if let Some(p) = &chart.prov {
        layers.push(Descriptor::new(
            MEDIA_HELM_PROV,
            Digest::sha256_of(p),
            p.len() as u64,
        ));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_OCI_MANIFEST,
        "config": Descriptor::new(MEDIA_HELM_CONFIG, Digest::sha256_of(&config), config.len() as u64),
        "layers": layers,
        "annotations": {
            "org.opencontainers.image.title": chart.spec.name,
            "org.opencontainers.image.version": chart.spec.version,
            "org.opencontainers.image.source": chart.url,
        },
    });
    let manifest = serde_json::to_vec(&manifest).map_err(|e| e.to_string())?;
    let manifest_digest = Digest::sha256_of(&manifest);
    Ok(Artifact {
        config,
        manifest,
        manifest_digest,
    })
}

/// Store a fetched chart in the bundle as a Helm OCI artifact named [`oci_name`], list it in
/// `index.json` and record it in the lock (an item of kind `chart` with where it came from).
/// A chart whose archive cannot be read (no `Chart.yaml`) is a finding, not stored.
pub fn store(
    layout: &crate::layout::Layout,
    chart: &FetchedChart,
    lock: &mut crate::lock::Lock,
    requested_by: &[String],
) -> Result<Option<Finding>, crate::layout::LayoutError> {
    use crate::lock::{LockedChart, LockedImage, LockedSource, SourceKind};
    use crate::oci::manifest::ANNOTATION_REF_NAME;
    let subject = format!(
        "{} {} {}",
        chart.spec.repository, chart.spec.name, chart.spec.version
    );
    let name = match oci_name(&chart.spec) {
        Ok(n) => n,
        Err(e) => {
            return Ok(Some(Finding::error(
                Code::ManifestInvalid,
                subject,
                e.to_string(),
            )))
        }
    };
    let art = match artifact(chart) {
        Ok(a) => a,
        Err(e) => {
            return Ok(Some(Finding::error(
                Code::ManifestInvalid,
                subject,
                format!("chart archive {}: {e}; not captured", chart.url),
            )))
        }
    };
    layout.put_blob(&chart.archive)?;
    if let Some(p) = &chart.prov {
        layout.put_blob(p)?;
    }
    layout.put_blob(&art.config)?;
    layout.put_blob(&art.manifest)?;
    let mut desc = Descriptor::new(
        MEDIA_OCI_MANIFEST,
        art.manifest_digest.clone(),
        art.manifest.len() as u64,
    );
    desc.annotations
        .insert(ANNOTATION_REF_NAME.into(), name.clone());
    let mut entries: Vec<Descriptor> = match layout.read_index() {
        Ok(old) => old
            .child_descriptors()
            .iter()
            .filter(|d| d.annotation(ANNOTATION_REF_NAME) != Some(name.as_str()))
            .cloned()
            .collect(),
        Err(_) => Vec::new(),
    };
    entries.push(desc);
    layout.write_index(&entries)?;
    let repository = name
        .rsplit_once(':')
        .map(|(r, _)| r.to_string())
        .unwrap_or_else(|| name.clone());
    lock.images.retain(|i| i.r#ref != name);
    lock.images.push(LockedImage {
        r#ref: name.clone(),
        repository,
        digest: art.manifest_digest.clone(),
        media_type: MEDIA_OCI_MANIFEST.into(),
        size: art.manifest.len() as u64,
        platforms: Vec::new(),
        attachments: Vec::new(),
    });
    lock.sources.retain(|s| s.r#ref != name);
    lock.sources.push(LockedSource {
        r#ref: name,
        kind: SourceKind::Chart,
        requested_by: requested_by.to_vec(),
        chart: Some(LockedChart {
            repository: chart.spec.repository.clone(),
            name: chart.spec.name.clone(),
            version: chart.spec.version.clone(),
            url: chart.url.clone(),
            archive_digest: Digest::sha256_of(&chart.archive),
            provenance_digest: chart.prov.as_deref().map(Digest::sha256_of),
        }),
    });
    Ok(None)
}

/// HTTP(S) fetching for classic repositories, with the registry flags' CA files and credentials.
pub struct Fetcher {
    http: reqwest::Client,
    auth: AuthStore,
}

impl Fetcher {
    pub fn new(ca_pem: &[Vec<u8>], auth: AuthStore) -> Result<Fetcher, HelmError> {
        let mut b = reqwest::Client::builder()
            .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::limited(8));
        for pem in ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| HelmError::Setup(format!("--ca-file: {e}")))?
            {
                b = b.add_root_certificate(cert);
            }
        }
        Ok(Fetcher {
            http: b.build().map_err(|e| HelmError::Setup(e.to_string()))?,
            auth,
        })
    }

    /// GET `url`; `Ok(None)` on 404.
    pub async fn get(&self, url: &str, limit: usize) -> Result<Option<Vec<u8>>, HelmError> {
        let err = |message: String| HelmError::Http {
            url: url.to_string(),
            message,
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| err(e.to_string()))?;
        let mut req = self.http.get(parsed.clone());
        if let Some(host) = parsed.host_str() {
            let host = match parsed.port() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_string(),
            };
            // Credentials go to their own host only, and never over plain HTTP.
            if parsed.scheme() == "https" {
                if let Some(c) = self
                    .auth
                    .credentials_for(&host)
                    .map_err(|e| err(e.to_string()))?
                {
                    req = req.basic_auth(c.username, Some(c.password));
                }
            }
        }
        let mut resp = req.send().await.map_err(|e| {
            let mut m = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                m.push_str(&format!(": {s}"));
                src = s.source();
            }
            err(format!(
                "{m}; for a private CA give --ca-file PEM, for credentials --auth-file"
            ))
        })?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(err(format!(
                "HTTP {} (expected 200){}",
                resp.status(),
                if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
                    "; give credentials for this host in --auth-file"
                } else {
                    ""
                }
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| err(e.to_string()))? {
            if body.len() + chunk.len() > limit {
                return Err(HelmError::TooLarge {
                    url: url.to_string(),
                    size: body.len() + chunk.len(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }

    /// Fetch `spec` from its repository: index, archive (checked against the index digest) and
    /// `.prov` when the repository has one. A digest mismatch is returned as a finding.
    pub async fn fetch(
        &self,
        spec: &ChartSpec,
    ) -> Result<Result<FetchedChart, Finding>, HelmError> {
        let index_url = format!("{}/index.yaml", spec.repository);
        let index = self
            .get(&index_url, MAX_INDEX_BYTES)
            .await?
            .ok_or_else(|| HelmError::Http {
                url: index_url.clone(),
                message: "HTTP 404: no index.yaml; expected REPO_URL to be the directory of a \
                          classic Helm repository (for an OCI registry use oci://HOST/PATH)"
                    .into(),
            })?;
        let listed = find_in_index(spec, &index_url, &index)?;
        let archive = self
            .get(&listed.url, MAX_CHART_BYTES)
            .await?
            .ok_or_else(|| HelmError::Http {
                url: listed.url.clone(),
                message: "HTTP 404: the archive index.yaml names is missing".into(),
            })?;
        if let Some(f) = check_digest(spec, &listed, &archive) {
            return Ok(Err(f));
        }
        let prov = self
            .get(&format!("{}.prov", listed.url), MAX_PROV_BYTES)
            .await?;
        Ok(Ok(FetchedChart {
            spec: spec.clone(),
            url: listed.url,
            archive,
            prov,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(repo: &str) -> ChartSpec {
        ChartSpec {
            repository: repo.into(),
            name: "podinfo".into(),
            version: "6.1.0+build.1".into(),
        }
    }

    #[test]
    fn index_entries_resolve_relative_and_absolute_urls() {
        let d = Digest::sha256_of(b"x");
        let idx = format!(
            "apiVersion: v1\nentries:\n  podinfo:\n    - version: 6.1.0+build.1\n      digest: {}\n      urls: [charts/podinfo-6.1.0.tgz]\n    - version: 5.0.0\n      urls: [https://cdn.example/p-5.tgz]\n",
            d.hex()
        );
        let l = find_in_index(&spec("https://h.example/repo"), "i", idx.as_bytes()).unwrap();
        assert_eq!(l.url, "https://h.example/repo/charts/podinfo-6.1.0.tgz");
        assert_eq!(l.digest, Some(d));
        let mut s = spec("https://h.example/repo");
        s.version = "5.0.0".into();
        let l = find_in_index(&s, "i", idx.as_bytes()).unwrap();
        assert_eq!(l.url, "https://cdn.example/p-5.tgz");
        s.version = "9".into();
        let e = find_in_index(&s, "i", idx.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("versions listed: 6.1.0+build.1, 5.0.0"), "{e}");
    }

    #[test]
    fn oci_names_follow_the_repository_url() {
        assert_eq!(
            oci_name(&spec("https://Charts.Example:8443/Stable/x")).unwrap(),
            "charts.example:8443/stable/x/podinfo:6.1.0_build.1"
        );
        assert_eq!(
            oci_name(&spec("https://helm.min.io")).unwrap(),
            "helm.min.io/podinfo:6.1.0_build.1"
        );
    }

    #[test]
    fn declared_images_come_from_the_chart_and_its_subcharts() {
        let top = "apiVersion: v2\nname: web\nversion: 1.0.0\nannotations:\n  images: |\n    - name: web\n      image: reg.example/web:1.0\n  helm.sh/images: |\n    - name: side\n      image: reg.example/side:2\n";
        let sub = "apiVersion: v2\nname: redis\nversion: 7.0.0\nannotations:\n  images: |\n    - name: redis\n      image: reg.example/redis:7\n";
        let tgz = tgz(&[
            ("web/Chart.yaml", top),
            ("web/charts/redis/Chart.yaml", sub),
            ("web/templates/x/Chart.yaml", sub),
        ]);
        let got = declared_images(&tgz).unwrap();
        let pairs: Vec<(String, String)> = got
            .iter()
            .map(|d| (d.chart.clone(), d.image.clone()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("web".to_string(), "reg.example/web:1.0".to_string()),
                ("web".to_string(), "reg.example/side:2".to_string()),
                ("web > redis".to_string(), "reg.example/redis:7".to_string()),
            ]
        );
        assert_eq!(got[1].annotation, "helm.sh/images");
    }

    fn tgz(files: &[(&str, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (p, t) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(t.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, p, t.as_bytes()).unwrap();
        }
        let raw = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn chart_config_is_the_top_chart_yaml_as_json() {
        let t = tgz(&[
            ("web/Chart.yaml", "name: web\nversion: 1.0.0\n"),
            ("web/charts/x/Chart.yaml", "name: x\n"),
        ]);
        let c: serde_json::Value = serde_json::from_slice(&chart_config(&t).unwrap()).unwrap();
        assert_eq!(c["name"], "web");
    }

    #[test]
    fn digest_mismatch_is_a_finding() {
        let listed = Listed {
            url: "u".into(),
            digest: Some(Digest::sha256_of(b"a")),
        };
        let f = check_digest(&spec("https://h"), &listed, b"b").unwrap();
        assert_eq!(f.code, Code::ChartDigestMismatch);
        assert!(check_digest(&spec("https://h"), &listed, b"a").is_none());
    }
}
