# Dates and times as the dashboard shows them: unambiguous, 24-hour, with the zone they are
# in (the reader's, see panel.monitoring.timezones), e.g. "15 Jan 2026, 21:00 JST".
DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
