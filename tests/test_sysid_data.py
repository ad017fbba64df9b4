"""Data loading, slices, detrending protocols and user-facing errors of :mod:`mpc.sysid`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mpc.sysid import (
    IdentificationError,
    apply_protocol,
    apply_protocol_segments,
    detrend_segment,
    identify,
    load_dataset,
    parse_slice,
    resample,
)

DAISY = Path(__file__).parent / "data" / "daisy"


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = rng.normal(size=n)
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = 0.8 * y[t - 1] + 0.5 * u[t - 1]
    return pd.DataFrame({"time_s": 0.5 * np.arange(n), "u": u, "y": y + 0.01 * rng.normal(size=n)})


# --- loading ---------------------------------------------------------------------------


def test_headerless_numeric_file_columns_named_c0_c1() -> None:
    ds = load_dataset(DAISY / "daisy_dryer2.dat")
    assert ds.columns == ("c0", "c1", "c2", "c3", "c4", "c5", "c6")
    assert ds.n_rows == 867 and ds.dt == 1.0 and not ds.dt_known
    hair = load_dataset(DAISY / "daisy_dryer.dat", dt=0.08)  # trailing tabs: still 2 columns
    assert hair.columns == ("c0", "c1") and hair.dt == 0.08 and hair.dt_known


def test_csv_with_header_and_time_column(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    _frame().to_csv(path, index=False)
    ds = load_dataset(path, time_column="time_s")
    assert ds.columns == ("time_s", "u", "y")
    assert ds.dt == pytest.approx(0.5) and ds.dt_known


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    _frame().to_parquet(path)
    ds = load_dataset(path, time_column="time_s", dt=0.5)
    assert ds.n_rows == 200 and ds.dt == pytest.approx(0.5)


def test_datetime_time_column(tmp_path: Path) -> None:
    frame = _frame(50)
    frame["stamp"] = pd.date_range("2024-01-01", periods=50, freq="10s").astype(str)
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    assert load_dataset(path, time_column="stamp").dt == pytest.approx(10.0)


# --- slices ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0:600", (0, 600)), ("3300:", (3300, 4000)), (":500", (0, 500)), ("-100:", (3900, 4000)),
     (" 10 : 20 ", (10, 20))],
)
def test_parse_slice(text: str, expected: tuple[int, int]) -> None:
    rows = parse_slice(text, 4000)
    assert (rows.start, rows.stop) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("0-600", "expected START:STOP"), ("a:b", "expected START:STOP"), ("0:10:2", "START:STOP"),
     ("600:100", "selects no rows"), ("0:5000", "outside the table, which has 4000 rows"),
     ("", "expected START:STOP")],
)
def test_bad_slices(text: str, fragment: str) -> None:
    with pytest.raises(IdentificationError, match=fragment) as err:
        parse_slice(text, 4000, what="--estimate")
    assert "--estimate" in str(err.value)


# --- detrending protocols on hand-made data ---------------------------------------------


def test_detrend_mean_uses_estimation_means_for_both_segments() -> None:
    u_e = np.array([[1.0], [3.0]])
    y_e = np.array([[10.0], [14.0]])
    u_v = np.array([[5.0], [7.0]])
    y_v = np.array([[0.0], [2.0]])
    ue, ye, uv, yv, info = apply_protocol("mean", u_e, y_e, u_v, y_v)
    np.testing.assert_allclose(ue[:, 0], [-1, 1])
    np.testing.assert_allclose(ye[:, 0], [-2, 2])
    np.testing.assert_allclose(uv[:, 0], [3, 5])  # minus the ESTIMATION mean 2
    np.testing.assert_allclose(yv[:, 0], [-12, -10])  # minus 12
    assert info.u_offset == (2.0,) and info.y_offset == (12.0,)


def test_detrend_segment_mean_uses_each_segments_own_mean() -> None:
    _, _, uv, yv, _ = apply_protocol("segment-mean", np.array([[1.0], [3.0]]),
                                     np.array([[10.0], [14.0]]), np.array([[5.0], [7.0]]),
                                     np.array([[0.0], [2.0]]))
    np.testing.assert_allclose(uv[:, 0], [-1, 1])
    np.testing.assert_allclose(yv[:, 0], [-1, 1])


def test_detrend_segment_linear_removes_each_segments_line() -> None:
    t = np.arange(10.0)[:, None]
    bump = np.array([[0, 1, 0, -1, 0, 1, 0, -1, 0, 0]], dtype=float).T
    y_e = 3.0 + 0.5 * t + bump
    y_v = -2.0 - 1.5 * t
    u = np.column_stack([np.sin(t[:, 0]), t[:, 0]])
    ue, ye, uv, yv, info = apply_protocol("segment-linear", u, y_e, u, y_v)
    np.testing.assert_allclose(yv, 0.0, atol=1e-12)  # a pure line vanishes
    np.testing.assert_allclose(ue[:, 1], 0.0, atol=1e-12)
    np.testing.assert_allclose(uv, ue)  # same input segment, same own trend
    # what is left of y_e is the bump minus its own least-squares line
    coef = np.polyfit(t[:, 0], bump[:, 0], 1)
    np.testing.assert_allclose(ye[:, 0], bump[:, 0] - np.polyval(coef, t[:, 0]), atol=1e-12)
    assert info.protocol == "segment-linear"
    assert info.y_slope[0] == pytest.approx(0.5 + coef[0])


def test_detrend_none_and_segments_helper() -> None:
    x = np.array([[1.0], [2.0], [4.0]])
    np.testing.assert_allclose(detrend_segment(x, "none")[0], x)
    train = [(np.array([[0.0], [2.0]]), np.array([[1.0], [1.0]])),
             (np.array([[4.0], [6.0]]), np.array([[3.0], [3.0]]))]
    segs, (uv, yv) = apply_protocol_segments("mean", train, (np.array([[3.0]]), np.array([[2.0]])))
    np.testing.assert_allclose(segs[0][0][:, 0], [-3, -1])  # common training mean 3
    np.testing.assert_allclose(uv, 0.0)
    np.testing.assert_allclose(yv, 0.0)
    with pytest.raises(IdentificationError, match="expected one of"):
        apply_protocol("quadratic", x, x)


def test_resample_halves_the_rate() -> None:
    t = np.arange(400) * 0.1
    x = np.sin(0.5 * t)[:, None]
    y, new_dt = resample(x, 0.1, 0.2)
    assert new_dt == pytest.approx(0.2) and y.shape == (200, 1)
    np.testing.assert_allclose(y[20:-20, 0], np.sin(0.5 * np.arange(200) * 0.2)[20:-20], atol=1e-3)


# --- user-facing errors --------------------------------------------------------------------


def _write(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "plant_log.csv"
    frame.to_csv(path, index=False)
    return path


def test_error_nan_gap_names_column_and_row(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[57, "y"] = np.nan
    with pytest.raises(IdentificationError) as err:
        identify(_write(tmp_path, frame), "u", "y", estimate="0:100", validate="100:200")
    msg = str(err.value)
    assert "plant_log.csv" in msg and "'y'" in msg and "row 57" in msg and "gap" in msg


def test_error_non_numeric_value(tmp_path: Path) -> None:
    frame = _frame().astype({"u": object})
    frame.loc[12, "u"] = "n/a?"
    with pytest.raises(IdentificationError, match=r"column 'u' row 12 holds 'n/a\?'"):
        identify(_write(tmp_path, frame), "u", "y", estimate="0:100", validate="100:200")


def test_error_non_uniform_time(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[120:, "time_s"] += 0.2
    with pytest.raises(IdentificationError) as err:
        load_dataset(_write(tmp_path, frame), time_column="time_s")
    msg = str(err.value)
    assert "not uniform" in msg and "rows 119 and 120" in msg and "'time_s'" in msg


def test_error_non_monotonic_time(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[80, "time_s"] = frame.loc[78, "time_s"]
    with pytest.raises(IdentificationError, match=r"not strictly increasing at row 80"):
        load_dataset(_write(tmp_path, frame), time_column="time_s")


def test_error_dt_disagrees_with_time_column(tmp_path: Path) -> None:
    with pytest.raises(IdentificationError, match="disagrees with time column"):
        load_dataset(_write(tmp_path, _frame()), time_column="time_s", dt=1.0)


def test_error_constant_input(tmp_path: Path) -> None:
    frame = _frame()
    frame["u"] = 3.41
    with pytest.raises(IdentificationError) as err:
        identify(_write(tmp_path, frame), "u", "y", estimate="0:100", validate="100:200")
    msg = str(err.value)
    assert "input column 'u' is constant (3.41)" in msg and "rows 0:100" in msg


def test_error_unknown_column_lists_available(tmp_path: Path) -> None:
    with pytest.raises(IdentificationError) as err:
        identify(_write(tmp_path, _frame()), "u,flow", "y", estimate="0:100", validate="100:200")
    msg = str(err.value)
    assert "input column 'flow' not found" in msg and "time_s, u, y" in msg


def test_error_too_few_samples_for_the_order(tmp_path: Path) -> None:
    with pytest.raises(IdentificationError) as err:
        identify(_write(tmp_path, _frame()), "u", "y", estimate="0:40", validate="100:200",
                 method="moesp", order=8)
    assert "samples" in str(err.value) and "need at least" in str(err.value)
    with pytest.raises(IdentificationError, match="40 estimation samples give blocks shorter"):
        identify(_write(tmp_path, _frame()), "u", "y", estimate="0:40", validate="100:200")


def test_error_bad_options(tmp_path: Path) -> None:
    path = _write(tmp_path, _frame())
    with pytest.raises(IdentificationError, match="listed both as an input and as an output"):
        identify(path, "u", "u", estimate="0:100")
    with pytest.raises(IdentificationError, match="order 'seven'"):
        identify(path, "u", "y", estimate="0:100", order="seven")
    with pytest.raises(IdentificationError, match="--arx-orders"):
        identify(path, "u", "y", estimate="0:100", method="arx", arx_orders="2,2")
    with pytest.raises(IdentificationError, match="method 'magic'"):
        identify(path, "u", "y", estimate="0:100", method="magic")
    with pytest.raises(IdentificationError, match="no such file"):
        load_dataset(tmp_path / "missing.csv")


def test_error_constant_output_in_validation(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[100:, "y"] = 1.0
    with pytest.raises(IdentificationError, match=r"output column 'y' is constant .* validation"):
        identify(_write(tmp_path, frame), "u", "y", estimate="0:100", validate="100:200",
                 method="arx", arx_orders="1,1,1")


def test_identify_on_dataframe_with_fixed_structure() -> None:
    result = identify(_frame(400), "u", "y", estimate="0:300", validate="300:400",
                      method="arx", arx_orders=(1, 1, 1), dt=0.5)
    assert result.method == "arx" and result.order == 1 and result.dt == 0.5
    assert result.fit_percent["y"] > 95.0
    np.testing.assert_allclose(result.A, [[0.8]], atol=0.02)
