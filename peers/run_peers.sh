#!/usr/bin/env bash
# Peer comparison (prep/comparison only; CI does not run it).
#
# Creates peers/.venv (gitignored), installs the pinned peers (faiss-cpu 1.15.1; rabitqlib 0.7.1
# and turbovec 1.1.2 if they install), exports each population's pair-probe split with
# `codecbench export` (exactly the rows `codecbench run` measures with the same flags), and runs
# peers.py on them. Output: peers/out/peers.jsonl (codecbench result field names) and a table.
#
# Usage: peers/run_peers.sh [POPULATION ...]   (default: glove-20k minilm-sentences)
#   CODECBENCH=path/to/codecbench  EXPORT_FLAGS="--seed 42"  PEERS_FLAGS="--resamples 200"
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q numpy faiss-cpu==1.15.1
"$venv/bin/pip" install -q rabitqlib==0.7.1 || echo "rabitqlib 0.7.1 did not install; skipped" >&2
"$venv/bin/pip" install -q turbovec==1.1.2 || echo "turbovec 1.1.2 did not install; skipped" >&2

cb="${CODECBENCH:-}"
if [ -z "$cb" ]; then
    (cd "$root" && cargo build --release --quiet)
    cb="${CARGO_TARGET_DIR:-$root/target}/release/codecbench"
fi
pops=("$@")
[ ${#pops[@]} -eq 0 ] && pops=(glove-20k minilm-sentences)
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
