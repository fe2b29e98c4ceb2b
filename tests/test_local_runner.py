"""The local runner: one SDK worker whatever `--workers` says (Beam's multi-process
FnApiRunner drops records at shuffles), and the user is told."""

from apache_beam.options.pipeline_options import DirectOptions

from stackpipe.beam.options import make_pipeline


def test_local_runs_use_one_worker_and_say_so(capsys):
    pipeline = make_pipeline([], 4)
    direct = pipeline.options.view_as(DirectOptions)
    assert direct.direct_num_workers == 1 and direct.direct_running_mode != "multi_processing"
    assert "--workers 4 runs as 1 worker on the local runner" in capsys.readouterr().err


def test_one_worker_is_not_warned_about(capsys):
    make_pipeline([], 1)
    assert capsys.readouterr().err == ""


def test_a_named_runner_gets_no_local_worker_warning(capsys):
    make_pipeline(["--runner=PortableRunner", "--job_endpoint=embed"], 4)
    assert capsys.readouterr().err == ""
