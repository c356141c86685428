"""Text sources for generated pages: Faker, seeded per page, in one of several Latin-script
locales (sentences, names, companies, addresses, numbers, dates, money), and the short fixed
strings a document of each kind prints (labels, headings), translated by hand.

Everything is NFC, printable, Latin script and free of emoji. The fixed strings are in
``data/terms.tsv`` (a row a term, a column a language). Faker has no Portuguese word list, so
Portuguese prose is drawn from ``data/pt_words.txt``.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from functools import cache
from pathlib import Path

from faker import Faker

_DATA = Path(__file__).with_name("data")


def _data(name: str) -> str:
    """A data file's text without its ``#`` comment lines."""
    text = (_DATA / name).read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith("#"))


# Language code -> Faker locale. English pages use both the US and UK locales.
LOCALES: dict[str, tuple[str, ...]] = {
    "en": ("en_US", "en_GB"),
    "de": ("de_DE",),
    "fr": ("fr_FR",),
    "es": ("es_ES",),
    "it": ("it_IT",),
    "nl": ("nl_NL",),
    "pt": ("pt_PT",),
    "pl": ("pl_PL",),
}
OTHER_LANGUAGES = ("de", "fr", "es", "it", "nl", "pt", "pl")
# Where Faker's word list for prose comes from (en_GB has none of its own: it would be Latin).
PROSE = {
    "en": "en_US",
    "de": "de_DE",
    "fr": "fr_FR",
    "es": "es_ES",
    "it": "it_IT",
    "nl": "nl_NL",
    "pl": "pl_PL",
}

_PT_WORDS = _data("pt_words.txt").split()


_LANG_INDEX = {lang: i for i, lang in enumerate(("en", "de", "fr", "es", "it", "nl", "pt", "pl"))}
TERMS: dict[str, tuple[str, ...]] = {
    row[0]: tuple(row[1:])
    for row in (line.split("\t") for line in _data("terms.tsv").splitlines()[1:])
}

#: Month names as dates are printed, per language (also used by training/recogniser/lines.py).
MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
    "dicembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro "
    "dezembro",
    "pl": "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października "
    "listopada grudnia",
}

_NBSP = "\u00a0"
_NOT_PRINTABLE = re.compile(
    r"[^\x20-\x7e\u00a0-\u024f\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2020\u2022\u2026\u20ac\u00b7]"
)


