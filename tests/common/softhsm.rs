//! A SoftHSM2 PKCS#11 token for tests: initialised with `softhsm2-util` in a temporary token
//! directory through its own SOFTHSM2_CONF (never the system token directory). A missing
//! SoftHSM2 fails the test that asks for a token (scripts/test.sh installs it).
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// SoftHSM2's PKCS#11 library as Debian installs it (the default airlock uses, too).
pub const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
pub const TOKEN: &str = "airlock-gate";
pub const USER_PIN: &str = "246810";
pub const SO_PIN: &str = "13579111";

/// A SoftHSM2 token in a temporary directory, never the system token directory.
pub struct SoftHsm {
    dir: tempfile::TempDir,
}

impl SoftHsm {
    pub fn init() -> SoftHsm {
        assert!(
            Path::new(SOFTHSM_MODULE).is_file(),
            "{SOFTHSM_MODULE} is missing: install SoftHSM2 (apt-get install softhsm2; scripts/test.sh does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        fs::create_dir_all(&tokens).unwrap();
        fs::write(
            dir.path().join("softhsm2.conf"),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        let hsm = SoftHsm { dir };
        let out = std::process::Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", hsm.conf())
            .args(["--init-token", "--free", "--label", TOKEN])
            .args(["--so-pin", SO_PIN, "--pin", USER_PIN])
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run softhsm2-util ({e}): install SoftHSM2 (apt-get install softhsm2)"
                )
            });
        assert!(
            out.status.success(),
            "softhsm2-util --init-token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        hsm
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    /// A cosign-style URI for key `object` in the token, the PIN left to AIRLOCK_PKCS11_PIN.
    pub fn uri(&self, object: &str) -> String {
        format!("pkcs11:token={TOKEN};object={object}?module-path={SOFTHSM_MODULE}")
    }

    /// The same URI with the PIN in it (`pin-value=`).
    pub fn uri_with_pin(&self, object: &str, pin: &str) -> String {
        format!("{}&pin-value={pin}", self.uri(object))
    }

    /// The airlock binary run in `dir`, seeing this token (and the user PIN in
    /// AIRLOCK_PKCS11_PIN unless `pin` is None).
    pub fn airlock(&self, dir: &Path, pin: Option<&str>) -> Command {
        let mut c = Command::cargo_bin("airlock").unwrap();
        c.current_dir(dir)
            .env("SOFTHSM2_CONF", self.conf())
            .env_remove("AIRLOCK_PKCS11_PIN")
            .env_remove("AIRLOCK_PKCS11_MODULE")
            .env("REGISTRY_AUTH_FILE", dir.join("no-auth.json"));
        if let Some(p) = pin {
            c.env("AIRLOCK_PKCS11_PIN", p);
        }
        c
    }
}
