"""Tests for spoa.nhs: NHS number (Modulus 11) and UK postcode validation.

Only the published example NHS number 9434765919 and numbers in the 999 test
range are used here; never a number that could belong to a real patient.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from spoa.nhs import (
    NORMALISED_POSTCODE_RE,
    NhsNumberCheck,
    NhsNumberError,
    PostcodeError,
    format_nhs_number,
    is_valid_nhs_number,
    is_valid_postcode,
    nhs_check_digit,
    parse_nhs_number,
    parse_postcode,
    postcode_district,
)

EXAMPLE = "9434765919"  # the example NHS number used in NHS guidance


def reference_check(first_nine: str) -> int:
    """Independent statement of the rule: 11 - (weighted sum mod 11), 11 -> 0.

    Returns 10 for the "no valid number" case rather than None.
    """
    total = sum(int(d) * (10 - i) for i, d in enumerate(first_nine))
    return (11 - total % 11) % 11


def first_999_prefix_with_check(value: int) -> str:
    """Smallest nine-digit 999 prefix whose reference check digit is `value`."""
    for n in range(1_000_000):
        prefix = f"999{n:06d}"
        if reference_check(prefix) == value:
            return prefix
    raise AssertionError("unreachable: every residue occurs within 11 consecutive numbers")


# 999000000: 9*10 + 9*9 + 9*8 = 243, and 243 mod 11 = 1, so 11 - 1 = 10 -> no valid check digit.
CHECK_TEN_PREFIX = first_999_prefix_with_check(10)
# A 999 prefix whose check digit is 0 (the "11 means 0" branch).
CHECK_ZERO_PREFIX = first_999_prefix_with_check(0)


def valid_999(prefix: str) -> str:
    check = nhs_check_digit(prefix)
    assert check is not None
    return prefix + str(check)


nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)
valid_numbers = nine_digits.filter(lambda p: reference_check(p) != 10).map(
    lambda p: p + str(reference_check(p))
)


# --- NHS numbers: known values ------------------------------------------------


def test_published_example_is_valid_without_warning() -> None:
    assert parse_nhs_number(EXAMPLE) == NhsNumberCheck(digits=EXAMPLE, warning=None)
    assert is_valid_nhs_number(EXAMPLE)
    assert nhs_check_digit(EXAMPLE[:9]) == 9


def test_wrong_check_digit_is_invalid() -> None:
    assert not is_valid_nhs_number("9434765918")
    with pytest.raises(NhsNumberError, match="check digit is wrong"):
        parse_nhs_number("9434765918")


@pytest.mark.parametrize(
    "text",
    ["943 476 5919", "943-476-5919", "  9434765919\n", "\t943 476-5919 ", "9-4-3-4-7-6-5-9-1-9"],
)
def test_spaces_dashes_and_surrounding_whitespace_accepted(text: str) -> None:
    assert parse_nhs_number(text).digits == EXAMPLE


def test_check_digit_ten_prefix_is_found_from_the_rule() -> None:
    assert CHECK_TEN_PREFIX == "999000000"  # see the arithmetic beside its definition
    assert nhs_check_digit(CHECK_TEN_PREFIX) is None
    for last in "0123456789":
        with pytest.raises(NhsNumberError, match="no NHS number can start with these nine"):
            parse_nhs_number(CHECK_TEN_PREFIX + last)


def test_check_result_eleven_means_zero() -> None:
    assert nhs_check_digit(CHECK_ZERO_PREFIX) == 0
    assert parse_nhs_number(CHECK_ZERO_PREFIX + "0").digits == CHECK_ZERO_PREFIX + "0"


def test_test_range_number_is_valid_with_warning() -> None:
    number = valid_999("999123457")
    result = parse_nhs_number(number)
    assert result.digits == number
    assert result.warning is not None
    assert "test" in result.warning.lower()
    assert "live records" in result.warning
    assert number not in result.warning
    assert is_valid_nhs_number(number)


def test_test_range_number_with_bad_check_digit_is_invalid() -> None:
    number = valid_999("999123457")
    wrong = number[:9] + str((int(number[9]) + 1) % 10)
    assert not is_valid_nhs_number(wrong)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "No NHS number was entered"),
        ("   ", "No NHS number was entered"),
        (" - - ", "No NHS number was entered"),
        ("943476591", "this one has 9"),
        ("94347659190", "this one has 11"),
        ("943476591X", "only contain digits"),
        ("943.476.5919", "only contain digits"),
        ("943/476/5919", "only contain digits"),
        ("943_476_5919", "only contain digits"),
        ("943\t476\t5919", "only contain digits"),
        ("９４３４７６５９１９", "only contain digits"),  # full-width digits
        ("٩٤٣٤٧٦٥٩١٩", "only contain digits"),  # Arabic-Indic digits
        ("+449434765919", "only contain digits"),
    ],
)
def test_distinct_error_messages(text: str, fragment: str) -> None:
    with pytest.raises(NhsNumberError, match=fragment):
        parse_nhs_number(text)
    assert not is_valid_nhs_number(text)


def test_error_kinds_have_distinct_messages() -> None:
    inputs = ["", "94347659X9", "943476591", CHECK_TEN_PREFIX + "0", "9434765918"]
    messages = set()
    for text in inputs:
        with pytest.raises(NhsNumberError) as info:
            parse_nhs_number(text)
        messages.add(str(info.value))
    assert len(messages) == len(inputs)


def test_format_nhs_number() -> None:
    assert format_nhs_number(EXAMPLE) == "943 476 5919"
    assert format_nhs_number("943-476-5919") == "943 476 5919"
    with pytest.raises(NhsNumberError):
        format_nhs_number("9434765918")


@pytest.mark.parametrize("bad", ["", "12345678", "1234567890", "12345678X", "１２３４５６７８９"])
def test_check_digit_needs_exactly_nine_ascii_digits(bad: str) -> None:
    with pytest.raises(NhsNumberError):
        nhs_check_digit(bad)


# --- NHS numbers: properties --------------------------------------------------


@given(nine_digits)
def test_check_digit_matches_reference_rule(prefix: str) -> None:
    expected = reference_check(prefix)
    assert nhs_check_digit(prefix) == (None if expected == 10 else expected)


@given(valid_numbers)
def test_valid_numbers_accepted_and_format_round_trips(number: str) -> None:
    result = parse_nhs_number(number)
    assert result.digits == number
    assert (result.warning is not None) == number.startswith("999")
    formatted = format_nhs_number(number)
    assert formatted.replace(" ", "") == number
    assert [len(part) for part in formatted.split(" ")] == [3, 3, 4]
    assert parse_nhs_number(formatted) == result
    assert format_nhs_number(formatted) == formatted


@given(valid_numbers, st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_change_is_detected(number: str, position: int, shift: int) -> None:
    # Changing digit i by d (mod 10) changes the weighted sum by w_i * d' where
    # w_i in 2..10 and d' in -9..9 \ {0}; 11 is prime, so the sum mod 11 changes and
    # the required check digit changes (or becomes impossible). Changing the check
    # digit itself obviously breaks the match.
    changed_digit = str((int(number[position]) + shift) % 10)
    changed = number[:position] + changed_digit + number[position + 1 :]
    assert changed != number
    assert not is_valid_nhs_number(changed)


def test_single_digit_change_property_exhaustively_for_example() -> None:
    for position in range(10):
        for digit in "0123456789":
            changed = EXAMPLE[:position] + digit + EXAMPLE[position + 1 :]
            assert is_valid_nhs_number(changed) == (changed == EXAMPLE)


@given(st.text())
@example("9434765919")
@example("٩٤٣٤٧٦٥٩١٩")
@example("")
def test_parse_raises_only_nhs_number_error(text: str) -> None:
    try:
        result = parse_nhs_number(text)
    except NhsNumberError:
        assert not is_valid_nhs_number(text)
    else:
        assert len(result.digits) == 10
        assert set(result.digits) <= set("0123456789")
        assert is_valid_nhs_number(text)


@given(
    st.one_of(
        st.text(alphabet="0123456789 -", max_size=20),
        st.text(alphabet="0123456789", min_size=3, max_size=15),
        nine_digits.map(lambda p: p + "X"),
        valid_numbers.map(lambda n: n[:9] + str((int(n[9]) + 1) % 10)),
        nine_digits.filter(lambda p: reference_check(p) == 10).map(lambda p: p + "5"),
    )
)
@example(CHECK_TEN_PREFIX + "0")
@example("9434765918")
@example("943476591")
def test_error_messages_never_echo_the_digits(text: str) -> None:
    try:
        parse_nhs_number(text)
    except NhsNumberError as exc:
        message = str(exc)
        digits = "".join(ch for ch in text if ch.isdigit())
        # Messages may say "10 digits" and how many digits were typed (at most
        # two characters here), but no run of three typed digits may appear.
        if len(digits) >= 3:
            assert text.strip() not in message
            for start in range(len(digits) - 2):
                assert digits[start : start + 3] not in message


# --- Postcodes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised", "district"),
    [
        ("M1 1AE", "M1 1AE", "M1"),  # A9
        ("B33 8TH", "B33 8TH", "B33"),  # A99
        ("CR2 6XH", "CR2 6XH", "CR2"),  # AA9
        ("DN55 1PT", "DN55 1PT", "DN55"),  # AA99
        ("W1A 0AX", "W1A 0AX", "W1A"),  # A9A
        ("EC1A 1BB", "EC1A 1BB", "EC1A"),  # AA9A
        ("SW1A 1AA", "SW1A 1AA", "SW1A"),  # AA9A
        ("GIR 0AA", "GIR 0AA", "GIR"),  # special case
    ],
)
def test_valid_postcodes_each_outward_shape(text: str, normalised: str, district: str) -> None:
    assert parse_postcode(text) == normalised
    assert is_valid_postcode(text)
    assert postcode_district(text) == district


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        ("  sW1a   1Aa  ", "SW1A 1AA"),
        ("m11ae", "M1 1AE"),
        ("S W 1 A 1 A A", "SW1A 1AA"),
        ("gir0aa", "GIR 0AA"),
        ("ec1a\t1bb\n", "EC1A 1BB"),
    ],
)
def test_postcode_case_and_spacing_normalised(text: str, normalised: str) -> None:
    assert parse_postcode(text) == normalised


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "SW1A",  # missing inward code
        "M1",  # missing inward code
        "SW1A 1",  # incomplete inward code
        "SW1AB 1AA",  # outward code too long
        "SW1A 1AAA",  # inward code too long
        "ABC1 1AA",  # three letters
        "1A 1AA",  # starts with a digit
        "SW1A AAA",  # inward must start with a digit
        "SW1A-1AA",  # punctuation
        "GIR 1AA",  # only GIR 0AA is special
        "gır 0aa",  # dotless i upper-cases to I; must not sneak in
        "ＳＷ１Ａ １ＡＡ",  # full-width
    ],
)
def test_invalid_postcodes(text: str) -> None:
    with pytest.raises(PostcodeError, match="A UK postcode looks like SW1A 1AA or M1 1AE"):
        parse_postcode(text)
    assert not is_valid_postcode(text)


def test_postcode_error_does_not_echo_input() -> None:
    with pytest.raises(PostcodeError) as info:
        parse_postcode("ZZ99 9CC")
    assert "ZZ99" not in str(info.value)
    assert "9CC" not in str(info.value)


@pytest.mark.parametrize("text", ["ZZ1 3CD", "SW1A 1CA", "M1 1AI", "M1 1KA", "M1 1AM", "M1 1OA",
                                  "M1 1AV", "B33 8VV"])
def test_a_postcode_of_the_right_shape_with_a_letter_never_used_says_which_letters(text: str) -> None:
    with pytest.raises(PostcodeError) as info:
        parse_postcode(text)
    assert str(info.value).startswith("The last two letters of a UK postcode are never C, I, K, M, O or V")
    assert text.split()[1] not in str(info.value)
    assert not is_valid_postcode(text)


def test_postcode_district_rejects_invalid() -> None:
    with pytest.raises(PostcodeError):
        postcode_district("not a postcode")


postcode_like = st.from_regex(
    r"\A\s*[A-Za-z]{1,2}[0-9][0-9A-Za-z]?\s*[0-9][A-Za-z]{2}\s*\Z", fullmatch=True
)


@given(st.one_of(st.text(), postcode_like))
@example("gir 0aa")
@example("gır 0aa")
def test_parse_postcode_raises_only_postcode_error(text: str) -> None:
    try:
        result = parse_postcode(text)
    except PostcodeError:
        assert not is_valid_postcode(text)
    else:
        assert NORMALISED_POSTCODE_RE.fullmatch(result)
        assert is_valid_postcode(text)


@given(st.one_of(st.text(), postcode_like))
def test_parse_postcode_is_idempotent(text: str) -> None:
    try:
        once = parse_postcode(text)
    except PostcodeError:
        return
    assert parse_postcode(once) == once
    assert postcode_district(once) == once.split(" ")[0]
