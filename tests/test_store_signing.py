"""Release signatures: the store key, canonical documents, and what release_problem refuses."""

from __future__ import annotations

import stat

import pytest
from django.test import override_settings

from apps_store.models import Release, StoreApp
from apps_store.services import release_problem, sign_release, store_public_key
from apps_store.signing import (
    SignatureProblem,
    canonical_json,
    load_or_create_private_key,
    public_key_text,
    sign_document,
    verify_document,
)

MANIFEST = {
    "manifestVersion": 2,
    "id": "io.hearth.example",
    "title": "Example",
    "version": "1.2.0",
    "healthCheckPath": "/",
    "httpPort": 8000,
}


def test_the_signing_key_is_made_once_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "keys" / "store_signing_key"
    first = load_or_create_private_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_key_text(load_or_create_private_key(path)) == public_key_text(first)
    assert [p.name for p in path.parent.iterdir()] == ["store_signing_key"]


def test_canonical_json_ignores_key_order_and_spacing_but_not_content():
    assert canonical_json({"b": 1, "a": [1, "é"]}) == canonical_json({"a": [1, "é"], "b": 1})
    assert canonical_json({"a": 1}) != canonical_json({"a": 2})


def test_a_signature_verifies_only_for_the_same_document_and_a_trusted_key(tmp_path):
    key = load_or_create_private_key(tmp_path / "k")
    public = public_key_text(key)
    document = {"manifest": MANIFEST, "digest": "sha256:" + "1" * 64}
    signature = sign_document(key, document)
    verify_document(document, signature, public, {public})

    with pytest.raises(SignatureProblem, match="changed after it was signed"):
        verify_document({**document, "digest": "sha256:" + "2" * 64}, signature, public, {public})
    with pytest.raises(SignatureProblem, match="does not trust"):
        verify_document(document, signature, public, set())
    with pytest.raises(SignatureProblem, match="not signed"):
        verify_document(document, "", public, {public})
    with pytest.raises(SignatureProblem, match="not an Ed25519 public key"):
        verify_document(document, signature, "bm90IGEga2V5", {"bm90IGEga2V5"})


@pytest.fixture
def release(db):
    store_app = StoreApp.objects.create(app_id="io.hearth.example", title="Example")
    release = Release(
        store_app=store_app,
        version="1.2.0",
        sort_key="000001.000002.000000~",
        manifest=MANIFEST,
        image="127.0.0.1:5000/hearth/apps/io.hearth.example:1.2.0",
        image_digest="sha256:" + "a" * 64,
        changelog="Faster.",
    )
    sign_release(release)
    release.save()
    return Release.objects.get(pk=release.pk)


def test_a_release_signed_here_carries_this_hearths_key_and_survives_the_database(release):
    assert release.signing_key == store_public_key()
    assert release.published_at.microsecond == 0
    assert "cannot be trusted" not in release_problem(release)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"manifest": {**MANIFEST, "httpPort": 9000}}, "changed after it was signed"),
        ({"image_digest": "sha256:" + "b" * 64}, "changed after it was signed"),
        ({"changelog": "Sneaky."}, "changed after it was signed"),
        ({"signature": ""}, "it is not signed"),
    ],
)
def test_release_problem_refuses_a_release_changed_after_signing_and_says_why(
    release, change, expected
):
    for field, value in change.items():
        setattr(release, field, value)
    problem = release_problem(release)
    assert problem.startswith("Release io.hearth.example@1.2.0 cannot be trusted")
    assert expected in problem


def test_release_problem_refuses_a_release_signed_by_a_key_nobody_trusts(release, tmp_path):
    other = load_or_create_private_key(tmp_path / "other")
    release.signing_key = public_key_text(other)
    from apps_store.services import signed_release_document

    release.signature = sign_document(other, signed_release_document(release))
    assert "which this Hearth does not trust" in release_problem(release)
    with override_settings(HEARTH_STORE_TRUSTED_KEYS=[public_key_text(other)]):
        assert "cannot be trusted" not in release_problem(release)
