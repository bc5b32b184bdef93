import csv
import datetime as dt

import numpy as np
import pytest

from extramile.engine import bgnbd, spend
from extramile.engine.bgnbd import BgNbd
from extramile.engine.datasets import cdnow_path, load_cdnow

D = dt.date
CALIBRATION_END = D(1997, 9, 30)
# Fader, Hardie & Lee (2005) on the CDNOW 1/10 sample, 39-week calibration.
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def model(r: float, alpha: float, a: float, b: float) -> BgNbd:
    return BgNbd(r=r, alpha=alpha, a=a, b=b, loglik=0.0, iterations=0)


@pytest.fixture(scope="module")
def cdnow():
    purchases = load_cdnow(sample=True)
    history = bgnbd.summary(purchases.customer, purchases.day, calibration_end=CALIBRATION_END)
    return purchases, history


def test_summary_counts_repeat_purchase_days_in_weeks():
    # given client 7 buying twice on 1 January, then on the 15th and the 29th, and once after
    # the calibration; client 3 buying once on 8 January
    day = [D(2024, 1, d).toordinal() for d in (1, 1, 15, 29, 31, 8)]
    customer = [7, 7, 7, 7, 7, 3]
    # when the calibration ends on 29 January
    history = bgnbd.summary(customer, day, calibration_end=D(2024, 1, 29))
    # then a day's lines are one purchase, the first is not a repeat, and time is in weeks
    assert history.customer.tolist() == [3, 7]
    assert history.x.tolist() == [0.0, 2.0]
    assert history.t_x.tolist() == [0.0, 4.0]
    assert history.T.tolist() == [3.0, 4.0]


def test_summary_leaves_out_purchases_before_the_observation_start():
    # given a client who bought on 1, 8 and 22 January
    day = [D(2024, 1, d).toordinal() for d in (1, 8, 22)]
    # when the observation starts on 2 January, in days
    history = bgnbd.summary(
        [5, 5, 5], day, calibration_end=D(2024, 1, 22), observation_start=D(2024, 1, 2), unit_days=1
    )
    # then the client's first purchase is the one of the 8th
    assert (history.x.tolist(), history.t_x.tolist(), history.T.tolist()) == ([1.0], [14.0], [14.0])


def test_holdout_purchase_days_are_counted_per_summarised_client():
    # given two calibrated clients and purchases after the calibration by one of them and a
    # newcomer
    day = [D(2024, 1, d).toordinal() for d in (1, 2, 10, 10, 12, 20, 11)]
    customer = [1, 2, 2, 2, 2, 2, 9]
    # when the holdout runs from the 10th to the 12th
    counts = bgnbd.count_purchase_days(
        customer, day, customers=[1, 2], after=D(2024, 1, 9), through=D(2024, 1, 12)
    )
    # then client 2 bought on two days of it and the newcomer is not counted
    assert counts.tolist() == [0.0, 2.0]


def test_the_summary_of_the_cdnow_sample_is_the_published_one(cdnow):
    # given lifetimes' copy of the published summary (x, t_x, T, mean repeat spend; 2 decimals)
    purchases, history = cdnow
    folder = cdnow_path(sample=True).parent
    with open(folder / "cdnow_customers_summary_with_transactions.csv") as lines:
        published = [
            (float(row["x"]), float(row["t_x"]), float(row["T"]), float(row["zbar"]))
            for row in csv.DictReader(lines)
        ]
    # when we summarise the purchases and their spend
    mean_spend = spend.repeat_spend(
        purchases.customer, purchases.day, purchases.dollars, calibration_end=CALIBRATION_END
    )
    ours = zip(history.x, history.t_x.round(2), history.T.round(2), mean_spend, strict=True)
    # then, customer by customer (sorted, since the files number customers differently),
    # the statistics are the same and the spend differs by rounding only
    ours_sorted = np.array(sorted(ours))
    published_sorted = np.array(sorted(published))
    assert history.customers == 2357
    assert np.array_equal(ours_sorted[:, :3], published_sorted[:, :3])
    assert np.abs(ours_sorted[:, 3] - published_sorted[:, 3]).max() <= 0.005 + 1e-9


