//! Progress for long commands (capture, push, verify; pack/unpack can use it too), on stderr:
//! - on a terminal, a bar with byte counts, rate and ETA;
//! - otherwise (CI logs, files), one plain line every [`DEFAULT_INTERVAL`] and one at the end,
//!   each with items, bytes and rate;
//! - nothing with `--quiet`.
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a plain progress line is printed when stderr is not a terminal.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// Overrides [`DEFAULT_INTERVAL`] (seconds, fractions allowed), e.g. for slow CI logs or tests.
pub const INTERVAL_ENV: &str = "AIRLOCK_PROGRESS_INTERVAL";

static QUIET: AtomicBool = AtomicBool::new(false);

/// `--quiet`: no progress at all (set once from the command line).
pub fn set_quiet(q: bool) {
    QUIET.store(q, Ordering::Relaxed);
}

fn interval() -> Duration {
    std::env::var(INTERVAL_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 86_400.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_INTERVAL)
}

#[derive(Default)]
struct Counts {
    items: AtomicU64,
    items_total: AtomicU64,
    bytes: AtomicU64,
    bytes_total: AtomicU64,
}

enum Mode {
    Bar(indicatif::ProgressBar),
    Lines {
        stop: Arc<(Mutex<bool>, std::sync::Condvar)>,
        ticker: Mutex<Option<std::thread::JoinHandle<()>>>,
    },
    Silent,
}

/// One command's progress. Cheap to update from many tasks.
pub struct Progress {
    what: &'static str,
    counts: Arc<Counts>,
    start: Instant,
    mode: Mode,
}

fn line(what: &str, c: &Counts, start: Instant, done: bool) -> String {
    let items = c.items.load(Ordering::Relaxed);
    let items_total = c.items_total.load(Ordering::Relaxed);
    let bytes = c.bytes.load(Ordering::Relaxed);
    let bytes_total = c.bytes_total.load(Ordering::Relaxed);
    let secs = start.elapsed().as_secs_f64();
    let rate = if secs > 0.0 {
        (bytes as f64 / secs) as u64
    } else {
        0
    };
    let of = |n: u64, total: u64, f: &dyn Fn(u64) -> String| {
        if total > 0 && !done {
            format!("{}/{}", f(n), f(total))
        } else {
            f(n)
        }
    };
    format!(
        "{what}: {} {} items, {}, {}/s, {:.0}s elapsed",
        if done { "done," } else { "progress:" },
        of(items, items_total, &|n| n.to_string()),
        of(bytes, bytes_total, &|n| airlock::inspect::human_size(n)),
        airlock::inspect::human_size(rate),
        secs
    )
}

impl Progress {
    /// Progress for `what` (`capture`, `push`, `verify`, …), chosen by `--quiet` and whether
    /// stderr is a terminal.
    pub fn start(what: &'static str) -> Arc<Progress> {
        let counts = Arc::new(Counts::default());
        let start = Instant::now();
        let mode = if QUIET.load(Ordering::Relaxed) {
            Mode::Silent
        } else if std::io::stderr().is_terminal() {
            let pb = indicatif::ProgressBar::new(0);
            pb.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {prefix} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            pb.set_prefix(what);
            pb.enable_steady_tick(Duration::from_millis(200));
            Mode::Bar(pb)
        } else {
            let stop = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
            let (s, c) = (stop.clone(), counts.clone());
            let every = interval();
            let ticker = std::thread::spawn(move || {
                let (lock, cv) = &*s;
                let Ok(mut stopped) = lock.lock() else { return };
                loop {
                    let Ok((g, timeout)) = cv.wait_timeout(stopped, every) else {
                        return;
                    };
                    stopped = g;
                    if *stopped {
                        return;
                    }
                    if timeout.timed_out() {
                        eprintln!("{}", line(what, &c, start, false));
                    }
                }
            });
            Mode::Lines {
                stop,
                ticker: Mutex::new(Some(ticker)),
            }
        };
        Arc::new(Progress {
            what,
            counts,
            start,
            mode,
        })
    }

    /// What is planned: item count and bytes (either may be 0 when unknown).
    pub fn planned(&self, items: u64, bytes: u64) {
        self.counts.items_total.store(items, Ordering::Relaxed);
        self.counts.bytes_total.store(bytes, Ordering::Relaxed);
        if let Mode::Bar(pb) = &self.mode {
            pb.set_length(bytes);
        }
    }

