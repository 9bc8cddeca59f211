<?php
/*
 * Hearth: DokuWiki's configuration folder is /app/data/conf, so that what the wiki writes
 * (its settings, users, ACL, plugin choices) is backed up and survives updates. Debian's
 * inc/preload.php includes this file first and keeps its own defaults in /etc/dokuwiki.
 */
if (!defined('DOKU_CONF')) define('DOKU_CONF', '/app/data/conf/');
