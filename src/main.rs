//! The `airlock` command line: a thin layer over the library. Exit codes: 0 verified/done,
//! 1 the gate says no (error findings), 2 the gate could not run.
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