    /// Bytes moved (downloaded, uploaded, hashed).
    pub fn bytes(&self, n: u64) {
        self.counts.bytes.fetch_add(n, Ordering::Relaxed);
        if let Mode::Bar(pb) = &self.mode {
            pb.inc(n);
        }
    }

    /// One item (blob, manifest, image) finished.
    pub fn item_done(&self) {
        let n = self.counts.items.fetch_add(1, Ordering::Relaxed) + 1;
        if let Mode::Bar(pb) = &self.mode {
            let total = self.counts.items_total.load(Ordering::Relaxed);
            pb.set_message(format!("{n}/{total} items"));
        }
    }

    /// Several items finished at once.
    pub fn items_done(&self, n: u64) {
        self.counts.items.fetch_add(n, Ordering::Relaxed);
        if let Mode::Bar(pb) = &self.mode {
            pb.set_message(format!(
                "{} items",
                self.counts.items.load(Ordering::Relaxed)
            ));
        }
    }

    /// A short status for the bar (ignored in plain-line mode).
    pub fn message(&self, m: &str) {
        if let Mode::Bar(pb) = &self.mode {
            pb.set_message(m.to_string());
        }
    }

    /// Stop: clears the bar, or prints the final plain line.
    pub fn finish(&self) {
        match &self.mode {
            Mode::Bar(pb) => pb.finish_and_clear(),
            Mode::Lines { stop, ticker } => {
                let handle = ticker.lock().ok().and_then(|mut t| t.take());
                let Some(handle) = handle else { return };
                if let Ok(mut s) = stop.0.lock() {
                    *s = true;
                }
                stop.1.notify_all();
                let _ = handle.join();
                eprintln!("{}", line(self.what, &self.counts, self.start, true));
            }
            Mode::Silent => {}
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // A command that stops early (error) still stops the ticker, without a final line.
        if let Mode::Lines { stop, ticker } = &self.mode {
            if let Ok(mut s) = stop.0.lock() {
                *s = true;
            }
            stop.1.notify_all();
            if let Some(h) = ticker.lock().ok().and_then(|mut t| t.take()) {
                let _ = h.join();
            }
        }
    }
}

/// Capture's callbacks.
impl airlock::capture::Progress for Progress {
    fn blobs_planned(&self, count: usize, bytes: u64) {
        self.planned(count as u64, bytes);
    }
    fn bytes(&self, n: u64) {
        Progress::bytes(self, n);
    }
    fn blob_done(&self) {
        self.item_done();
    }
    fn image_resolved(&self, r: &str) {
        self.message(&format!("resolved {r}"));
    }
}

/// Push's callbacks (bytes as they are sent, in pieces of at most 1 MiB; items per blob).
impl airlock::push::PushProgress for Progress {
    fn phase(&self, what: &str) {
        self.message(what);
    }
    fn blobs_planned(&self, count: usize, bytes: u64) {
        self.planned(count as u64, bytes);
    }
    fn bytes_sent(&self, n: u64) {
        Progress::bytes(self, n);
    }
    fn blob_done(&self, _bytes: u64) {
        self.item_done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_line_names_items_bytes_and_rate() {
        let c = Counts::default();
        c.items.store(3, Ordering::Relaxed);
        c.bytes.store(3 * 1024 * 1024, Ordering::Relaxed);
        let l = line("capture", &c, Instant::now(), true);
        assert!(l.starts_with("capture: done, 3 items, 3.0 MiB, "), "{l}");
        assert!(l.contains("/s, "), "{l}");
    }

    #[test]
    fn periodic_line_shows_totals() {
        let c = Counts::default();
        c.items.store(1, Ordering::Relaxed);
        c.items_total.store(4, Ordering::Relaxed);
        c.bytes.store(512, Ordering::Relaxed);
        c.bytes_total.store(2048, Ordering::Relaxed);
        let l = line("push", &c, Instant::now(), false);
        assert!(
            l.starts_with("push: progress: 1/4 items, 512 B/2.0 KiB, "),
            "{l}"
        );
    }
}
