#!/usr/bin/env bash
# Run one stackpipe pipeline on Flink through Beam's portable runner.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/flink/run.sh COMMAND [stackpipe options] [Beam options]
  e.g. FLINK_MASTER=jobmanager:8081 ENVIRONMENT_CONFIG=REGISTRY/stackpipe:TAG \
           deploy/flink/run.sh curate --input s3://bucket/dumps --output s3://bucket/curated --parallelism=64

Two ways to reach the cluster; set exactly one of:
  JOB_ENDPOINT          HOST:PORT of a Beam Flink job server (deploy/flink/job_server.sh)
  FLINK_MASTER          JobManager REST address HOST:8081: Beam builds an uber jar and submits it there

environment:
  FLINK_VERSION         the cluster's Flink version, for the uber jar (default: 1.19)
  ENVIRONMENT_TYPE      where Python SDK workers run: DOCKER (default), EXTERNAL, LOOPBACK
  ENVIRONMENT_CONFIG    DOCKER: worker image with stackpipe installed (deploy/dataflow/build_image.sh);
                        EXTERNAL: HOST:PORT of a worker pool (that image run with --worker_pool)
  SETUP_FILE            ship the repository's setup.py instead of an image with stackpipe
                        (DOCKER then uses Beam's SDK image)
  FLINK_JOB_SERVER_JAR  local job-server jar for the uber-jar path (else Beam downloads it from Maven Central)
  PYTHON                interpreter with stackpipe installed (default: python3)
Input and output must be storage every worker can read (s3://, gs://, a shared mount).
USAGE
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ $# -eq 0 ]]; then usage >&2; exit 2; fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python3}
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
flags=$("$PYTHON" -m stackpipe.beam.engines flink --job-endpoint "${JOB_ENDPOINT:-}" \
    --master "${FLINK_MASTER:-}" --flink-version "${FLINK_VERSION:-1.19}" \
    --environment "${ENVIRONMENT_TYPE:-DOCKER}" --environment-config "${ENVIRONMENT_CONFIG:-}" \
    --setup-file "${SETUP_FILE:-}" --job-server-jar "${FLINK_JOB_SERVER_JAR:-}")
mapfile -t FLAGS <<< "$flags"
exec "$PYTHON" -m stackpipe.cli "$@" "${FLAGS[@]}"
