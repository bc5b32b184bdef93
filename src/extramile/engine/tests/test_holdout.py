import pytest

from extramile.engine.holdout import holdout_draw, is_held_out


def test_the_draw_is_fixed_by_the_key():
    # when
    first = holdout_draw("important_date:42:birthday:2026")
    again = holdout_draw("important_date:42:birthday:2026")
    # then
    assert first == again
    assert 0.0 <= first < 1.0
    assert holdout_draw("important_date:43:birthday:2026") != first


def test_about_a_tenth_of_many_keys_are_held_out_at_a_ten_percent_share():
    # given
    keys = [f"new_arrival_match:{client}:P{client % 97}" for client in range(20_000)]
    # when
    held = sum(is_held_out(key, 0.1) for key in keys)
    # then within four standard deviations of 2,000 (sd = sqrt(20000 * 0.1 * 0.9) ≈ 42)
    assert 1_830 <= held <= 2_170


def test_no_share_holds_nothing_out_and_a_full_share_holds_everything():
    keys = [f"k{n}" for n in range(500)]
    assert not any(is_held_out(key, 0.0) for key in keys)
    assert all(is_held_out(key, 1.0) for key in keys)


def test_a_share_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        is_held_out("k", 1.5)
