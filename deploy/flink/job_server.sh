#!/usr/bin/env bash
# Start Beam's Flink job server (Docker) in front of a Flink cluster.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/flink/job_server.sh [job-server options]

Runs apache/beam_flink<FLINK_VERSION>_job_server at the installed Beam's version, on the
host network, submitting to FLINK_MASTER. It listens on localhost:8099 (jobs) and 8098
(artifacts); point deploy/flink/run.sh at it with JOB_ENDPOINT=localhost:8099. Extra
arguments go to the job server.

environment:
  FLINK_MASTER   JobManager REST address, HOST:8081 (required)
  FLINK_VERSION  the cluster's Flink version: one Beam publishes a job server for (default: 1.19)
  PYTHON         interpreter with stackpipe installed, used to pick the image tag (default: python3)
USAGE
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ -z ${FLINK_MASTER:-} ]]; then echo "job_server.sh: FLINK_MASTER is not set" >&2; usage >&2; exit 2; fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python3}
image=$(PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m stackpipe.beam.engines image flink-job-server \
    --flink-version "${FLINK_VERSION:-1.19}")
exec docker run --rm --net=host "$image" --flink-master="$FLINK_MASTER" "$@"
