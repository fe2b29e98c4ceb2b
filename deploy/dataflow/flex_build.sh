#!/usr/bin/env bash
# Write the Flex Template spec for stackpipe's image to Cloud Storage.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/dataflow/flex_build.sh

Runs `gcloud dataflow flex-template build` for the image built by build_image.sh, with the
parameters of deploy/dataflow/metadata.json.

environment:
  PROJECT        GCP project id (required)
  IMAGE          the image built by build_image.sh (required)
  TEMPLATE_PATH  gs:// path of the template spec to write, e.g. gs://bucket/templates/stackpipe.json (required)
USAGE
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ $# -gt 0 ]]; then usage >&2; exit 2; fi
for name in PROJECT IMAGE TEMPLATE_PATH; do
    if [[ -z ${!name:-} ]]; then echo "flex_build.sh: $name is not set" >&2; usage >&2; exit 2; fi
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec gcloud dataflow flex-template build "$TEMPLATE_PATH" \
    --image "$IMAGE" \
    --sdk-language PYTHON \
    --metadata-file "$HERE/metadata.json" \
    --project "$PROJECT"
