#!/usr/bin/env bash
# Start Beam's Spark job server (Docker) in front of a Spark cluster.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/spark/job_server.sh [job-server options]

Runs apache/beam_spark3_job_server at the installed Beam's version, on the host network,
submitting to SPARK_MASTER_URL. It listens on localhost:8099 (jobs) and 8098 (artifacts);
point deploy/spark/run.sh at it with JOB_ENDPOINT=localhost:8099. Extra arguments go to
the job server (e.g. --job-port=8099).

environment:
  SPARK_MASTER_URL  Spark master, spark://HOST:7077 (required)
  PYTHON            interpreter with stackpipe installed, used to pick the image tag (default: python3)
USAGE
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ -z ${SPARK_MASTER_URL:-} ]]; then echo "job_server.sh: SPARK_MASTER_URL is not set" >&2; usage >&2; exit 2; fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python3}
image=$(PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m stackpipe.beam.engines image spark-job-server)
exec docker run --rm --net=host "$image" --spark-master-url="$SPARK_MASTER_URL" "$@"
