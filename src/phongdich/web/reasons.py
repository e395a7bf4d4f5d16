"""Vietnamese for the reasons services give in English (`Invalid.reason`, error messages).

Services speak English so the API, the CLI and the logs stay one language; officials read the
reasons on pages in their own. The messages here are extracted into the catalogue like any
template string. A reason not listed here (or changed in a service) is shown in English, which
is a gap in the translation, never an error.
"""

from __future__ import annotations

import re

from phongdich.web import i18n


def N_(message: str) -> str:  # noqa: N802  (gettext's name for "mark for extraction")
    """Marks a message for extraction without translating it here."""
    return message


# Reasons that are fixed text.
FIXED = (
    N_("required"),
    N_("empty"),
    N_("empty file"),
    N_("too long"),
    N_("ddmmyyyy"),
    N_("a name has no digits"),
    N_("a CCCD number has exactly 12 digits"),
    N_("a CCCD has 12 digits and a CMND 9 or 12"),
    N_("a CMND number has 9 or 12 digits"),
    N_("a passport number has 6-12 letters and digits"),
    N_("required with a passport number"),
    N_("a three-letter ISO country code such as VNM, USA, KOR"),
    N_("male or female (Nam / Nữ)"),
    N_("a date as YYYY-MM-DD or DD/MM/YYYY, or a year alone"),
    N_("between 1900 and today"),
    N_("a Vietnamese phone number: 10 digits starting with 0 (or +84)"),
    N_("a person you register must live in your jurisdiction"),
    N_(
        "this document number is registered to a person outside your jurisdiction; "
        "ask an official of their unit to transfer them"
    ),
    N_(
        "registered to a person outside your jurisdiction; "
        "ask an official of their unit to transfer them"
    ),
    N_(
        "this document number belongs to another person; "
        "merge the two records if they are the same person"
    ),
    N_("a person cannot be merged into themselves"),
    N_("these records were already merged"),
    N_("not a record id"),
    N_("login required"),
    N_("your role may not do this"),
    # Checkpoint registry, entry rules and invitations (checkpoints.pages, rule_pages).
    N_("on or after valid_from"),
    N_("today or later"),
    N_("at most 31 days after valid_from"),
    N_("at least one lane"),
    N_("a lane name: letters, digits and _, at most 16"),
    N_("this user's role may not record passages"),
)

