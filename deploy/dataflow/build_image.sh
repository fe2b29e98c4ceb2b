#!/usr/bin/env bash
# Build stackpipe's worker / Flex Template image (deploy/dataflow/Dockerfile) and push it.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/dataflow/build_image.sh

Builds deploy/dataflow/Dockerfile with the repository root as context, for the Beam and
Python versions of $PYTHON (workers must run the same ones), and pushes it.

environment:
  IMAGE           image to build and push, e.g. us-central1-docker.pkg.dev/PROJECT/REPO/stackpipe:TAG (required)
  SPACY_MODEL     optional spaCy model to install for PII name detection, e.g. en_core_web_lg
  LAUNCHER_TAG    tag of gcr.io/dataflow-templates-base/pythonXY-template-launcher-base (default: latest)
  PLATFORM        target platform (default: linux/amd64, what Dataflow's default machine types run;
                  set it explicitly so that an image built on an ARM laptop still starts on the workers)
  PUSH            0 to build only (default: 1)
  PYTHON          interpreter with stackpipe's dependencies (default: python3)
USAGE
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ $# -gt 0 || -z ${IMAGE:-} ]]; then usage >&2; exit 2; fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python3}
BEAM_VERSION=$("$PYTHON" -c 'import apache_beam; print(apache_beam.__version__)')
PYTHON_VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

docker build --platform "${PLATFORM:-linux/amd64}" -f "$REPO/deploy/dataflow/Dockerfile" \
    --build-arg "BEAM_VERSION=$BEAM_VERSION" \
    --build-arg "PYTHON_VERSION=$PYTHON_VERSION" \
    --build-arg "PYTHON_TAG=${PYTHON_VERSION/./}" \
    --build-arg "LAUNCHER_TAG=${LAUNCHER_TAG:-latest}" \
    --build-arg "SPACY_MODEL=${SPACY_MODEL:-}" \
    -t "$IMAGE" "$REPO"
if [[ ${PUSH:-1} != 0 ]]; then docker push "$IMAGE"; fi
