"""The "danger now" screen every triage call starts with, owned by the core, not by a module.

Whatever brought the call, its first questions find out whether harm is happening now, has
just happened without the child being medically seen, or is about to happen with a weapon or
means in hand, and whether the caller is with the child (CLINICAL.md, principle 1). A yes,
or "not known", to any of them raises an immediate flag and the emergency outcome (scale code
A: 999 or A&E now), whatever the module says later.

Every module is loaded with this screen as its first section, its flags before the module's
and its outcome rule before every rule of the module's (spoa.rules.loading). A module may add
questions to the screen (a section with the id ``danger_now``), may read its answers and
flags in its own rules, and can never remove, hide or reorder them: no ``show_if`` reaches
them, and a module that reuses one of their ids does not load. Their answers are part of the
session like any other, so they reach the record, the letter and the audit, and the screen is
part of each module's content hash, so a past decision replays with the screen it was made
with.

The screen is written in the same language as a module, so a clinician reviews it as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from spoa.rules.yamlsafe import load_text

SECTION_ID = "danger_now"
SOURCE = "the danger-now screen (spoa/rules/danger_now.py)"

SCREEN = """\
sections:
  - id: danger_now
    title: Danger now
    help: >
      Asked first on every call, whatever it is about. A yes, or not known, to any of the first
      four questions is an emergency: act on it before anything else.
    questions:
      - id: now_harm
        type: single
        text: Is anyone being harmed, or about to be harmed, right now (the child or anyone else)?
        help: >
          For example: hurting themselves as you speak, violence happening, about to jump or
          run into traffic.
        required: true
        options:
          - {value: "yes", label: "Yes, it is happening now or about to"}
          - {value: "no", label: "No"}
          - {value: not_known, label: Not known}
      - id: now_acted
        type: single
        text: >
          In the last 24 hours, has the child taken an overdose, swallowed something harmful, or
          injured themselves or someone else?
        required: true
        options:
          - {value: "yes", label: "Yes"}
          - {value: "no", label: "No"}
          - {value: not_known, label: Not known}
      - id: now_seen
        type: single
        text: Has a doctor, nurse or paramedic seen the child since then?
        required: true
        show_if: now_acted in ['yes', 'not_known']
        options:
          - {value: "yes", label: "Yes, medically seen since"}
          - {value: "no", label: "No"}
          - {value: not_known, label: Not known}
      - id: now_means
        type: single
        text: >
          Right now, is the child holding a weapon or the means to harm (tablets, a blade, a
          ligature) and threatening or trying to use it?
        required: true
        options:
          - {value: "yes", label: "Yes"}
          - {value: "no", label: "No"}
          - {value: not_known, label: Not known}
      - id: now_with_child
        type: yes_no
        text: Is the caller with the child now?
        required: true
      - id: now_where
        type: text
        text: Where is the child now? (The full address, for the emergency services.)
        required: true
        max_length: 300
        show_if: >
          now_harm in ['yes', 'not_known'] or now_means in ['yes', 'not_known']
          or (now_acted in ['yes', 'not_known'] and not (now_seen == 'yes'))

flags:
  - id: now_harm_happening
    label: Harm happening now or about to happen
    severity: immediate
    when: now_harm in ['yes', 'not_known']
    action: >
      Call 999 now, or have the caller call 999 while you stay on the line. Keep the caller on
      the line until help arrives. If they are with the child, guide them to keep the child and
      others safe; if not, give 999 the child's address. Then tell the crisis team and the hub's
      duty lead.
  - id: now_acted_not_seen
    label: Overdose, harmful substance or injury not yet medically seen
    severity: immediate
    # Not seen, not known, or not yet asked: all count as not seen.
    when: now_acted in ['yes', 'not_known'] and not (now_seen == 'yes')
    action: >
      The child needs emergency medical care now: 999, or A&E straight away, whatever the amount
      taken and however well the child seems. Ask the caller to take the packets or the substance
      with them. Keep the caller on the line if they are with the child. Then tell the crisis team
      and the hub's duty lead.
  - id: now_means_in_hand
    label: Weapon or means of harm in hand
    severity: immediate
    when: now_means in ['yes', 'not_known']
    action: >
      Call 999 now, or have the caller call 999 while you stay on the line. The caller keeps a safe
      distance and does not try to take a weapon by force; where it is safe, they move other people
      away and lock away tablets and blades. Then tell the crisis team and the hub's duty lead.
  - id: now_acted_seen
    label: Harmed in the last 24 hours, medically seen since
    severity: high
    when: now_acted == 'yes' and now_seen == 'yes'
    action: >
      Find out what the medical team advised and whether a crisis or liaison assessment was
      arranged before the child left; the module's questions decide the band.

outcomes:
  - id: danger_now_emergency
    when: now_harm_happening or now_acted_not_seen or now_means_in_hand
    route: camhs
    urgency: emergency
    mhsds_priority: 1
    respond_within: 1
    contact_within: 1
    thrive: getting_risk_support
    because: >
      Harm is happening now or about to, an overdose or injury has not been medically seen, or
      the child has a weapon or the means to harm in hand (or the caller does not know): this
      is an emergency for 999 or A&E now, whatever else the call is about.
"""


@dataclass(frozen=True)
class DangerNowScreen:
    """The screen as read: its section, flags and outcome rules (spoa.rules.module types)."""

    section: object
    questions: dict
    flags: tuple
    outcomes: tuple
    visibility_order: tuple[str, ...]
    flag_order: tuple[str, ...]
    data: dict

    @property
    def ids(self) -> set[str]:
        return {*self.questions, *(f.id for f in self.flags), *(o.id for o in self.outcomes)}


@cache
def screen() -> DangerNowScreen:
    """The danger-now screen, read and checked once (a broken screen is a defect of the
    desk itself, so it raises ModuleError and no module loads)."""
    from spoa.rules.loading import ScreenReader

    return ScreenReader(load_text(SCREEN), SOURCE, SECTION_ID).read_screen()


__all__ = ["SCREEN", "SECTION_ID", "DangerNowScreen", "screen"]
