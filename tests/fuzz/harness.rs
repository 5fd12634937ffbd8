//! The fuzz engine: proptest's runner driving seed mutation and structured generation.
//!
//! A [`Target`] is a name, a way to pick seed files from `testdata/`, a token dictionary, an
//! optional structured generator and a `check` function that calls one parser and asserts the
//! properties (no panic, typed error, accepted input re-validates). The engine feeds it:
//! - every seed verbatim, and every regression seed in `testdata/fuzz/<target>/`;
//! - seeds mutated by byte flips, truncation, deletion, duplication, splices of other seeds and
//!   insertion of dictionary tokens (1 to 8 mutations each);
//! - inputs from the structured generator (documents built field by field).
//!
//! `cargo test` runs a fixed number of cases per target (deterministic RNG: a failure reproduces).
//! With `AIRLOCK_FUZZ_SECONDS=N` (what `scripts/fuzz.sh N` sets) each target instead runs batches
//! with fresh random seeds until N seconds have passed, counts executions and crashes, writes each
//! crashing input (shrunk by proptest) to `target/fuzz-crashes/<target>/` and prints one summary line.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::BoxedStrategy;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};

/// Largest seed file read from `testdata/`.
const MAX_SEED_BYTES: u64 = 512 * 1024;
/// Most seed files one target keeps (the first ones in path order).
const MAX_SEEDS: usize = 64;
/// Cases per target in `cargo test` (bounded by count, never by time).
pub const DEFAULT_CASES: u32 = 400;

/// Picks seed files: `(path relative to the repository, bytes) -> keep?`.
pub type SeedFilter = fn(&str, &[u8]) -> bool;

pub struct Target {
    pub name: &'static str,
    /// Directories (relative to the repository root) searched recursively for seeds.
    pub seed_dirs: &'static [&'static str],
    pub seed_filter: SeedFilter,
    /// Extra seeds built in code (for formats with no file in `testdata/`).
    pub extra_seeds: fn() -> Vec<Vec<u8>>,
    /// Tokens spliced into mutated inputs.
    pub dictionary: &'static [&'static str],
    /// Structured generator; `None` for mutation only.
    pub structured: Option<fn() -> BoxedStrategy<Vec<u8>>>,
    /// Cases in `cargo test` (lower for parsers that are slow per input).
    pub cases: u32,
    /// Calls the parser on one input and asserts the properties; a panic is a crash.
    pub check: fn(&[u8]),
}

pub fn no_extra_seeds() -> Vec<Vec<u8>> {
    Vec::new()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            walk(&p, out);
        } else if meta.is_file() && meta.len() <= MAX_SEED_BYTES {
            out.push(p);
        }
    }
}

/// The seed corpus of a target: matching `testdata/` files, extra seeds, regression seeds.
pub fn seeds(t: &Target) -> Vec<Vec<u8>> {
    let root = repo();
    let mut files = Vec::new();
    for d in t.seed_dirs {
        walk(&root.join(d), &mut files);
    }
    let mut out = Vec::new();
    for f in files {
        if out.len() >= MAX_SEEDS {
            break;
        }
        let rel = f
            .strip_prefix(&root)
            .unwrap_or(&f)
            .to_string_lossy()
            .into_owned();
        if let Ok(bytes) = std::fs::read(&f) {
            if (t.seed_filter)(&rel, &bytes) {
                out.push(bytes);
            }
        }
    }
    out.extend((t.extra_seeds)());
    out.extend(regression_seeds(t.name));
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

/// Inputs that once crashed a target (kept forever, run verbatim on every test run).
pub fn regression_seeds(name: &str) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    walk(&repo().join("testdata/fuzz").join(name), &mut files);
    files
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "README.md"))
        .filter_map(|f| std::fs::read(f).ok())
        .collect()
}

#[derive(Clone, Debug)]
enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Truncate(Index),
    Delete(Index, u8),
    Duplicate(Index, u8),
    Insert(Index, Index),
    Splice(Index, Index, Index, u16),
    InsertRandom(Index, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        4 => (any::<Index>(), any::<Index>()).prop_map(|(i, t)| Mutation::Insert(i, t)),
        2 => (any::<Index>(), any::<Index>(), any::<Index>(), any::<u16>())
            .prop_map(|(a, s, f, n)| Mutation::Splice(a, s, f, n)),
        1 => (any::<Index>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, v)| Mutation::InsertRandom(i, v)),
    ]
}

