#!/usr/bin/env bash
# Start Beam's Flink job server (Docker) in front of a Flink cluster.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/flink/job_server.sh [job-server options]
  e.g. FLINK_MASTER=jobmanager:8081 FLINK_VERSION=1.19 ARTIFACTS_DIR=gs://bucket/beam-artifacts \
           deploy/flink/job_server.sh

Runs apache/beam_flink<FLINK_VERSION>_job_server at the installed Beam's version, on the
host network, submitting to FLINK_MASTER. It listens on localhost:8099 (jobs) and 8098
(artifacts); point deploy/flink/run.sh at it with JOB_ENDPOINT=HOST:8099. Extra arguments
go to the job server. Not needed for the uber-jar route (deploy/flink/run.sh without
JOB_ENDPOINT), which needs no shared storage.

environment:
  FLINK_MASTER      JobManager REST address HOST:PORT, normally :8081 (required; the same
                    variable and meaning as in deploy/flink/run.sh)
  FLINK_VERSION     the cluster's Flink version: one Beam publishes a job server for (default: 1.19)
  ARTIFACTS_DIR     where each job's artifacts are staged; every task manager host must read it (required):
                      gs://BUCKET/PATH   (the job-server image has Beam's GCS filesystem; task managers
                                          need Google credentials too)
                      s3://BUCKET/PATH   (needs a job server built with Beam's AWS filesystem; AWS_*
                                          variables set here are passed to the container)
                      /shared/PATH       a mount every task manager host has at the same path (mounted
                                          into the container at that path)
  GOOGLE_APPLICATION_CREDENTIALS  key file for a gs:// ARTIFACTS_DIR (optional on GCP hosts)
  PYTHON            interpreter with stackpipe installed, used to pick the image tag (default: python3)
USAGE
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ -z ${FLINK_MASTER:-} ]]; then echo "job_server.sh: FLINK_MASTER is not set" >&2; usage >&2; exit 2; fi

DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$DEPLOY/lib/artifacts.sh"
artifact_docker_args job_server.sh || exit 2
PYTHON=${PYTHON:-python3}
image=$(PYTHONPATH="$DEPLOY/..${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m stackpipe.beam.engines image flink-job-server \
    --flink-version "${FLINK_VERSION:-1.19}")
exec docker run --rm --net=host ${ARTIFACT_DOCKER_ARGS[@]+"${ARTIFACT_DOCKER_ARGS[@]}"} "$image" \
    --flink-master="$FLINK_MASTER" --artifacts-dir="$ARTIFACTS_DIR" "$@"