def clean(text: str) -> str:
    """NFC, one line, printable Latin script only (no emoji, no control characters)."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"[\s\u00a0]*\n[\s\u00a0]*", " ", text)
    text = _NOT_PRINTABLE.sub("", text)
    return re.sub(r"[ \t]+", " ", text).strip()


@cache
def _faker(locale: str) -> Faker:
    return Faker(locale)


class Text:
    """A page's text source: one language, seeded, so the same seed gives the same text."""

    def __init__(self, language: str, seed: int) -> None:
        self.language = language
        self.rng = random.Random(seed ^ 0x5EED)  # noqa: S311 - text, not secrets
        self.locale = self.rng.choice(LOCALES[language])
        self.fake = _faker(self.locale)
        self.fake.seed_instance(seed)
        self.prose = _faker(PROSE.get(language, self.locale))
        if self.prose is not self.fake:
            self.prose.seed_instance(seed + 1)

    # --- prose -------------------------------------------------------------------------------

    def words(self, n: int) -> list[str]:
        """``n`` words of the language (lower case, as Faker's lorem gives them)."""
        if self.language == "pt":
            return [self.rng.choice(_PT_WORDS) for _ in range(n)]
        return [clean(w) for w in self.prose.words(n)]

    def sentence(self, low: int = 6, high: int = 16) -> str:
        """A sentence of ``low``..``high`` words, capitalised, with a full stop (sometimes a
        comma or a number inside, as prose has)."""
        n = self.rng.randint(low, high)
        words = self.words(n)
        if n > 8 and self.rng.random() < 0.3:
            words[self.rng.randrange(2, n - 3)] += ","
        if n > 6 and self.rng.random() < 0.12:
            words.insert(self.rng.randrange(1, n - 2), str(self.rng.randint(2, 1999)))
        text = " ".join(words)
        return text[:1].upper() + text[1:] + ("?" if self.rng.random() < 0.06 else ".")

    def paragraph(self, low: int = 2, high: int = 6) -> str:
        """A paragraph of ``low``..``high`` sentences."""
        return " ".join(self.sentence() for _ in range(self.rng.randint(low, high)))

    def title(self, low: int = 3, high: int = 9) -> str:
        """A title: a capitalised phrase without a full stop (title case in English,
        sometimes)."""
        words = self.words(self.rng.randint(low, high))
        if self.language == "en" and self.rng.random() < 0.5:
            small = {"a", "an", "the", "of", "and", "or", "in", "on", "to", "for", "with"}
            words = [w if w in small and i else w.capitalize() for i, w in enumerate(words)]
        if self.language == "de":
            words = [w.capitalize() if self.rng.random() < 0.4 else w for w in words]
        text = " ".join(words)
        return text[:1].upper() + text[1:]

    def heading(self) -> str:
        """A short section heading."""
        return self.title(1, 5)

    # --- people, places, numbers -------------------------------------------------------------

    def name(self) -> str:
        """A person's name (no titles or suffixes)."""
        return clean(self.fake.first_name() + " " + self.fake.last_name())

    def company(self) -> str:
        """A company name."""
        return clean(self.fake.company())

    def job(self) -> str:
        """An occupation (in English where Faker has none for the locale)."""
        job = clean(self.fake.job())
        while len(job) > 40 and " " in job:
            job = job.rsplit(" ", 1)[0].rstrip(",")
        return job

    def street(self) -> str:
        """A street and number."""
        return clean(self.fake.street_address())

    def city_line(self) -> str:
        """Postcode and city, as the locale writes them."""
        if self.locale == "en_US":
            return clean(f"{self.fake.city()}, {self.fake.state_abbr()} {self.fake.postcode()}")
        if self.locale == "en_GB":
            return clean(f"{self.fake.city()} {self.fake.postcode()}")
        return clean(f"{self.fake.postcode()} {self.fake.city()}")

    def address(self, with_name: bool = True, with_company: bool = False) -> list[str]:
        """An address as lines: name, maybe company, street, city, maybe country."""
        lines = []
        if with_name:
            lines.append(self.name())
        if with_company:
            lines.append(self.company())
        lines += [self.street(), self.city_line()]
        if self.rng.random() < 0.25:
            lines.append(clean(self.fake.current_country()))
        return [line for line in lines if line]

    def phone(self) -> str:
        """A phone number as the locale writes it."""
        return clean(self.fake.phone_number())

    def email(self) -> str:
        """An email address."""
        return clean(self.fake.email())

    def url(self) -> str:
        """A web address without the scheme."""
        return clean(self.fake.domain_name())

    def iban(self) -> str:
        """An IBAN in groups of four."""
        raw = clean(self.fake.iban())
        return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))

    def product(self) -> str:
        """A product or service line: two words and sometimes a model code."""
        words = self.words(self.rng.randint(1, 3))
        text = " ".join(words)
        text = text[:1].upper() + text[1:]
        if self.rng.random() < 0.5:
            code = "".join(self.rng.choice("ABCDEFGHKLMNPRSTVXZ") for _ in range(2))
            text += f" {code}-{self.rng.randint(10, 999)}"
        return text

    def code(self, prefix: str = "") -> str:
        """A reference number such as ``INV-2024-0193``."""
        year = self.rng.randint(2015, 2030)
        return f"{prefix}{year}-{self.rng.randint(1, 9999):04d}"

    def date_value(self) -> dt.date:
        """A date between 2000 and 2030."""
        return dt.date(2000, 1, 1) + dt.timedelta(days=self.rng.randrange(11_000))

    def date(self, value: dt.date | None = None, long: bool | None = None) -> str:
        """A date as the language writes it, numeric or with the month's name."""
        d = value or self.date_value()
        long = self.rng.random() < 0.5 if long is None else long
        if long:
            month = MONTHS[self.language].split()[d.month - 1]
            if self.language == "en":
                if self.locale == "en_US":
                    return f"{month} {d.day}, {d.year}"
                return f"{d.day} {month} {d.year}"
            if self.language == "de":
                return f"{d.day}. {month} {d.year}"
            if self.language in ("es", "pt"):
                return f"{d.day} de {month} de {d.year}"
            return f"{d.day} {month} {d.year}"
        if self.locale == "en_US":
            return f"{d.month:02d}/{d.day:02d}/{d.year}"
        if self.language in ("de", "pl"):
            return f"{d.day:02d}.{d.month:02d}.{d.year}"
        if self.language == "nl":
            return f"{d.day:02d}-{d.month:02d}-{d.year}"
        return f"{d.day:02d}/{d.month:02d}/{d.year}"

    def number(self, value: float, decimals: int = 2, group: bool = True) -> str:
        """A number with the language's decimal and thousands separators (a no-break space
        where the language groups with a space, so a number never breaks across lines)."""
        text = f"{abs(value):,.{decimals}f}" if group else f"{abs(value):.{decimals}f}"
        if self.language != "en":
            thousands = _NBSP if self.language in ("fr", "pl") else "."
            text = text.replace(",", "\0").replace(".", ",").replace("\0", thousands)
        return ("-" if value < 0 else "") + text

    def money(self, value: float, symbol: bool = True) -> str:
        """An amount of money with the locale's currency."""
        number = self.number(value)
        if not symbol:
            return number
        if self.locale == "en_US":
            return ("-$" + number[1:]) if value < 0 else "$" + number
        if self.locale == "en_GB":
            return ("-£" + number[1:]) if value < 0 else "£" + number
        if self.language == "pl":
            return number + _NBSP + "zł"
        if self.language == "nl":
            return "€" + _NBSP + number
        return number + _NBSP + "€"

    def percent(self, value: float) -> str:
        """A percentage."""
        return (
            self.number(value, 1 if value % 1 else 0)
            + (_NBSP if self.language == "fr" else "")
            + "%"
        )

    # --- fixed strings -----------------------------------------------------------------------

    def term(self, key: str) -> str:
        """A fixed string (``TERMS``) in the page's language."""
        return TERMS[key][_LANG_INDEX[self.language]]
