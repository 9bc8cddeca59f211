"""The mail server (Postfix/Dovecot): domains, mailboxes, aliases, DKIM. Not built yet."""