def test_fit_on_the_cdnow_sample_gives_the_published_parameters(cdnow):
    # given the CDNOW sample's 39-week calibration
    _, history = cdnow
    # when
    fitted = bgnbd.fit(history.x, history.t_x, history.T)
    # then the parameters are within 1% of the paper's and so is its log-likelihood, -9582.4
    for name, value in PUBLISHED.items():
        assert getattr(fitted, name) == pytest.approx(value, rel=0.01), name
    assert fitted.loglik == pytest.approx(-9582.4, abs=0.1)
    assert fitted.loglik == pytest.approx(
        bgnbd.log_likelihood(history.x, history.t_x, history.T, **PUBLISHED), abs=0.1
    )


def test_the_holdout_mae_on_the_cdnow_sample_is_the_published_one(cdnow):
    # given the fit on the calibration and the purchase days of the 39-week holdout
    purchases, history = cdnow
    fitted = bgnbd.fit(history.x, history.t_x, history.T)
    actual = bgnbd.count_purchase_days(
        purchases.customer,
        purchases.day,
        customers=history.customer,
        after=CALIBRATION_END,
        through=D(1998, 6, 30),
    )
    # when
    expected = fitted.expected_purchases(39, history.x, history.t_x, history.T)
    # then the mean absolute error per customer is 0.785 (to three decimals)
    assert actual.sum() == 1882
    assert np.mean(np.abs(expected - actual)) == pytest.approx(0.785, abs=0.0005)


def test_expected_purchases_match_the_paper_for_its_example_customer():
    # given the published parameters and the paper's customer: x = 2, t_x = 30.43, T = 38.86
    published = model(**PUBLISHED)
    # when
    expected = published.expected_purchases(39, 2, 30.43, 38.86)
    alive = published.probability_alive(2, 30.43, 38.86)
    # then 1.226 purchases in the next 39 weeks (FHL 2005, section 5)
    assert float(expected) == pytest.approx(1.226, abs=0.0005)
    assert float(alive) == pytest.approx(0.7266, abs=0.0001)


def test_fit_recovers_the_parameters_of_a_simulated_panel():
    # given 20,000 clients drawn from the model, observed for 30 to 80 weeks
    truth = model(r=0.5, alpha=3.0, a=0.8, b=2.5)
    rng = np.random.default_rng(0)
    ages = rng.uniform(30, 80, size=20_000)
    x, t_x = bgnbd.simulate(truth, ages, rng)
    # when
    fitted = bgnbd.fit(x, t_x, ages)
    # then the purchase rates are recovered closely; the dropout's a and b, which trade off
    # against each other, less so, but their mean a / (a + b) closely
    assert fitted.r == pytest.approx(truth.r, rel=0.05)
    assert fitted.alpha == pytest.approx(truth.alpha, rel=0.05)
    assert fitted.a == pytest.approx(truth.a, rel=0.15)
    assert fitted.b == pytest.approx(truth.b, rel=0.15)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(0.8 / 3.3, rel=0.05)


