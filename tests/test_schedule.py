import json

import numpy as np
import pytest

from markovphase import PhaseScan
from markovphase.datasets.gaussian_field import sample_gaussian_field
from markovphase.schedule import SCHEMA, LocalitySchedule, ScheduleError

LGL = [(0.0, 0.2, 3), (0.2, 0.5, None), (0.5, 1.0, 3)]


def test_radius_at_and_boundaries():
    s = LocalitySchedule(LGL)
    assert s.radius_at(0.0) == 3
    assert s.radius_at(0.19999) == 3
    assert s.radius_at(0.2) is None  # half-open [t_lo, t_hi): the later interval wins
    assert s.radius_at(0.35) is None
    assert s.radius_at(0.5) == 3
    assert s.radius_at(1.0) == 3
    assert s.radii == [3] and s.uses_global
    assert s.global_window == (0.2, 0.5)
    assert s.global_fraction() == pytest.approx(0.3)
    with pytest.raises(ValueError, match=r"t=1.5"):
        s.radius_at(1.5)


def test_json_round_trip(tmp_path):
    s = LocalitySchedule([(0.5, 1, 2), (0, 0.25, 1), (0.25, 0.5, "global")],
                         allowed_radii=[1, 2, 4], metadata={"tolerance": 0.01})
    assert s.intervals == ((0.0, 0.25, 1), (0.25, 0.5, None), (0.5, 1.0, 2))
    text = s.to_json()
    data = json.loads(text)
    assert data["schema"] == SCHEMA and data["version"] == 1
    assert data["intervals"][1] == {"t_lo": 0.25, "t_hi": 0.5, "radius": None}
    back = LocalitySchedule.from_json(text)
    assert back == s
    path = tmp_path / "s.json"
    s.to_json(path)
    assert LocalitySchedule.from_json(str(path)) == s
    assert LocalitySchedule.from_json(path) == s
    assert LocalitySchedule.from_dict(s.to_dict()).to_json() == text


def _edit(intervals, **extra):
    return json.dumps({"schema": SCHEMA, "version": 1, "intervals": intervals, **extra})


@pytest.mark.parametrize("intervals, match", [
    ([{"t_lo": 0, "t_hi": 0.4, "radius": 1}, {"t_lo": 0.5, "t_hi": 1, "radius": 2}],
     r"gap: nothing covers \(0.4, 0.5\)"),
    ([{"t_lo": 0, "t_hi": 0.6, "radius": 1}, {"t_lo": 0.5, "t_hi": 1, "radius": 2}],
     r"overlap: .* both cover \[0.5, 0.6\]"),
    ([{"t_lo": 0.1, "t_hi": 1, "radius": 1}], r"gap: nothing covers \[0, 0.1\)"),
    ([{"t_lo": 0, "t_hi": 0.9, "radius": 1}], r"gap: nothing covers \(0.9, 1\]"),
    ([{"t_lo": 0, "t_hi": 1.2, "radius": 1}], r"t_hi=1.2 is outside \[0, 1\]"),
    ([{"t_lo": -0.1, "t_hi": 1, "radius": 1}], r"t_lo=-0.1 is outside \[0, 1\]"),
    ([{"t_lo": 0.5, "t_hi": 0.5, "radius": 1}], r"t_hi=0.5 must be greater than t_lo=0.5"),
    ([{"t_lo": 0, "t_hi": 1, "radius": -2}], r"radius=-2 must be an integer >= 0"),
    ([{"t_lo": 0, "t_hi": 1, "radius": 1.5}], r"radius=1.5 must be an integer"),
    ([{"t_lo": 0, "t_hi": 1, "radius": "local"}], r"radius='local'"),
    ([{"t_lo": 0, "t_hi": 1}], r"missing key\(s\) \['radius'\]"),
    ([], r"intervals is empty"),
])
def test_hand_edited_schedule_is_validated(intervals, match):
    with pytest.raises(ScheduleError, match=match):
        LocalitySchedule.from_json(_edit(intervals))


