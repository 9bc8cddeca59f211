#!/bin/sh
# The OpenID Connect settings come from the addon's variables at every start: they may change.
set -eu
mkdir -p /run/apache
cat > /run/apache/oidc.conf <<CONF
OIDCProviderMetadataURL ${HEARTH_OIDC_DISCOVERY_URL}
OIDCClientID ${HEARTH_OIDC_CLIENT_ID}
OIDCClientSecret ${HEARTH_OIDC_CLIENT_SECRET}
OIDCRedirectURI /callback
OIDCCryptoPassphrase $(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
OIDCScope "openid profile email"
OIDCRemoteUserClaim preferred_username
OIDCProviderTokenEndpointAuth client_secret_basic
<Location /private>
    AuthType openid-connect
    Require valid-user
</Location>
<Location /callback>
    AuthType openid-connect
    Require valid-user
</Location>
CONF
exec apache2 -f /app/code/httpd.conf -DFOREGROUND
