"""The Celery app of the beat process: it only puts the schedule's task names on the queue.

The worker's app (panel.celery) sets Django up and imports every task module, and with them
Docker's, restic's, boto3's and acme's clients; beat needs none of that, only the settings
(broker, queue, schedule), so it runs this app instead and stays a fraction of the size.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings")

# No Django fixup: it would run django.setup() and load every app for nothing.
# Not the current app either: imported anywhere else, it must not take panel.celery's place.
app = Celery("hearth", fixups=[], set_as_current=False)
app.config_from_object("django.conf:settings", namespace="CELERY")
