"""froide-govplan's CSV import, re-implemented from its code as a test oracle.

Each step names what it mirrors in okfde/froide-govplan (read at commit 398eef9):
  CMD  froide_govplan/management/commands/import_govplan.py, Command.handle
  IMP  froide_govplan/plan_importer.py, PlanImporter
  MOD  froide_govplan/models.py, GovernmentPlan and its fields
Django's own slugify and model fields are used, so that slugs, lengths, booleans, integers and
dates come out as they would on the server. Model.save() runs no full_clean: only what the
database refuses (too long, not unique, not a number or date) fails here, as it would there.
"""
from __future__ import annotations

import csv
import datetime
import json
import re
from pathlib import Path

import django
from django.conf import settings

if not settings.configured:
    settings.configure(USE_TZ=True)
    django.setup()

from django.db import models  # noqa: E402
from django.utils.text import slugify  # noqa: E402

# MOD: the fields an import can write, as declared on GovernmentPlan.
FIELDS = {
    "title": models.CharField(max_length=255),
    "slug": models.SlugField(max_length=255, unique=True),
    "description": models.TextField(blank=True),
    "quote": models.TextField(blank=True),
    "public": models.BooleanField(default=False),
    "due_date": models.DateField(null=True, blank=True),
    "measure": models.CharField(max_length=255, blank=True),
    "status": models.CharField(max_length=25, default="not_started"),
    "rating": models.IntegerField(null=True, blank=True),
    "reference": models.CharField(max_length=255, blank=True),
}
# MOD: PlanStatus.
STATUSES = ("not_started", "started", "partially_implemented", "implemented", "deferred")


class ImportFailed(Exception):
    """What would abort the management command on the server."""


class Plan:
    def __init__(self, government: str):
        self.government = government
        self.values = {name: f.get_default() for name, f in FIELDS.items()}
        self.categories: list[str] = []

    def __getattr__(self, name):
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None


class Store:
    """The plans, sections and categories of a froide-govplan database."""

    def __init__(self, categories: set[str] = frozenset(), public_bodies: set[str] = frozenset()):
        self.plans: list[Plan] = []
        self.sections: dict[str, str] = {}
        self.known_categories = set(categories)
        self.public_bodies = set(public_bodies)

    def save(self, plan: Plan) -> None:
        """What the database enforces on INSERT/UPDATE of the plan's row."""
        stored = {}
        for name, f in FIELDS.items():
            value = plan.values[name]
            if isinstance(f, models.CharField) and value is not None and len(value) > f.max_length:
                raise ImportFailed(f"value too long for {name} ({len(value)} > {f.max_length})")
            try:
                value = f.get_prep_value(value)  # int(''), 'maybe' as bool, '2022' as date fail
                if isinstance(f, models.DateField) and value is not None:
                    value = f.to_python(value)
            except (ValueError, TypeError, django.core.exceptions.ValidationError) as exc:
                raise ImportFailed(f"{name}: {exc}") from None
            stored[name] = value
        for other in self.plans:
            if other is not plan and other.values["slug"] == stored["slug"]:
                raise ImportFailed(f"duplicate slug {stored['slug']!r}")
        plan.values.update(stored)
        if plan not in self.plans:
            self.plans.append(plan)


def run_import(store: Store, government: str, mapping_path: Path, csv_path: Path) -> None:
    # CMD: json.load of the mapping file, then csv.DictReader over open(filename): the text
    # encoding is the server's (UTF-8), no utf-8-sig, so a BOM stays in the first header.
    with open(mapping_path, encoding="utf-8") as f:
        col_mapping = json.load(f)
    with open(csv_path, encoding="utf-8") as csv_file:
        for row in csv.DictReader(csv_file):
            _import_row(store, government, col_mapping, row)


def _import_row(store: Store, government: str, col_mapping: dict, row: dict) -> None:
    # IMP import_row: the title column must be there (KeyError otherwise); an empty title
    # skips the row; a plan of the same government with exactly that title is updated.
    try:
        title = row[col_mapping["title"]]
    except KeyError as exc:
        raise ImportFailed(f"no column {exc}") from None
    if not title:
        return
    plan = next((p for p in store.plans if p.government == government
                 and p.values["title"] == title), None) or Plan(government)
    post_save = []
    # IMP: mapping items in file order; handle_<field> where one exists, setattr otherwise.
    for col, row_col in col_mapping.items():
        if row_col not in row:
            raise ImportFailed(f"no column {row_col!r}")
        value = row[row_col]
        handler = HANDLERS.get(col)
        if handler:
            handler(store, plan, value, post_save)
        else:
            plan.values[col] = value
    store.save(plan)
    for func in post_save:
        func(plan)


def _title(store, plan, title, post_save):
    # IMP handle_title: the slug is made from the title (a slug column after it replaces it).
    plan.values["title"] = title
    plan.values["slug"] = slugify(title)


def _categories(store, plan, category_name, post_save):
    # IMP handle_categories: split on ", ", " & ", " und "; make_section names a section
    # after the whole cell (even an empty one) and needs every category to exist.
    categories = [x.strip() for x in re.split(r", | & | und ", category_name) if x.strip()]
    slug = slugify("-".join(categories))
    store.sections.setdefault(slug, category_name)
    for name in categories:
        if name not in store.known_categories:
            raise ImportFailed(f"Category matching query does not exist: {name!r}")
    if categories:
        post_save.append(lambda p: setattr(p, "categories", list(categories)))


def _reference(store, plan, reference, post_save):
    # IMP handle_reference.
    plan.values["reference"] = ", ".join(re.split(r"\s*[,/]\s*", reference))


def _responsible(store, plan, pb, post_save):
    # IMP handle_responsible_publicbody: blank is skipped; otherwise one body must match.
    if not pb.strip():
        return
    matches = [b for b in store.public_bodies if re.search(r"(\W|^){}(\W|$)".format(pb), b,
                                                           re.IGNORECASE)]
    if len(matches) != 1:
        raise ImportFailed(f"PublicBody matching {pb!r}: {len(matches)} found")
    plan.values["responsible_publicbody"] = matches[0]


def _due_date(store, plan, date_descr, post_save):
    # IMP handle_due_date: blank keeps the old value; the first four digits are the year,
    # the words are tested in this order; no year gives None.
    if not date_descr.strip():
        return
    match = re.search(r"(\d{4})", date_descr)
    if not match:
        plan.values["due_date"] = None
        return
    year = int(match.group(1))
    for word, (month, day) in (("Mitte", (7, 1)), ("Ende", (12, 1)), ("Anfang", (3, 1)),
                               ("Innerhalb", (12, 31)), ("Juni", (6, 1))):
        if word in date_descr:
            plan.values["due_date"] = datetime.date(year, month, day)
            return
    plan.values["due_date"] = datetime.date(year, 1, 1)


def _status(store, plan, status, post_save):
    # IMP handle_status: stripped; blank and the German words are mapped, the rest kept.
    status = status.strip()
    if not status or status == "noch nicht umgesetzt":
        status = "not_started"
    if status == "umgesetzt":
        status = "implemented"
    if status == "begonnen":
        status = "started"
    plan.values["status"] = status


HANDLERS = {"title": _title, "categories": _categories, "reference": _reference,
            "responsible_publicbody": _responsible, "due_date": _due_date, "status": _status}
