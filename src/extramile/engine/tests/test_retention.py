import datetime as dt

import numpy as np

from extramile.engine.retention import scan

TODAY = dt.date(2026, 11, 23)


def _store(rng, *, regulars=200):
    """Clients buying about monthly for two years, each stopping after a purchase at 1 in 15."""
    customer, day, amount = [], [], []
    start = TODAY.toordinal() - 730
    for code in range(regulars):
        when = start + int(rng.integers(0, 30))
        while when <= TODAY.toordinal():
            customer.append(code)
            day.append(when)
            amount.append(float(rng.uniform(40, 120)))
            when += int(rng.integers(20, 45))
            if rng.random() < 1 / 15:
                break
    return customer, day, amount


def _add(history, code, days, spend):
    customer, day, amount = history
    customer += [code] * len(days)
    day += days
    amount += [spend] * len(days)


def test_a_big_spender_who_stopped_coming_is_flagged_and_a_small_one_is_not():
    # given a store of regulars, a big spender who came every three weeks until 150 days ago,
    # and a small spender with the same rhythm
    rng = np.random.default_rng(5)
    history = _store(rng)
    stopped = TODAY.toordinal() - 150
    rhythm = list(range(stopped - 21 * 20, stopped + 1, 21))
    _add(history, 500, rhythm, 900.0)
    _add(history, 501, rhythm, 5.0)
    # when the store is scanned
    found = scan(*history, today=TODAY)
    # then the big spender's chance of still being a client fell, and only they are flagged
    big, small = (int(np.searchsorted(found.customer, code)) for code in (500, 501))
    assert found.alive_before[big] - found.alive_now[big] >= 0.2
    assert found.flagged[big]
    assert not found.flagged[small]
    assert found.flagged.sum() <= 0.05 * found.customer.size
    # and the evidence an associate reads back is there
    assert found.purchases[big] == len(rhythm)
    assert found.last_day[big] == stopped
    assert found.typical_gap_days()[big] == 21


def test_regulars_who_keep_coming_are_not_at_risk():
    # given only the store's own clients
    found = scan(*_store(np.random.default_rng(6)), today=TODAY)
    # then nobody whose last visit is recent is flagged
    recent = TODAY.toordinal() - found.last_day < 45
    assert not found.flagged[recent].any()
    assert found.model is not None


def test_a_young_store_flags_no_one_and_says_why():
    # given a store where only five clients came back
    history = ([], [], [])
    for code in range(5):
        _add(history, code, [TODAY.toordinal() - 300, TODAY.toordinal() - 200], 500.0)
    for code in range(5, 40):
        _add(history, code, [TODAY.toordinal() - 250], 50.0)
    # when it is scanned
    found = scan(*history, today=TODAY)
    # then no model is fitted and nobody is flagged
    assert found.model is None
    assert not found.flagged.any()
    assert found.note == "5 clients came back, fewer than the 30 needed"
