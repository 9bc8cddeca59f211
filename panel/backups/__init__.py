"""Backups: encrypted, deduplicated snapshots of apps with restic, and their restore.

Where things are:
- restic.py wraps the `restic` binary (no Django): one repository per BackupTarget, the
  password in the child's environment only, `--json` output parsed into BackupSummary and
  Snapshot. Snapshots are tagged app:<app id hex>, version:<v>, reason:<r>;
- storages/ holds one sub-package per kind of target (filesystem, s3) behind
  storages.base.BackupStorage, in the registry of storages/__init__.py: each checks that it
  can write, list and delete there, and gives restic's repository location and environment;
- services.py: create_target (check, open or init the repository, save; the generated
  password is the recovery key the owner sees once), backup_app (addons.services'
  backup_app_addons + app.json into a stable per-app staging folder → restic → a Backup row),
  restore_app (read the snapshot and take a pre-restore backup before touching anything,
  stop, restore_app_addons, start and health check; on failure the pre-restore backup is put
  back), request_backup / request_restore (one task per app), prune_app_backups,
  check_target;
- operations.py runs the "backup" and "restore" Task kinds on the worker (Celery task
  backups.run_task in tasks.py): a backup leaves the app's state alone, a restore goes
  pending_restart → restarting → running (error only if even the rollback failed);
- the app page's Backups section is templatetags/backups.py's {% app_backups app %} (with
  the per-app automatic-backups switch); the admin page of targets is /backups/targets/,
  each with an edit page (name, schedules, retention, S3 keys) and a remove button;
- schedule.py (no Django) says when a cron schedule is due (`due_slot`: one run per minute,
  a missed run caught up once) and checks retention policies; scheduled.py is what Celery
  beat's backups.run_schedules does every minute: claim the due minute of each target, queue
  a "scheduled" backup of every app with automatic backups on, then retention once they are
  done; `restic check` on its own schedule, failures alerting the admins;
- encryption.py + fields.py: the recovery key and S3 secret key are Fernet-encrypted in the
  database, with a key file (0600) under HEARTH_HOME;
- api.py: /api/v1/apps/<id>/backups/ (GET list, POST {"target": id}) and
  /api/v1/apps/<id>/backups/<backup id>/restore/ (POST).
"""
