"""Where an approved referral's letter goes from this desk (spoa.letters.sending)."""

from __future__ import annotations

import pytest

from spoa.letters import outbox, referrals, sending
from spoa.letters.outbox import FolderTransport, SmtpSettings, SmtpTransport
from spoa.settings import SettingsProblem
from tests.world import decided_session


def _approved(world) -> referrals.Referral:
    pat, sam = world["pat"], world["sam"]
    referral = referrals.create_referral(pat, decided_session(pat, override=("camhs", "routine", "View")),
                                         "camhs-core", reason="Low mood")
    referrals.submit(pat, referral.id)
    referrals.approve(sam, referral.id, "Right service")
    return referrals.get_referral(sam.db, referral.id)


def test_nowhere_set_says_so_and_who_sets_it(desk_world):
    with pytest.raises(SettingsProblem, match=r"cannot leave yet.*A supervisor sets it"):
        sending.destination_for(desk_world["sam"], _approved(desk_world))


def test_the_outbox_folder_when_no_secure_email_is_set_up(desk_world, tmp_path, request):
    sam = desk_world["sam"]
    outbox.configure_outbox_folder(sam, str(tmp_path))
    request.addfinalizer(lambda: outbox.configure_outbox_folder(sam, ""))
    chosen = sending.destination_for(sam, _approved(desk_world))
    assert isinstance(chosen, FolderTransport)
    assert chosen.destination == str(tmp_path)


def test_the_services_secure_email_when_the_desk_sends_secure_email(desk_world, tmp_path, request):
    sam = desk_world["sam"]
    outbox.configure_outbox_folder(sam, str(tmp_path))
    request.addfinalizer(lambda: outbox.configure_outbox_folder(sam, ""))
    settings = SmtpSettings(host="relay.example", port=587, from_address="spa@hub.example")
    path = settings.save(sam.folder)
    request.addfinalizer(lambda: path.unlink())
    chosen = sending.destination_for(sam, _approved(desk_world))
    assert isinstance(chosen, SmtpTransport)
    assert chosen.destination == "core@camhs.example"
