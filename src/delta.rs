//! Delta bundles (`capture --base OLD`): the delta holds only blobs its base does not; its lock
//! lists every blob, marks those the base holds and records the base lock's sha256.
//! `verify DELTA --base OLD_BUNDLE` reads the union of both; either side may be a directory or an
//! archive (`FILE.chunks.json` or a tar written by `airlock pack`).
use std::collections::BTreeMap;
use std::path::Path;

use crate::archive::view::{read_archive, ArchiveRead};
use crate::archive::{ChunkSet, Progress};
use crate::layout::load::{view_from, BlobSource};
use crate::layout::{self, BlobReadError, BlobState, Layout};
use crate::lock::Lock;
use crate::oci::{Digest, Manifest};
use crate::report::{Code, Finding};
use crate::view::BundleView;

/// The delta's blobs, then the base's for what the delta lacks.
pub struct Union<'a> {
    pub delta: &'a dyn BlobSource,
    pub base: &'a dyn BlobSource,
}

impl BlobSource for Union<'_> {
    fn read_blob(&self, d: &Digest, limit: u64) -> Result<Vec<u8>, BlobReadError> {
        match self.delta.read_blob(d, limit) {
            Err(BlobReadError::Missing) => self.base.read_blob(d, limit),
            other => other,
        }
    }
    fn check_blobs(
        &self,
        blobs: &[(Digest, Option<u64>)],
        jobs: usize,
    ) -> BTreeMap<Digest, BlobState> {
        let mut states = self.delta.check_blobs(blobs, jobs);
        let missing: Vec<(Digest, Option<u64>)> = blobs
            .iter()
            .filter(|(d, _)| states.get(d) == Some(&BlobState::Missing))
            .cloned()
            .collect();
        states.extend(self.base.check_blobs(&missing, jobs));
        states
    }
}

/// A source that holds nothing (an archive whose pass stopped early).
struct NoBlobs;
impl BlobSource for NoBlobs {
    fn read_blob(&self, _d: &Digest, _limit: u64) -> Result<Vec<u8>, BlobReadError> {
        Err(BlobReadError::Missing)
    }
    fn check_blobs(
        &self,
        blobs: &[(Digest, Option<u64>)],
        _jobs: usize,
    ) -> BTreeMap<Digest, BlobState> {
        blobs
            .iter()
            .map(|(d, _)| (d.clone(), BlobState::Missing))
            .collect()
    }
}

/// The base of a delta, as given to `verify --base` (or `push --base`): a bundle directory, or
/// an archive read in one pass (every blob hashed, chunks checked).
pub enum BaseBundle {
    Dir {
        shown: String,
        layout: Layout,
    },
    Archive {
        shown: String,
        read: Box<ArchiveRead>,
    },
}

impl BaseBundle {
    /// Open `path`: a directory, `FILE.chunks.json` or a tar. `Err` when it cannot be read at all.
    pub fn open(path: &Path, jobs: usize, progress: &dyn Progress) -> Result<BaseBundle, String> {
        let shown = path.display().to_string();
        if path.is_dir() {
            let layout = Layout::open(path).map_err(|e| e.to_string())?;
            return Ok(BaseBundle::Dir { shown, layout });
        }
        let (set, findings) = ChunkSet::open(path, None).map_err(|e| e.to_string())?;
        let Some(set) = set else {
            return Err(findings
                .first()
                .map(|f| format!("{}: {}", f.code, f.message))
                .unwrap_or_else(|| format!("{shown}: not a bundle")));
        };
        let read = read_archive(set, jobs, progress);
        Ok(BaseBundle::Archive {
            shown,
            read: Box::new(read),
        })
    }

    /// The base's blobs.
    pub fn blobs(&self) -> &dyn BlobSource {
        match self {
            BaseBundle::Dir { layout, .. } => layout,
            BaseBundle::Archive { read, .. } => match &read.blobs {
                Some(b) => b,
                None => &NoBlobs,
            },
        }
    }

    /// The base's lock bytes, or why there are none.
    pub fn lock(&self) -> Result<Vec<u8>, String> {
        match self {
            BaseBundle::Dir { layout, .. } => {
                let p = layout.root().join(layout::LOCK_FILE);
                layout::read_regular_limited(&p, crate::lock::MAX_LOCK_BYTES as u64)
                    .map_err(|e| e.to_string())
            }
            BaseBundle::Archive { read, shown } => read
                .lock
                .clone()
                .ok_or_else(|| format!("{shown}: the archive holds no {}", layout::LOCK_FILE)),
        }
    }

    /// Problems reading the base archive (a bad chunk, a refused member).
    pub fn findings(&self) -> Vec<Finding> {
        match self {
            BaseBundle::Dir { .. } => Vec::new(),
            BaseBundle::Archive { read, .. } => read.findings.clone(),
        }
    }

    pub fn shown(&self) -> &str {
        match self {
            BaseBundle::Dir { shown, .. } | BaseBundle::Archive { shown, .. } => shown,
        }
    }
}

/// Like [`crate::layout::load::load_view`], over the delta `dir` and its `base` bundle.
pub fn load_view_with_base(dir: &Path, base: &BaseBundle, jobs: usize) -> BundleView {
    let mut view = BundleView {
        location: dir.display().to_string(),
        ..Default::default()
    };
    let delta = match Layout::open(dir) {
        Ok(d) => d,
        Err(e) => {
            view.layout_error = Some(e.to_string());
            return view;
        }
    };
    let index = match delta.read_index() {
        Ok(i) => i,
        Err(e) => {
            view.layout_error = Some(e.to_string());
            return view;
        }
    };
    view_over_base(view, &index, &delta, base, jobs)
}

/// The view of a delta whose `index` and blobs (`delta`) were read already (a directory or an
/// archive), with the base's blobs for what the delta lacks.
pub fn view_over_base(
    view: BundleView,
    index: &Manifest,
    delta: &dyn BlobSource,
    base: &BaseBundle,
    jobs: usize,
) -> BundleView {
    let view = BundleView {
        location: view.location,
        source_prefix: view.source_prefix,
        ..Default::default()
    };
    view_from(
        view,
        index,
        &Union {
            delta,
            base: base.blobs(),
        },
        jobs,
    )
}

/// Findings about the delta relation: a delta lock verified without `--base` is `base-required`;
/// a base whose lock is not the one the delta was captured against is `base-required` too.
pub fn base_findings(
    lock_bytes: Option<&[u8]>,
    base: Option<&BaseBundle>,
    subject: &str,
) -> Vec<Finding> {
    let Some(lock) = lock_bytes.and_then(|b| Lock::parse(b).ok()) else {
        return Vec::new();
    };
    let Some(want) = lock.base else {
        return Vec::new();
    };
    let held = lock.blobs.iter().filter(|b| b.base).count();
    let Some(base) = base else {
        return vec![Finding::error(
            Code::BaseRequired,
            subject,
            format!("this is a delta bundle: {held} of its blobs are held by the base bundle whose lock has sha256 {}; verify with --base OLD_BUNDLE", want.sha256),
        )];
    };
    let mut out = base.findings();
    match base.lock() {
        Ok(b) if want.sha256.matches(&b) => {}
        Ok(b) => out.push(Finding::error(
            Code::BaseRequired,
            subject,
            format!(
                "the delta was captured against the base lock {}, but the lock of {} hashes to {}; give that base bundle",
                want.sha256,
                base.shown(),
                Digest::sha256_of(&b)
            ),
        )),
        Err(e) => out.push(Finding::error(
            Code::BaseRequired,
            subject,
            format!("the delta needs the base lock {}: {e}", want.sha256),
        )),
    }
    out
}
