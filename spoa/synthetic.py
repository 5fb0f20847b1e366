"""Made-up data for the installation self-test, the demo desk behind the screenshots, the
benchmarks and the tests: never a real person. NHS numbers come from the 999 range, which
is never issued to a patient; the answers are for the shipped camhs_general module."""

from __future__ import annotations

from spoa.nhs import nhs_check_digit

# Nothing dangerous happening now: the desk's danger-now screen, asked first on every call.
NO_DANGER_NOW = {"now_harm": "no", "now_acted": "no", "now_means": "no", "now_with_child": "no"}

# A routine call: camhs_general recommends school nursing.
ROUTINE_ANSWERS = {
    **NO_DANGER_NOW,
    "presenting_needs": ["anxiety", "sleep"],
    "presenting_description": "Worried about tests and friendships since September.",
    "need_duration_weeks": 10, "school_attendance": "reduced", "eating_affected": "no",
    "sleep_affected": "disrupted", "self_care": "managing", "distress_level": 5,
    "self_harm_recent": "no", "suicidal_thoughts": "none", "harm_to_others": "none",
    "deteriorating": "no", "cp_plan": "no", "looked_after": "no", "child_in_need": "no",
    "safeguarding_current": "no", "disclosure_today": "no", "sleep_tonight": "home",
    "psychosis_concern": "no", "substance_use": "none", "neurodevelopmental": "none",
    "current_support": ["school_pastoral"], "support_helping": "partly",
    "young_person_competent": "yes", "young_person_consent": "yes",
    "consent_notes": "Young person agrees to a referral.",
}
# A plan, intent and the means at home, nothing done yet: code B, very urgent (seen within
# 4 hours, contact within 1 hour).
VERY_URGENT_ANSWERS = {
    **ROUTINE_ANSWERS, "presenting_needs": ["low_mood", "self_harm"], "suicidal_thoughts": "persistent",
    "suicide_plan": "yes", "suicide_intent": "yes", "means_access": "yes", "means_removable": "yes",
    "safe_adult_available": "yes", "cp_plan": "yes",
}
# The same child has just taken an overdose and has not been seen: code A, emergency (act now,
# within 1 hour), from the danger-now screen.
EMERGENCY_ANSWERS = {
    **VERY_URGENT_ANSWERS, "now_acted": "yes", "now_seen": "no", "now_with_child": "yes",
    "now_where": "At home",
}


def synthetic_nhs_number(index: int) -> str:
    """A valid NHS number from the 999 test range, different for nearby indexes."""
    for serial in range(index, index + 20):
        first_nine = f"999{serial % 1_000_000:06d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)
    raise ValueError("no valid test NHS number near this index")
