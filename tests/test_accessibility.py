"""Accessibility habits checked on the rendered pages: a skip link to the main content,
a label for every form field, sizes in human units, and times in the reader's time zone
(the cookie chosen on the time zone page, else the browser's, activated by middleware).
The browser-side checks (phone width, keyboard, no JavaScript) are in
tests/test_e2e_accessibility.py."""

from __future__ import annotations

import datetime
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from panel.core.models import Event, Task
from panel.monitoring.timezones import BROWSER_COOKIE, CHOSEN_COOKIE

pytestmark = pytest.mark.django_db

FIELDS = {"input", "select", "textarea"}
UNLABELLED_TYPES = {"hidden", "submit", "button", "image", "reset"}


class FormFields(HTMLParser):
    """Collects form fields, and which of them a label names (for=, or wrapping)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict] = []
        self.label_for: set[str] = set()
        self.open_labels = 0
        self.skip_link = False
        self.main_id = ""

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if attributes.get("for"):
                self.label_for.add(attributes["for"])
        elif tag in FIELDS and attributes.get("type", "text") not in UNLABELLED_TYPES:
            self.fields.append({**attributes, "tag": tag, "wrapped": self.open_labels > 0})
        elif tag == "a" and attributes.get("class") == "skip-link":
            self.skip_link = attributes.get("href") == "#main"
        elif tag == "main":
            self.main_id = attributes.get("id", "")

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels -= 1

    def unlabelled(self) -> list[str]:
        return [
            f"<{field['tag']} name={field.get('name')!r}>"
            for field in self.fields
            if not (
                field["wrapped"]
                or field.get("id") in self.label_for
                or field.get("aria-label")
                or field.get("aria-labelledby")
            )
        ]


@pytest.fixture
def pages(make_app, owner):
    app = make_app("labels", manifest={"healthCheckPath": "/", "httpPort": 8000})
    task = Task.objects.create(kind="install", app=app, app_label=str(app), state="succeeded")
    return {
        "dashboard": reverse("core:dashboard"),
        "app": reverse("core:app_detail", args=[app.pk]),
        "task": reverse("core:task_detail", args=[task.pk]),
        "events": reverse("core:events"),
        "store": reverse("apps_store:index"),
        "domains": reverse("domains:index"),
        "backup targets": reverse("backups:targets"),
        "notifications": reverse("monitoring:notifications"),
        "logs": reverse("monitoring:app_logs", args=[app.pk]),
        "terminal": reverse("monitoring:app_terminal", args=[app.pk]),
        "time zone": reverse("monitoring:timezone"),
        "account": reverse("accounts:profile"),
        "people": reverse("accounts:people"),
    }


def parse(client, path: str) -> FormFields:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    parser = FormFields()
    parser.feed(response.content.decode())
    return parser


def test_every_page_has_a_skip_link_and_every_field_a_label(owner_client, pages):
    unlabelled = {}
    for name, path in pages.items():
        parsed = parse(owner_client, path)
        assert parsed.skip_link and parsed.main_id == "main", name
        if parsed.unlabelled():
            unlabelled[name] = parsed.unlabelled()
    assert unlabelled == {}


def test_sizes_are_in_human_units(owner_client, make_app):
    app = make_app("sizes", memory_limit=256 * 1024 * 1024)
    page = owner_client.get(reverse("core:app_detail", args=[app.pk])).content.decode()
    assert "256.0\xa0MB" in page  # with a no-break space: never split over two lines
    assert "268435456" not in page


@pytest.fixture
def noon_event(make_app):
    event = Event.objects.create(action="install", app=make_app("zone"), message="zoned")
    noon = datetime.datetime(2026, 1, 15, 12, 0, tzinfo=datetime.UTC)
    Event.objects.filter(pk=event.pk).update(created_at=noon)
    return event


def event_row(client) -> str:
    page = client.get(reverse("core:events")).content.decode()
    return next(line for line in page.splitlines() if "zoned" in line)


def test_times_follow_the_chosen_zone_then_the_browsers_then_utc(owner_client, noon_event):
    assert "15 Jan 2026, 12:00 UTC" in event_row(owner_client)
    owner_client.cookies[BROWSER_COOKIE] = "America%2FNew_York"
    assert "15 Jan 2026, 07:00 EST" in event_row(owner_client)
    response = owner_client.post(reverse("monitoring:timezone"), {"timezone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert "15 Jan 2026, 21:00 JST" in event_row(owner_client)  # a choice wins
    owner_client.post(reverse("monitoring:timezone"), {"timezone": "browser"})
    assert "07:00 EST" in event_row(owner_client)


def test_a_zone_that_does_not_exist_is_refused_or_ignored(owner_client, noon_event):
    response = owner_client.post(
        reverse("monitoring:timezone"), {"timezone": "Mars/Olympus"}, follow=True
    )
    assert "&#x27;Mars/Olympus&#x27; is not a time zone" in response.content.decode()
    assert CHOSEN_COOKIE not in response.cookies or not response.cookies[CHOSEN_COOKIE].value
    owner_client.cookies[BROWSER_COOKIE] = "../../etc/passwd"
    assert "12:00 UTC" in event_row(owner_client)


def test_the_time_zone_page_sends_the_reader_back_but_never_off_site(owner_client):
    url = reverse("monitoring:timezone")
    back = owner_client.post(url, {"timezone": "Europe/Paris", "next": "/events/"})
    assert back["Location"] == "/events/"
    away = owner_client.post(url, {"timezone": "Europe/Paris", "next": "https://evil.example/"})
    assert away["Location"] == url
