//! A small hostile HTTP(S) server on 127.0.0.1 for transport tests: it answers each request
//! with whatever the test's handler says — a response with lying headers, a stall, an endless
//! body, a body cut short — and records every request (method, path, headers) it received.
//!
//! ```ignore
//! let srv = HostileServer::start(|req| match req.path.as_str() {
//!     "/v2/" => Reply::status(200),
//!     _ => Reply::Stall,
//! });
//! // airlock capture <srv.host()>/app:v1 --insecure-registry <srv.host()> --timeout 1
//! ```
//!
//! [`HostileServer::start_tls`] serves HTTPS with a fresh self-signed certificate for
//! 127.0.0.1/localhost (written to [`HostileServer::cert_file`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A request as received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
pub enum Reply {
    /// A complete response (`Content-Length` is added unless `headers` has one).
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Say nothing and keep the connection open until the server is dropped.
    Stall,
    /// Status and headers, then zero bytes forever (chunked) until the client goes away.
    Endless {
        status: u16,
        headers: Vec<(String, String)>,
    },
    /// Announce `announced` bytes, send `body`, then close the connection.
    CutShort {
        status: u16,
        announced: u64,
        body: Vec<u8>,
    },
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply::Respond {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn body(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Reply {
        Reply::Respond {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.into(),
        }
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A running hostile server; stops on drop.
pub struct HostileServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    cert: Option<(tempfile::TempDir, PathBuf)>,
}

impl HostileServer {
    /// Plain HTTP.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> HostileServer {
        Self::spawn(Arc::new(handler), None)
    }

    /// HTTPS with a self-signed certificate for 127.0.0.1 and localhost.
    pub fn start_tls(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> HostileServer {
        let key = rcgen::KeyPair::generate().expect("key");
        let params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("params");
        let cert = params.self_signed(&key).expect("self-sign");
        let dir = tempfile::tempdir().expect("tempdir");
        let cert_file = dir.path().join("hostile.pem");
        std::fs::write(&cert_file, cert.pem()).expect("write cert");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .expect("server config");
        let mut srv = Self::spawn(Arc::new(handler), Some(Arc::new(config)));
        srv.cert = Some((dir, cert_file));
        srv
    }

    fn spawn(handler: Arc<Handler>, tls: Option<Arc<rustls::ServerConfig>>) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind hostile server");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (h, r, s, tls) =
                        (handler.clone(), requests.clone(), stop.clone(), tls.clone());
                    std::thread::spawn(move || {
                        let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
                        match tls {
                            None => serve(conn, &*h, &r, &s),
                            Some(cfg) => {
                                let Ok(sc) = rustls::ServerConnection::new(cfg) else {
                                    return;
                                };
                                serve(rustls::StreamOwned::new(sc, conn), &*h, &r, &s)
                            }
                        }
                    });
                }
            })
        };
        HostileServer {
            addr,
            requests,
            stop,
            thread: Some(thread),
            cert: None,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The server certificate (PEM) of a [`start_tls`](Self::start_tls) server.
    pub fn cert_file(&self) -> &Path {
        &self.cert.as_ref().expect("TLS server").1
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Read one request head (and discard its body); `None` when the client went away or the
/// server stops.
fn read_request<S: Read>(r: &mut BufReader<S>, stop: &AtomicBool) -> Option<Request> {
    let mut head = Vec::new();
    loop {
        if stop.load(Ordering::SeqCst) {
            return None;
        }
        let mut line = Vec::new();
        match r.read_until(b'\n', &mut line) {
            Ok(0) => return None,
            Ok(_) => {
                if line == b"\r\n" || line == b"\n" {
                    if head.is_empty() {
                        continue;
                    }
                    break;
                }
                head.push(String::from_utf8_lossy(&line).trim_end().to_string());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if !line.is_empty() {
                    head.push(String::from_utf8_lossy(&line).trim_end().to_string());
                }
                continue;
            }
            Err(_) => return None,
        }
    }
    let first = head.first()?.clone();
    let mut parts = first.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let headers: Vec<(String, String)> = head[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut left = len;
    let mut buf = [0u8; 8192];
    while left > 0 && !stop.load(Ordering::SeqCst) {
        match r.read(&mut buf[..left.min(8192)]) {
            Ok(0) => return None,
            Ok(n) => left -= n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return None,
        }
    }
    Some(Request {
        method,
        path,
        headers,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        302 => "Found",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn serve<S: Read + Write>(
    stream: S,
    handler: &Handler,
    requests: &Mutex<Vec<Request>>,
    stop: &AtomicBool,
) {
    let mut r = BufReader::new(stream);
    while let Some(req) = read_request(&mut r, stop) {
        if let Ok(mut v) = requests.lock() {
            v.push(req.clone());
        }
        let reply = handler(&req);
        let w = r.get_mut();
        match reply {
            Reply::Respond {
                status,
                headers,
                body,
            } => {
                let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
                for (k, v) in &headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                if !headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                {
                    out.push_str(&format!("Content-Length: {}\r\n", body.len()));
                }
                out.push_str("\r\n");
                if w.write_all(out.as_bytes()).is_err() {
                    return;
                }
                if req.method != "HEAD" && w.write_all(&body).is_err() {
                    return;
                }
                let _ = w.flush();
            }
            Reply::Stall => {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return;
            }
            Reply::Endless { status, headers } => {
                let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
                for (k, v) in &headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("Transfer-Encoding: chunked\r\n\r\n");
                if w.write_all(out.as_bytes()).is_err() {
                    return;
                }
                let chunk = [0u8; 65536];
                let head = format!("{:x}\r\n", chunk.len());
                while !stop.load(Ordering::SeqCst) {
                    if w.write_all(head.as_bytes()).is_err()
                        || w.write_all(&chunk).is_err()
                        || w.write_all(b"\r\n").is_err()
                        || w.flush().is_err()
                    {
                        return;
                    }
                }
                return;
            }
            Reply::CutShort {
                status,
                announced,
                body,
            } => {
                let out = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Length: {announced}\r\n\r\n",
                    reason(status)
                );
                let _ = w.write_all(out.as_bytes());
                let _ = w.write_all(&body);
                let _ = w.flush();
                return;
            }
        }
    }
}
