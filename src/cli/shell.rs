//! `airlock completions SHELL` and `airlock man`: shell completion scripts and the man page,
//! generated from the command-line definition itself (clap_complete, clap_mangen).
use clap::CommandFactory;

use super::{Cli, Fatal, EXIT_OK};

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish (also elvish, powershell).
    #[arg(value_enum, value_name = "SHELL")]
    shell: clap_complete::Shell,
}

#[derive(clap::Args, Debug)]
pub struct ManArgs {}

/// Print the completion script on stdout (e.g. `airlock completions bash >
/// /etc/bash_completion.d/airlock`).
pub fn completions(a: CompletionsArgs) -> Result<u8, Fatal> {
    let mut cmd = Cli::command();
    // Into memory first: the generator panics on a failed write (e.g. `| head`).
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "airlock", &mut out);
    write_stdout(&out)
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<u8, Fatal> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(EXIT_OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(EXIT_OK),
        Err(e) => Err(Fatal(format!("writing to stdout: {e}"))),
    }
}

/// Print the man page (roff) on stdout (e.g. `airlock man > /usr/local/share/man/man1/airlock.1`).
pub fn man(_a: ManArgs) -> Result<u8, Fatal> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    write_stdout(&out)
}
