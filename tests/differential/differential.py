#!/usr/bin/env python3
"""Differential test of `scamtrail normalize` against implementations we did not write.

  phone: Python `phonenumbers` (a port of libphonenumber; pinned to the release whose metadata
         is the one our `rlibphonenumber` carries, 9.0.42). Compared: validity, E.164, number
         type and region.
  iban:  `schwifty` (IBAN structure from the SWIFT registry plus its own additions). Compared:
         validity and the electronic form.
  bic:   `schwifty` with SWIFT compliance (four letters, a country, two and optionally three
         letters or digits). Compared: validity and the key (11 characters ending in XXX key as 8).

Every value is generated from a fixed seed, so a run is reproducible. Values are batched per
(kind, country) through one `scamtrail normalize` process each.

Every accepted value is also written as victims write it in a form (a label before, a note after,
two values in one field; the forms are generated from the values): each form must give exactly
the keys of its clean values, and report its label as ignored. These have no known list.

A disagreement is either listed in known_disagreements.json (kind, country, value, what we say,
what they say, and why) or it fails the run; a listed disagreement that no longer occurs (or
now reads differently) is stale and fails the run too, so the list stays true.

Usage: differential.py BINARY [--only phone,iban,bic] [--dump FILE] [--show N]
  --dump FILE  write every disagreement not in the list as ready-to-edit JSON entries
               (explanation left empty) to FILE, for curating known_disagreements.json.
Exit status: 0 when every comparison agrees or is documented, 1 otherwise, 2 on a usage or
environment error (wrong library versions, binary missing or failing).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# Keep in step with PY_PINS in scripts/install-test-deps: the known disagreements are specific
# to these releases.
# phonenumbers 9.0.42 carries libphonenumber 9.0.42's metadata, the release rlibphonenumber 2.2.15
# embeds; pycountry decides which BIC country letters schwifty accepts, and rstr draws schwifty's
# random IBANs (another release would draw other values and leave the list stale).
PINNED = {"phonenumbers": "9.0.42", "schwifty": "2026.10.1", "pycountry": "26.2.16", "rstr": "3.2.2"}

SEED = 20240613
HERE = Path(__file__).resolve().parent
KNOWN_FILE = HERE / "known_disagreements.json"

try:
    import phonenumbers as pn
    from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
    import pycountry
    import schwifty
    from schwifty import BIC, IBAN, registry as schwifty_registry
    from schwifty.exceptions import SchwiftyException
except ImportError as e:  # pragma: no cover - environment problem
    print(f"differential: cannot import {e.name}; run scripts/install-test-deps", file=sys.stderr)
    sys.exit(2)


@dataclass(frozen=True)
class Case:
    kind: str  # phone | iban | bic
    country: str | None  # the --country given to the CLI (national phone numbers only)
    value: str
    source: str  # how the value was made, for the report


# ------------------------------------------------------------------------------------ phones

PHONE_TYPES = [
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
]
TYPE_NAMES = {v: k for k, v in vars(PhoneNumberType).items() if k.isupper()}
PARSE_ERRORS = {v: k for k, v in vars(NumberParseException).items() if k.isupper() and isinstance(v, int)}
DIGITS = "0123456789"


def spaced(rng: random.Random, digits: str) -> str:
    """Digits split into random groups by spaces or dashes (how people write numbers)."""
    sep = rng.choice([" ", "-", " ", "."])
    out, i = [], 0
    while i < len(digits):
        n = rng.randint(2, 4)
        out.append(digits[i : i + n])
        i += n
    return sep.join(out)


def no_country_flag(region: str) -> bool:
    """libphonenumber regions that are not ISO 3166-1 codes (Ascension AC, Tristan da Cunha TA):
    `--country` refuses them, so their national forms cannot be given to the CLI."""
    return region != "XK" and pycountry.countries.get(alpha_2=region) is None


def phone_cases(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    for region in sorted(pn.SUPPORTED_REGIONS):
        national_ok = not no_country_flag(region)
        meta = pn.PhoneMetadata.metadata_for_region(region)
        cc = pn.country_code_for_region(region)
        prefix = meta.national_prefix or ""
        nsns: list[str] = []
        for t in PHONE_TYPES:
            ex = pn.example_number_for_type(region, t)
            if ex is None:
                continue
            tn = TYPE_NAMES[t].lower()
            nsns.append(pn.national_significant_number(ex))
            cases.append(Case("phone", None, pn.format_number(ex, PhoneNumberFormat.E164), f"example {tn} E.164"))
            cases.append(
                Case("phone", None, pn.format_number(ex, PhoneNumberFormat.INTERNATIONAL), f"example {tn} international")
            )
            if national_ok:
                cases.append(
                    Case("phone", region, pn.format_number(ex, PhoneNumberFormat.NATIONAL), f"example {tn} national")
                )
            cases.append(Case("phone", None, pn.format_number(ex, PhoneNumberFormat.RFC3966), f"example {tn} RFC 3966"))
            nsn = pn.national_significant_number(ex)
            if rng.random() < 0.3:
                cases.append(Case("phone", None, f"00{cc} {spaced(rng, nsn)}", f"example {tn} 00-international"))
            if rng.random() < 0.2:
                cases.append(Case("phone", None, f"tel:{spaced(rng, nsn).replace(' ', '-').replace('.', '-')};"
                                  f"phone-context=+{cc}", f"example {tn} RFC 3966 phone-context"))
        # Random digit strings near the region's real numbers (often valid) and far from them
        # (mostly invalid), written internationally and nationally.
        randoms: list[tuple[str, str]] = []
        for nsn in nsns:
            k = rng.randint(1, min(4, len(nsn) - 1))
            randoms.append((nsn[:-k] + "".join(rng.choice(DIGITS) for _ in range(k)), "random tail"))
            randoms.append((nsn[:1] + "".join(rng.choice(DIGITS) for _ in range(len(nsn) - 1)), "random same length"))
            if rng.random() < 0.5:
                randoms.append((nsn + rng.choice(DIGITS), "one digit more"))
            else:
                randoms.append((nsn[:-1], "one digit fewer"))
        for _ in range(4):
            randoms.append(("".join(rng.choice(DIGITS) for _ in range(rng.randint(4, 14))), "random digits"))
        for nsn, how in randoms:
            if rng.random() < 0.5 or not national_ok:
                value = f"+{cc} {spaced(rng, nsn)}" if rng.random() < 0.7 else f"+{cc}{nsn}"
                cases.append(Case("phone", None, value, f"{how} international"))
            else:
                cases.append(Case("phone", region, spaced(rng, prefix + nsn), f"{how} national"))
    for code in sorted(pn.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        ex = pn.example_number_for_non_geo_entity(code)
        if ex is None:
            continue
        for fmt, name in [(PhoneNumberFormat.E164, "E.164"), (PhoneNumberFormat.INTERNATIONAL, "international"),
                          (PhoneNumberFormat.RFC3966, "RFC 3966")]:
            cases.append(Case("phone", None, pn.format_number(ex, fmt), f"non-geographic example {name}"))
    return cases


def phone_theirs(case: Case) -> str:
    """What phonenumbers says, under our input rules (+ or 00 international, else national)."""
    region = case.country
    digits = "".join(c for c in case.value if c.isdigit())
    plus = case.value.lstrip().startswith(("+", "tel:+"))
    try:
        n = pn.parse(case.value, region)
    except NumberParseException as e:
        n, err = None, e
    if (n is None or not pn.is_valid_number(n)) and digits.startswith("00") and not plus:
        # Documented rule: without a country, a leading 00 is the international prefix; with
        # one, a 00 the region does not use as its international prefix is read the same way.
        try:
            n = pn.parse("+" + digits[2:], None)
        except NumberParseException as e:
            n, err = None, e
    if n is None:
        return f"invalid (parse: {PARSE_ERRORS.get(err.error_type, err.error_type)})"
    if not pn.is_valid_number(n):
        return "invalid (not valid)"
    region_code = pn.region_code_for_number(n)
    country = region_code if region_code and region_code != "001" else "-"
    # Our documented rule: Ascension (AC) and Tristan da Cunha (TA) are numbering regions without
    # an ISO 3166-1 code of their own; the country fact names Saint Helena (SH), which they belong to.
    country = {"AC": "SH", "TA": "SH"}.get(country, country)
    return f"tel:{pn.format_number(n, PhoneNumberFormat.E164)} {TYPE_NAMES[pn.number_type(n)]} {country}"


def phone_ours(result: dict) -> str:
    if not result["ok"]:
        return f"invalid ({result['reason']})"
    facts = result["facts"]
    return f"{result['key']} {facts.get('phone_type') or '?'} {facts.get('country') or '-'}"


# ------------------------------------------------------------------------------------- IBANs

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


# The example IBAN of every country in the SWIFT IBAN registry (release 99 added Honduras), so
# that real-world layouts are checked beside schwifty's random ones.
REGISTRY_EXAMPLES = [
    "AD1200012030200359100100",
    "AE070331234567890123456",
    "AL47212110090000000235698741",
    "AT611904300234573201",
    "AZ21NABZ00000000137010001944",
    "BA391290079401028494",
    "BE68539007547034",
    "BG80BNBG96611020345678",
    "BH67BMAG00001299123456",
    "BI4210000100010000332045181",
    "BR1800360305000010009795493C1",
    "BR9700360305000010009795493P1",
    "BY13NBRB3600900000002Z00AB00",
    "CH9300762011623852957",
    "CR05015202001026284066",
    "CY17002001280000001200527600",
    "CZ6508000000192000145399",
    "DE89370400440532013000",
    "DJ2100010000000154000100186",
    "DK5000400440116243",
    "DO28BAGR00000001212453611324",
    "EE382200221020145685",
    "EG380019000500000000263180002",
    "ES9121000418450200051332",
    "FI2112345600000785",
    "FK88SC123456789012",
    "FO6264600001631634",
    "FR1420041010050500013M02606",
    "GB29NWBK60161331926819",
    "GE29NB0000000101904917",
    "GI75NWBK000000007099453",
    "GL8964710001000206",
    "GR1601101250000000012300695",
    "GT82TRAJ01020000001210029690",
    "HR1210010051863000160",
    "HU42117730161111101800000000",
    "IE29AIBK93115212345678",
    "IL620108000000099999999",
    "IQ98NBIQ850123456789012",
    "IS140159260076545510730339",
    "IT60X0542811101000000123456",
    "JO94CBJO0010000000000131000302",
    "KW81CBKU0000000000001234560101",
    "KZ86125KZT5004100100",
    "LB62099900000001001901229114",
    "LC55HEMM000100010012001200023015",
    "LI21088100002324013AA",
    "LT121000011101001000",
    "LU280019400644750000",
    "LV80BANK0000435195001",
    "LY83002048000020100120361",
    "MC5811222000010123456789030",
    "MD24AG000225100013104168",
    "ME25505000012345678951",
    "MK07250120000058984",
    "MN121234123456789123",
    "MR1300020001010000123456753",
    "MT84MALT011000012345MTLCAST001S",
    "MU17BOMM0101101030300200000MUR",
    "NI45BAPR00000013000003558124",
    "NL91ABNA0417164300",
    "NO9386011117947",
    "OM810180000001299123456",
    "PK36SCBL0000001123456702",
    "PL61109010140000071219812874",
    "PS92PALS000000000400123456702",
    "PT50000201231234567890154",
    "QA58DOHB00001234567890ABCDEFG",
    "RO49AAAA1B31007593840000",
    "RS35260005601001611379",
    "RU0204452560040702810412345678901",
    "SA0380000000608010167519",
    "SC18SSCB11010000000000001497USD",
    "SD2129010501234001",
    "SE4550000000058398257466",
    "SI56263300012039086",
    "SK3112000000198742637541",
    "SM86U0322509800000000270100",
    "SO211000001001000100141",
    "ST68000100010051845310112",
    "SV62CENR00000000000000700025",
    "TL380080012345678910157",
    "TN5910006035183598478831",
    "TR330006100519786457841326",
    "UA213223130000026007233566001",
    "VA59001123000012345678",
    "VG96VPVG0000012345678901",
    "XK051212012345678906",
    "YE15CBYE0001018861234567891234",
    "HN88CABF00000000000250005469",
]


def iban_countries() -> list[str]:
    """Every country schwifty has an IBAN layout for: its SWIFT registry import, plus the
    layouts its overwrite file adds (the others there only amend registry entries)."""
    d = Path(schwifty.__file__).parent / "iban_registry"
    codes = set(json.loads((d / "generated.json").read_text()))
    codes |= {c for c, spec in json.loads((d / "overwrite.json").read_text()).items() if "iban_spec" in spec}
    return sorted(codes)


def noisy(rng: random.Random, iban: str) -> str:
    """Lower case and spaces in random places."""
    out = []
    for i, c in enumerate(iban):
        if i and rng.random() < 0.15:
            out.append(" ")
        out.append(c.lower() if rng.random() < 0.7 else c)
    return "".join(out)


def corruptions(rng: random.Random, iban: str) -> list[tuple[str, str]]:
    out = []
    i = rng.randrange(len(iban))
    out.append((iban[:i] + rng.choice([c for c in ALNUM if c != iban[i]]) + iban[i + 1 :], "one character changed"))
    i = rng.randrange(len(iban))
    out.append((iban[:i] + iban[i + 1 :], "one character deleted"))
    i = rng.randrange(len(iban) + 1)
    out.append((iban[:i] + rng.choice(ALNUM) + iban[i:], "one character inserted"))
    i = rng.randrange(4, len(iban) - 1)
    if iban[i] != iban[i + 1]:
        out.append((iban[:i] + iban[i + 1] + iban[i] + iban[i + 2 :], "two neighbours swapped"))
    return out


def iban_cases(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    for iban in REGISTRY_EXAMPLES:
        cases.append(Case("iban", None, iban, "SWIFT registry example"))
        cases.append(Case("iban", None, " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)), "paper form"))
        for bad, how in corruptions(rng, iban):
            cases.append(Case("iban", None, bad, how))
    for cc in iban_countries():
        bases = []
        for use_registry in (True, True, False, False):
            try:
                bases.append(str(IBAN.random(cc, random=rng, use_registry=use_registry)))
            except SchwiftyException:
                continue
        for iban in bases:
            cases.append(Case("iban", None, iban, "schwifty random, electronic"))
            cases.append(Case("iban", None, " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)), "paper form"))
            cases.append(Case("iban", None, noisy(rng, iban), "lower case and spaces"))
            for bad, how in corruptions(rng, iban):
                cases.append(Case("iban", None, bad, how))
            # Check digits 00, 01 and 99 pass MOD 97-10 exactly when 97, 98 and 02 do.
            cd = int(iban[2:4])
            for a, b in ((97, 0), (98, 1), (2, 99)):
                if cd == a:
                    cases.append(Case("iban", None, f"{iban[:2]}{b:02d}{iban[4:]}", "check digits outside 02-98"))
    return cases


def iban_theirs(case: Case) -> str:
    try:
        return "iban:" + IBAN(case.value).compact
    except SchwiftyException as e:
        return f"invalid ({type(e).__name__})"


def iban_ours(result: dict) -> str:
    return result["key"] if result["ok"] else f"invalid ({result['reason']})"


# -------------------------------------------------------------------------------------- BICs


def bic_cases(rng: random.Random) -> list[Case]:
    by_country: dict[str, set[str]] = defaultdict(set)
    for bank in schwifty_registry.get_all_banks():
        bic = bank.bic if not isinstance(bank, dict) else bank.get("bic")
        if bic:
            by_country[bic[4:6]].add(bic)
    cases: list[Case] = []
    for cc in sorted(by_country):
        bics = sorted(by_country[cc])
        for bic in rng.sample(bics, min(40, len(bics))):
            cases.append(Case("bic", None, bic, "schwifty bank registry"))
            if len(bic) == 8:
                cases.append(Case("bic", None, bic + "XXX", "head office with XXX"))
            elif bic.endswith("XXX"):
                cases.append(Case("bic", None, bic[:8], "head office without XXX"))
            cases.append(Case("bic", None, f"{bic[:4]} {bic[4:6]} {bic[6:8]} {bic[8:]}".strip().lower(),
                              "lower case and spaces"))
            cases.append(bic_corruption(rng, bic))
    # Every ISO 3166 code pycountry knows, plus codes that are not countries, in position 5-6.
    codes = sorted({c.alpha_2 for c in pycountry.countries} | {"XK", "UK", "EU", "ZZ", "XX", "AA", "QO"})
    for cc in codes:
        cases.append(Case("bic", None, f"TEST{cc}2L", "country code sweep"))
    return cases


def bic_corruption(rng: random.Random, bic: str) -> Case:
    how = rng.choice(["length", "digit in bank code", "not a country", "punctuation", "location changed"])
    if how == "length":
        n = rng.choice([l for l in (6, 7, 9, 10, 12) if l != len(bic)])
        value = (bic + "ABCDEFGHIJKL")[:n]
    elif how == "digit in bank code":
        i = rng.randrange(4)
        value = bic[:i] + rng.choice(DIGITS) + bic[i + 1 :]
    elif how == "not a country":
        value = bic[:4] + rng.choice(["UK", "ZZ", "XX", "1A", "EU"]) + bic[6:]
    elif how == "punctuation":
        i = rng.randrange(1, len(bic))
        value = bic[:i] + rng.choice("-_/.#") + bic[i:]
    else:
        value = bic[:6] + rng.choice(ALNUM) + bic[7:]
    return Case("bic", None, value, how)


def bic_theirs(case: Case) -> str:
    try:
        bic = BIC(case.value, enforce_swift_compliance=True)
    except SchwiftyException as e:
        return f"invalid ({type(e).__name__})"
    s = str(bic)
    return "bic:" + (s[:8] if len(s) == 11 and s.endswith("XXX") else s)


def bic_ours(result: dict) -> str:
    return result["key"] if result["ok"] else f"invalid ({result['reason']})"


# --------------------------------------------------------------------------------- the runner

KINDS = {
    "phone": (phone_cases, phone_theirs, phone_ours),
    "iban": (iban_cases, iban_theirs, iban_ours),
    "bic": (bic_cases, bic_theirs, bic_ours),
}


# ------------------------------------------------------------------------------ written forms
# The values we accept, written as victims write them in a form: a label before, a note after,
# two values in one field. No reference library reads these; the clean value's own key is the
# reference, so every form must give exactly the key (or keys) of the clean values in it.

FORM_LABELS = {
    "phone": ["Tel:", "Tél :", "Phone", "Mobile:", "Numéro :", "N° :", "Téléphone -"],
    "iban": ["IBAN:", "IBAN", "Iban :", "IBAN du compte :", "RIB/IBAN :"],
    "bic": ["BIC:", "SWIFT:", "BIC/SWIFT :", "Code BIC"],
}
FORM_NOTES = ["(NatWest)", "(perso)", "[main account]", "(he said so)", "- office", "(Revolut, London)"]
FORM_SEPARATORS = [" / ", "; ", ", ", " ou ", " or ", " | ", " et "]
# Clean values per (kind, country) batch that are written out in forms.
FORMS_PER_BATCH = 30


@dataclass(frozen=True)
class Form:
    kind: str
    country: str | None
    value: str  # as written
    keys: tuple[str, ...]  # what it must give: the field's key first
    label: str  # the label written before the first value, or ""


def written_forms(rng: random.Random, kind: str, country: str | None, accepted: list[tuple[str, str]]) -> list[Form]:
    """Labelled, annotated and two-value forms of accepted (value, key) pairs of one batch."""
    forms: list[Form] = []
    for value, key in rng.sample(accepted, min(len(accepted), FORMS_PER_BATCH)):
        label, note = rng.choice(FORM_LABELS[kind]), rng.choice(FORM_NOTES)
        forms.append(Form(kind, country, f"{label} {value}", (key,), label))
        forms.append(Form(kind, country, f"{value} {note}", (key,), ""))
        forms.append(Form(kind, country, f"{label} {value} {note}", (key,), label))
        other, other_key = rng.choice(accepted)
        if other_key != key:
            sep = rng.choice(FORM_SEPARATORS)
            forms.append(Form(kind, country, f"{value}{sep}{other}", (key, other_key), ""))
    return forms


def form_problem(form: Form, result: dict) -> str:
    """Why our reading of a form is wrong, or "" when it gives the clean keys and names the label."""
    got = tuple([result.get("key") or result.get("reason", "")] + [o.get("key") or o.get("reason", "")
                                                                    for o in result.get("others", [])])
    if got != form.keys:
        return f"keys {list(got)}, expected {list(form.keys)}"
    labels = [i["text"] for i in result.get("ignored", []) if i["part"] == "LABEL"]
    if form.label and not any(text.startswith(form.label.strip()) for text in labels):
        return f"label {form.label!r} not reported (ignored: {result.get('ignored')})"
    return ""


def valid(summary: str) -> bool:
    return not summary.startswith("invalid")


def agree(ours: str, theirs: str) -> bool:
    """Same key and facts when both accept; any reason when both refuse."""
    return ours == theirs if valid(ours) or valid(theirs) else True


def run_batch(binary: str, card_key: str, kind: str, country: str | None, values: list[str]) -> list[dict]:
    args = [binary, "normalize", "--kind", kind, "--card-key-file", card_key]
    if country:
        args += ["--country", country]
    proc = subprocess.run(args, input="".join(v + "\n" for v in values), capture_output=True, text=True,
                          env={**os.environ, "SCAMTRAIL_LOG": "warn"})
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    if len(out) != len(values) or any(o["input"] != v for o, v in zip(out, values)):
        raise RuntimeError(f"{' '.join(args)}: {len(out)} answers for {len(values)} values, or out of order")
    return out


def known_key(kind: str, country: str | None, value: str) -> tuple[str, str, str]:
    return (kind, country or "", value)


def load_known() -> dict[tuple[str, str, str], dict]:
    entries = json.loads(KNOWN_FILE.read_text()) if KNOWN_FILE.exists() else []
    known = {}
    for e in entries:
        for field in ("kind", "value", "ours", "theirs", "explanation"):
            if not isinstance(e.get(field), str):
                raise SystemExit(f"differential: {KNOWN_FILE.name}: entry without a {field!r} string: {e}")
        if not e["explanation"].strip():
            raise SystemExit(f"differential: {KNOWN_FILE.name}: entry with an empty explanation: {e}")
        k = known_key(e["kind"], e.get("country"), e["value"])
        if k in known:
            raise SystemExit(f"differential: {KNOWN_FILE.name}: duplicate entry {k}")
        known[k] = e
    return known


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--only", default=",".join(KINDS), help="comma-separated kinds to check")
    ap.add_argument("--dump", help="write undocumented disagreements as JSON entries to this file")
    ap.add_argument("--show", type=int, default=40, help="print at most this many failures (default 40)")
    opts = ap.parse_args()

    have = {}
    for name in PINNED:
        try:
            have[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            have[name] = None
    if have != PINNED:
        print(f"differential: need {PINNED}, have {have}; run scripts/install-test-deps", file=sys.stderr)
        return 2
    if not (os.path.isfile(opts.binary) and os.access(opts.binary, os.X_OK)):
        print(f"differential: {opts.binary} is not an executable; build it with `make build`", file=sys.stderr)
        return 2
    kinds = [k for k in opts.only.split(",") if k]
    if unknown := [k for k in kinds if k not in KINDS]:
        print(f"differential: unknown kinds {unknown}", file=sys.stderr)
        return 2
    print(f"differential: phonenumbers {pn.__version__}, schwifty {schwifty.__version__}, seed {SEED}")
    if "phone" in kinds:
        skipped = sorted(r for r in pn.SUPPORTED_REGIONS if no_country_flag(r))
        print(f"differential: national phone forms not tried for {', '.join(skipped)} (not ISO 3166-1 codes; "
              "--country refuses them)")

    cases: list[Case] = []
    for kind in kinds:
        # One generator per kind, so adding cases of one kind does not reshuffle the others.
        cases += KINDS[kind][0](random.Random(f"{SEED}-{kind}"))
    # The same (kind, country, value) twice would be compared twice: keep the first.
    seen, unique = set(), []
    for c in cases:
        k = known_key(c.kind, c.country, c.value)
        if k not in seen and "\n" not in c.value:
            seen.add(k)
            unique.append(c)
    cases = unique

    batches: dict[tuple[str, str | None], list[Case]] = defaultdict(list)
    for c in cases:
        batches[(c.kind, c.country)].append(c)
    results: dict[Case, dict] = {}
    with tempfile.TemporaryDirectory(prefix="scamtrail-differential-") as tmp:
        card_key = os.path.join(tmp, "card-key")
        # Create the key once, so parallel batches do not race to create it.
        run_batch(opts.binary, card_key, "phone", None, ["+442079460958"])
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            futures = {
                key: pool.submit(run_batch, opts.binary, card_key, key[0], key[1], [c.value for c in batch])
                for key, batch in sorted(batches.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
            }
            for key, fut in futures.items():
                try:
                    out = fut.result()
                except RuntimeError as e:
                    print(f"differential: {e}", file=sys.stderr)
                    return 2
                results.update(zip(batches[key], out))

        # Written forms of what we accepted, batch by batch, from a generator of their own.
        form_rng = random.Random(f"{SEED}-forms")
        form_batches: dict[tuple[str, str | None], list[Form]] = {}
        for key, batch in sorted(batches.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            accepted = [(c.value, results[c]["key"]) for c in batch if results[c]["ok"]]
            if accepted:
                form_batches[key] = written_forms(form_rng, key[0], key[1], accepted)
        form_results: list[tuple[Form, dict]] = []
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            futures = {
                key: pool.submit(run_batch, opts.binary, card_key, key[0], key[1], [f.value for f in forms])
                for key, forms in form_batches.items()
            }
            for key, fut in futures.items():
                try:
                    form_results += list(zip(form_batches[key], fut.result()))
                except RuntimeError as e:
                    print(f"differential: {e}", file=sys.stderr)
                    return 2

    known = load_known()
    known_in_scope = {k: e for k, e in known.items() if k[0] in kinds}
    totals, agreed, documented = Counter(), Counter(), Counter()
    failures: list[tuple[Case, str, str, str]] = []
    matched: set[tuple[str, str, str]] = set()
    for case in cases:
        _, theirs_fn, ours_fn = KINDS[case.kind]
        ours, theirs = ours_fn(results[case]), theirs_fn(case)
        totals[case.kind] += 1
        k = known_key(case.kind, case.country, case.value)
        if agree(ours, theirs):
            agreed[case.kind] += 1
            continue
        entry = known_in_scope.get(k)
        if entry and entry["ours"] == ours and entry["theirs"] == theirs:
            documented[case.kind] += 1
            matched.add(k)
        elif entry:
            matched.add(k)
            failures.append((case, ours, theirs, f"listed as ours={entry['ours']!r} theirs={entry['theirs']!r}"))
        else:
            failures.append((case, ours, theirs, ""))
    stale = [e for k, e in known_in_scope.items() if k not in matched]

    for kind in kinds:
        n, a = totals[kind], agreed[kind]
        print(f"{kind}: {a}/{n} agree ({100.0 * a / max(n, 1):.2f}%), {documented[kind]} documented disagreements, "
              f"{n - a - documented[kind]} undocumented")
    for case, ours, theirs, note in failures[: opts.show]:
        where = f" --country {case.country}" if case.country else ""
        print(f"UNDOCUMENTED {case.kind}{where} {case.value!r} [{case.source}]: ours {ours!r}, theirs {theirs!r}"
              + (f" ({note})" if note else ""))
    if len(failures) > opts.show:
        print(f"... and {len(failures) - opts.show} more undocumented (use --show or --dump)")
    for e in stale:
        print(f"STALE {e['kind']} {e.get('country') or ''} {e['value']!r}: listed in {KNOWN_FILE.name} "
              f"but no longer a disagreement (remove the entry)")
    if opts.dump:
        entries = [
            {"kind": c.kind, "country": c.country, "value": c.value, "source": c.source, "ours": o, "theirs": t,
             "explanation": ""}
            for c, o, t, _ in failures
        ]
        Path(opts.dump).write_text(json.dumps(entries, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {len(entries)} entries to {opts.dump}")

    form_failures = [(f, problem) for f, r in form_results if (problem := form_problem(f, r))]
    print(f"written forms: {len(form_results) - len(form_failures)}/{len(form_results)} give the keys of their "
          f"clean values")
    for form, problem in form_failures[: opts.show]:
        where = f" --country {form.country}" if form.country else ""
        print(f"FORM {form.kind}{where} {form.value!r}: {problem}")

    passed = sum(agreed.values()) + len(form_results) - len(form_failures)
    failed = len(failures) + len(form_failures)
    line = f"{passed} passed, {failed} failed"
    if stale:
        line += f", {len(stale)} stale"
    print(line)
    return 1 if failures or form_failures or stale else 0


if __name__ == "__main__":
    sys.exit(main())
