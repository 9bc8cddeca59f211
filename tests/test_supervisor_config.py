"""The supervisord config `hearth up` writes: the platform's processes get the settings the
owner gave in the environment, and the file that holds them is readable by root only."""

from __future__ import annotations

import configparser
import stat

from django.core.management import call_command


def test_every_hearth_setting_reaches_the_supervised_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("HEARTH_SMTP_HOST", "mail.example.net")
    monkeypatch.setenv("HEARTH_SMTP_PASSWORD", 'p%w"d')
    monkeypatch.setenv("DATABASE_URL", "postgres://hearth:secret@db/hearth")
    monkeypatch.setenv("UNRELATED_SETTING", "x")
    path = tmp_path / "supervisord.conf"
    call_command("writesupervisorconf", str(path))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(path.read_text())
    environment = parser["program:worker"]["environment"]
    assert 'HEARTH_SMTP_HOST="mail.example.net"' in environment
    # supervisord's own expansion (%) and quoting are escaped.
    assert 'HEARTH_SMTP_PASSWORD="p%%w\\"d"' in environment
    assert 'DATABASE_URL="postgres://hearth:secret@db/hearth"' in environment
    assert "UNRELATED_SETTING" not in environment
    assert environment.count("HEARTH_HOME=") == 1
