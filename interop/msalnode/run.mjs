// Runs one flow of MSAL Node, unmodified, against the emulator, as the
// interop tests (../clients_test.go) ask: a JSON task as the first
// argument; one JSON line per token on stdout. An auth code flow prints
// {"authorize_url": ...} and reads the redirect URL it was sent to from
// stdin.
import * as msal from "@azure/msal-node";
import { createInterface } from "node:readline";
import { readFileSync, writeFileSync } from "node:fs";

const task = JSON.parse(process.argv[2]);
const out = (v) => process.stdout.write(JSON.stringify(v) + "\n");
const tokenLine = (r) => out({ access_token: r.accessToken, id_token: r.idToken || "", from_cache: r.fromCache, account: r.account ? r.account.homeAccountId : "" });

const auth = { clientId: task.client_id, authority: task.authority };
// The emulator's host: no instance discovery at the real login host.
if (task.authority) auth.knownAuthorities = [new URL(task.authority).host];
if (task.secret) auth.clientSecret = task.secret;
if (task.key_pem) {
  auth.clientCertificate = { thumbprintSha256: task.thumbprint_sha256, privateKey: task.key_pem };
  if (task.x5c_pem) auth.clientCertificate.x5c = task.x5c_pem;
}

async function main() {
  if (task.flow === "managed_identity") {
    const mi = new msal.ManagedIdentityApplication(task.client_id ? { managedIdentityIdParams: { userAssignedClientId: task.client_id } } : {});
    const r = await mi.acquireToken({ resource: task.resource });
    out({ access_token: r.accessToken, from_cache: r.fromCache, source: mi.getManagedIdentitySource() });
    const again = await mi.acquireToken({ resource: task.resource });
    out({ access_token: again.accessToken, from_cache: again.fromCache });
    return;
  }
  const app = new msal.ConfidentialClientApplication({ auth });
  if (task.cache_file) {
    try {
      app.getTokenCache().deserialize(readFileSync(task.cache_file, "utf8"));
    } catch (e) {
      if (e.code !== "ENOENT") throw e;
    }
  }
  await run(app);
  if (task.cache_file) writeFileSync(task.cache_file, app.getTokenCache().serialize(), { mode: 0o600 });
}

async function run(app) {
  switch (task.flow) {
    case "client_credentials":
      for (const scopes of task.scope_sets) tokenLine(await app.acquireTokenByClientCredential({ scopes }));
      return;
    case "obo":
      tokenLine(await app.acquireTokenOnBehalfOf({ oboAssertion: task.user_assertion, scopes: task.scope_sets[0] }));
      return;
    case "auth_code": {
      const crypto = new msal.CryptoProvider();
      const pkce = await crypto.generatePkceCodes();
      const url = await app.getAuthCodeUrl({ scopes: task.scope_sets[0], redirectUri: task.redirect_uri, codeChallenge: pkce.challenge, codeChallengeMethod: "S256", loginHint: task.username });
      out({ authorize_url: url });
      const rl = createInterface({ input: process.stdin });
      const redirected = await new Promise((resolve) => rl.once("line", resolve));
      rl.close();
      const code = new URL(redirected).searchParams.get("code");
      const r = await app.acquireTokenByCode({ code, scopes: task.scope_sets[0], redirectUri: task.redirect_uri, codeVerifier: pkce.verifier });
      tokenLine(r);
      tokenLine(await app.acquireTokenSilent({ account: r.account, scopes: task.scope_sets[0] }));
      tokenLine(await app.acquireTokenSilent({ account: r.account, scopes: task.scope_sets[0], forceRefresh: true }));
      return;
    }
    case "cache_read": {
      // A file another library wrote: its app token, its user's token
      // (both expected from the cache), then a refresh with its refresh
      // token.
      tokenLine(await app.acquireTokenByClientCredential({ scopes: task.scope_sets[0] }));
      const accounts = await app.getTokenCache().getAllAccounts();
      const account = accounts.find((a) => a.username === task.username);
      if (!account) throw new Error("no account in the cache file");
      tokenLine(await app.acquireTokenSilent({ account, scopes: task.scope_sets[1] }));
      tokenLine(await app.acquireTokenSilent({ account, scopes: task.scope_sets[1], forceRefresh: true }));
      return;
    }
  }
  throw new Error("unknown flow " + task.flow);
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + "\n");
  process.exit(1);
});
