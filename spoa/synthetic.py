"""Made-up data for the installation self-test, the demo desk behind the screenshots, the
benchmarks and the tests: never a real person. NHS numbers come from the 999 range, which
is never issued to a patient; the answers are for the shipped camhs_general module."""

from __future__ import annotations

from spoa.nhs import nhs_check_digit

# A routine call: camhs_general recommends school nursing.
ROUTINE_ANSWERS = {
    "presenting_needs": ["anxiety", "sleep"],
    "presenting_description": "Worried about tests and friendships since September.",
    "need_duration_weeks": 10, "school_attendance": "reduced", "eating_affected": "no",
    "sleep_affected": "disrupted", "self_care": "managing", "distress_level": 5,
    "self_harm_recent": "no", "suicidal_thoughts": "none", "harm_to_others": "none",
    "cp_plan": "no", "looked_after": "no", "child_in_need": "no", "safeguarding_current": "no",
    "psychosis_concern": "no", "substance_use": "none", "neurodevelopmental": "none",
    "current_support": ["school_pastoral"], "support_helping": "partly",
    "young_person_competent": "yes", "young_person_consent": "yes",
    "consent_notes": "Young person agrees to a referral.",
}
# A plan, intent and the means at home: CAMHS emergency (respond in 4 h, contact in 1 h).
EMERGENCY_ANSWERS = {
    **ROUTINE_ANSWERS, "presenting_needs": ["low_mood", "self_harm"], "suicidal_thoughts": "persistent",
    "suicide_plan": "yes", "suicide_intent": "yes", "means_access": "yes", "safe_adult_available": "yes",
    "cp_plan": "yes",
}


def synthetic_nhs_number(index: int) -> str:
    """A valid NHS number from the 999 test range, different for nearby indexes."""
    for serial in range(index, index + 20):
        first_nine = f"999{serial % 1_000_000:06d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)
    raise ValueError("no valid test NHS number near this index")
