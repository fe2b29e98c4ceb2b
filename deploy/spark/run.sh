#!/usr/bin/env bash
# Run one stackpipe pipeline on Spark through Beam's Spark job server.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/spark/run.sh COMMAND [stackpipe options] [Beam options]
  e.g. JOB_ENDPOINT=localhost:8099 ENVIRONMENT_TYPE=DOCKER ENVIRONMENT_CONFIG=REGISTRY/stackpipe:TAG \
           deploy/spark/run.sh curate --input s3://bucket/dumps --output s3://bucket/curated

Submits `stackpipe COMMAND ...` to a Beam Spark job server (deploy/spark/job_server.sh, started
with ARTIFACTS_DIR on storage every executor host reads). Spark's uber-jar route is not offered:
on a cluster of several hosts it submits a jar path that exists only on this host (Beam #23439).

environment:
  JOB_ENDPOINT          HOST:PORT of the Beam Spark job server (required)
  ENVIRONMENT_TYPE      where the Python SDK workers run (default: DOCKER):
                          DOCKER    a container per worker from ENVIRONMENT_CONFIG; it sees no host mount
                                    and no host variable: data on gs:// or s3:// with instance credentials
                          PROCESS   ENVIRONMENT_CONFIG is the boot command on every executor host
                                    (e.g. /opt/apache/beam/boot, stackpipe installed in its Python);
                                    workers inherit the executor's variables and mounts
                          EXTERNAL  ENVIRONMENT_CONFIG is HOST:PORT of a worker pool beside each executor
                                    (the worker image run with --worker_pool, given its own -e / -v)
                          LOOPBACK  workers in this process: a cluster on this machine only
  ENVIRONMENT_CONFIG    see ENVIRONMENT_TYPE; for DOCKER, the image from deploy/dataflow/build_image.sh
  SETUP_FILE            ship the repository's setup.py; with DOCKER and no ENVIRONMENT_CONFIG,
                        Beam's SDK image installs it at worker start-up
  PYTHON                interpreter with stackpipe installed (default: python3)
Local input and output paths work only with PROCESS or EXTERNAL workers and a mount every
worker host has at the same path; with DOCKER they are refused at submission.
USAGE
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ $# -eq 0 ]]; then usage >&2; exit 2; fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python3}
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
flags=$("$PYTHON" -m stackpipe.beam.clusters spark --job-endpoint "${JOB_ENDPOINT:-}" \
    --rest-url "${SPARK_REST_URL:-}" --environment "${ENVIRONMENT_TYPE:-DOCKER}" \
    --environment-config "${ENVIRONMENT_CONFIG:-}" --setup-file "${SETUP_FILE:-}")
mapfile -t FLAGS <<< "$flags"
exec "$PYTHON" -m stackpipe.cli "$@" "${FLAGS[@]}"
