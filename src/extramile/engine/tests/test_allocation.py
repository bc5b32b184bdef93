import numpy as np

from extramile.engine.allocation import (
    Offers,
    allocate,
    best_variant_per_product,
    top_per_group,
)


def offers(rows: list[tuple[int, int, int, float]]) -> Offers:
    """Offers from (client, variant, product, fit) rows."""
    client, variant, product, fit = zip(*rows, strict=True)
    return Offers(
        client=np.array(client), variant=np.array(variant), product=np.array(product),
        fit=np.array(fit),
    )  # fmt: skip


def rows_of(result: Offers) -> set[tuple[int, int]]:
    return set(zip(result.client.tolist(), result.variant.tolist(), strict=True))


def test_one_unit_goes_to_the_two_best_fitting_clients():
    # given five clients who fit variant 0 (one unit) to different degrees
    wanted = offers([(c, 0, 0, fit) for c, fit in enumerate([0.4, 0.9, 0.5, 0.8, 0.3])])
    # when
    kept = allocate(wanted, units=np.array([1]))
    # then
    assert rows_of(kept) == {(1, 0), (3, 0)}


def test_each_variant_has_its_own_limit():
    # given variant 0 with 2 units and variant 1 with none in stock
    wanted = offers(
        [(c, 0, 0, 0.5 + c / 100) for c in range(6)] + [(c, 1, 0, 0.9) for c in range(3)]
    )
    # when
    kept = allocate(wanted, units=np.array([2, 0]))
    # then the four best of variant 0, nobody for variant 1
    assert rows_of(kept) == {(5, 0), (4, 0), (3, 0), (2, 0)}


def test_plenty_of_stock_reaches_every_client_it_fits():
    # given
    wanted = offers([(c, 0, 0, 0.5) for c in range(3)])
    # when
    kept = allocate(wanted, units=np.array([10]))
    # then
    assert len(kept) == 3


def test_ties_go_to_the_lower_client_number_whatever_the_order():
    # given three clients with the same fit for one unit, listed in reverse
    wanted = offers([(7, 0, 0, 0.6), (3, 0, 0, 0.6), (5, 0, 0, 0.6)])
    # when
    kept = allocate(wanted, units=np.array([1]))
    # then
    assert rows_of(kept) == {(3, 0), (5, 0)}


def test_per_unit_is_the_number_of_clients_per_unit():
    # given
    wanted = offers([(c, 0, 0, 1 - c / 10) for c in range(5)])
    # when
    kept = allocate(wanted, units=np.array([1]), per_unit=3)
    # then
    assert sorted(kept.client.tolist()) == [0, 1, 2]


def test_a_client_keeps_only_the_best_variant_of_a_product():
    # given client 1 fits two colours of product 9 in their size, client 2 one
    wanted = offers([(1, 0, 9, 0.6), (1, 1, 9, 0.8), (2, 0, 9, 0.7)])
    # when
    kept = best_variant_per_product(wanted)
    # then
    assert rows_of(kept) == {(1, 1), (2, 0)}


def test_top_per_group_with_a_limit_per_group():
    # given
    group = np.array([0, 0, 0, 1, 1])
    fit = np.array([0.1, 0.3, 0.2, 0.5, 0.4])
    # when
    keep = top_per_group(group, fit, np.array([2, 1]))
    # then
    assert keep.tolist() == [False, True, True, True, False]


def test_nothing_in_nothing_out():
    # when
    kept = allocate(Offers.concatenate([]), units=np.array([3]))
    # then
    assert len(kept) == 0
