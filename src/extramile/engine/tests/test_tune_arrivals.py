import datetime as dt
from dataclasses import replace

import pytest

from extramile.engine.arrivals import ArrivalWeights
from extramile.engine.evaluation.tune_arrivals import best_pair, coordinate_search, run

GRID = {"smoothing": (20.0, 50.0, 100.0), "cheapness": (0.3, 0.5, 1.0)}


def distance_to(target: ArrivalWeights):
    calls = []

    def objective(weights: ArrivalWeights) -> float:
        calls.append(weights)
        return -((weights.smoothing - target.smoothing) ** 2) - (
            (weights.cheapness - target.cheapness) ** 2
        )

    return objective, calls


def test_coordinate_search_walks_to_the_best_setting_of_the_grid_and_scores_each_once():
    start = ArrivalWeights(smoothing=50.0, cheapness=0.5)
    target = replace(start, smoothing=100.0, cheapness=0.3)
    objective, calls = distance_to(target)
    found = coordinate_search(start, GRID, objective)
    assert (found.weights.smoothing, found.weights.cheapness) == (100.0, 0.3)
    assert found.value == 0.0
    # every setting scored once: pass 1 scores the start, smoothing 20 and 100, then cheapness
    # 0.3 and 1.0 at smoothing 100; pass 2 (pass 1 changed something) adds smoothing 20 and 50
    # at cheapness 0.3 and finds nothing better, so the search stops there
    assert found.tried == len(calls) == 7
    # the other weights are left as they were
    assert found.weights.half_life_days == start.half_life_days


def test_coordinate_search_keeps_the_current_weight_on_a_tie():
    start = ArrivalWeights(smoothing=50.0, cheapness=0.5)
    found = coordinate_search(start, GRID, lambda weights: 1.0)
    assert found.weights == start


def test_best_pair_scores_every_combination_and_keeps_the_first_best():
    start = ArrivalWeights()
    target = replace(start, smoothing=20.0, cheapness=1.0)
    objective, calls = distance_to(target)
    found = best_pair(start, GRID, objective)
    assert (found.weights.smoothing, found.weights.cheapness) == (20.0, 1.0)
    assert found.tried == len(calls) == 9
    flat = best_pair(start, GRID, lambda weights: 0.0)
    assert (flat.weights.smoothing, flat.weights.cheapness) == (20.0, 0.3)


def test_tuning_refuses_another_data_set_or_a_split():
    with pytest.raises(ValueError, match="ta-feng"):
        run("cdnow", None, print)
    with pytest.raises(ValueError, match="December and January"):
        run("ta-feng", dt.date(2001, 2, 1), print)


def test_the_command_line_knows_the_tuning_and_where_it_runs():
    from extramile.engine.evaluation.cli import parse_args

    assert parse_args(["tune-arrivals", "--dataset", "ta-feng"]).task == "tune-arrivals"
    with pytest.raises(SystemExit) as stopped:
        parse_args(["tune-arrivals", "--dataset", "cdnow"])
    assert stopped.value.code == 2
