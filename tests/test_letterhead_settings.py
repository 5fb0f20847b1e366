"""The hub's own letterhead, saved by first-run setup into the data folder, is what letters use."""

import pytest

from spoa.letters.content import HubDetails
from spoa.letters.wording import (
    LetterResourceError,
    default_letterhead_path,
    load_letterhead,
    save_letterhead,
)
from spoa.paths import resources_dir

HUB = HubDetails(name="Testshire SPA: A & B <x@y> # not a comment",
                 address="1 Test Road\nTesttown\nZZ9 9ZZ", phone="01632 960 999",
                 email="spa@test.example", website="no")


def test_without_a_saved_letterhead_the_bundled_one_is_used(private_data_dir):
    assert default_letterhead_path() == resources_dir() / "letterhead" / "hub.yaml"


def test_saved_letterhead_round_trips_and_becomes_the_default(private_data_dir):
    path = save_letterhead(private_data_dir, HUB)
    assert path == private_data_dir / "letterhead" / "hub.yaml"
    assert default_letterhead_path() == path
    letterhead = load_letterhead()
    assert letterhead.hub == HUB  # markup, colons, hashes, lines and 'no' kept as typed
    assert letterhead.logo == private_data_dir / "letterhead" / "logo.png"
    assert letterhead.logo.read_bytes() == (resources_dir() / "letterhead" / "logo.png").read_bytes()


def test_a_chosen_logo_is_copied_and_kept_when_details_change(private_data_dir, tmp_path):
    logo = tmp_path / "ours.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"synthetic logo")
    save_letterhead(private_data_dir, HUB, logo)
    save_letterhead(private_data_dir, HubDetails(name="Renamed hub", address="2 Road"))
    letterhead = load_letterhead()
    assert letterhead.hub.name == "Renamed hub"
    assert letterhead.logo.read_bytes().endswith(b"synthetic logo")


def test_a_logo_that_is_not_png_is_refused_and_nothing_is_written(private_data_dir, tmp_path):
    not_png = tmp_path / "logo.jpg"
    not_png.write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    with pytest.raises(LetterResourceError, match="not a PNG image"):
        save_letterhead(private_data_dir, HUB, not_png)
    assert not (private_data_dir / "letterhead" / "hub.yaml").exists()
    with pytest.raises(LetterResourceError, match="cannot be read"):
        save_letterhead(private_data_dir, HUB, tmp_path / "missing.png")


def test_name_and_address_are_required(private_data_dir):
    with pytest.raises(LetterResourceError, match="address is missing"):
        save_letterhead(private_data_dir, HubDetails(name="Hub", address="  "))
    assert default_letterhead_path() == resources_dir() / "letterhead" / "hub.yaml"
