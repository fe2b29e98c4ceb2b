#!/usr/bin/env bash
# Write the Flex Template spec of one stackpipe pipeline to Cloud Storage.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/dataflow/flex_build.sh PIPELINE
  e.g. PROJECT=my-project IMAGE=REGION-docker.pkg.dev/PROJECT/REPO/stackpipe:TAG \
           TEMPLATE_PATH=gs://bucket/templates/stackpipe-curate.json deploy/dataflow/flex_build.sh curate

Runs `gcloud dataflow flex-template build` for the image built by build_image.sh, with the
parameters of deploy/dataflow/metadata/PIPELINE.json. PIPELINE is curate, dedup, pack or shards:
one template per pipeline, so that each declares its own required parameters (shards needs
tokenizer and family; the others do not).

environment:
  PROJECT        GCP project id (required)
  IMAGE          the image built by build_image.sh (required)
  TEMPLATE_PATH  gs:// path of the template spec to write, e.g. gs://bucket/templates/stackpipe-curate.json (required)
USAGE
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ $# -ne 1 ]]; then usage >&2; exit 2; fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
metadata="$HERE/metadata/$1.json"
if [[ ! -f $metadata ]]; then
    echo "flex_build.sh: no pipeline '$1': expected curate, dedup, pack or shards" >&2; exit 2
fi
for name in PROJECT IMAGE TEMPLATE_PATH; do
    if [[ -z ${!name:-} ]]; then echo "flex_build.sh: $name is not set" >&2; usage >&2; exit 2; fi
done
if [[ $TEMPLATE_PATH != gs://* ]]; then
    echo "flex_build.sh: TEMPLATE_PATH must be a gs:// path, got '$TEMPLATE_PATH'" >&2; exit 2
fi

exec gcloud dataflow flex-template build "$TEMPLATE_PATH" \
    --image "$IMAGE" \
    --sdk-language PYTHON \
    --metadata-file "$metadata" \
    --project "$PROJECT"
