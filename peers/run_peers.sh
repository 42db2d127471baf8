#!/usr/bin/env bash
# Peer comparison (prep/comparison only; CI does not run it).
#
# Creates peers/.venv (gitignored), installs the pinned peers (faiss-cpu 1.15.1, turbovec 1.1.2,
# rabitqlib 0.7.1; pyturboquant-cpu 0.1.0 optional — each of the last three is skipped with a
# message if it does not install), exports each population's pair-probe split with
# `codecbench export` (exactly the rows `codecbench run` measures with the same flags), runs
# peers.py on them, then `codecbench compare-peers`, which fits and times ours on the same splits.
# Output: peers/out/peers.jsonl (codecbench result field names) and
# peers/out/compare-peers/compare-peers.{md,csv,json}.
#
# Usage: peers/run_peers.sh [POPULATION ...]   (default: minilm-sentences mpnet-vocab)
#   CODECBENCH=path/to/codecbench  EXPORT_FLAGS="--seed 42"  PEERS_FLAGS="--repeats 5"
#   COMPARE_FLAGS="--repeats 5"  NO_COMPARE=1 (peers only)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q numpy faiss-cpu==1.15.1
"$venv/bin/pip" install -q turbovec==1.1.2 || echo "turbovec 1.1.2 did not install; skipped" >&2
"$venv/bin/pip" install -q rabitqlib==0.7.1 || echo "rabitqlib 0.7.1 did not install; skipped" >&2
"$venv/bin/pip" install -q pyturboquant-cpu==0.1.0 ||
    echo "pyturboquant-cpu 0.1.0 did not install; skipped" >&2

cb="${CODECBENCH:-}"
if [ -z "$cb" ]; then
    (cd "$root" && cargo build --release --quiet)
    cb="${CARGO_TARGET_DIR:-$root/target}/release/codecbench"
fi
pops=("$@")
[ ${#pops[@]} -eq 0 ] && pops=(minilm-sentences mpnet-vocab)
out="$here/out"
mkdir -p "$out"
dirs=()
for p in "${pops[@]}"; do
    d="$out/split-${p//[^A-Za-z0-9_.-]/_}"
    # shellcheck disable=SC2086
    "$cb" export "$p" --out "$d" ${EXPORT_FLAGS:-}
    dirs+=("$d")
done
# shellcheck disable=SC2086
"$venv/bin/python" "$here/peers.py" "${dirs[@]}" --out "$out/peers.jsonl" ${PEERS_FLAGS:-}
echo "peers: $out/peers.jsonl"
if [ -z "${NO_COMPARE:-}" ]; then
    split_flags=()
    for d in "${dirs[@]}"; do split_flags+=(--split "$d"); done
    # shellcheck disable=SC2086
    "$cb" compare-peers "$out/peers.jsonl" "${split_flags[@]}" ${COMPARE_FLAGS:-}
fi
