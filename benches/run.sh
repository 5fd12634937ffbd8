#!/usr/bin/env bash
# Benchmarks: airlock against the tools a user would otherwise run, on the same data, in one run.
#
#   benches/run.sh [capture|verify|small|big|push|archive|all]   (default: all)
#
# - capture: 20 images sharing a base layer (~850 MiB) in a local docker-registry;
#            `skopeo copy --all docker://… oci:…` loop vs one `airlock capture` vs `dd conv=fsync`
#            of the same number of bytes; then the push figures below.
# - verify:  the captured bundle; `sha256sum` over every blob file vs `airlock verify`.
# - small:   1,000 and 10,000 small signed images (signature + 2 attestations each): `airlock verify`.
# - big:     one 2 GiB layer: capture and verify peak memory.
# - push:    the captured bundle into a fresh registry; `skopeo copy --all oci:… docker://…`
#            loop vs `airlock push`.
# - archive: the same bundle; `tar cf` vs `airlock pack --chunk-size 700M` (and both followed by
#            `sync`, as neither fsyncs its output); `cat chunks | tar xf`
#            then `sha256sum` of every blob vs `airlock unpack`; `airlock verify DIR` vs
#            `airlock verify FILE.chunks.json` (no unpacking).
# Times are wall-clock seconds; memory is peak RSS (GNU time). In the archive pairs each step runs
# BENCH_REPEAT times (default 3) and the median is used, for both tools alike; every run is printed.
# Nothing here asserts: it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
command -v docker-registry >/dev/null && command -v skopeo >/dev/null && [ -x /usr/bin/time ] || {
  echo "needs docker-registry, skopeo and GNU time (apt-get install docker-registry skopeo time)" >&2; exit 2; }
