"""Timeline: ops that ran together over one span (a fused kernel's pipeline stages) share their bar as stripes."""
import pandas as pd

from archsim.plot import run_plots


def _bar_heights(fig):
    heights = []
    for coll in fig.axes[0].collections:
        for path in coll.get_paths():
            ys = path.vertices[:, 1]
            heights.append(round(float(ys.max() - ys.min()), 6))
    return sorted(heights)


def test_co_running_ops_are_striped_and_a_lone_op_keeps_the_full_bar():
    ops = pd.DataFrame({"engine": ["rdu"] * 3, "kind": ["gemv", "add", "softmax"],
                        "start_cycle": [0, 0, 100], "end_cycle": [100, 100, 150]})
    assert _bar_heights(run_plots.timeline(ops)) == [0.4, 0.4, 0.8]
