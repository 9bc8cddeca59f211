#!/bin/sh
# The LDAP settings come from the addon's variables at every start: they may change.
set -eu
mkdir -p /run/apache
cat > /run/apache/ldap.conf <<CONF
<Location /private>
    AuthType Basic
    AuthName "Hearth"
    AuthBasicProvider ldap
    AuthLDAPURL "${HEARTH_LDAP_URL}/${HEARTH_LDAP_USERS_BASE_DN}?uid?one"
    AuthLDAPBindDN "${HEARTH_LDAP_BIND_DN}"
    AuthLDAPBindPassword "${HEARTH_LDAP_BIND_PASSWORD}"
    Require valid-user
</Location>
CONF
exec apache2 -f /app/code/httpd.conf -DFOREGROUND
