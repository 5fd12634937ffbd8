//! `airlock merge SHARD_DIR... -o DIR [--sign-key KEY]`: shard bundles into one bundle.
use std::path::PathBuf;

use airlock::layout;
use airlock::lock::LOCK_PAYLOAD_TYPE;

use super::common;
use super::{Fatal, EXIT_OK};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Shard bundle directories (from `airlock capture --shard I/N`).
    #[arg(value_name = "SHARD_DIR", required = true)]
    shards: Vec<PathBuf>,
    /// The merged bundle directory.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: PathBuf,
    /// Sign the merged lock (DSSE) with this private key (passphrase from AIRLOCK_PASSWORD or
    /// COSIGN_PASSWORD), or a pkcs11: URI naming a key in an HSM.
    #[arg(long, value_name = "KEY")]
    sign_key: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<u8, Fatal> {
    let sign_key = match &a.sign_key {
        Some(p) => Some(common::load_signing_key("--sign-key", p)?),
        None => None,
    };
    let shards: Vec<&std::path::Path> = a.shards.iter().map(|p| p.as_path()).collect();
    let o = airlock::merge::merge(&shards, &a.output, common::now_rfc3339())?;
    if let Some(k) = &sign_key {
        let bytes = std::fs::read(a.output.join(layout::LOCK_FILE))?;
        let env = airlock::sign::sign_envelope(LOCK_PAYLOAD_TYPE, &bytes, k)?;
        layout::write_atomic(&a.output.join(layout::LOCK_DSSE_FILE), &env)?;
    }
    eprintln!(
        "merged {} shard(s) into {}: {} image(s); blobs {} hard-linked, {} copied, {} already present",
        a.shards.len(),
        a.output.display(),
        o.lock.as_ref().map(|l| l.images.len()).unwrap_or(0),
        o.linked,
        o.copied,
        o.present
    );
    Ok(EXIT_OK)
}
