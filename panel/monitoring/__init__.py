"""Monitoring: live logs, health, resource graphs, notifications, the System page, terminals.

Where things are:
- websockets (routes in panel/core/routing.py): ws/apps/<id>/logs/ (consumers.AppLogConsumer,
  resumable by Docker timestamp and logPaths positions, rotations included), ws/apps/<id>/
  terminal/ (TerminalConsumer, admins; it also types the manifest's documented commands,
  commands.py), ws/notifications/ (the unread badge); the task and progress sockets are
  panel.core.consumers';
- beat (CELERY_BEAT_SCHEDULE): monitoring.check_health and monitoring.sample_metrics every
  minute, monitoring.rotate_logs every ten minutes (tasks.py); the beat process runs the
  light Celery app of beat.py (no Django apps, no task modules);
- timezones.py: the middleware that shows times in the reader's zone (a cookie);
- health.py judges an app from what services.look_at_app saw; services.py writes verdicts,
  events and alerts; rrd.py is the round-robin slot arithmetic, metrics.py its store;
- notifications.notify_admins(kind, title, message, app=...) is how any part of Hearth alerts
  the admins: a notification each, a push to their open pages, one mail through EMAIL_*
  (HEARTH_SMTP_HOST, _PORT, _USER, _PASSWORD, _STARTTLS, _TLS; HEARTH_MAIL_FROM). Failed
  events of some actions are turned into alerts by signals.py without any call.
"""