# Reasons with a value in them: the English pattern, and the message with the same names.
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"a CCCD number starts with a province code; (?P<code>\S+) is none"),
        N_("a CCCD number starts with a province code; %(code)s is none"),
    ),
    (re.compile(r"the CCCD number says male"), N_("the CCCD number says male")),
    (re.compile(r"the CCCD number says female"), N_("the CCCD number says female")),
    (
        re.compile(r"the CCCD number says born in (?P<year>\d+)"),
        N_("the CCCD number says born in %(year)s"),
    ),
    (re.compile(r"(?P<text>.+) is not a real date"), N_("%(text)s is not a real date")),
    (
        re.compile(r"no admin unit with code (?P<code>.+)"),
        N_("no admin unit with code %(code)s"),
    ),
    (
        re.compile(r"a CCCD QR has 7 fields separated by '\|'; this has (?P<count>\d+)"),
        N_("a CCCD QR has 7 fields separated by '|'; this has %(count)s"),
    ),
    (
        re.compile(r"not UTF-8 text \(byte (?P<byte>\d+)\); save the CSV as UTF-8"),
        N_("not UTF-8 text (byte %(byte)s); save the CSV as UTF-8"),
    ),
    (
        re.compile(r"missing columns: (?P<missing>.*) \(header: (?P<header>.*)\)"),
        N_("missing columns: %(missing)s (the first line has: %(header)s)"),
    ),
    (
        re.compile(r"the same document is on line (?P<line>\d+) with other details"),
        N_("the same document is on line %(line)s with other details"),
    ),
    (
        re.compile(r"person (?P<key>\S+) not found"),
        N_("person %(key)s not found, or outside your jurisdiction"),
    ),
    (re.compile(r"larger than (?P<size>\d+) MB"), N_("larger than %(size)s MB")),
    (
        re.compile(r"the same check-in is on line (?P<line>\d+) with another check-out time"),
        N_("the same check-in is on line %(line)s with another check-out time"),
    ),
    (
        re.compile(r"the same code is on line (?P<line>\d+) with other details"),
        N_("the same code is on line %(line)s with other details"),
    ),
    (
        re.compile(r"one of (?P<choices>[a-z_, ]+)"),
        N_("one of %(choices)s"),
    ),
    # Lab results (testing.results): the forms and the import report of the lab pages.
    (re.compile(r"negative \| positive \| invalid"), N_("negative | positive | invalid")),
    (re.compile(r"a number such as 24\.5"), N_("a number such as 24.5")),
    (
        re.compile(r"a cycle threshold above 0 and at most (?P<max>[\d.]+)"),
        N_("a cycle threshold above 0 and at most %(max)s"),
    ),
    (
        re.compile(r"a time such as 2021-09-13T14:30:00\+07:00"),
        N_("a time such as 2021-09-13T14:30:00+07:00"),
    ),
    (
        re.compile(r"a time between the years 1 and 9999"),
        N_("a time between the years 1 and 9999"),
    ),
    (re.compile(r"no tube (?P<code>\S+)"), N_("no tube %(code)s")),
    (
        re.compile(r"lab (?P<lab>\S+) does not run (?P<method>\S+)"),
        N_("lab %(lab)s does not run %(method)s"),
    ),
    (
        re.compile(r"a different result on line (?P<line>\d+)"),
        N_("a different result on line %(line)s"),
    ),
    # Sampling and shipping (testing.sampling, testing.labs): the sampling page's refusals.
    (
        re.compile(r"already sampled in this round \(tube (?P<tube>\S+)\)"),
        N_("already sampled in this round (tube %(tube)s)"),
    ),
    (re.compile(r"tube (?P<tube>\S+) is already in use"), N_("tube %(tube)s is already in use")),
    (re.compile(r"tube (?P<tube>\S+) not found"), N_("tube %(tube)s not found")),
    (
        re.compile(r"sampling site (?P<site>\S+) not found"),
        N_("sampling site %(site)s not found, or not one where you sample"),
    ),
    (re.compile(r"no tube (?P<tube>\S+) at your sites"), N_("no tube %(tube)s at your sites")),
    (
        re.compile(r"tube (?P<tube>\S+) is \w+: only closed tubes not yet sent are shipped"),
        N_("tube %(tube)s is not closed, or already sent: only closed tubes are shipped"),
    ),
    (re.compile(r"no lab with code (?P<code>.*)"), N_("no lab with code %(code)s")),
    (
        re.compile(
            r"lab (?P<lab>\S+): (?P<pending>\d+) tubes waiting for (?P<capacity>\d+) a day"
            r"; room at (?P<room>.+)"
        ),
        N_("lab %(lab)s: %(pending)s tubes waiting for %(capacity)s a day; room at %(room)s"),
    ),
    (
        re.compile(r"lab (?P<lab>\S+): (?P<pending>\d+) tubes waiting for (?P<capacity>\d+) a day"),
        N_("lab %(lab)s: %(pending)s tubes waiting for %(capacity)s a day"),
    ),
    # Quarantine orders and treatment facilities (cases.quarantine, cases.treatment).
    (
        re.compile(r"the order runs until (?P<day>\S+)"),
        N_("the order runs until %(day)s"),
    ),
    (
        re.compile(r"the order is already (?P<status>\w+)"),
        N_("the order is already %(status)s"),
    ),
    (
        re.compile(r"facility (?P<code>\S+) already exists"),
        N_("facility %(code)s already exists"),
    ),
    # Cases (cases.service, cases.pages): the case forms' refusals.
    (
        re.compile(r"already an open case: (?P<code>\S+)"),
        N_("already an open case: %(code)s"),
    ),
    (
        re.compile(r"the case is closed \((?P<outcome>\w+)\)"),
        N_("the case is closed (%(outcome)s)"),
    ),
    (
        re.compile(r"these areas are already under lockdown (?P<code>\S+)"),
        N_("these areas are already under lockdown %(code)s"),
    ),
    # Transfers between provinces (checkpoints.transfers): a decision already taken.
    (
        re.compile(r"transfer (?P<code>\S+) is already (?P<status>\w+)"),
        N_("transfer %(code)s is already %(status)s"),
    ),
    (re.compile(r"transfer (?P<code>\S+) was refused"), N_("transfer %(code)s was refused")),
    # Checkpoint registry and entry rules (checkpoints.pages, checkpoints.rule_pages).
    (
        re.compile(r"checkpoint (?P<code>\S+) already exists"),
        N_("checkpoint %(code)s already exists"),
    ),
    (
        re.compile(r"no user (?P<name>\S+) in your units"),
        N_("no user %(name)s in your units"),
    ),
    (
        re.compile(r"not valid JSON \(line (?P<line>\d+), column (?P<column>\d+)\)"),
        N_("not valid JSON (line %(line)s, column %(column)s)"),
    ),
)


def translate(reason: str) -> str:
    """The reason in the page's language, or as the service wrote it."""
    for pattern, message in PATTERNS:
        match = pattern.fullmatch(reason)
        if match:
            return i18n.gettext_(message) % match.groupdict()
    return i18n.gettext_(reason)
