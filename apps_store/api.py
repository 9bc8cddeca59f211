"""The store's public HTTP interface: what another Hearth syncs from.

Public on purpose: a store only distributes signed releases, and holds nothing secret.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from apps_store.services import store_public_key
from apps_store.signing import key_fingerprint
from apps_store.sync import build_store_index


@require_GET
def store_index(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(build_store_index(), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def store_key(request: HttpRequest) -> JsonResponse:
    key = store_public_key()
    return JsonResponse({"publicKey": key, "fingerprint": key_fingerprint(key)})
