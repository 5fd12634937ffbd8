//! Times the phases of `verify` on a bundle (load, core) — a profiling aid for benches/run.sh.
//! Run: `cargo run --release --example profile_verify -- DIR POLICY`
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(policy)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: profile_verify DIR POLICY");
        return;
    };
    let t = Instant::now();
    let view = airlock::layout::load::load_view(std::path::Path::new(dir), 2);
    let t_load = t.elapsed();
    let policy = match airlock::policy::Policy::load(std::path::Path::new(policy)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let mut trust = airlock::verify::Trust::default();
    for (n, p) in &policy.keys {
        if let Ok(k) = airlock::trust::keys::load_public_key_file(p) {
            trust.keys.insert(n.clone(), k);
        }
    }
    let t = Instant::now();
    let report = airlock::verify::verify(&view, &policy, &trust, "2026-01-01T00:00:00Z", 2);
    let t_core = t.elapsed();
    let t = Instant::now();
    let json = airlock::report::render::json(&report);
    println!(
        "load {t_load:?}  core {t_core:?}  render {:?}  images {}  result {}  bytes {}",
        t.elapsed(),
        report.images.len(),
        report.result.as_str(),
        json.len()
    );
}
