"""md.set_num_threads / md.get_num_threads reach NumPy's BLAS."""

import pytest

import minidl as md

threadpoolctl = pytest.importorskip("threadpoolctl")


def test_set_num_threads_limits_blas_and_get_reads_it_back():
    before = md.get_num_threads()
    try:
        md.set_num_threads(1)
        assert md.get_num_threads() == 1
        blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 1 for p in blas)
    finally:
        md.set_num_threads(before)
    assert md.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_set_num_threads_rejects_what_is_not_a_positive_int(bad):
    with pytest.raises(ValueError, match="set_num_threads: expected a positive int"):
        md.set_num_threads(bad)
