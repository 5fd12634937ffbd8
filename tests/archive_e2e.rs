//! pack / unpack / verify straight from the archive, against a bundle captured from the real
//! `docker-registry`: round trip byte for byte, a damaged or missing chunk, hostile members, a
//! signed chunk list.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::keys::TestKey;
use common::registry::{Flavour, Registry};
use common::scenarios::publish_full;
use serde_json::Value;

const REPO: &str = "team/app";

fn airlock() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("airlock").unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn policy(dir: &Path, key: &TestKey, reg: &Registry) -> PathBuf {
    fs::write(dir.join("release.pub"), key.public_key_pem()).unwrap();
    let p = dir.join("policy.yaml");
    fs::write(
        &p,
        format!(
            "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: release.pub\nrules:\n  - match: [\"{host}/team/**\"]\n    signatures:\n      keys: [release]\n    attestations:\n      - predicateType: https://slsa.dev/provenance/v1\n        keys: [release]\n    sbom: required\n    platforms: [linux/amd64, linux/arm64]\n",
            host = reg.host
        ),
    )
    .unwrap();
    p
}

/// A captured bundle of the full scenario, in `tmp/bundle`.
fn captured(tmp: &Path) -> (Registry, TestKey, PathBuf) {
    let reg = Registry::start(Flavour::Plain);
    let key = TestKey::generate();
    publish_full(&reg, &key, REPO, "v1");
    let out = tmp.join("bundle");
    let o = reg.capture(&[reg.image_ref(REPO, "v1")], &out, &[]);
    assert_eq!(o.status.code(), Some(0), "capture: {}", stderr(&o));
    (reg, key, out)
}

fn pack(dir: &Path, file: &Path, extra: &[&str]) {
    let o = airlock()
        .arg("pack")
        .arg(dir)
        .arg("-o")
        .arg(file)
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "pack: {}", stderr(&o));
}

fn unpack(list: &Path, out: &Path, extra: &[&str]) -> Output {
    airlock()
        .arg("unpack")
        .arg(list)
        .arg("-o")
        .arg(out)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap()
}

fn verify(target: &Path, policy: &Path) -> Output {
    airlock()
        .arg("verify")
        .arg(target)
        .arg("--policy")
        .arg(policy)
        .args(["--format", "json"])
        .output()
        .unwrap()
}

/// Every file under `dir` (relative path → sha256).
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if e.file_name() == ".airlock.flock" {
                // The advisory lock file of capture/push: not bundle content, never packed.
                continue;
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
                out.insert(
                    rel,
                    common::content::sha256_hex(&fs::read(e.path()).unwrap()),
                );
            }
        }
    }
    out
}

fn codes(stdout: &[u8]) -> Vec<(String, String)> {
    let v: Value = serde_json::from_slice(stdout).unwrap_or(Value::Null);
    let mut out = Vec::new();
    let mut push = |f: &Value| {
        out.push((
            f["code"].as_str().unwrap_or("").to_string(),
            f["subject"].as_str().unwrap_or("").to_string(),
        ))
    };
    for f in v["findings"].as_array().into_iter().flatten() {
        push(f);
    }
    for i in v["images"].as_array().into_iter().flatten() {
        for f in i["findings"].as_array().into_iter().flatten() {
            push(f);
        }
    }
    out
}

fn chunk_list(list: &Path) -> Value {
    serde_json::from_slice(&fs::read(list).unwrap()).unwrap()
}

/// The verdict of a report without where the bundle came from.
fn verdict(stdout: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(stdout).unwrap();
    v["inputs"]["bundle"] = Value::Null;
    v["time"] = Value::Null;
    v
}

