//! `airlock verify_bundle` (being built).
use super::Fatal;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Arguments (being built).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

pub fn run(_a: Args) -> Result<u8, Fatal> {
    Err(Fatal("this command is being built".into()))
}
