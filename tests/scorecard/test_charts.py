"""Line chart geometry (pure)."""

from lms.scorecard.charts import line_chart


def test_points_scale_into_the_plot_and_gaps_are_skipped():
    chart = line_chart(["2025-12-31", "2026-03-31", "2026-06-30"],
                       [{"name": "Score", "values": [0, None, 100]}], y_max=100)
    (x0, y0, label0, text0), (x1, y1, label1, text1) = chart["series"][0]["points"]
    assert (x0, y0, label0, text0) == (chart["left"], chart["bottom"], "31 Dec 2025", "0")
    assert (x1, y1, label1, text1) == (chart["right"], chart["top"], "30 Jun 2026", "100")
    assert chart["series"][0]["path"] == f"M{x0},{y0} L{x1},{y1}"
    assert [label for _, label, _ in chart["x_labels"]] == ["31 Dec 2025", "31 Mar 2026",
                                                            "30 Jun 2026"]


def test_thresholds_and_large_numbers():
    chart = line_chart(["a", "b"], [{"name": "v", "values": [6000, 9000]}],
                       bands=[(5000, "sc-band-green", "green"), (None, "x", "none")],
                       compact=True)
    assert [band[2] for band in chart["bands"]] == ["green"]
    assert chart["ticks"][-1][1] == "10,000" and chart["ticks"][0][1] == "0"
    assert [anchor for _, _, anchor in chart["x_labels"]] == ["start", "end"]
