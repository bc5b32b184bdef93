import json

import pytest

from extramile.cli import main


def test_evaluate_timing_prints_one_json_object_per_metric(capsys):
    # when the timing task runs on the CDNOW sample through the product's command
    main(["extramile", "evaluate", "timing", "--dataset", "cdnow", "--json"])
    # then every line is a row with the documented keys, ours beside lifetimes
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {tuple(sorted(r)) for r in rows} == {
        ("dataset", "method", "metric", "seconds", "task", "value")
    }
    ours = {r["metric"]: r["value"] for r in rows if r["method"] == "extramile"}
    theirs = {r["metric"]: r["value"] for r in rows if r["method"] == "lifetimes BG/NBD"}
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert ours[name] == pytest.approx(value, rel=0.01)
        assert theirs[name] == pytest.approx(ours[name], rel=1e-3)
    assert ours["mae"] == pytest.approx(0.785, abs=0.001)


def test_evaluate_prints_a_table_by_default(capsys):
    # when the same task runs without --json
    main(["extramile", "evaluate", "timing", "--dataset", "cdnow"])
    # then a reader gets a titled table naming both methods
    out = capsys.readouterr().out
    assert out.startswith("timing on cdnow\n")
    assert "extramile" in out
    assert "lifetimes BG/NBD" in out


def test_evaluate_refuses_a_dataset_the_task_does_not_run_on(capsys):
    # when timing is asked to run on Ta-Feng
    with pytest.raises(SystemExit) as stopped:
        main(["extramile", "evaluate", "timing", "--dataset", "ta-feng"])
    # then it stops with a usage error that says why
    assert stopped.value.code == 2
    assert "timing runs on cdnow, cdnow-full, not ta-feng" in capsys.readouterr().err
