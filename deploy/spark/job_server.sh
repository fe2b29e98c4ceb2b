#!/usr/bin/env bash
# Start Beam's Spark job server (Docker) in front of a Spark cluster.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/spark/job_server.sh [job-server options]
  e.g. SPARK_MASTER_URL=spark://spark-master:7077 ARTIFACTS_DIR=gs://bucket/beam-artifacts \
           deploy/spark/job_server.sh

Runs apache/beam_spark3_job_server at the installed Beam's version, on the host network,
submitting to SPARK_MASTER_URL. It listens on localhost:8099 (jobs) and 8098 (artifacts);
point deploy/spark/run.sh at it with JOB_ENDPOINT=HOST:8099. Extra arguments go to the job
server (e.g. --job-port=8099). The Spark driver runs inside this container: executors must
reach this host.

environment:
  SPARK_MASTER_URL  Spark master, spark://HOST:7077 (required)
  ARTIFACTS_DIR     where each job's artifacts are staged; every executor host must read it (required):
                      gs://BUCKET/PATH   (the job-server image has Beam's GCS filesystem; executors need
                                          Google credentials too)
                      s3://BUCKET/PATH   (needs a job server built with Beam's AWS filesystem; AWS_*
                                          variables set here are passed to the container)
                      /shared/PATH       a mount every executor host has at the same path (mounted
                                          into the container at that path)
  GOOGLE_APPLICATION_CREDENTIALS  key file for a gs:// ARTIFACTS_DIR (optional on GCP hosts)
  PYTHON            interpreter with stackpipe installed, used to pick the image tag (default: python3)
USAGE
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ -z ${SPARK_MASTER_URL:-} ]]; then echo "job_server.sh: SPARK_MASTER_URL is not set" >&2; usage >&2; exit 2; fi

DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$DEPLOY/lib/artifacts.sh"
artifact_docker_args job_server.sh || exit 2
PYTHON=${PYTHON:-python3}
image=$(PYTHONPATH="$DEPLOY/..${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m stackpipe.beam.engines image spark-job-server)
exec docker run --rm --net=host ${ARTIFACT_DOCKER_ARGS[@]+"${ARTIFACT_DOCKER_ARGS[@]}"} "$image" \
    --spark-master-url="$SPARK_MASTER_URL" --artifacts-dir="$ARTIFACTS_DIR" "$@"
