// An RFC 8705 authorization server for the interop tests, built on
// oidc-provider. It listens twice with one TLS certificate: the issuer
// (no client certificate asked) and the mTLS endpoint alias (client
// certificate requested), which the discovery document advertises as
// mtls_endpoint_aliases.token_endpoint. It prints the two base URLs as
// one JSON line once both listen.
//
// Environment: SERVER_CERT, SERVER_KEY (PEM files), CLIENT_CERT (the PEM
// certificate the client "go-client" authenticates with, registered as
// self_signed_tls_client_auth).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import Provider from 'oidc-provider';

const tls = { key: fs.readFileSync(process.env.SERVER_KEY), cert: fs.readFileSync(process.env.SERVER_CERT) };
const clientCert = new crypto.X509Certificate(fs.readFileSync(process.env.CLIENT_CERT));
const clientJWK = { ...clientCert.publicKey.export({ format: 'jwk' }), x5c: [clientCert.raw.toString('base64')] };

const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
const plain = https.createServer(tls);
const mtls = https.createServer({ ...tls, requestCert: true, rejectUnauthorized: false });
const issuer = `https://localhost:${await listen(plain)}`;
const mtlsBase = `https://localhost:${await listen(mtls)}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'go-client',
    token_endpoint_auth_method: 'self_signed_tls_client_auth',
    tls_client_certificate_bound_access_tokens: true,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    jwks: { keys: [clientJWK] },
    scope: 'api:read',
  }],
  scopes: ['api:read'],
  clientAuthMethods: ['self_signed_tls_client_auth', 'private_key_jwt', 'client_secret_post'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      selfSignedTlsClientAuth: true,
      getCertificate(ctx) {
        const peer = ctx.socket.getPeerCertificate?.();
        return peer && peer.raw ? new crypto.X509Certificate(peer.raw) : undefined;
      },
    },
  },
  discovery: { mtls_endpoint_aliases: { token_endpoint: `${mtlsBase}/token` } },
});

const callback = provider.callback();
const handler = async (req, res) => {
  // Test-only: the certificate thumbprint a token is bound to.
  if (req.url.startsWith('/test/binding?')) {
    const token = new URL(req.url, issuer).searchParams.get('token');
    const found = await provider.ClientCredentials.find(token);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ found: Boolean(found), 'x5t#S256': found?.['x5t#S256'] ?? null }));
    return;
  }
  callback(req, res);
};
plain.on('request', handler);
mtls.on('request', handler);
process.stdout.write(`${JSON.stringify({ issuer, mtls: mtlsBase })}\n`);