cargo build --release -q --bin airlock --example bench_fixture
AIRLOCK=$PWD/target/release/airlock
FIX=$PWD/target/release/examples/bench_fixture
WORK=$(mktemp -d /tmp/airlock-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

start_registry() { # name -> prints host:port
  local name=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$WORK/$name"
  cat > "$WORK/$name/config.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $WORK/$name/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
YML
  docker-registry serve "$WORK/$name/config.yml" >"$WORK/$name/log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "127.0.0.1:$port"
}

measure() { # label cmd... -> prints "label  seconds  peak_MiB", sets SECS
  local label=$1; shift
  sync  # flush the previous step's writes so neither tool pays for the other's writeback
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
  read -r SECS KB < "$WORK/time"
  printf '  %-44s %8.2f s  %7.1f MiB peak\n' "$label" "$SECS" "$(echo "$KB/1024" | bc -l)"
}
measure_median() { # label cleanup cmd... -> like measure, run REPEAT times (cleanup after each); the median
  local label=$1 cleanup=$2; shift 2
  local times=() peak=0 i
  for i in $(seq "$REPEAT"); do
    sync
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
    read -r SECS KB < "$WORK/time"
    times+=("$SECS"); (( KB > peak )) && peak=$KB
    sh -c "$cleanup"
  done
  SECS=$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(( (REPEAT + 1) / 2 ))p")
  printf '  %-44s %8.2f s  %7.1f MiB peak   (median of %s: %s)\n' "$label" "$SECS" "$(echo "$peak/1024" | bc -l)" "$REPEAT" "${times[*]}"
}
ratio() { python3 -c "import sys; a,b,n=float(sys.argv[1]),float(sys.argv[2]),sys.argv[3]; print(f'  ratio airlock/{n}: {a/b:.3f}')" "$1" "$2" "$3"; }

COUNT=${BENCH_IMAGES:-20}
REPEAT=${BENCH_REPEAT:-3}  # runs per timed step in the archive pairs (the median is printed)
cat > "$WORK/allow.yaml" <<YML
apiVersion: airlock/v1
kind: Policy
rules:
  - match: ["**"]
    signatures: none
YML
if [[ $what == all || $what == capture || $what == verify || $what == push || $what == archive ]]; then
  echo "== fixture: $COUNT images, 250 MiB shared base + 30 MiB each =="
  $FIX images "$WORK/src" "$COUNT" 250 30
  REG=$(start_registry regA)
  for i in $(seq 0 $((COUNT-1))); do
    skopeo copy -q --dest-tls-verify=false "oci:$WORK/src:bench/img$i:v1" "docker://$REG/bench/img$i:v1" >/dev/null
  done
  du -sh "$WORK/src" | sed 's/^/  layout size: /'
  refs=(); for i in $(seq 0 $((COUNT-1))); do refs+=("$REG/bench/img$i:v1"); done
  echo "== capture: skopeo copy --all loop vs airlock capture =="
  loop() { for r in "${refs[@]}"; do skopeo copy -q --all --src-tls-verify=false "docker://$r" "oci:$WORK/skopeo:${r#*/}"; done; }
  export -f loop; export WORK; 
  measure "skopeo copy --all (loop of $COUNT)" bash -c "$(declare -p refs); $(declare -f loop); loop"
  S=$SECS
  measure "airlock capture" "$AIRLOCK" capture "${refs[@]}" -o "$WORK/bundle" --insecure-registry "$REG" --jobs 8
  A=$SECS
  # The floor: the same number of bytes written durably in one stream.
  BYTES=$(du -sb "$WORK/bundle/blobs" | cut -f1)
  MIB=$(( (BYTES + 1048575) / 1048576 ))
  measure "dd conv=fsync of the same $MIB MiB" dd if=/dev/zero of="$WORK/dd.out" bs=1M count="$MIB" conv=fsync status=none
  D=$SECS; rm -f "$WORK/dd.out"
  ratio "$A" "$S" skopeo
  ratio "$A" "$D" "dd conv=fsync"
fi
if [[ $what == all || $what == verify ]]; then
  echo "== verify: sha256sum over every blob vs airlock verify (page cache warm for both) =="
  cat "$WORK"/bundle/blobs/sha256/* > /dev/null
  measure "sha256sum blobs/sha256/*" sh -c "sha256sum $WORK/bundle/blobs/sha256/* > /dev/null"
  S=$SECS
  measure "airlock verify" "$AIRLOCK" verify "$WORK/bundle" --policy "$WORK/allow.yaml"
  A=$SECS; ratio "$A" "$S" sha256sum
fi
if [[ $what == all || $what == push || $what == capture ]] && "$AIRLOCK" push --help >/dev/null 2>&1; then
  echo "== push: skopeo copy --all oci:… docker://… loop vs airlock push =="
  REGB=$(start_registry regB); REGC=$(start_registry regC)
  pushloop() { for i in $(seq 0 $((COUNT-1))); do skopeo copy -q --all --dest-tls-verify=false "oci:$WORK/src:bench/img$i:v1" "docker://$REGB/bench/img$i:v1"; done; }
  measure "skopeo copy --all (loop of $COUNT)" bash -c "$(declare -p COUNT WORK REGB); $(declare -f pushloop); pushloop"
  S=$SECS
  # --no-verify: skopeo judges nothing either, so both do the same transfer work (with --policy,
  # airlock would also re-verify the bundle first; see the verify row for that cost).
  measure "airlock push --no-verify" "$AIRLOCK" push "$WORK/bundle" "$REGC/mirror" --insecure-registry "$REGC" --jobs 8 --no-verify
  A=$SECS; ratio "$A" "$S" skopeo
fi
if [[ $what == all || $what == small ]]; then
  echo "== small signed images: airlock verify =="
  for n in 1000 10000; do
    $FIX signed "$WORK/small$n" "$n"
    measure "airlock verify ($n images)" "$AIRLOCK" verify "$WORK/small$n" --policy "$WORK/small$n.policy.yaml"
  done
fi
if [[ $what == all || $what == big ]]; then
  echo "== one 2 GiB layer: peak memory =="
  $FIX images "$WORK/bigsrc" 1 2048 1
  REG=$(start_registry regBig)
  skopeo copy -q --dest-tls-verify=false "oci:$WORK/bigsrc:bench/img0:v1" "docker://$REG/bench/big:v1" >/dev/null
  rm -rf "$WORK/bigsrc"
  measure "airlock capture (2 GiB layer)" "$AIRLOCK" capture "$REG/bench/big:v1" -o "$WORK/big" --insecure-registry "$REG"
  measure "airlock verify (2 GiB layer)" "$AIRLOCK" verify "$WORK/big" --policy "$WORK/allow.yaml" || true
fi
if [[ $what == all || $what == archive ]]; then
  echo "== archive: pack vs tar cf; unpack vs tar xf + sha256sum; verify from the chunk list vs the directory =="
  B="$WORK/bundle"
  du -sh "$B" | sed 's/^/  bundle size: /'
  cat "$B"/blobs/sha256/* > /dev/null
  measure_median "tar cf" "rm -f $WORK/plain.tar" tar cf "$WORK/plain.tar" -C "$B" .
  S=$SECS
  measure_median "airlock pack --chunk-size 700M" "rm -f $WORK/packed.tar.0* $WORK/packed.tar.chunks.json" "$AIRLOCK" pack "$B" -o "$WORK/packed.tar" --chunk-size 700M
  A=$SECS; ratio "$A" "$S" "tar cf"
  # Neither fsyncs its output; the same pair again with the write-back included.
  measure_median "tar cf; sync" "rm -f $WORK/plain.tar" sh -c "tar cf $WORK/plain.tar -C $B . && sync"
  S=$SECS
  measure_median "airlock pack --chunk-size 700M; sync" "rm -f $WORK/packed.tar.0* $WORK/packed.tar.chunks.json" sh -c "$AIRLOCK pack $B -o $WORK/packed.tar --chunk-size 700M && sync"
  A=$SECS; ratio "$A" "$S" "tar cf; sync"
  "$AIRLOCK" pack "$B" -o "$WORK/packed.tar" --chunk-size 700M 2>/dev/null
  measure "cat chunks | tar xf, sha256sum every blob" sh -c "mkdir -p $WORK/x1 && cat $WORK/packed.tar.0* | tar xf - -C $WORK/x1 && sha256sum $WORK/x1/blobs/sha256/* >/dev/null"
  S=$SECS; rm -rf "$WORK/x1"
  measure "airlock unpack" "$AIRLOCK" unpack "$WORK/packed.tar.chunks.json" -o "$WORK/x2"
  A=$SECS; ratio "$A" "$S" "tar xf + sha256sum"
  rm -rf "$WORK/x2"
  measure_median "airlock verify DIR" true "$AIRLOCK" verify "$B" --policy "$WORK/allow.yaml"
  S=$SECS
  measure_median "airlock verify FILE.chunks.json" true "$AIRLOCK" verify "$WORK/packed.tar.chunks.json" --policy "$WORK/allow.yaml"
  A=$SECS; ratio "$A" "$S" "verify DIR"
fi
