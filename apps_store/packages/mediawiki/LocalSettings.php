<?php
/*
 * Hearth: MediaWiki's settings, copied to /run/LocalSettings.php at every start. Everything that varies comes from the environment Hearth gives
 * the app at every start (the postgresql addon's credentials, the app's origin); secrets made
 * on first start and the owner's own settings live in /app/data.
 */
if (!defined('MEDIAWIKI')) {
    exit;
}

$wgSitename = 'Wiki';
$wgMetaNamespace = 'Project';
$wgServer = getenv('HEARTH_APP_ORIGIN');
$wgScriptPath = '';
$wgResourceBasePath = $wgScriptPath;
$wgLogos = ['1x' => "$wgResourceBasePath/resources/assets/change-your-logo.svg"];

$wgDBtype = 'postgres';
$wgDBserver = getenv('HEARTH_POSTGRESQL_HOST');
$wgDBport = getenv('HEARTH_POSTGRESQL_PORT');
$wgDBname = getenv('HEARTH_POSTGRESQL_DATABASE');
$wgDBuser = getenv('HEARTH_POSTGRESQL_USERNAME');
$wgDBpassword = getenv('HEARTH_POSTGRESQL_PASSWORD');
$wgDBmwschema = 'mediawiki';

$wgEnableEmail = (bool) getenv('HEARTH_MAIL_SMTP_SERVER');
$wgPasswordSender = getenv('HEARTH_MAIL_FROM') ?: 'wiki@localhost';
$wgEmergencyContact = $wgPasswordSender;

// The root is read-only: caches in /tmp, uploads in the backed-up data folder.
$wgMainCacheType = CACHE_ACCEL;
$wgCacheDirectory = '/tmp/mediawiki-cache';
$wgUploadDirectory = '/app/data/images';
$wgUploadPath = '/images';
$wgEnableUploads = true;
$wgTmpDirectory = '/tmp';

// Readers are anonymous; editing needs an account, made by the admin.
$wgGroupPermissions['*']['edit'] = false;
$wgGroupPermissions['*']['createaccount'] = false;

$wgDefaultSkin = 'vector';
wfLoadSkin('Vector');
wfLoadSkin('MonoBook');
$wgLanguageCode = 'en';
$wgDiff3 = '';

require '/app/data/secrets.php';
if (is_file('/app/data/LocalSettings.local.php')) {
    require '/app/data/LocalSettings.local.php';
}