#[test]
fn pack_with_chunk_size_then_unpack_is_byte_identical_and_verifies_like_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (reg, key, bundle) = captured(tmp.path());
    let pol = policy(tmp.path(), &key, &reg);
    let file = tmp.path().join("media/bundle.tar");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    pack(&bundle, &file, &["--chunk-size", "32K"]);
    let list_path = tmp.path().join("media/bundle.tar.chunks.json");
    let list = chunk_list(&list_path);
    assert_eq!(list["schema"], "airlock.chunks/v1");
    let chunks = list["chunks"].as_array().unwrap();
    assert!(chunks.len() >= 3, "{list}");
    assert_eq!(chunks[0]["name"], "bundle.tar.001");
    assert_eq!(chunks[1]["name"], "bundle.tar.002");
    let mut whole = Vec::new();
    for c in chunks {
        let bytes = fs::read(tmp.path().join("media").join(c["name"].as_str().unwrap())).unwrap();
        assert!(bytes.len() as u64 <= 32 * 1024);
        assert_eq!(bytes.len() as u64, c["size"].as_u64().unwrap());
        assert_eq!(
            format!("sha256:{}", common::content::sha256_hex(&bytes)),
            c["sha256"].as_str().unwrap()
        );
        whole.extend(bytes);
    }
    assert_eq!(whole.len() as u64, list["size"].as_u64().unwrap());
    assert_eq!(
        format!("sha256:{}", common::content::sha256_hex(&whole)),
        list["sha256"].as_str().unwrap()
    );
    assert_eq!(
        format!(
            "sha256:{}",
            common::content::sha256_hex(&fs::read(bundle.join("airlock.lock.json")).unwrap())
        ),
        list["lockSha256"].as_str().unwrap()
    );
    // Packing again gives the same bytes.
    let again = tmp.path().join("again.tar");
    pack(&bundle, &again, &["--chunk-size", "32K"]);
    assert_eq!(
        chunk_list(&tmp.path().join("again.tar.chunks.json"))["sha256"],
        list["sha256"]
    );

    let out = tmp.path().join("unpacked");
    let o = unpack(&list_path, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "unpack: {}", stderr(&o));
    assert_eq!(tree(&out), tree(&bundle));

    let image = reg.image_ref(REPO, "v1");
    let s = std::process::Command::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(format!("oci:{}:{image}", out.display()))
        .output()
        .expect("skopeo");
    assert!(
        s.status.success(),
        "skopeo: {}",
        String::from_utf8_lossy(&s.stderr)
    );

    let from_dir = verify(&out, &pol);
    assert_eq!(
        from_dir.status.code(),
        Some(0),
        "verify dir: {}",
        String::from_utf8_lossy(&from_dir.stdout)
    );
    let from_list = verify(&list_path, &pol);
    assert_eq!(
        from_list.status.code(),
        Some(0),
        "verify list: {}",
        String::from_utf8_lossy(&from_list.stdout)
    );
    let (a, b) = (verdict(&from_dir.stdout), verdict(&from_list.stdout));
    assert_eq!(a["images"], b["images"]);
    assert_eq!(a["findings"], b["findings"]);
    assert_eq!(a["summary"], b["summary"]);

    // A single-file pack (no --chunk-size) is one chunk named FILE, verified as a plain tar too.
    let single = tmp.path().join("one.tar");
    pack(&bundle, &single, &[]);
    let l1 = chunk_list(&tmp.path().join("one.tar.chunks.json"));
    assert_eq!(l1["chunks"].as_array().unwrap().len(), 1);
    assert_eq!(l1["chunks"][0]["name"], "one.tar");
    assert_eq!(l1["sha256"], list["sha256"]);
    fs::remove_file(tmp.path().join("one.tar.chunks.json")).unwrap();
    let plain = verify(&single, &pol);
    assert_eq!(
        plain.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&plain.stdout)
    );
    assert_eq!(verdict(&plain.stdout)["images"], a["images"]);
}

/// Where each blob's data ends in the tar stream.
fn blob_ends(whole: &[u8]) -> BTreeMap<String, u64> {
    let mut ar = tar::Archive::new(whole);
    let mut out = BTreeMap::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let p = e.path().unwrap().display().to_string();
        if let Some(hex) = p.strip_prefix("blobs/sha256/") {
            out.insert(hex.to_string(), e.raw_file_position() + e.size());
        }
    }
    out
}

