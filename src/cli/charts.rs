//! Helm chart provenance for `verify DIR` and `capture --policy`: the edge reads the chart and
//! `.prov` layers and the rule's keyring; the pure check is `airlock::verify::chart`.
use std::collections::BTreeMap;
use std::path::PathBuf;

use airlock::helm::{MAX_CHART_BYTES, MEDIA_HELM_CHART, MEDIA_HELM_CONFIG, MEDIA_HELM_PROV};
use airlock::layout::{self, load::BlobSource};
use airlock::oci::manifest::ANNOTATION_REF_NAME;
use airlock::oci::Reference;
use airlock::policy::{HelmProvenance, Policy};
use airlock::report::Report;
use airlock::verify::chart::{check_provenance, Keyring, MAX_KEYRING_BYTES, MAX_PROV_BYTES};
use airlock::verify::BundleView;

use super::Fatal;

/// Check every Helm chart of the bundle whose rule has `helm:`, adding the findings to the
/// chart's entry of `report` (or the global findings) and finalising the report again.
pub fn add_chart_provenance(
    report: &mut Report,
    policy: &Policy,
    view: &BundleView,
    store: &dyn BlobSource,
) -> Result<(), Fatal> {
    if policy.rules.iter().all(|r| r.helm.is_none()) {
        return Ok(());
    }
    let mut keyrings: BTreeMap<PathBuf, Keyring> = BTreeMap::new();
    let mut changed = false;
    for e in &view.entries {
        let Some(name) = e.annotation(ANNOTATION_REF_NAME) else {
            continue;
        };
        let Some(m) = view.manifests.get(&e.digest) else {
            continue;
        };
        if m.artifact_type() != Some(MEDIA_HELM_CONFIG) {
            continue;
        }
        let Ok(r) = Reference::parse(name) else {
            continue;
        };
        let Some(helm) = policy
            .rule_for(&r.repository())
            .and_then(|r| r.helm.as_ref())
        else {
            continue;
        };
        let keyring = match &helm.keyring {
            None => None,
            Some(p) => {
                if !keyrings.contains_key(p) {
                    let bytes =
                        layout::read_regular_limited(p, MAX_KEYRING_BYTES as u64).map_err(|e| {
                            Fatal(format!(
                                "policy {}: helm.keyring {}: {e}",
                                policy.source.display(),
                                p.display()
                            ))
                        })?;
                    let k = Keyring::parse(&bytes).map_err(|e| {
                        Fatal(format!(
                            "policy {}: helm.keyring {}: {e}",
                            policy.source.display(),
                            p.display()
                        ))
                    })?;
                    keyrings.insert(p.clone(), k);
                }
                keyrings.get(p)
            }
        };
        let layer = |media: &str| m.layers().iter().find(|l| l.media_type == media);
        let Some(chart) = layer(MEDIA_HELM_CHART) else {
            continue;
        };
        // A missing or damaged blob is already a finding of the core (blob-missing/-mismatch).
        let Ok(archive) = store.read_blob(&chart.digest, MAX_CHART_BYTES as u64) else {
            continue;
        };
        let prov = match layer(MEDIA_HELM_PROV) {
            None => None,
            Some(l) => match store.read_blob(&l.digest, MAX_PROV_BYTES as u64) {
                Ok(b) => Some(b),
                Err(_) => continue,
            },
        };
        let findings = check_provenance(
            name,
            &archive,
            prov.as_deref(),
            keyring,
            helm.provenance == HelmProvenance::Required,
        );
        if findings.is_empty() {
            continue;
        }
        changed = true;
        match report.images.iter_mut().find(|i| i.r#ref == name) {
            Some(img) => img.findings.extend(findings),
            None => report.findings.extend(findings),
        }
    }
    if changed {
        report.finalise();
    }
    Ok(())
}