fn pos(i: &Index, len: usize) -> usize {
    // A position in 0..=len.
    i.index(len + 1)
}

fn apply(m: &Mutation, buf: &mut Vec<u8>, seeds: &[Vec<u8>], dict: &[&str]) {
    let len = buf.len();
    match m {
        Mutation::FlipBit(i, b) => {
            if len > 0 {
                buf[i.index(len)] ^= 1 << b;
            }
        }
        Mutation::SetByte(i, v) => {
            if len > 0 {
                buf[i.index(len)] = *v;
            }
        }
        Mutation::Truncate(i) => buf.truncate(pos(i, len)),
        Mutation::Delete(i, n) => {
            let a = pos(i, len);
            let b = (a + *n as usize + 1).min(len);
            buf.drain(a..b);
        }
        Mutation::Duplicate(i, n) => {
            let a = pos(i, len);
            let b = (a + *n as usize + 1).min(len);
            let piece = buf[a..b].to_vec();
            buf.splice(a..a, piece);
        }
        Mutation::Insert(i, t) => {
            if !dict.is_empty() {
                let tok = dict[t.index(dict.len())].as_bytes().to_vec();
                let a = pos(i, len);
                buf.splice(a..a, tok);
            }
        }
        Mutation::Splice(at, which, from, n) => {
            let other = &seeds[which.index(seeds.len())];
            let f = pos(from, other.len());
            let e = (f + *n as usize % 4096).min(other.len());
            let a = pos(at, len);
            buf.splice(a..a, other[f..e].iter().copied());
        }
        Mutation::InsertRandom(i, v) => {
            let a = pos(i, len);
            buf.splice(a..a, v.iter().copied());
        }
    }
}

fn strategy(t: &Target, seeds: Arc<Vec<Vec<u8>>>) -> BoxedStrategy<Vec<u8>> {
    let dict = t.dictionary;
    let s1 = seeds.clone();
    let mutated =
        (any::<Index>(), proptest::collection::vec(mutation(), 1..8)).prop_map(move |(i, ms)| {
            let mut b = s1[i.index(s1.len())].clone();
            for m in &ms {
                apply(m, &mut b, &s1, dict);
            }
            b
        });
    match t.structured {
        Some(gen) => prop_oneof![6 => mutated, 4 => gen()].boxed(),
        None => mutated.boxed(),
    }
}

/// What one run of a target did.
#[derive(Debug, Default)]
pub struct Stats {
    pub executions: u64,
    pub crashes: u64,
    pub first_crash: Option<String>,
}

fn record_crash(t: &Target, input: &[u8], why: &str, stats: &mut Stats) {
    stats.crashes += 1;
    let dir = repo().join("target/fuzz-crashes").join(t.name);
    let _ = std::fs::create_dir_all(&dir);
    let name = format!("crash-{:016x}", fnv(input));
    let _ = std::fs::write(dir.join(&name), input);
    if stats.first_crash.is_none() {
        stats.first_crash = Some(format!(
            "{why} (input saved as target/fuzz-crashes/{}/{name}, {} bytes)",
            t.name,
            input.len()
        ));
    }
}

