"""A relying party built on pyoidc (the `oic` package: OpenID Foundation
member code), with its defaults (userinfo by POST with the token in the
body, private_key_jwt with RS256), driven by crates/cli/tests/interop.rs;
the protocol is in openid_client.mjs."""

import urllib.parse

from Cryptodome.PublicKey import RSA
from jwkest.jwk import RSAKey
from oic import rndstr
from oic.oic import Client
from oic.oic.message import AuthorizationResponse, BackChannelLogoutRequest, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD
from oic.utils.keyio import KeyBundle

from rp_lines import Backchannel, hear, say

backchannel = Backchannel()
key = RSAKey(key=RSA.generate(2048), kid="pyoidc-1", use="sig", alg="RS256")
say({"event": "ready", "backchannel_uri": backchannel.uri, "jwks": {"keys": [key.serialize(private=False)]}})

reg = hear()
client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
own = KeyBundle()
own.append(key)
client.keyjar.add_kb("", own)
client.provider_config(reg["issuer"])
client.store_registration_info(
    RegistrationResponse(
        client_id=reg["client_id"],
        client_secret=reg.get("client_secret") or "",
        redirect_uris=[reg["redirect_uri"]],
        post_logout_redirect_uris=[reg["post_logout_redirect_uri"]],
        token_endpoint_auth_method=reg["auth_method"],
    )
)
client.redirect_uris = [reg["redirect_uri"]]

state, nonce = rndstr(), rndstr()
pkce, verifier = client.add_code_challenge()
args = {
    "client_id": client.client_id,
    "response_type": "code",
    "scope": (reg.get("scope") or "openid profile email").split(),
    "nonce": nonce,
    "redirect_uri": reg["redirect_uri"],
    "state": state,
}
args.update(pkce)
request = client.construct_AuthorizationRequest(request_args=args)
say({"event": "authorize", "url": request.request(client.authorization_endpoint)})

callback = hear()["callback"]
response = client.parse_response(
    AuthorizationResponse, info=urllib.parse.urlparse(callback).query, sformat="urlencoded"
)
assert response["state"] == state, response
method = reg["auth_method"]
token_args = {"code": response["code"], "code_verifier": verifier, "redirect_uri": reg["redirect_uri"]}
if method == "none":
    token_args["client_id"] = client.client_id
tokens = client.do_access_token_request(
    state=state,
    request_args=token_args,
    authn_method="" if method == "none" else method,
)
id_token = tokens["id_token"]
assert id_token["nonce"] == nonce, id_token
userinfo = client.do_user_info_request(state=state)
say({"event": "logged_in", "id_token_claims": id_token.to_dict(), "userinfo": userinfo.to_dict()})

end = client.construct_EndSessionRequest(
    state=state,
    request_args={"post_logout_redirect_uri": reg["post_logout_redirect_uri"], "state": "kijelentkezve"},
)
say({"event": "logout", "url": end.request(client.end_session_endpoint)})
hear()

logout = BackChannelLogoutRequest(logout_token=backchannel.token())
logout.verify(keyjar=client.keyjar, iss=reg["issuer"], aud=client.client_id)
claims = logout["logout_token"]
say({"event": "backchannel", "claims": claims.to_dict()})
say({"event": "done"})
