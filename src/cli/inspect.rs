//! `airlock inspect DIR`: what a bundle holds.
use std::path::PathBuf;

use airlock::inspect;
use airlock::layout::load::load_view;

use super::common::{self, Format};
use super::{Fatal, EXIT_OK};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(a: Args) -> Result<u8, Fatal> {
    let view = load_view(&a.dir, common::default_jobs());
    if let Some(e) = &view.layout_error {
        return Err(Fatal(format!("layout-invalid: {e}")));
    }
    let mut t = inspect::tree(&view).map_err(|e| Fatal(e.to_string()))?;
    if let Ok(bytes) = airlock::layout::read_regular_limited(
        &a.dir.join(airlock::layout::LOCK_FILE),
        airlock::lock::MAX_LOCK_BYTES as u64,
    ) {
        if let Ok(lock) = airlock::lock::Lock::parse(&bytes) {
            inspect::annotate_sources(&mut t, &lock);
        }
    }
    match a.format {
        Format::Text => print!("{}", inspect::render_text(&t)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&t)?),
    }
    Ok(EXIT_OK)
}
