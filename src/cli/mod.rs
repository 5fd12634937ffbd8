//! Command-line parsing and dispatch. One module per subcommand; each returns an exit code.
mod admission;
mod archive;
mod capture;
mod charts;
mod common;
mod inspect;
mod keys;
mod merge;
mod preflight;
pub(crate) mod progress;
mod push;
mod report;
mod shell;
mod verdict;
mod verify;
mod verify_bundle;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes (public API).
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAIL: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// `airlock --version`: the package version and the git commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("AIRLOCK_GIT_COMMIT"),
    ")"
);

#[derive(Parser, Debug)]
#[command(name = "airlock", version = VERSION, about = "Supply-chain verification and provenance gate for air-gapped Kubernetes sites", long_about = None)]
struct Cli {
    /// No progress output (neither the terminal bar nor the periodic lines in logs).
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Copy images/charts with all platforms, signatures, attestations, SBOMs and referrers into a bundle.
    Capture(capture::Args),
    /// Verify a bundle offline against a policy, keys and pins.
    Verify(Box<verify::Args>),
    /// Verify one standalone Sigstore bundle (sigstore-conformance client flags).
    VerifyBundle(verify_bundle::Args),
    /// Push a verified bundle into a registry, preserving digests, and read every manifest back.
    Push(push::Args),
    /// Read and check a (signed) report.
    Report(report::Args),
    /// Cluster admission policy (Kyverno, Sigstore policy-controller) from the policy, keys and lock.
    Admission(admission::Args),
    /// Check that every image a workload would pull is in the bundle, pinned.
    Preflight(preflight::Args),
    /// Show the tree of what a bundle holds.
    Inspect(inspect::Args),
    /// Write a bundle as one tar file or as chunks, with a (signed) chunk list.
    Pack(archive::PackArgs),
    /// Unpack a chunk list back into a bundle directory, checking every chunk first.
    Unpack(archive::UnpackArgs),
    /// Merge shard bundles (capture --shard I/N) into one bundle with one lock.
    Merge(merge::Args),
    /// Key management.
    Keys {
        #[command(subcommand)]
        command: keys::Command,
    },
    /// Print a shell completion script (bash, zsh, fish) on stdout.
    Completions(shell::CompletionsArgs),
    /// Print the man page (roff) on stdout.
    Man(shell::ManArgs),
}

/// A failure that stops the command (exit 2), with a message for the user.
#[derive(Debug)]
pub struct Fatal(pub String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(e: E) -> Self {
        Fatal(e.to_string())
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) {
                EXIT_OK
            } else {
                EXIT_ERROR
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    progress::set_quiet(cli.quiet);
    let result = match cli.command {
        Command::Capture(a) => capture::run(a),
        Command::Verify(a) => verify::run(*a),
        Command::Inspect(a) => inspect::run(a),
        Command::VerifyBundle(a) => verify_bundle::run(a),
        Command::Push(a) => push::run(a),
        Command::Report(a) => report::run(a),
        Command::Admission(a) => admission::run(a),
        Command::Preflight(a) => preflight::run(a),
        Command::Keys { command } => keys::run(command),
        Command::Pack(a) => archive::run_pack(a),
        Command::Merge(a) => merge::run(a),
        Command::Unpack(a) => archive::run_unpack(a),
        Command::Completions(a) => shell::completions(a),
        Command::Man(a) => shell::man(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Fatal(msg)) => {
            eprintln!("airlock: error: {msg}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