def test_unknown_radius_and_header_errors():
    text = _edit([{"t_lo": 0, "t_hi": 0.5, "radius": 3}, {"t_lo": 0.5, "t_hi": 1, "radius": 5}],
                 allowed_radii=[1, 3])
    with pytest.raises(ScheduleError, match=r"interval 1 .*radius=5 is not one of the allowed "
                                            r"radii \[1, 3\]"):
        LocalitySchedule.from_json(text)
    ok = _edit([{"t_lo": 0, "t_hi": 1, "radius": 3}])
    assert LocalitySchedule.from_json(ok, allowed_radii=[3]).radius_at(0.5) == 3
    with pytest.raises(ScheduleError, match="radius=3 is not one of"):
        LocalitySchedule.from_json(ok, allowed_radii=[1, 2])
    with pytest.raises(ScheduleError, match="schema="):
        LocalitySchedule.from_json(json.dumps({"version": 1, "intervals": []}))
    with pytest.raises(ScheduleError, match="version=2"):
        LocalitySchedule.from_json(json.dumps({"schema": SCHEMA, "version": 2, "intervals": []}))
    with pytest.raises(ScheduleError, match=r"unknown key\(s\) \['colour'\]"):
        LocalitySchedule.from_json(_edit([{"t_lo": 0, "t_hi": 1, "radius": 1}], colour="red"))
    with pytest.raises(ScheduleError, match="not valid JSON"):
        LocalitySchedule.from_json("{not json")


def test_from_radii_conservative_and_nearest():
    t = [0.0, 0.25, 0.5, 0.75, 1.0]
    r = [1, 2, np.nan, 3, 1]
    s = LocalitySchedule.from_radii(t, r)
    assert s.intervals == ((0.0, 0.25, 2), (0.25, 0.75, None), (0.75, 1.0, 3))
    n = LocalitySchedule.from_radii(t, r, interpolation="nearest")
    assert n.intervals == ((0.0, 0.125, 1), (0.125, 0.375, 2), (0.375, 0.625, None),
                           (0.625, 0.875, 3), (0.875, 1.0, 1))
    # radii above max_radius become global; the ends extend to 0 and 1
    m = LocalitySchedule.from_radii([0.2, 0.8], [4, 1], max_radius=3)
    assert m.intervals == ((0.0, 0.8, None), (0.8, 1.0, 1))
    m = LocalitySchedule.from_radii([0.2, 0.8], [2, 1], max_radius=3, interpolation="nearest")
    assert m.intervals == ((0.0, 0.5, 2), (0.5, 1.0, 1))
    # radii are rounded up to the allowed ones; beyond the largest one -> global
    a = LocalitySchedule.from_radii(t, [0, 2, 1, 4, 0], allowed_radii=[1, 3],
                                    interpolation="nearest")
    assert [r for _, _, r in a.intervals] == [1, 3, 1, None, 1]
    assert a.allowed_radii == (1, 3)
    with pytest.raises(ValueError, match="strictly increasing"):
        LocalitySchedule.from_radii([0.5, 0.2], [1, 1])


def test_from_scan_follows_locality_radii():
    shape = (8, 8)
    X = sample_gaussian_field(shape, 0.5, 3000, random_state=3).reshape(3000, -1)
    times = [0.0, 0.25, 0.5, 0.75, 1.0]
    scan = PhaseScan(lattice_shape=shape, periodic=True, times=times, radii=[1, 2, 3],
                     cmi="gaussian", random_state=0).fit(X)
    # a tolerance inside the range of the r = 3 values: some times are global, some local
    tol = 0.0006
    assert scan.cmi_table()[3].min() < tol < scan.cmi_table()[3].max()
    table = scan.locality_radii(tol)
    s = LocalitySchedule.from_scan(scan, tol, interpolation="nearest")
    for t, r in zip(table.t, table.radius, strict=True):
        got = s.radius_at(float(t))
        assert (got is None) if np.isnan(r) else got == int(r), (t, r, got)
    assert s.uses_global and s.radii and s.metadata["tolerance"] == tol
    assert LocalitySchedule.from_json(s.to_json()) == s
    cons = LocalitySchedule.from_scan(scan, tol)
    assert cons.global_fraction() >= s.global_fraction()


def test_plot_draws_every_interval():
    import matplotlib

    matplotlib.use("Agg")
    s = LocalitySchedule(LGL)
    ax = s.plot()
    ys = sorted({tuple(line.get_ydata()) for line in ax.lines if line.get_linestyle() == "-"})
    assert ys == [(3, 3), (4, 4)]  # r = 3 and global drawn one above
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3", "global"]
