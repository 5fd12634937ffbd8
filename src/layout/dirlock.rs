//! An advisory lock (`flock`) on a bundle directory, so that two airlock processes that write one
//! directory (capture, push, unpack) cannot interleave their writes to `index.json`, the lock
//! file or blobs. Readers (`verify`, `inspect`) do not take it.
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

/// Name of the lock file inside the bundle directory (not part of the OCI layout; archives and
/// verify ignore it).
pub const DIR_LOCK_FILE: &str = ".airlock.flock";
/// Most bytes read from the lock file to name the holder in a message.
const MAX_HOLDER_BYTES: u64 = 256;

/// Why the directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum DirLockError {
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held while a command writes the directory; released on drop (also when the process dies).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Lock `root` (created if missing) for `command`. When another process holds it, `on_wait` is
/// called once with what the holder wrote (e.g. `capture pid 1234`), then this waits for it.
pub fn lock_dir(
    root: &Path,
    command: &str,
    on_wait: impl FnOnce(&str),
) -> Result<DirLock, DirLockError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DirLockError::Io { path, source }
    };
    fs::create_dir_all(root).map_err(io(root))?;
    let path = root.join(DIR_LOCK_FILE);
    if let Ok(m) = fs::symlink_metadata(&path) {
        if !m.file_type().is_file() {
            return Err(DirLockError::Io {
                path,
                source: std::io::Error::other("not a regular file"),
            });
        }
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io(&path))?;
    match FileExt::try_lock_exclusive(&file) {
        Ok(true) => {}
        Ok(false) => {
            let mut holder = String::new();
            let _ = (&file).take(MAX_HOLDER_BYTES).read_to_string(&mut holder);
            let holder: String = holder
                .chars()
                .filter(|c| !c.is_control())
                .collect::<String>();
            on_wait(holder.trim());
            FileExt::lock_exclusive(&file).map_err(io(&path))?;
        }
        Err(e) => return Err(DirLockError::Io { path, source: e }),
    }
    // Name the holder for the next process that has to wait.
    let _ = file.set_len(0);
    let _ = file.seek(SeekFrom::Start(0));
    let _ = write!(file, "{command} pid {}", std::process::id());
    let _ = file.flush();
    Ok(DirLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_on_one_dir_waits_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_dir(dir.path(), "capture", |_| panic!("first must not wait")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let root = dir.path().to_path_buf();
        let t = std::thread::spawn(move || {
            let _l = lock_dir(&root, "push", |holder| {
                tx.send(holder.to_string()).unwrap();
            })
            .unwrap();
        });
        // The second locker reports the holder, then blocks until the first is dropped.
        let holder = rx.recv().unwrap();
        assert_eq!(holder, format!("capture pid {}", std::process::id()));
        drop(first);
        t.join().unwrap();
    }

    #[test]
    fn lock_path_that_is_a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(DIR_LOCK_FILE)).unwrap();
        let e = lock_dir(dir.path(), "capture", |_| {}).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
