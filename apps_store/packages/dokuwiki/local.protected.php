<?php
/* Set by the Hearth package; the admin pages cannot change these. */
$conf['savedir'] = '/app/data/data';
// The host has no reason to call dokuwiki.org on every admin page view.
$conf['updatecheck'] = 0;
// The wiki lives wherever Hearth put it; the origin may change between starts.
$conf['baseurl'] = (string) getenv('HEARTH_APP_ORIGIN');
