<?php
/*
 * Hearth: everything comes from the environment Hearth gives the app at every start (the
 * mysql addon's credentials, the app's origin), so a moved or restored app just works.
 * Debian's /usr/share/wordpress/wp-config.php loads this file.
 */
define('DB_NAME', getenv('HEARTH_MYSQL_DATABASE'));
define('DB_USER', getenv('HEARTH_MYSQL_USERNAME'));
define('DB_PASSWORD', getenv('HEARTH_MYSQL_PASSWORD'));
define('DB_HOST', getenv('HEARTH_MYSQL_HOST') . ':' . getenv('HEARTH_MYSQL_PORT'));
define('DB_CHARSET', 'utf8mb4');

define('WP_HOME', getenv('HEARTH_APP_ORIGIN'));
define('WP_SITEURL', getenv('HEARTH_APP_ORIGIN'));

// Uploads, plugins and themes the owner adds live in the backed-up data folder; the code and
// Debian's themes stay in the read-only image.
define('WP_CONTENT_DIR', '/app/data/wp-content');
define('WP_CONTENT_URL', getenv('HEARTH_APP_ORIGIN') . '/wp-content');
define('WPMU_PLUGIN_DIR', '/app/code/mu-plugins');
define('WPMU_PLUGIN_URL', getenv('HEARTH_APP_ORIGIN') . '/mu-plugins');
define('FS_METHOD', 'direct');

// Updates come as new releases of this package; wp-cron runs from Hearth's scheduler.
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('DISABLE_WP_CRON', true);

// Keys and salts made on the first start, kept with the data.
require '/app/data/wp-salts.php';