def test_simulated_purchases_average_what_the_model_expects():
    # given 200,000 new clients of a known model, each observed for 52 weeks
    truth = model(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x, _ = bgnbd.simulate(truth, np.full(200_000, 52.0), np.random.default_rng(1))
    # when we ask the model about a client with no history, observed from time 0
    expected = truth.expected_purchases(52, 0, 0, 0)
    # then the simulated mean matches it
    assert x.mean() == pytest.approx(float(expected), rel=0.02)


def test_probability_alive_falls_with_silence_and_rises_with_recent_purchases():
    # given a fitted model
    fitted = model(**PUBLISHED)
    # when a client with 3 repeat purchases, the last at week 10, grows older
    older = fitted.probability_alive(3, 10, np.array([10, 20, 30, 40]))
    # and when their last purchase comes later
    recent = fitted.probability_alive(3, np.array([5, 15, 25, 35]), 40)
    # then silence lowers the probability and recent purchases raise it
    assert older[0] == pytest.approx(1 / (1 + 0.793 / (2.426 + 2)))
    assert np.all(np.diff(older) < 0)
    assert np.all(np.diff(recent) > 0)
    assert np.all((older > 0) & (older <= 1))


def test_a_client_without_repeat_purchases_is_surely_alive():
    # given a model and clients who bought once, long ago or just now
    fitted = model(**PUBLISHED)
    # when
    alive = fitted.probability_alive([0, 0], [0, 0], [1, 100])
    # then the model cannot tell they left: dropout only follows a repeat purchase
    assert alive.tolist() == [1.0, 1.0]


def test_expected_purchases_grow_with_the_horizon_and_stay_finite_for_heavy_buyers():
    # given a model
    fitted = model(**PUBLISHED)
    # when
    horizons = fitted.expected_purchases(np.array([0, 13, 26, 52]), 4, 30, 38)
    heavy = fitted.expected_purchases(39, 300, 38.8, 38.86)
    # then nothing is expected in no time, more the longer the horizon; a client who bought
    # on 300 days in 39 weeks, the last one last week, stays finite: fewer than the 270 their
    # rate alone gives, since they may still stop (lifetimes gives 205.788 for the same client)
    assert horizons[0] == 0
    assert np.all(np.diff(horizons) > 0)
    assert float(heavy) == pytest.approx(205.788, abs=0.001)


def test_fit_refuses_impossible_histories():
    # given a last purchase after the end of the observation
    # when / then
    with pytest.raises(ValueError, match="t_x"):
        bgnbd.fit([1, 0], [5, 0], [4, 3])
    with pytest.raises(ValueError, match="whole numbers"):
        bgnbd.fit([1.5], [1], [4])


def test_gamma_gamma_on_the_cdnow_sample_gives_the_published_parameters(cdnow):
    # given the mean spend of each customer's repeat purchases in the calibration
    purchases, history = cdnow
    mean_spend = spend.repeat_spend(
        purchases.customer, purchases.day, purchases.dollars, calibration_end=CALIBRATION_END
    )
    # when
    fitted = spend.fit_spend(history.x, mean_spend)
    # then p, q and gamma are those of the lifetimes documentation: 6.25, 3.74, 15.44
    assert fitted.p == pytest.approx(6.25, rel=0.01)
    assert fitted.q == pytest.approx(3.74, rel=0.01)
    assert fitted.v == pytest.approx(15.44, rel=0.01)
    assert fitted.mean_spend == pytest.approx(fitted.p * fitted.v / (fitted.q - 1))


def test_expected_spend_leans_on_the_clients_own_mean_with_more_purchases():
    # given the published spend model
    fitted = spend.GammaGamma(p=6.25, q=3.74, v=15.44, loglik=0.0, iterations=0)
    # when clients spent 100 on average over 1 and over 20 purchases, or bought nothing yet
    few, many, none = fitted.expected_spend([1, 20, 0], [100, 100, 0])
    # then the more purchases, the closer to 100; without any, the population mean
    assert fitted.mean_spend < few < many < 100
    assert none == pytest.approx(fitted.mean_spend)


def test_repeat_spend_averages_the_days_after_the_first():
    # given a client who spent 10 on day 1, 5 + 15 on day 3 and 40 on day 9
    # when
    mean = spend.repeat_spend(
        [4, 4, 4, 4, 6], [1, 3, 3, 9, 2], [10, 5, 15, 40, 7], calibration_end=9
    )
    # then the repeat days average (20 + 40) / 2 and a single purchase gives 0
    assert mean.tolist() == [30.0, 0.0]


def test_expected_value_is_purchases_times_spend_per_purchase():
    # given both models and a client's history
    timing = model(**PUBLISHED)
    money = spend.GammaGamma(p=6.25, q=3.74, v=15.44, loglik=0.0, iterations=0)
    history = bgnbd.Summary(
        customer=np.array([1]), x=np.array([2.0]), t_x=np.array([30.43]), T=np.array([38.86])
    )
    # when
    value = spend.expected_value(
        history, mean_spend=[22.35], timing=timing, spend=money, horizon=39
    )
    # then
    assert value[0] == pytest.approx(1.226 * float(money.expected_spend(2, 22.35)), rel=1e-3)


def test_at_risk_flags_valuable_clients_whose_probability_alive_fell():
    # given four clients: valuable and fallen, valuable and steady, cheap and fallen,
    # valuable with a small fall that leaves them likely active
    alive_before = [0.9, 0.9, 0.9, 0.95]
    alive_now = [0.4, 0.85, 0.3, 0.7]
    value = [500.0, 600.0, 20.0, 700.0]
    # when the valuable ones are those worth 100 or more
    flagged = bgnbd.at_risk(alive_now, alive_before, value, min_value=100)
    # then only the first is at risk
    assert flagged.tolist() == [True, False, False, False]


def test_at_risk_keeps_to_the_top_quarter_by_default():
    # given eight clients who all fell from 0.9 to 0.3, worth 1 to 8
    # when
    flagged = bgnbd.at_risk([0.3] * 8, [0.9] * 8, np.arange(1, 9))
    # then the two most valuable are flagged (75th percentile: 6.25)
    assert flagged.tolist() == [False] * 6 + [True, True]
