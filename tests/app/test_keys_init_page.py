"""Keys page: key counts, the key-initialisation choices, and the sweep over them one click away."""

from tests.app.test_pages import charts, start, widget


def test_keys_page_counts_keys_and_compares_key_init_data():
    at = start("keys", **{"dkvb.keys_per_codebook": "1024"})
    never = widget(at, "metric", "Never trained").value
    assert int(never.split(" of ")[0]) > 0  # uniform keys over the square: many see no training sample
    assert any("Unused keys: 0" in t.value and "uniform" in t.value for t in at.text)
    assert "first_stage" in str(at.table[0].value)
    before = len(charts(at))
    widget(at, "toggle", "Compare uniform, first_stage and stream on these settings").set_value(True).run()
    assert not at.exception
    assert len(charts(at)) == before + 3


def test_sweep_button_opens_the_sweeps_page_with_the_key_init_axis():
    at = start("keys")
    next(b for b in at.button if b.label == "Sweep it on the Sweeps page").click().run()
    assert not at.exception
    assert widget(at, "selectbox", "Axis 1").value == "dkvb.key_init_data"
    assert widget(at, "text_input", "Values of axis 1").value == "uniform, first_stage, stream"
