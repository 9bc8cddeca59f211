<?php
/*
 * Plugin Name: Hearth integration
 * Description: Debian's themes from the read-only image, and mail through the sendmail addon.
 */

register_theme_directory('/usr/share/wordpress/wp-content/themes');

add_action('phpmailer_init', function ($mailer) {
    $server = getenv('HEARTH_MAIL_SMTP_SERVER');
    if (!$server) {
        return;
    }
    $mailer->isSMTP();
    $mailer->Host = $server;
    $mailer->Port = (int) getenv('HEARTH_MAIL_SMTP_PORT');
    $mailer->SMTPAuth = true;
    $mailer->Username = getenv('HEARTH_MAIL_SMTP_USERNAME');
    $mailer->Password = getenv('HEARTH_MAIL_SMTP_PASSWORD');
    // The relay is on the app's own network and speaks plain SMTP.
    $mailer->SMTPSecure = '';
    $mailer->SMTPAutoTLS = false;
});

// The relay only accepts mail from the app's own address.
add_filter('wp_mail_from', function ($from) {
    return getenv('HEARTH_MAIL_FROM') ?: $from;
});

// On a Hearth whose domain has no dot (localhost, a LAN name) the app's own address is still
// valid; WordPress's is_email() would refuse it and no mail would ever leave.
add_filter('is_email', function ($result, $email, $context) {
    if ($context === 'domain_no_periods' && $email === getenv('HEARTH_MAIL_FROM')) {
        return $email;
    }
    return $result;
}, 10, 3);

// A mail that could not be sent shows in the app's log instead of vanishing.
add_action('wp_mail_failed', function ($error) {
    error_log('wp_mail failed: ' . $error->get_error_message());
});
