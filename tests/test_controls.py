"""The dashboard's controls: filter ↔ widget values, the window's steps, counts in the labels."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from incidents import Dataset, IncidentFilter
from incidents.controls import (
    Controls,
    Extent,
    as_of_range,
    category_codes,
    category_counts,
    category_label,
    clamp_window,
    controls_for,
    data_extent,
    drop_unknown_categories,
    filter_for,
    status_codes,
    status_counts,
    status_label,
    step_window,
)

EXTENT = Extent(first=date(2017, 4, 1), last=date(2017, 4, 30), known_until=date(2017, 6, 30))


def test_extent_of_the_bundled_data(syria: Dataset) -> None:
    extent = data_extent(syria)
    assert extent == Extent(first=date(2013, 8, 21), last=date(2017, 4, 12), known_until=date(2017, 10, 26))
    assert extent.describe() == "21 August 2013 – 12 April 2017"


def test_an_empty_filter_shows_everything_and_back() -> None:
    controls, warnings = controls_for(IncidentFilter(), EXTENT)
    assert warnings == []
    assert controls == Controls(window=(date(2017, 4, 1), date(2017, 4, 30)))
    assert controls.statuses == ("verified", "claimed", "disputed", "debunked")
    assert filter_for(controls, EXTENT) == IncidentFilter()


def test_a_full_filter_round_trips_through_the_widgets() -> None:
    flt = IncidentFilter(statuses={"claimed", "verified"}, categories={"airstrike", "chemical_attack"},
                         date_from="2017-04-04", date_to="2017-04-13", as_of="2017-05-01", perpetrator="coalition",
                         claimant="Russian", query='"toxic depot"')
    controls, warnings = controls_for(flt, EXTENT)
    assert warnings == []
    assert controls.statuses == ("verified", "claimed")
    assert controls.categories == ("chemical_attack", "airstrike")
    assert controls.window == (date(2017, 4, 4), date(2017, 4, 13))
    assert controls.as_of == date(2017, 5, 1)
    assert filter_for(controls, EXTENT) == flt


def test_dates_of_any_precision_become_days_that_select_the_same_incidents() -> None:
    flt = IncidentFilter(date_from="2017-04-03", date_to="2017-W15", as_of="2017-05")
    controls, _ = controls_for(flt, EXTENT)
    assert controls.window == (date(2017, 4, 3), date(2017, 4, 16))
    assert controls.as_of == date(2017, 5, 31)
    assert filter_for(controls, EXTENT).to_query() == {"from": ["2017-04-03"], "to": ["2017-04-16"],
                                                        "as_of": ["2017-05-31"]}


def test_the_link_dates_are_kept_while_the_widgets_still_show_them() -> None:
    link = IncidentFilter(date_from="2017-04", date_to="2017-05-13", as_of="2017-05")
    controls, _ = controls_for(link, EXTENT)
    assert controls.window == (date(2017, 4, 1), date(2017, 4, 30))  # clipped to the data
    assert filter_for(controls, EXTENT, link=link) == link  # as written, so the export says what the link says
    moved = replace(controls, window=(date(2017, 4, 2), date(2017, 4, 30)), as_of=date(2017, 5, 2))
    assert filter_for(moved, EXTENT, link=link) == IncidentFilter(date_from="2017-04-02", as_of="2017-05-02")
    missing = IncidentFilter(date_from="2020-01-01")
    controls, _ = controls_for(missing, EXTENT)
    assert filter_for(controls, EXTENT, link=missing) == IncidentFilter()  # as the warning said


def test_a_window_beyond_the_data_is_clipped_and_one_that_misses_it_warns() -> None:
    controls, warnings = controls_for(IncidentFilter(date_from="2010", date_to="2017-04-10"), EXTENT)
    assert controls.window == (date(2017, 4, 1), date(2017, 4, 10)) and warnings == []
    assert filter_for(controls, EXTENT) == IncidentFilter(date_to="2017-04-10")
    controls, warnings = controls_for(IncidentFilter(date_from="2020-01-01"), EXTENT)
    assert controls.window == EXTENT.window
    assert warnings == ["the date window 2020-01-01 to … lies outside the data (1 April 2017 – 30 April 2017); "
                        "showing the whole period instead"]


def test_no_status_chosen_means_no_status_filter_and_a_link_box_is_carried() -> None:
    link = IncidentFilter(bbox=(35.0, 32.0, 43.0, 38.0))
    flt = filter_for(Controls(statuses=(), window=EXTENT.window), EXTENT, link=link)
    assert flt == IncidentFilter(bbox=(35.0, 32.0, 43.0, 38.0))


@pytest.mark.parametrize(
    ("window", "steps", "expected"),
    [
        ((date(2017, 4, 1), date(2017, 4, 7)), 1, (date(2017, 4, 8), date(2017, 4, 14))),
        ((date(2017, 4, 8), date(2017, 4, 14)), -1, (date(2017, 4, 1), date(2017, 4, 7))),
        ((date(2017, 4, 20), date(2017, 4, 29)), 1, (date(2017, 4, 21), date(2017, 4, 30))),  # kept inside
        ((date(2017, 4, 3), date(2017, 4, 12)), -1, (date(2017, 4, 1), date(2017, 4, 10))),
        ((date(2017, 4, 1), date(2017, 4, 30)), 1, (date(2017, 4, 1), date(2017, 4, 30))),  # whole extent
    ],
)
def test_the_window_steps_by_its_own_length(window: tuple[date, date], steps: int,
                                             expected: tuple[date, date]) -> None:
    assert step_window(window, EXTENT, steps) == expected


def test_clamping_and_the_as_of_range() -> None:
    assert clamp_window((date(2017, 3, 1), date(2017, 4, 5)), EXTENT) == (date(2017, 4, 1), date(2017, 4, 5))
    assert clamp_window((date(2018, 1, 1), date(2018, 2, 1)), EXTENT) == EXTENT.window
    assert clamp_window(None, EXTENT) == EXTENT.window
    assert as_of_range(EXTENT, None) == (date(2017, 4, 1), date(2017, 6, 30))
    assert as_of_range(EXTENT, date(2019, 1, 1)) == (date(2017, 4, 1), date(2019, 1, 1))


def test_counts_leave_out_their_own_facet(syria: Dataset) -> None:
    verified = IncidentFilter(statuses={"verified"})
    assert status_counts(syria, verified) == {"verified": 4, "claimed": 1, "disputed": 1, "debunked": 0}
    assert category_counts(syria, verified) == {"chemical_attack": 2, "missile_strike": 1, "friendly_fire": 1,
                                                "attack_on_medical": 0, "airstrike": 0}
    chemical = IncidentFilter(categories={"chemical_attack", "drone"})
    assert status_counts(syria, chemical) == {"verified": 2, "claimed": 0, "disputed": 0, "debunked": 0}
    assert category_counts(syria, chemical)["drone"] == 0  # a code from a link stays choosable


def test_labels_the_browser_showed_before_the_counts_changed_map_back_to_codes() -> None:
    # what Streamlit returns when the browser sends a label of an earlier run: the label's text
    assert status_codes(["verified", status_label("claimed", 1), "Verified (4)", "confirmed (2)"]) == \
        ["verified", "claimed"]
    assert status_codes([]) == []
    assert category_codes([category_label("airstrike", 3), "shelling", category_label("drone_sighting", 2),
                           "airstrike"]) == ["airstrike", "shelling", "drone_sighting"]


def test_category_codes_found_nowhere_are_dropped_with_a_warning(syria: Dataset) -> None:
    flt = IncidentFilter(categories={"airstrike", "nonsense"})
    kept, warnings = drop_unknown_categories(flt, syria)
    assert kept == IncidentFilter(categories={"airstrike"})
    assert warnings == ["category: 'nonsense' is neither one of chemical_attack, airstrike, missile_strike, "
                        "friendly_fire, shelling, attack_on_medical, siege, other nor a category of this data; ignored"]
    odd = syria.frame.assign(category=["cyber_attack", *syria.frame["category"].iloc[1:]])
    custom = IncidentFilter(categories={"cyber_attack"})
    assert drop_unknown_categories(custom, replace(syria, frame=odd)) == (custom, [])  # a code the data uses
    assert drop_unknown_categories(IncidentFilter(categories={"siege"}), syria) == (
        IncidentFilter(categories={"siege"}), [])  # in the vocabulary, even if no incident has it
