//! The `airlock` command line: a thin layer over the library. Exit codes: 0 verified/done,
//! 1 the gate says no (error findings), 2 the gate could not run.
#![forbid(unsafe_code)]
#![allow(clippy::disallowed_methods)] // the command line is the outer edge: it reads files, the clock and the machine

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
