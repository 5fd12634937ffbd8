//! A classic Helm chart repository (`index.yaml`, `.tgz` archives, `.prov` files) served by the
//! test over HTTP or HTTPS on 127.0.0.1, with a `python3 -m http.server`-style static server.
//!
//! Charts are built deterministically ([`chart_archive`]); `.prov` files are signed with `gpg`
//! (Debian's gnupg) in a throwaway home directory ([`Gpg`]).
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::content::{gzip_stored, sha256_hex, tar_archive};

const SERVER: &str = r#"
import functools, http.server, os, ssl, sys
port_file, root, cert, key = sys.argv[1:5]
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(H, directory=root))
if cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
"#;

/// One chart version to publish.
pub struct Chart {
    pub name: String,
    pub version: String,
    pub archive: Vec<u8>,
    pub prov: Option<Vec<u8>>,
}

/// A static file server for a Helm repository directory.
pub struct HelmRepo {
    pub dir: tempfile::TempDir,
    /// `http(s)://127.0.0.1:PORT/charts` (the repository URL, without a trailing slash).
    pub url: String,
    /// The CA to trust for HTTPS (`--ca-file`).
    pub ca_file: Option<PathBuf>,
    child: Child,
}

impl HelmRepo {
    /// Serve `charts` under `/charts`, with an `index.yaml` whose archive URLs are relative
    /// (`NAME-VERSION.tgz`); `tls` selects HTTPS with a fresh test CA.
    pub fn start(charts: &[Chart], tls: bool) -> HelmRepo {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("www");
        let repo = root.join("charts");
        fs::create_dir_all(&repo).expect("mkdir");
        let mut index = String::from("apiVersion: v1\nentries:\n");
        let mut names: Vec<&str> = charts.iter().map(|c| c.name.as_str()).collect();
        names.dedup();
        for name in names {
            index.push_str(&format!("  {name}:\n"));
            for c in charts.iter().filter(|c| c.name == name) {
                let file = format!("{}-{}.tgz", c.name, c.version);
                fs::write(repo.join(&file), &c.archive).expect("write tgz");
                if let Some(p) = &c.prov {
                    fs::write(repo.join(format!("{file}.prov")), p).expect("write prov");
                }
                index.push_str(&format!(
                    "    - apiVersion: v2\n      name: {}\n      version: {}\n      digest: {}\n      created: \"2026-01-01T00:00:00Z\"\n      urls:\n        - {file}\n",
                    c.name,
                    c.version,
                    sha256_hex(&c.archive)
                ));
            }
        }
        index.push_str("generated: \"2026-01-01T00:00:00Z\"\n");
        fs::write(repo.join("index.yaml"), index).expect("write index");
        let (cert, key, ca_file) = if tls {
            let (_, ca) = super::registry::write_tls_material(dir.path());
            (
                dir.path().join("server.crt"),
                dir.path().join("server.key"),
                Some(ca),
            )
        } else {
            (PathBuf::new(), PathBuf::new(), None)
        };
        let port_file = dir.path().join("port");
        let child = Command::new("python3")
            .arg("-c")
            .arg(SERVER)
            .arg(&port_file)
            .arg(&root)
            .arg(&cert)
            .arg(&key)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 is required for the Helm repository test server");
        let start = Instant::now();
        let port = loop {
            if let Ok(p) = fs::read_to_string(&port_file) {
                break p.trim().to_string();
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "helm repository server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let scheme = if tls { "https" } else { "http" };
        HelmRepo {
            url: format!("{scheme}://127.0.0.1:{port}/charts"),
            ca_file,
            dir,
            child,
        }
    }

    /// Path of a served file (to tamper with it).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join("www/charts").join(name)
    }

    /// `--ca-file PEM` for HTTPS, nothing for HTTP.
    pub fn cli_flags(&self) -> Vec<String> {
        match &self.ca_file {
            Some(ca) => vec!["--ca-file".into(), ca.display().to_string()],
            None => Vec::new(),
        }
    }
}

impl Drop for HelmRepo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A chart archive `NAME-VERSION.tgz` with `Chart.yaml` (plus `extra_chart_yaml` appended, e.g.
/// an `annotations:` block), `values.yaml`, a template and `subcharts` (name, Chart.yaml text)
/// under `charts/`.
pub fn chart_archive(
    name: &str,
    version: &str,
    extra_chart_yaml: &str,
    subcharts: &[(&str, String)],
) -> Vec<u8> {
    let chart_yaml = format!(
        "apiVersion: v2\nname: {name}\ndescription: airlock test chart\ntype: application\nversion: {version}\nappVersion: \"1.0.0\"\n{extra_chart_yaml}"
    );
    let values = "replicaCount: 1\n".to_string();
    let tpl =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n".to_string();
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (format!("{name}/Chart.yaml"), chart_yaml.into_bytes()),
        (format!("{name}/values.yaml"), values.into_bytes()),
        (format!("{name}/templates/cm.yaml"), tpl.into_bytes()),
    ];
    for (sub, yaml) in subcharts {
        files.push((
            format!("{name}/charts/{sub}/Chart.yaml"),
            yaml.clone().into_bytes(),
        ));
    }
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    gzip_stored(&tar_archive(&refs))
}

/// A throwaway GnuPG home with one signing key (Debian's `gpg`, required).
pub struct Gpg {
    pub home: tempfile::TempDir,
    pub email: String,
}

impl Gpg {
    pub fn new(email: &str) -> Gpg {
        let home = tempfile::tempdir().expect("tempdir");
        let g = Gpg {
            home,
            email: email.to_string(),
        };
        g.run(&[
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-generate-key",
            &format!("Chart Signer <{email}>"),
            "ed25519",
            "sign",
            "never",
        ]);
        g
    }

    fn run(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(self.home.path())
            .args(args)
            .output()
            .expect("gpg (Debian package gnupg) is required");
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The public key, ASCII-armored.
    pub fn public_key(&self) -> Vec<u8> {
        self.run(&["--armor", "--export", &self.email])
    }

    /// A Helm `.prov` for `archive` (file name `NAME-VERSION.tgz`): the Chart.yaml text, `...`,
    /// the `files:` map, clear-signed.
    pub fn prov(&self, chart_yaml: &str, file_name: &str, archive: &[u8]) -> Vec<u8> {
        let body = format!(
            "{chart_yaml}\n...\nfiles:\n  {file_name}: sha256:{}\n",
            sha256_hex(archive)
        );
        let input = self.home.path().join("body.txt");
        fs::write(&input, body).expect("write body");
        let output = self.home.path().join("body.txt.asc");
        let _ = fs::remove_file(&output);
        self.run(&[
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--local-user",
            &self.email,
            "--digest-algo",
            "SHA256",
            "--output",
            &output.display().to_string(),
            "--clearsign",
            &input.display().to_string(),
        ]);
        fs::read(output).expect("read signed prov")
    }
}

/// Path helper for tests.
pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}
