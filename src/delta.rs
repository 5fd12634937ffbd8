//! Delta bundles (`capture --base OLD`): the delta holds only blobs its base does not; its lock
//! lists every blob, marks those the base holds and records the base lock's sha256.
//! `verify DELTA --base OLD_BUNDLE` reads the union of both.
use std::collections::BTreeMap;
use std::path::Path;

use crate::layout::load::{view_from, BlobSource};
use crate::layout::{self, BlobReadError, BlobState, Layout};
use crate::lock::Lock;
use crate::oci::Digest;
use crate::report::{Code, Finding};
use crate::view::BundleView;

/// The delta's blobs, then the base's for what the delta lacks.
pub struct Union<'a> {
    pub delta: &'a Layout,
    pub base: &'a Layout,
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

/// Like [`crate::layout::load::load_view`], over the delta `dir` and its `base` bundle.
pub fn load_view_with_base(dir: &Path, base: &Path, jobs: usize) -> BundleView {
    let mut view = BundleView {
        location: dir.display().to_string(),
        ..Default::default()
    };
    let opened = Layout::open(dir).and_then(|d| Ok((d, Layout::open(base)?)));
    let (delta, base) = match opened {
        Ok(x) => x,
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
    view_from(
        view,
        &index,
        &Union {
            delta: &delta,
            base: &base,
        },
        jobs,
    )
}

/// Findings about the delta relation: a delta lock verified without `--base` is `base-required`;
/// a base whose lock is not the one the delta was captured against is `base-required` too.
pub fn base_findings(
    lock_bytes: Option<&[u8]>,
    base: Option<&Path>,
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
    let base_lock = base.join(layout::LOCK_FILE);
    match layout::read_regular_limited(&base_lock, crate::lock::MAX_LOCK_BYTES as u64) {
        Ok(b) if want.sha256.matches(&b) => Vec::new(),
        Ok(b) => vec![Finding::error(
            Code::BaseRequired,
            subject,
            format!(
                "the delta was captured against the base lock {}, but {} hashes to {}; give that base bundle",
                want.sha256,
                base_lock.display(),
                Digest::sha256_of(&b)
            ),
        )],
        Err(e) => vec![Finding::error(
            Code::BaseRequired,
            subject,
            format!("the delta needs the base lock {}: {e}", want.sha256),
        )],
    }
}
