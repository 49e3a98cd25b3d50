"""Runs one flow of MSAL Python (Debian's python3-msal), unmodified, against
the emulator, as the interop tests (../clients_test.go) ask: a JSON task as
the first argument; one JSON line per token on stdout. An auth code flow
prints {"authorize_url": ...} and reads the redirect URL from stdin.
The CA to trust comes from REQUESTS_CA_BUNDLE."""
import json
import sys
from urllib.parse import urlparse, parse_qsl

import msal


def out(v):
    sys.stdout.write(json.dumps(v) + "\n")
    sys.stdout.flush()


def token_line(r):
    if "access_token" not in r:
        raise SystemExit("error: %s: %s" % (r.get("error"), r.get("error_description")))
    out({"access_token": r["access_token"], "id_token": r.get("id_token", ""),
         "from_cache": r.get("token_source") == "cache"})


def main():
    task = json.loads(sys.argv[1])
    cache = msal.SerializableTokenCache()
    if task.get("cache_file"):
        try:
            with open(task["cache_file"]) as f:
                cache.deserialize(f.read())
        except FileNotFoundError:
            pass
    cred = task.get("secret")
    if task.get("key_pem"):
        cred = {"private_key": task["key_pem"], "thumbprint": task["thumbprint_sha1_hex"]}
        if task.get("x5c_pem"):
            cred["public_certificate"] = task["x5c_pem"]
    app = msal.ConfidentialClientApplication(
        task["client_id"], client_credential=cred, authority=task["authority"],
        instance_discovery=False, token_cache=cache)
    flow = task["flow"]
    if flow == "client_credentials":
        for scopes in task["scope_sets"]:
            token_line(app.acquire_token_for_client(scopes))
    elif flow == "obo":
        token_line(app.acquire_token_on_behalf_of(task["user_assertion"], task["scope_sets"][0]))
    elif flow == "auth_code":
        scopes = task["scope_sets"][0]
        f = app.initiate_auth_code_flow(scopes, redirect_uri=task["redirect_uri"], login_hint=task.get("username"))
        out({"authorize_url": f["auth_uri"]})
        redirected = sys.stdin.readline().strip()
        r = app.acquire_token_by_auth_code_flow(f, dict(parse_qsl(urlparse(redirected).query)))
        token_line(r)
        account = app.get_accounts()[0]
        token_line(app.acquire_token_silent(scopes, account))
        token_line(app.acquire_token_silent(scopes, account, force_refresh=True))
    elif flow == "cache_read":
        # A file another library wrote: its app token, its user's token
        # (both expected from the cache), then a refresh with its
        # refresh token.
        # MSAL Python 1.21's acquire_token_for_client never reads the
        # cache; its documented way to an app token from the cache is
        # acquire_token_silent with no account.
        token_line(app.acquire_token_silent(task["scope_sets"][0], account=None)
                   or {"error": "cache_miss", "error_description": "no app token in the cache"})
        accounts = app.get_accounts(username=task.get("username"))
        if not accounts:
            raise SystemExit("error: no account in the cache file")
        token_line(app.acquire_token_silent(task["scope_sets"][1], accounts[0]))
        token_line(app.acquire_token_silent(task["scope_sets"][1], accounts[0], force_refresh=True))
    else:
        raise SystemExit("unknown flow " + flow)
    if task.get("cache_file") and cache.has_state_changed:
        with open(task["cache_file"], "w") as f:
            f.write(cache.serialize())


main()