fn fnv(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for x in b {
        h ^= *x as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

fn run_batch(
    t: &Target,
    strat: &BoxedStrategy<Vec<u8>>,
    cases: u32,
    rng: TestRng,
    stats: &mut Stats,
) {
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 512,
        max_global_rejects: 0,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, rng);
    let execs = AtomicU64::new(0);
    let result = runner.run(strat, |input| {
        execs.fetch_add(1, Ordering::Relaxed);
        (t.check)(&input);
        Ok(())
    });
    stats.executions += execs.load(Ordering::Relaxed);
    if let Err(TestError::Fail(why, input)) = result {
        record_crash(t, &input, &why.to_string(), stats);
    }
}

/// Every seed verbatim; a panic is recorded as a crash.
fn run_seeds(t: &Target, seeds: &[Vec<u8>], stats: &mut Stats) {
    for s in seeds {
        stats.executions += 1;
        let r = std::panic::catch_unwind(|| (t.check)(s));
        if let Err(p) = r {
            let why = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            record_crash(t, s, &why, stats);
        }
    }
}

/// Run a target: `cargo test` mode (fixed cases, deterministic) or timed mode
/// (`AIRLOCK_FUZZ_SECONDS`). Panics at the end when anything crashed.
pub fn run(t: &Target) {
    let seeds = Arc::new(seeds(t));
    let strat = strategy(t, seeds.clone());
    let mut stats = Stats::default();
    run_seeds(t, &seeds, &mut stats);
    let seconds = std::env::var("AIRLOCK_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    match seconds {
        None => {
            let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
            run_batch(t, &strat, t.cases, rng, &mut stats);
        }
        Some(secs) => {
            let start = Instant::now();
            let budget = Duration::from_secs(secs);
            while start.elapsed() < budget {
                let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &rand_seed(&stats));
                run_batch(t, &strat, 64, rng, &mut stats);
            }
            println!(
                "\nfuzz target {:<20} seeds {:>3}  executions {:>10}  crashes {}  seconds {}",
                t.name,
                seeds.len(),
                stats.executions,
                stats.crashes,
                start.elapsed().as_secs()
            );
        }
    }
    if let Some(first) = &stats.first_crash {
        panic!(
            "fuzz target {}: {} crash(es) in {} executions; first: {first}",
            t.name, stats.crashes, stats.executions
        );
    }
}

fn rand_seed(stats: &Stats) -> [u8; 32] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut out = [0u8; 32];
    let a = fnv(&nanos.to_le_bytes());
    let b = fnv(&stats.executions.to_le_bytes()) ^ (std::process::id() as u64);
    out[..8].copy_from_slice(&a.to_le_bytes());
    out[8..16].copy_from_slice(&b.to_le_bytes());
    out[16..24].copy_from_slice(&(a.rotate_left(17) ^ b).to_le_bytes());
    out[24..].copy_from_slice(&(b.rotate_left(31) ^ a).to_le_bytes());
    out
}

// ---------------------------------------------------------------------------------------------
// Structured generation helpers shared by targets.

/// Strings that stress parsers: empty, control characters, bidi overrides, non-ASCII, long.
pub fn nasty_string() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[a-z0-9./:@_-]{0,40}",
        1 => Just(String::new()),
        1 => Just("\u{202e}evil\u{202c}\n\u{1b}[2J".to_string()),
        1 => Just("a".repeat(5000)),
        1 => any::<String>(),
        2 => Just(format!("sha256:{}", "a".repeat(64))),
        1 => Just(format!("sha512:{}", "b".repeat(128))),
        1 => Just("sha256:XYZ".to_string()),
    ]
    .boxed()
}

/// A JSON value whose object keys come from `keys` (the fields the parser looks at), so the
/// generator reaches past the first "missing field" check.
pub fn json_value(keys: &'static [&'static str]) -> BoxedStrategy<serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        Just(Value::from(2)),
        Just(Value::from(1.5e300)),
        nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        6 => proptest::sample::select(keys).prop_map(str::to_string),
                        1 => "[a-zA-Z]{1,8}"
                    ],
                    inner
                ),
                0..7
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

/// `json_value` rendered as bytes (compact or pretty).
pub fn json_bytes(keys: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    (json_value(keys), any::<bool>())
        .prop_map(|(v, pretty)| {
            if pretty {
                serde_json::to_vec_pretty(&v).unwrap_or_default()
            } else {
                serde_json::to_vec(&v).unwrap_or_default()
            }
        })
        .boxed()
}

/// Deeply nested JSON/YAML flow collections (depth 50 to 5000).
pub fn deep_nesting() -> BoxedStrategy<Vec<u8>> {
    (50usize..5000, any::<bool>())
        .prop_map(|(n, obj)| {
            let mut s = String::new();
            for _ in 0..n {
                s.push_str(if obj { "{\"a\":" } else { "[" });
            }
            s.push('1');
            for _ in 0..n {
                s.push(if obj { '}' } else { ']' });
            }
            s.into_bytes()
        })
        .boxed()
}

/// Does the text contain `needle`?
pub fn has(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A Display string is what users read: a parse error must say something.
pub fn assert_message<E: std::fmt::Display>(e: &E) {
    let m = e.to_string();
    assert!(!m.trim().is_empty(), "an error with an empty message");
}
