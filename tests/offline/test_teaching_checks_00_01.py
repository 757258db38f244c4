"""Notebooks 00 and 01's checks answer a malformed exercise in one line, before anything is placed in the lab."""

from vicifast_kit.teaching.checks import ari_vs_ami, first_contact


class NoLab:
    """A lesson that fails the test if a check tries to place a call."""

    def caller(self, **options):
        raise AssertionError("the check placed a call for an answer it could have refused first")


def test_the_wallboard_check_refuses_blanks_and_malformed_filters_without_the_lab():
    lesson = NoLab()
    assert ari_vs_ami.check_wallboard(lesson, [...]).startswith("Fill in the blanks")
    assert ari_vs_ami.check_wallboard(lesson, [("name(Newchannel)", ...)]).startswith("Fill in the blanks")
    for malformed in ([], ["name(Newchannel)"], [("name(Newchannel)",)], [("name(Hangup)", 3)], 7):
        assert "list of pairs of text" in ari_vs_ami.check_wallboard(lesson, malformed), malformed


def test_the_routing_check_needs_a_vip_and_a_blocked_number_and_a_third_caller_who_is_neither():
    lesson, decide = NoLab(), lambda call: None
    assert "at least one number" in first_contact.check_decide(lesson, decide, set(), {"5550666"})
    assert "at least one number" in first_contact.check_decide(lesson, decide, {"5550142"}, [])
    said = first_contact.check_decide(lesson, decide, {"5550142", first_contact.OTHER_NUMBER}, {"5550666"})
    assert "neither a VIP nor blocked" in said
