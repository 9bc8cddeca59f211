"""The Addons page and the packaging guide's addon section, both generated from the registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from addons.reference import MARKDOWN_END, MARKDOWN_START, render_markdown, replace_section
from addons.registry import all_addons

pytestmark = pytest.mark.django_db


def test_the_addons_page_lists_every_addon_with_its_variables_and_options(owner_client):
    page = owner_client.get(reverse("addons:index")).content.decode()
    for addon in all_addons():
        assert f'id="addon-{addon.name}"' in page
        assert escape(addon.description) in page
        for variable in addon.variables:
            assert f"<code>{variable}</code>" in page
        for option in addon.options:
            assert f"<code>{escape(option)}</code>" in page


def test_the_addons_page_is_for_admins_only(outsider_client):
    assert outsider_client.get(reverse("addons:index")).status_code == 403
    assert Client().get(reverse("addons:index")).status_code == 302  # to the login page


def test_the_addons_page_refuses_post(owner_client):
    assert owner_client.post(reverse("addons:index")).status_code == 405


def test_the_markdown_reference_names_every_addon_variable_and_option():
    text = render_markdown()
    for addon in all_addons():
        assert f"| `{addon.name}` | {addon.description} |" in text
        assert all(f"`{v}`" in text for v in addon.variables)
        assert all(f"`{o}`" in text for o in addon.options)


def test_the_generated_section_is_replaced_in_place_and_verified(tmp_path, capsys):
    guide = tmp_path / "README.md"
    guide.write_text(f"# Guide\n\n{MARKDOWN_START}\nold table\n{MARKDOWN_END}\n\n## After\n")
    with pytest.raises(CommandError, match="out of date"):
        call_command("addonsreference", verify=str(guide))
    call_command("addonsreference", write=str(guide))
    text = guide.read_text()
    assert "old table" not in text
    assert text.startswith("# Guide\n\n") and text.endswith("\n## After\n")
    assert replace_section(text) == text
    call_command("addonsreference", verify=str(guide))


def test_the_packaging_guide_has_the_current_addon_reference():
    guide = Path(__file__).resolve().parent.parent / "docs" / "packaging.md"
    call_command("addonsreference", verify=str(guide))
