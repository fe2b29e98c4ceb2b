#!/usr/bin/env bash
# Run one stackpipe pipeline on Dataflow from this machine.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/dataflow/run.sh COMMAND [stackpipe options] [Beam options]
  e.g. deploy/dataflow/run.sh curate --input 'gs://bucket/dumps/*.parquet' --output gs://bucket/curated \
           --max_num_workers=50

Submits `stackpipe COMMAND ...` (run, curate, dedup, pack, shards) to DataflowRunner and waits
for it. Any Beam option may follow the stackpipe ones (--machine_type, --max_num_workers, ...).

environment:
  PROJECT        GCP project id (required)
  REGION         Dataflow region, e.g. us-central1 (required)
  TEMP_LOCATION  gs:// prefix for temporary and staged files (required)
  IMAGE          worker image with stackpipe installed (deploy/dataflow/build_image.sh); if unset,
                 SETUP_FILE is shipped instead and installed on Beam's default image at worker start
  SETUP_FILE     default: the repository's setup.py
  PYTHON         interpreter with stackpipe and apache-beam[gcp] (default: python3)
USAGE
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ $# -eq 0 ]]; then usage >&2; exit 2; fi
for name in PROJECT REGION TEMP_LOCATION; do
    if [[ -z ${!name:-} ]]; then echo "run.sh: $name is not set" >&2; usage >&2; exit 2; fi
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python3}
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
if [[ -n ${IMAGE:-} ]]; then code=(--image "$IMAGE"); else code=(--setup-file "${SETUP_FILE:-$REPO/setup.py}"); fi

flags=$("$PYTHON" -m stackpipe.beam.engines dataflow --project "$PROJECT" --region "$REGION" \
    --temp-location "$TEMP_LOCATION" "${code[@]}")
mapfile -t FLAGS <<< "$flags"
exec "$PYTHON" -m stackpipe.cli "$@" "${FLAGS[@]}"