#[test]
fn flipped_byte_in_chunk_002_is_chunk_digest_mismatch_and_deleted_003_is_chunk_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let (reg, key, bundle) = captured(tmp.path());
    let pol = policy(tmp.path(), &key, &reg);
    let file = tmp.path().join("b.tar");
    pack(&bundle, &file, &["--chunk-size", "32K"]);
    let list_path = tmp.path().join("b.tar.chunks.json");
    let list = chunk_list(&list_path);
    let chunks = list["chunks"].as_array().unwrap();
    assert!(chunks.len() >= 4, "{list}");
    let chunk1 = chunks[0]["size"].as_u64().unwrap();
    let mut whole = Vec::new();
    for c in chunks {
        whole.extend(fs::read(tmp.path().join(c["name"].as_str().unwrap())).unwrap());
    }
    let ends = blob_ends(&whole);

    let c2 = tmp.path().join("b.tar.002");
    let good = fs::read(&c2).unwrap();
    let mut bad = good.clone();
    bad[good.len() / 2] ^= 0x01;
    fs::write(&c2, &bad).unwrap();
    let out = tmp.path().join("out");
    let o = unpack(&list_path, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        codes(&o.stdout),
        vec![("chunk-digest-mismatch".to_string(), "b.tar.002".to_string())]
    );
    // Nothing from chunk 2 or later: every blob written ends inside chunk 1.
    let written: Vec<String> = fs::read_dir(out.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    for hex in &written {
        assert!(
            ends[hex] <= chunk1,
            "{hex} ends at {} past chunk 1 ({chunk1})",
            ends[hex]
        );
    }
    // Verify straight from the damaged list fails the same way.
    let v = verify(&list_path, &pol);
    assert_eq!(v.status.code(), Some(1));
    assert!(
        codes(&v.stdout).contains(&("chunk-digest-mismatch".to_string(), "b.tar.002".to_string()))
    );

    // Repaired chunk 2, deleted chunk 3.
    fs::write(&c2, &good).unwrap();
    let c3 = tmp.path().join("b.tar.003");
    let c3_bytes = fs::read(&c3).unwrap();
    fs::remove_file(&c3).unwrap();
    let o = unpack(&list_path, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        codes(&o.stdout),
        vec![("chunk-missing".to_string(), "b.tar.003".to_string())]
    );

    // Everything back: the re-run resumes and the result is the original bundle.
    fs::write(&c3, &c3_bytes).unwrap();
    let o = unpack(&list_path, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("already present and kept"),
        "{}",
        stderr(&o)
    );
    assert_eq!(tree(&out), tree(&bundle));
}

fn hostile_tar(path: &Path, name: &str, kind: tar::EntryType) {
    let mut out = Vec::new();
    {
        let mut b = tar::Builder::new(&mut out);
        let mut h = tar::Header::new_ustar();
        h.set_size(30);
        h.set_mode(0o644);
        b.append_data(
            &mut h,
            "oci-layout",
            &br#"{"imageLayoutVersion":"1.0.0"}"#[..],
        )
        .unwrap();
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(kind);
        if kind == tar::EntryType::Symlink {
            h.set_link_name("/etc/passwd").unwrap();
        }
        h.set_size(if kind == tar::EntryType::Regular {
            2
        } else {
            0
        });
        h.set_mode(0o644);
        h.set_cksum();
        let data: &[u8] = if kind == tar::EntryType::Regular {
            b"{}"
        } else {
            b""
        };
        b.append(&h, data).unwrap();
        b.finish().unwrap();
    }
    fs::write(path, out).unwrap();
}

#[test]
fn unpack_refuses_dotdot_absolute_symlink_and_macosx_members_with_archive_invalid() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, (name, kind)) in [
        ("../x", tar::EntryType::Regular),
        ("/tmp/airlock-absolute-x", tar::EntryType::Regular),
        ("index.json", tar::EntryType::Symlink),
        ("__MACOSX/._index.json", tar::EntryType::Regular),
    ]
    .into_iter()
    .enumerate()
    {
        let f = tmp.path().join(format!("h{i}.tar"));
        hostile_tar(&f, name, kind);
        let out = tmp.path().join(format!("w{i}/out"));
        let o = unpack(&f, &out, &[]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        let c = codes(&o.stdout);
        assert_eq!(c.len(), 1, "{name}: {c:?}");
        assert_eq!(c[0].0, "archive-invalid", "{name}");
        assert!(!tmp.path().join(format!("w{i}/x")).exists());
        assert!(!Path::new("/tmp/airlock-absolute-x").exists());
        assert!(!out.join("index.json").exists());
    }
}

