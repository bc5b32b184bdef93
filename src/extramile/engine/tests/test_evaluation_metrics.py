import numpy as np

from extramile.engine.evaluation.metrics import recall_at_k, top_k


def test_top_k_breaks_ties_by_the_lower_column_at_the_kth_place_too():
    # given many columns tied with the k-th score, scattered among higher ones
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 3, size=(200, 500)).astype(float)
    # when
    ranked = top_k(scores, 10)
    # then it is the full sort by (score descending, column ascending), cut at 10
    columns = np.arange(scores.shape[1])
    for row, got in zip(scores, ranked, strict=True):
        expected = np.lexsort((columns, -row))[:10]
        assert got.tolist() == expected.tolist()


def test_top_k_ranks_unknown_scores_last_and_handles_short_rows():
    # given
    scores = np.array([[np.nan, 1.0, np.nan], [2.0, np.nan, 2.0]])
    # when / then
    assert top_k(scores, 2).tolist() == [[1, 0], [0, 2]]
    assert top_k(scores, 5).shape == (2, 3)
    assert top_k(scores, 0).shape == (2, 0)


def test_recall_counts_the_share_of_relevant_items_found():
    # given
    recommended = np.array([[1, 2, 3], [4, 5, 6]])
    relevant = [np.array([1, 9]), np.array([7])]
    # when / then: (1/2 + 0/1) / 2
    assert recall_at_k(recommended, relevant, k=3) == 0.25
