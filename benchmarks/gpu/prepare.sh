#!/usr/bin/env bash
# Build the carry folder for the one-command GPU run (benchmarks/gpu/run.py).
#
#   benchmarks/gpu/prepare.sh            # from the repo root, with network access to PyPI
#
# Writes benchmarks/gpu/carry/ (git-ignored; name it in the device tool's `carry`):
#   carry/wheels/  CPython 3.12 manylinux wheels of what the GNN import path needs beyond what
#                  the device image already has (torch, torch-geometric, numpy, tqdm,
#                  typing-extensions, pyparsing): pydantic (+ core, annotated-types,
#                  typing-inspection) for kg_engine.gnn.config, rdflib for kg_engine.core.
#   carry/data/<dataset>/{train,valid,test}.txt.gz  FB15k-237, WN18RR, UMLS (gzip: the
#                  working tree + carry must stay under 64 MiB).
# Then checks the bundle against the import path (run.py --check-bundle), which exits 1 and
# names each missing module.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CARRY="$ROOT/benchmarks/gpu/carry"
SHARED="${KG_SHARED_DATA:-$ROOT/../shared/data}"
if [ ! -d "$SHARED/kgc" ]; then  # a git worktree: the shared folder sits beside the main checkout
  SHARED="$(cd "$(git -C "$ROOT" rev-parse --git-common-dir)/../.." && pwd)/shared/data"
fi
PY="${PYTHON:-python}"
# Versions pinned to the ones the project is tested with here.
# typing-extensions and pyparsing are in the device image too, but maybe older than pydantic/rdflib need.
WHEELS=(pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 rdflib==7.6.0
        typing-extensions==4.16.0 pyparsing==3.3.3)

rm -rf "$CARRY" && mkdir -p "$CARRY/wheels" "$CARRY/data"
for spec in "${WHEELS[@]}"; do
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d "$CARRY/wheels" "$spec"
done
for ds in fb15k-237 wn18rr umls; do
  mkdir -p "$CARRY/data/$ds"
  for split in train valid test; do
    gzip -9 -c "$SHARED/kgc/$ds/$split.txt" > "$CARRY/data/$ds/$split.txt.gz"
  done
done
du -sh "$CARRY/wheels" "$CARRY/data" "$CARRY"
"$PY" "$ROOT/benchmarks/gpu/run.py" --check-bundle --carry "$CARRY"
