//! `airlock keys generate`: a cosign-compatible key pair.
use std::io::IsTerminal;
use std::path::PathBuf;

use airlock::trust::keys::{self, KeyAlgorithm, PemLabel, SigningKey};

use super::{Fatal, EXIT_OK};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Write PREFIX.key (encrypted, cosign format) and PREFIX.pub (PUBLIC KEY PEM); with
    /// --pkcs11 URI, create an ECDSA P-256 key pair in the token and write PREFIX.pub only.
    Generate(GenerateArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Alg {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Label {
    /// `ENCRYPTED SIGSTORE PRIVATE KEY` (cosign >= 2.0.1)
    Sigstore,
    /// `ENCRYPTED COSIGN PRIVATE KEY` (older cosign, containers/image)
    Cosign,
}

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Output prefix: writes PREFIX.key and PREFIX.pub (only PREFIX.pub with --pkcs11).
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
    /// Create the key in a PKCS#11 token instead of a file: a pkcs11: URI naming the token and
    /// the new key's label, e.g. pkcs11:token=NAME;object=LABEL?module-path=/path/lib.so
    /// (PIN from pin-value=/pin-source= or AIRLOCK_PKCS11_PIN). Always ECDSA P-256.
    #[arg(long, value_name = "URI", conflicts_with_all = ["label", "scrypt_log_n", "allow_empty_passphrase"])]
    pkcs11: Option<String>,
    #[arg(long, value_enum, default_value = "ecdsa-p256")]
    algorithm: Alg,
    #[arg(long, value_enum, default_value = "sigstore")]
    label: Label,
    /// scrypt cost as log2(N): 15, 16 (default) or 17.
    #[arg(long, default_value_t = 16)]
    scrypt_log_n: u8,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
    /// Allow an empty passphrase (the key file is then as good as unencrypted).
    #[arg(long)]
    allow_empty_passphrase: bool,
}

pub fn run(cmd: Command) -> Result<u8, Fatal> {
    match cmd {
        Command::Generate(a) => generate(a),
    }
}

fn generate(a: GenerateArgs) -> Result<u8, Fatal> {
    if let Some(uri) = &a.pkcs11 {
        return generate_in_token(&a, uri);
    }
    let key_path = PathBuf::from(format!("{}.key", a.out.display()));
    let pub_path = PathBuf::from(format!("{}.pub", a.out.display()));
    if !a.force {
        for p in [&key_path, &pub_path] {
            if p.exists() {
                return Err(Fatal(format!(
                    "{} exists; use --force to overwrite",
                    p.display()
                )));
            }
        }
    }
    let alg = match a.algorithm {
        Alg::EcdsaP256 => KeyAlgorithm::EcdsaP256,
        Alg::EcdsaP384 => KeyAlgorithm::EcdsaP384,
        Alg::Ed25519 => KeyAlgorithm::Ed25519,
    };
    let pass: Vec<u8> = match keys::passphrase_from_env() {
        Some(p) => p,
        None if std::io::stdin().is_terminal() => {
            let first =
                super::common::prompt_passphrase("Enter passphrase for the new private key: ")?;
            let again = super::common::prompt_passphrase("Enter the passphrase again: ")?;
            if first != again {
                return Err(Fatal(
                    "the two passphrases differ; nothing was written".into(),
                ));
            }
            first.into_bytes()
        }
        None => Vec::new(),
    };
    if pass.is_empty() && !a.allow_empty_passphrase {
        return Err(Fatal(
            "refusing to encrypt the private key with an empty passphrase: set AIRLOCK_PASSWORD (or COSIGN_PASSWORD), run on a terminal to be prompted, or pass --allow-empty-passphrase; nothing was written".into(),
        ));
    }
    let sk = SigningKey::generate(alg)?;
    let label = match a.label {
        Label::Sigstore => PemLabel::Sigstore,
        Label::Cosign => PemLabel::Cosign,
    };
    let pem = sk.to_encrypted_pem(&pass, label, a.scrypt_log_n)?;
    if let Some(dir) = key_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Fatal(format!("{}: {e}", dir.display())))?;
    }
    write_private(&key_path, pem.as_bytes())?;
    std::fs::write(&pub_path, sk.public_key().to_pem())
        .map_err(|e| Fatal(format!("{}: {e}", pub_path.display())))?;
    eprintln!("Private key written to {}", key_path.display());
    eprintln!(
        "Public key written to {} ({})",
        pub_path.display(),
        sk.public_key().key_id()
    );
    Ok(EXIT_OK)
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<(), Fatal> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Fatal(format!("{}: {e}", path.display())))?;
    f.write_all(bytes)
        .map_err(|e| Fatal(format!("{}: {e}", path.display())))?;
    Ok(())
}

/// `keys generate --pkcs11 URI --out PREFIX`: an ECDSA P-256 key pair made inside the token (the
/// private key is sensitive and not extractable); its public key goes to PREFIX.pub so that
/// `--keys`, `--capture-key`, `--report-key` and `report verify --key` work as with file keys.
fn generate_in_token(a: &GenerateArgs, uri: &str) -> Result<u8, Fatal> {
    use airlock::trust::pkcs11::{Pkcs11Key, Pkcs11Uri};
    if !matches!(a.algorithm, Alg::EcdsaP256) {
        return Err(Fatal(
            "--pkcs11 creates ECDSA P-256 keys only; drop --algorithm or give ecdsa-p256".into(),
        ));
    }
    let pub_path = PathBuf::from(format!("{}.pub", a.out.display()));
    if !a.force && pub_path.exists() {
        return Err(Fatal(format!(
            "{} exists; use --force to overwrite (nothing was created in the token)",
            pub_path.display()
        )));
    }
    let parsed = Pkcs11Uri::parse(uri).map_err(|e| Fatal(format!("--pkcs11: {e}")))?;
    let pin = match parsed.pin().map_err(|e| Fatal(format!("--pkcs11: {e}")))? {
        Some(p) => Some(p),
        None => super::common::pkcs11_prompt_pin(uri, "--pkcs11")?
            .map(|p| (p, "the terminal prompt".to_string())),
    };
    let public =
        Pkcs11Key::generate_p256(&parsed, pin).map_err(|e| Fatal(format!("--pkcs11: {e}")))?;
    if let Some(dir) = pub_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Fatal(format!("{}: {e}", dir.display())))?;
    }
    std::fs::write(&pub_path, public.to_pem())
        .map_err(|e| Fatal(format!("{}: {e}", pub_path.display())))?;
    eprintln!(
        "Private key created in token \"{}\" as {} (it does not leave the token)",
        parsed.token.as_deref().unwrap_or("(the only token)"),
        parsed.describe_object()
    );
    eprintln!(
        "Public key written to {} ({})",
        pub_path.display(),
        public.key_id()
    );
    Ok(EXIT_OK)
}
