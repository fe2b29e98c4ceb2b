#!/usr/bin/env bash
# Launch a stackpipe pipeline from the Flex Template.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/dataflow/flex_run.sh PIPELINE NAME=VALUE...
  e.g. deploy/dataflow/flex_run.sh curate 'input=gs://bucket/dumps/*.parquet' output=gs://bucket/curated

Runs `gcloud dataflow flex-template run` on the template flex_build.sh wrote for PIPELINE
(curate, dedup, pack or shards); each NAME=VALUE is a parameter of
deploy/dataflow/metadata/PIPELINE.json or a Dataflow pipeline option (max_num_workers=50, machine_type=n2-standard-8, ...). The workers
use IMAGE, so launch and workers run the same code. The command returns once the job is created.

environment:
  PROJECT        GCP project id (required)
  REGION         Dataflow region (required)
  TEMPLATE_PATH  the template spec flex_build.sh wrote for PIPELINE (required)
  IMAGE          the image built by build_image.sh (required)
  TEMP_LOCATION  gs:// prefix for temporary and staged files (required)
USAGE
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ $# -lt 2 ]]; then usage >&2; exit 2; fi
for name in PROJECT REGION TEMPLATE_PATH IMAGE TEMP_LOCATION; do
    if [[ -z ${!name:-} ]]; then echo "flex_run.sh: $name is not set" >&2; usage >&2; exit 2; fi
done

pipeline=$1
shift
parameters=(--parameters "pipeline=$pipeline" --parameters "sdk_container_image=$IMAGE")
for parameter in "$@"; do
    if [[ $parameter != *=* ]]; then
        echo "flex_run.sh: parameter '$parameter' is not NAME=VALUE" >&2
        exit 2
    fi
    parameters+=(--parameters "$parameter")
done

exec gcloud dataflow flex-template run "stackpipe-$pipeline-$(date -u +%Y%m%d-%H%M%S)" \
    --template-file-gcs-location "$TEMPLATE_PATH" \
    --project "$PROJECT" \
    --region "$REGION" \
    --temp-location "$TEMP_LOCATION" \
    --staging-location "${TEMP_LOCATION%/}/staging" \
    "${parameters[@]}"