#[test]
fn signed_chunk_list_unpacks_with_its_key_and_is_chunks_invalid_with_another_or_when_edited() {
    let tmp = tempfile::tempdir().unwrap();
    let (_reg, _key, bundle) = captured(tmp.path());
    let signer = TestKey::generate();
    fs::write(tmp.path().join("pack.key"), signer.private_key_pem()).unwrap();
    fs::write(tmp.path().join("pack.pub"), signer.public_key_pem()).unwrap();
    fs::write(
        tmp.path().join("other.pub"),
        TestKey::generate().public_key_pem(),
    )
    .unwrap();
    let file = tmp.path().join("s.tar");
    let key_arg = tmp.path().join("pack.key").display().to_string();
    pack(
        &bundle,
        &file,
        &["--chunk-size", "1M", "--sign-key", &key_arg],
    );
    let list_path = tmp.path().join("s.tar.chunks.json");
    assert!(tmp.path().join("s.tar.chunks.dsse.json").exists());
    let pubk = tmp.path().join("pack.pub").display().to_string();
    let other = tmp.path().join("other.pub").display().to_string();

    let o = unpack(&list_path, &tmp.path().join("good"), &["--key", &pubk]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = unpack(&list_path, &tmp.path().join("wrong"), &["--key", &other]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(codes(&o.stdout)[0].0, "chunks-invalid");
    assert!(!tmp.path().join("wrong").exists());

    let mut edited = chunk_list(&list_path);
    edited["size"] = Value::from(edited["size"].as_u64().unwrap());
    edited["lockSha256"] = Value::from(format!("sha256:{}", "0".repeat(64)));
    fs::write(&list_path, serde_json::to_vec_pretty(&edited).unwrap()).unwrap();
    let o = unpack(&list_path, &tmp.path().join("edited"), &["--key", &pubk]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(codes(&o.stdout)[0].0, "chunks-invalid");
}

fn lock_images(dir: &Path) -> Vec<(String, String)> {
    let l: Value =
        serde_json::from_slice(&fs::read(dir.join("airlock.lock.json")).unwrap()).unwrap();
    let mut v: Vec<(String, String)> = l["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["ref"].as_str().unwrap().to_string(),
                i["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn three_shards_merged_give_the_same_lock_images_and_digests_as_one_capture() {
    let reg = Registry::start(Flavour::Plain);
    let fx = reg.fixtures();
    let mut refs = Vec::new();
    for (repo, tags) in [
        ("team/a", &["v1", "v2"][..]),
        ("team/b", &["v1"][..]),
        ("team/c", &["v1"][..]),
        ("team/d", &["v1", "v2", "v3"][..]),
        ("team/e", &["v1"][..]),
    ] {
        for t in tags {
            fx.image(
                repo,
                t,
                &[
                    format!("{repo}:{t} layer").into_bytes(),
                    b"shared base".to_vec(),
                ],
            );
            refs.push(reg.image_ref(repo, t));
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("images.txt");
    fs::write(&list, refs.join("\n")).unwrap();
    let list_arg = list.display().to_string();
    let whole = tmp.path().join("whole");
    let o = reg.capture(&[], &whole, &["-f", &list_arg]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut shard_dirs = Vec::new();
    let mut repos_seen: Vec<Vec<String>> = Vec::new();
    for i in 1..=3 {
        let d = tmp.path().join(format!("shard{i}"));
        let shard = format!("{i}/3");
        let o = reg.capture(&[], &d, &["-f", &list_arg, "--shard", &shard]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let imgs = lock_images(&d);
        assert!(!imgs.is_empty());
        let mut repos: Vec<String> = imgs
            .iter()
            .map(|(r, _)| r.rsplit_once(':').unwrap().0.to_string())
            .collect();
        repos.dedup();
        repos_seen.push(repos);
        shard_dirs.push(d);
    }
    // A repository's tags stay in one shard.
    let all: Vec<&String> = repos_seen.iter().flatten().collect();
    let distinct: std::collections::BTreeSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), distinct.len(), "{repos_seen:?}");
    let merged = tmp.path().join("merged");
    let o = airlock()
        .arg("merge")
        .args(&shard_dirs)
        .arg("-o")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(lock_images(&merged), lock_images(&whole));
    // The merged bundle holds exactly the blobs of the single capture.
    let blobs = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = tree(&d.join("blobs")).into_keys().collect();
        v.sort();
        v
    };
    assert_eq!(blobs(&merged), blobs(&whole));
    for r in &refs {
        let s = std::process::Command::new("skopeo")
            .args(["inspect", "--raw"])
            .arg(format!("oci:{}:{r}", merged.display()))
            .output()
            .expect("skopeo");
        assert!(
            s.status.success(),
            "{r}: {}",
            String::from_utf8_lossy(&s.stderr)
        );
    }
}

fn blob_set(dir: &Path) -> std::collections::BTreeSet<String> {
    fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| format!("sha256:{}", e.unwrap().file_name().to_string_lossy()))
        .collect()
}

fn allow_all(dir: &Path) -> PathBuf {
    let p = dir.join("allow.yaml");
    fs::write(
        &p,
        "apiVersion: airlock/v1\nkind: Policy\nrules:\n  - match: [\"**\"]\n    signatures: none\n",
    )
    .unwrap();
    p
}

/// Release 1 (`team/a:v1`, `team/b:v1`, sharing a base layer) and release 2 (`team/a:v2`, which
/// changes one layer, and the unchanged `team/b:v1`), captured in full and as a delta.
struct Releases {
    reg: Registry,
    tmp: tempfile::TempDir,
    pol: PathBuf,
    r1: PathBuf,
    full2: PathBuf,
    delta: PathBuf,
    a1: common::fixtures::Pushed,
    a2: common::fixtures::Pushed,
    b1: common::fixtures::Pushed,
}

fn two_releases() -> Releases {
    let reg = Registry::start(Flavour::Plain);
    let fx = reg.fixtures();
    let base_layer = common::content::deterministic_bytes(7, 40 * 1024);
    let a1 = fx.image(
        "team/a",
        "v1",
        &[base_layer.clone(), b"a layer, release 1".to_vec()],
    );
    let b1 = fx.image("team/b", "v1", &[base_layer.clone(), b"b layer".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let pol = allow_all(tmp.path());
    let r1 = tmp.path().join("release1");
    let refs1 = vec![reg.image_ref("team/a", "v1"), reg.image_ref("team/b", "v1")];
    let o = reg.capture(&refs1, &r1, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Release 2: team/a changes one layer; team/b is unchanged.
    let a2 = fx.image(
        "team/a",
        "v2",
        &[base_layer.clone(), b"a layer, release 2".to_vec()],
    );
    let refs2 = vec![reg.image_ref("team/a", "v2"), reg.image_ref("team/b", "v1")];
    let full2 = tmp.path().join("full2");
    let o = reg.capture(&refs2, &full2, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let delta = tmp.path().join("delta2");
    let base_lock = r1.join("airlock.lock.json").display().to_string();
    let o = reg.capture(&refs2, &delta, &["--base", &base_lock]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    drop(fx);
    Releases {
        reg,
        tmp,
        pol,
        r1,
        full2,
        delta,
        a1,
        a2,
        b1,
    }
}

#[test]
fn delta_of_release_2_holds_only_new_blobs_and_verifies_only_with_its_base() {
    let Releases {
        reg: _reg,
        tmp: _tmp,
        pol,
        r1,
        full2,
        delta,
        a1,
        a2,
        b1,
    } = two_releases();

    // The delta holds exactly the blobs release 1 lacks: a2's new layer, config and manifest.
    let want: std::collections::BTreeSet<String> = blob_set(&full2)
        .difference(&blob_set(&r1))
        .cloned()
        .collect();
    let mut expected = std::collections::BTreeSet::new();
    expected.insert(a2.digest.clone());
    expected.insert(a2.config_digest.clone());
    expected.insert(a2.layer_digests[1].clone());
    assert_eq!(want, expected);
    assert_eq!(blob_set(&delta), expected);
    assert!(!blob_set(&delta).contains(&b1.digest));
    assert!(!blob_set(&delta).contains(&a1.layer_digests[0]));

    // The lock lists every blob, marks the base's, and records the base lock's digest.
    let l: Value =
        serde_json::from_slice(&fs::read(delta.join("airlock.lock.json")).unwrap()).unwrap();
    let base_sha = format!(
        "sha256:{}",
        common::content::sha256_hex(&fs::read(r1.join("airlock.lock.json")).unwrap())
    );
    assert_eq!(l["base"]["sha256"], base_sha);
    let listed: std::collections::BTreeSet<String> = l["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["digest"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, blob_set(&full2));
    for b in l["blobs"].as_array().unwrap() {
        let d = b["digest"].as_str().unwrap();
        assert_eq!(
            b["base"].as_bool().unwrap_or(false),
            !expected.contains(d),
            "{d}"
        );
    }

    let v = verify(&delta, &pol);
    assert_eq!(v.status.code(), Some(1));
    let c = codes(&v.stdout);
    let base_required: Vec<&(String, String)> = c
        .iter()
        .filter(|(code, _)| code == "base-required")
        .collect();
    assert_eq!(base_required.len(), 1, "{c:?}");
    assert!(String::from_utf8_lossy(&v.stdout).contains(&base_sha));

    let v = airlock()
        .arg("verify")
        .arg(&delta)
        .arg("--base")
        .arg(&r1)
        .arg("--policy")
        .arg(&pol)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );

    // Another base than the one captured against is base-required as well.
    let v = airlock()
        .arg("verify")
        .arg(&delta)
        .arg("--base")
        .arg(&full2)
        .arg("--policy")
        .arg(&pol)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(1));
    assert!(codes(&v.stdout).iter().any(|(c, _)| c == "base-required"));
}

/// What a registry holds: repository → tag → manifest digest.
fn registry_contents(reg: &Registry) -> BTreeMap<String, BTreeMap<String, String>> {
    let p = reg.pusher();
    let catalog: Value = p.get("", "/v2/_catalog").json().unwrap();
    let mut out = BTreeMap::new();
    for r in catalog["repositories"].as_array().into_iter().flatten() {
        let repo = r.as_str().unwrap().to_string();
        let mut tags = BTreeMap::new();
        for t in p.tags(&repo) {
            let (_, bytes) = p.get_manifest(&repo, &t);
            tags.insert(t, format!("sha256:{}", common::content::sha256_hex(&bytes)));
        }
        out.insert(repo, tags);
    }
    out
}

fn push_to(dst: &Registry, bundle: &Path, extra: &[&str]) -> Output {
    dst.airlock()
        .arg("push")
        .arg(bundle)
        .arg(&dst.host)
        .args(dst.cli_flags())
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap()
}

/// The mapping's images without where they were pushed: (source, digest, tag, verdict).
fn mapped(mapping: &Path) -> Vec<(String, String, String, String)> {
    let m: Value = serde_json::from_slice(&fs::read(mapping).unwrap()).unwrap();
    let mut v: Vec<_> = m["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["source"].as_str().unwrap_or("").to_string(),
                i["digest"].as_str().unwrap_or("").to_string(),
                i["tag"].as_str().unwrap_or("").to_string(),
                i["verdict"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn push_from_chunk_list_or_tar_gives_the_same_verdict_findings_and_registry_contents_as_from_the_directory(
) {
    // One image that passes the policy (signed, attested, SBOM, both platforms) and one that
    // fails it (unsigned), so the verdict has both outcomes.
    let reg = Registry::start(Flavour::Plain);
    let key = TestKey::generate();
    publish_full(&reg, &key, REPO, "v1");
    let unsigned = reg
        .fixtures()
        .image(REPO, "unsigned", &[b"not signed".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("bundle");
    let o = reg.capture(
        &[reg.image_ref(REPO, "v1"), reg.image_ref(REPO, "unsigned")],
        &bundle,
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "capture: {}", stderr(&o));
    let pol = policy(tmp.path(), &key, &reg);
    let media = tmp.path().join("media");
    fs::create_dir_all(&media).unwrap();
    pack(&bundle, &media.join("b.tar"), &["--chunk-size", "32K"]);
    let tar_dir = tmp.path().join("tar");
    fs::create_dir_all(&tar_dir).unwrap();
    pack(&bundle, &tar_dir.join("one.tar"), &[]);
    fs::remove_file(tar_dir.join("one.tar.chunks.json")).unwrap(); // a plain tar

    let pol_arg = pol.display().to_string();
    let mut results = Vec::new();
    for (input, mapping_dir) in [
        (bundle.clone(), bundle.clone()),
        (media.join("b.tar.chunks.json"), media.clone()),
        (tar_dir.join("one.tar"), tar_dir.clone()),
    ] {
        let dst = Registry::start(Flavour::Plain);
        let o = push_to(&dst, &input, &["--policy", &pol_arg]);
        // The unsigned image fails the policy: exit 1, the passing one is pushed.
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}: {}",
            input.display(),
            stderr(&o)
        );
        let out: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(out["images"], 1, "{out}");
        let report = verdict(&fs::read(mapping_dir.join("airlock.report.json")).unwrap());
        let contents = registry_contents(&dst);
        // What the registry serves verifies against the lock read from the same input (the
        // archive's own lock, the mapping beside it).
        let lock_arg = if input.is_dir() {
            input.join("airlock.lock.json")
        } else {
            input.clone()
        };
        let v = dst
            .airlock()
            .arg("verify")
            .args(["--registry", &dst.host, "--lock"])
            .arg(&lock_arg)
            .arg("--policy")
            .arg(&pol)
            .args(["--format", "json"])
            .args(dst.cli_flags())
            .output()
            .unwrap();
        assert_eq!(
            v.status.code(),
            Some(0),
            "verify --registry --lock {}: {}\n{}",
            lock_arg.display(),
            String::from_utf8_lossy(&v.stdout),
            stderr(&v)
        );
        assert!(!contents.is_empty());
        results.push((
            input,
            out["findings"].clone(),
            report["images"].clone(),
            report["findings"].clone(),
            report["summary"].clone(),
            mapped(&mapping_dir.join("airlock.mapping.json")),
            contents,
        ));
    }
    let (_, f0, i0, rf0, s0, m0, c0) = &results[0];
    assert_eq!(s0["failed"], 1, "{s0}");
    assert_eq!(s0["passed"], 1, "{s0}");
    assert!(m0.iter().all(|(src, ..)| !src.ends_with(":unsigned")));
    assert!(c0[REPO].contains_key("v1"));
    assert!(!c0[REPO].contains_key("unsigned"));
    assert!(!c0[REPO].values().any(|d| d == &unsigned.digest));
    for (input, f, i, rf, s, m, c) in &results[1..] {
        assert_eq!(f, f0, "push findings from {}", input.display());
        assert_eq!(i, i0, "verdict per image from {}", input.display());
        assert_eq!(rf, rf0, "report findings from {}", input.display());
        assert_eq!(s, s0, "summary from {}", input.display());
        assert_eq!(m, m0, "mapping from {}", input.display());
        assert_eq!(c, c0, "registry contents from {}", input.display());
    }
}

#[test]
fn pack_leaves_out_the_directory_lock_and_push_state_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (_reg, _key, bundle) = captured(tmp.path());
    // A push writes the mapping (and, with --policy, the report) into the bundle directory.
    let dst = Registry::start(Flavour::Plain);
    let o = push_to(&dst, &bundle, &["--no-verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    fs::write(bundle.join("airlock.report.json"), b"{}").unwrap();
    for f in [
        ".airlock.flock",
        "airlock.mapping.json",
        "airlock.report.json",
    ] {
        assert!(bundle.join(f).exists(), "{f}");
    }
    let file = tmp.path().join("b.tar");
    pack(&bundle, &file, &[]);
    let mut ar = tar::Archive::new(fs::File::open(&file).unwrap());
    let names: Vec<String> = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    for f in [
        ".airlock.flock",
        "airlock.mapping.json",
        "airlock.report.json",
    ] {
        assert!(
            !names.iter().any(|n| n.trim_start_matches("./") == f),
            "{f} was packed: {names:?}"
        );
    }
    assert!(names.iter().any(|n| n == "airlock.lock.json"));
    let out = tmp.path().join("out");
    let o = unpack(&tmp.path().join("b.tar.chunks.json"), &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut want = tree(&bundle);
    want.remove("airlock.mapping.json");
    want.remove("airlock.report.json");
    assert_eq!(tree(&out), want);
}

#[test]
fn delta_pushed_onto_release_1_verifies_from_the_registry_and_an_image_whose_base_the_target_lacks_is_blob_missing_and_not_pushed(
) {
    let rel = two_releases();
    let pol_arg = rel.pol.display().to_string();
    let r1_arg = rel.r1.display().to_string();

    // The site registry holds release 1; the delta of release 2 goes on top of it.
    let site = Registry::start(Flavour::Plain);
    let o = push_to(&site, &rel.r1, &["--policy", &pol_arg]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = push_to(
        &site,
        &rel.delta,
        &["--policy", &pol_arg, "--base", &r1_arg],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    // Only the delta's own blobs travelled: a2's new layer and config.
    assert_eq!(out["blobs"]["uploaded"], 2, "{out}");
    let contents = registry_contents(&site);
    assert_eq!(contents["team/a"]["v2"], rel.a2.digest);
    assert_eq!(contents["team/a"]["v1"], rel.a1.digest);
    assert_eq!(contents["team/b"]["v1"], rel.b1.digest);
    let v = site
        .airlock()
        .arg("verify")
        .arg("--registry")
        .arg(&site.host)
        .arg("--lock")
        .arg(rel.delta.join("airlock.lock.json"))
        .arg("--policy")
        .arg(&rel.pol)
        .args(site.cli_flags())
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        stderr(&v)
    );

    // A registry holding release 1 without team/b: team/b is withheld (blob-missing naming its
    // manifest), team/a:v2 goes.
    let partial = Registry::start(Flavour::Plain);
    let o = push_to(&partial, &rel.r1, &["--policy", &pol_arg]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    partial.pusher().delete_manifest("team/b", &rel.b1.digest);
    let partial_mapping = rel.tmp.path().join("partial.mapping.json");
    let mapping_arg = partial_mapping.display().to_string();
    let o = push_to(
        &partial,
        &rel.delta,
        &[
            "--policy",
            &pol_arg,
            "--base",
            &r1_arg,
            "--mapping",
            &mapping_arg,
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = out["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(
        findings.iter().all(|f| f["code"] == "blob-missing"),
        "{out}"
    );
    assert!(
        out["findings"].to_string().contains(&rel.b1.digest),
        "{out}"
    );
    assert!(partial.pusher().tags("team/a").contains(&"v2".to_string()));
    assert!(partial
        .pusher()
        .try_get_manifest("team/b", &rel.b1.digest)
        .is_none());
    let m = mapped(&partial_mapping);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].0.ends_with("team/a:v2"), "{m:?}");

    // An empty registry lacks the base blobs: blob-missing, and nothing of the images is pushed.
    let empty = Registry::start(Flavour::Plain);
    let o = push_to(
        &empty,
        &rel.delta,
        &["--policy", &pol_arg, "--base", &r1_arg],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = out["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(!codes.is_empty());
    assert!(codes.iter().all(|c| *c == "blob-missing"), "{codes:?}");
    assert!(
        out["findings"].to_string().contains(&rel.b1.digest),
        "the unchanged image's manifest is named: {out}"
    );
    assert!(registry_contents(&empty).is_empty());
    for repo in ["team/a", "team/b"] {
        assert!(empty.pusher().tags(repo).is_empty());
        assert!(empty
            .pusher()
            .try_get_manifest(repo, &rel.a2.digest)
            .is_none());
    }
    // The same from the packed delta (chunk list).
    let file = rel.tmp.path().join("delta.tar");
    pack(&rel.delta, &file, &["--chunk-size", "16K"]);
    let o = push_to(
        &empty,
        &rel.tmp.path().join("delta.tar.chunks.json"),
        &["--no-verify"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(registry_contents(&empty).is_empty());
    let _ = &rel.full2;
}

#[test]
fn verify_delta_with_a_packed_release_1_as_base_passes_and_without_base_is_base_required() {
    let rel = two_releases();
    let r1_file = rel.tmp.path().join("r1.tar");
    pack(&rel.r1, &r1_file, &["--chunk-size", "16K"]);
    let r1_list = rel.tmp.path().join("r1.tar.chunks.json");
    let delta_file = rel.tmp.path().join("d2.tar");
    pack(&rel.delta, &delta_file, &[]);
    let delta_list = rel.tmp.path().join("d2.tar.chunks.json");
    let full2_file = rel.tmp.path().join("f2.tar");
    pack(&rel.full2, &full2_file, &[]);
    let verify_with = |delta: &Path, base: Option<&Path>| -> Output {
        let mut c = airlock();
        c.arg("verify").arg(delta);
        if let Some(b) = base {
            c.arg("--base").arg(b);
        }
        c.arg("--policy")
            .arg(&rel.pol)
            .args(["--format", "json"])
            .output()
            .unwrap()
    };
    // Delta directory or archive, base chunk list or tar: the union is complete and correct.
    for (delta, base) in [
        (&rel.delta, &r1_list),
        (&rel.delta, &r1_file),
        (&delta_list, &r1_list),
        (&delta_file, &rel.r1),
    ] {
        let v = verify_with(delta, Some(base));
        assert_eq!(
            v.status.code(),
            Some(0),
            "{} --base {}: {}",
            delta.display(),
            base.display(),
            String::from_utf8_lossy(&v.stdout)
        );
    }
    // The packed delta without its base: base-required.
    let v = verify_with(&delta_list, None);
    assert_eq!(v.status.code(), Some(1));
    assert!(codes(&v.stdout).iter().any(|(c, _)| c == "base-required"));
    // A packed base other than the one captured against: base-required.
    let v = verify_with(&rel.delta, Some(&rel.tmp.path().join("f2.tar.chunks.json")));
    assert_eq!(v.status.code(), Some(1));
    assert!(codes(&v.stdout).iter().any(|(c, _)| c == "base-required"));
}
