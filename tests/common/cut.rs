//! A TCP proxy on 127.0.0.1 that cuts the connection to a real registry after exactly N bytes.
//!
//! Fault tests put it in front of a [`super::registry::Registry`] and point airlock at
//! [`CutProxy::host`]. [`CutProxy::cut_after`] sets a byte budget in one direction (registry to
//! client for downloads, client to registry for uploads), counted over all connections; when it
//! is spent, every open connection is shut down mid-stream and new connections are closed at
//! once, until [`CutProxy::heal`]. The interruption happens at the same byte on every run, so a
//! test never depends on winning a race against the transfer.
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// Which bytes the budget counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Registry to client (capture, pull).
    Download,
    /// Client to registry (push).
    Upload,
}

struct State {
    upstream: String,
    /// Bytes still allowed in the counted direction; `u64::MAX` = no limit.
    budget: AtomicU64,
    direction: Mutex<Direction>,
    cut: AtomicBool,
    /// Bytes forwarded in the counted direction since the last `cut_after`.
    forwarded: AtomicU64,
    open: Mutex<Vec<TcpStream>>,
}

impl State {
    fn cut_now(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.open.lock().expect("proxy lock").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// The running proxy (its accept thread lives as long as the test process).
pub struct CutProxy {
    /// `127.0.0.1:PORT` to give airlock instead of the registry's host.
    pub host: String,
    state: Arc<State>,
}

impl CutProxy {
    /// Forward 127.0.0.1:<ephemeral> to `upstream` (`host:port`), with no budget yet.
    pub fn start(upstream: &str) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the cut proxy");
        let host = listener.local_addr().expect("proxy address").to_string();
        let state = Arc::new(State {
            upstream: upstream.to_string(),
            budget: AtomicU64::new(u64::MAX),
            direction: Mutex::new(Direction::Download),
            cut: AtomicBool::new(false),
            forwarded: AtomicU64::new(0),
            open: Mutex::new(Vec::new()),
        });
        let s = state.clone();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if s.cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&s.upstream) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                {
                    let mut open = s.open.lock().expect("proxy lock");
                    for x in [&client, &server] {
                        if let Ok(c) = x.try_clone() {
                            open.push(c);
                        }
                    }
                }
                let (c2, s2) = (
                    client.try_clone().expect("clone client"),
                    server.try_clone().expect("clone server"),
                );
                let (st1, st2) = (s.clone(), s.clone());
                thread::spawn(move || pump(client, server, Direction::Upload, &st1));
                thread::spawn(move || pump(s2, c2, Direction::Download, &st2));
            }
        });
        CutProxy { host, state }
    }

    /// Cut every connection once `bytes` more bytes have gone in `direction`.
    pub fn cut_after(&self, direction: Direction, bytes: u64) {
        *self.state.direction.lock().expect("proxy lock") = direction;
        self.state.forwarded.store(0, Ordering::SeqCst);
        self.state.cut.store(false, Ordering::SeqCst);
        self.state.budget.store(bytes, Ordering::SeqCst);
    }

    /// Has the budget been spent (and the connections cut)?
    pub fn was_cut(&self) -> bool {
        self.state.cut.load(Ordering::SeqCst)
    }

    /// Bytes forwarded in the counted direction since [`CutProxy::cut_after`].
    pub fn forwarded(&self) -> u64 {
        self.state.forwarded.load(Ordering::SeqCst)
    }

    /// Forward everything again, with no budget.
    pub fn heal(&self) {
        self.state.budget.store(u64::MAX, Ordering::SeqCst);
        self.state.cut.store(false, Ordering::SeqCst);
    }
}

/// Copy `from` to `to`; in the counted direction, stop at the budget and cut everything.
fn pump(mut from: TcpStream, mut to: TcpStream, dir: Direction, s: &State) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if s.cut.load(Ordering::SeqCst) {
            break;
        }
        let counted = *s.direction.lock().expect("proxy lock") == dir;
        let mut allowed = n;
        let mut spent = false;
        if counted {
            // Take up to `n` bytes from the budget, atomically across connections.
            let mut cur = s.budget.load(Ordering::SeqCst);
            loop {
                if cur == u64::MAX {
                    break;
                }
                let take = cur.min(n as u64);
                match s
                    .budget
                    .compare_exchange(cur, cur - take, Ordering::SeqCst, Ordering::SeqCst)
                {
                    Ok(_) => {
                        allowed = take as usize;
                        spent = cur - take == 0;
                        break;
                    }
                    Err(now) => cur = now,
                }
            }
        }
        if allowed > 0 && to.write_all(&buf[..allowed]).is_err() {
            break;
        }
        if counted {
            s.forwarded.fetch_add(allowed as u64, Ordering::SeqCst);
        }
        if spent {
            s.cut_now();
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
