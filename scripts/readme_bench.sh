#!/usr/bin/env bash
# The README's results table: lmzip (default level) against the baselines, one run.
#   scripts/readme_bench.sh [CORPORA_DIR] [OUT_DIR] [THREADS]
# Full files, no --max-bytes. Takes ~40-60 min on 2 CPU cores.
set -euo pipefail
corpora=${1:-${LMZIP_CORPORA:-../shared/corpora}}
out=${2:-bench-out}
threads=${3:-0}
mkdir -p "$out"
c="$corpora/canterbury"
lmzip bench "$c/alice29.txt" "$c/cp.html" "$c/fields.c" "$c/grammar.lsp" "$c/xargs.1" "$c/sum" \
  --levels 6 -T "$threads" --json "$out/readme.json" --markdown "$out/readme.md" --plot "$out/readme.png"
