#!/usr/bin/env bash
# Run one stackpipe pipeline on Flink: as Beam's uber jar, or through Beam's Flink job server.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/flink/run.sh COMMAND [stackpipe options] [Beam options]
  e.g. FLINK_MASTER=jobmanager:8081 FLINK_VERSION=1.19 ENVIRONMENT_TYPE=DOCKER \
           ENVIRONMENT_CONFIG=REGISTRY/stackpipe:TAG \
           deploy/flink/run.sh curate --input s3://bucket/dumps --output s3://bucket/curated --parallelism=64

The route is chosen by JOB_ENDPOINT:
  unset  uber jar: Beam builds a jar holding the pipeline and its artifacts and uploads it to
         the JobManager at FLINK_MASTER; works on a cluster of any number of hosts, no shared
         storage needed for artifacts (the recommended route)
  set    through the Beam Flink job server at JOB_ENDPOINT (deploy/flink/job_server.sh, started
         with ARTIFACTS_DIR on storage every task manager reads); FLINK_MASTER is then the job
         server's business and not used here

environment:
  FLINK_MASTER          JobManager REST address HOST:PORT, normally :8081 (required without JOB_ENDPOINT)
  FLINK_VERSION         the cluster's Flink version, for the uber jar (default: 1.19)
  JOB_ENDPOINT          HOST:PORT of a Beam Flink job server (optional, see above)
  ENVIRONMENT_TYPE      where the Python SDK workers run (default: DOCKER):
                          DOCKER    a container per worker from ENVIRONMENT_CONFIG; it sees no host mount
                                    and no host variable: data on gs:// or s3:// with instance credentials
                          PROCESS   ENVIRONMENT_CONFIG is the boot command on every task manager host
                                    (e.g. /opt/apache/beam/boot, stackpipe installed in its Python);
                                    workers inherit the task manager's variables and mounts
                          EXTERNAL  ENVIRONMENT_CONFIG is HOST:PORT of a worker pool beside each task
                                    manager (the worker image run with --worker_pool, given its own -e / -v)
                          LOOPBACK  workers in this process: a cluster on this machine only
  ENVIRONMENT_CONFIG    see ENVIRONMENT_TYPE; for DOCKER, the image from deploy/dataflow/build_image.sh
  SETUP_FILE            ship the repository's setup.py; with DOCKER and no ENVIRONMENT_CONFIG,
                        Beam's SDK image installs it at worker start-up
  FLINK_JOB_SERVER_JAR  local job-server jar for the uber jar (else Beam downloads it from Maven Central)
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
flags=$("$PYTHON" -m stackpipe.beam.clusters flink --job-endpoint "${JOB_ENDPOINT:-}" \
    --master "${FLINK_MASTER:-}" --flink-version "${FLINK_VERSION:-1.19}" \
    --environment "${ENVIRONMENT_TYPE:-DOCKER}" --environment-config "${ENVIRONMENT_CONFIG:-}" \
    --setup-file "${SETUP_FILE:-}" --job-server-jar "${FLINK_JOB_SERVER_JAR:-}")
mapfile -t FLAGS <<< "$flags"
exec "$PYTHON" -m stackpipe.cli "$@" "${FLAGS[@]}"
