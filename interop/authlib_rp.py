"""A relying party built on Authlib (requests client, OIDC core claims),
with its defaults (private_key_jwt assertions valid for an hour), driven
by crates/cli/tests/interop.rs; the protocol is in openid_client.mjs."""

import secrets
import urllib.parse
import warnings

# authlib.jose still works in 1.x; its deprecation notice is not ours.
warnings.simplefilter("ignore")

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oidc.core import CodeIDToken
from joserfc.jwk import ECKey

from rp_lines import Backchannel, hear, say

backchannel = Backchannel()
key = JsonWebKey.generate_key("EC", "P-256", is_private=True, options={"kid": "authlib-1"})
public = dict(key.as_dict(is_private=False), use="sig", alg="ES256")
say({"event": "ready", "backchannel_uri": backchannel.uri, "jwks": {"keys": [public]}})

reg = hear()
meta = requests.get(reg["issuer"] + "/.well-known/openid-configuration", timeout=10).json()
method = reg["auth_method"]
if method == "private_key_jwt":
    session = OAuth2Session(
        reg["client_id"],
        # Authlib's private_key_jwt signs with a joserfc key (an RSA one
        # unless given a key object).
        ECKey.import_key(key.as_dict(is_private=True)),
        scope=reg.get("scope") or "openid profile email",
        redirect_uri=reg["redirect_uri"],
        code_challenge_method="S256",
        token_endpoint_auth_method="private_key_jwt",
    )
    session.register_client_auth_method(PrivateKeyJWT(meta["token_endpoint"], alg="ES256"))
else:
    session = OAuth2Session(
        reg["client_id"],
        reg.get("client_secret"),
        scope=reg.get("scope") or "openid profile email",
        redirect_uri=reg["redirect_uri"],
        code_challenge_method="S256",
        token_endpoint_auth_method=method,
    )

verifier = secrets.token_urlsafe(48)
nonce = secrets.token_urlsafe(16)
url, state = session.create_authorization_url(meta["authorization_endpoint"], nonce=nonce, code_verifier=verifier)
say({"event": "authorize", "url": url})

callback = hear()["callback"]
token = session.fetch_token(
    meta["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state
)
jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
claims = jwt.decode(
    token["id_token"],
    jwks,
    claims_cls=CodeIDToken,
    claims_options={"iss": {"essential": True, "value": reg["issuer"]}},
    claims_params={"nonce": nonce, "client_id": reg["client_id"]},
)
claims.validate()
userinfo = session.get(meta["userinfo_endpoint"]).json()
say({"event": "logged_in", "id_token_claims": dict(claims), "userinfo": userinfo})

# Authlib builds no end-session URL; the parameters are RP-Initiated Logout's.
end = meta["end_session_endpoint"] + "?" + urllib.parse.urlencode(
    {
        "id_token_hint": token["id_token"],
        "post_logout_redirect_uri": reg["post_logout_redirect_uri"],
        "state": "kijelentkezve",
    }
)
say({"event": "logout", "url": end})
hear()

logout_token = backchannel.token()
header = jwt.decode(logout_token, jwks).header
assert header.get("typ") == "logout+jwt", header
logout = jwt.decode(
    logout_token,
    jwks,
    claims_options={
        "iss": {"essential": True, "value": reg["issuer"]},
        "aud": {"essential": True, "value": reg["client_id"]},
        "events": {"essential": True},
        "sid": {"essential": True},
    },
)
logout.validate()
assert "http://schemas.openid.net/event/backchannel-logout" in logout["events"], logout
assert "nonce" not in logout, logout
say({"event": "backchannel", "claims": dict(logout)})
say({"event": "done"})
