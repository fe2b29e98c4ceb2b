# Sourced by deploy/spark/job_server.sh and deploy/flink/job_server.sh: the docker-run
# arguments that let the job server stage artifacts in ARTIFACTS_DIR, shared storage that
# every task manager / executor host reads (the container's own /tmp is seen by no other
# host: Beam issues #32743, #24367, #20424).
#
# Sets ARTIFACT_DOCKER_ARGS (an array) or exits with status 2 and a message naming the variable.
artifact_docker_args() {
    local script=$1
    ARTIFACT_DOCKER_ARGS=()
    case ${ARTIFACTS_DIR:-} in
        "")
            echo "$script: ARTIFACTS_DIR is not set: give gs://BUCKET/PATH, s3://BUCKET/PATH or a directory" \
                 "on a mount that every worker host has at the same path" >&2
            return 2 ;;
        gs://*)
            # Key file for the job server; on GCE/GKE the metadata server's credentials are used without it.
            if [[ -n ${GOOGLE_APPLICATION_CREDENTIALS:-} ]]; then
                ARTIFACT_DOCKER_ARGS+=(-v "$GOOGLE_APPLICATION_CREDENTIALS:/var/run/beam/credentials.json:ro"
                                       -e GOOGLE_APPLICATION_CREDENTIALS=/var/run/beam/credentials.json)
            fi ;;
        s3://*)
            # -e NAME (no value) copies the variable from this environment without printing it.
            local name
            for name in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION; do
                if [[ -n ${!name:-} ]]; then ARTIFACT_DOCKER_ARGS+=(-e "$name"); fi
            done ;;
        /*)
            ARTIFACT_DOCKER_ARGS+=(-v "$ARTIFACTS_DIR:$ARTIFACTS_DIR") ;;
        *)
            echo "$script: ARTIFACTS_DIR must be gs://..., s3://... or an absolute path on a shared mount," \
                 "got '$ARTIFACTS_DIR'" >&2
            return 2 ;;
    esac
}
