// A real OpenID provider (the certified `oidc-provider` package) for the
// sign-in tests and, when asked, for `make run`. Staff "sign in" by typing the
// name of an account from the configuration file; the provider then runs the
// whole authorization code flow with PKCE, signs ID tokens with a key made at
// start, and enforces its own code lifetime and single use.
//
//   OIDC_TEST_CONFIG=path/to/config.json node tests/oidc/provider.mjs
//
// config.json: {"port": 8611, "issuer": "http://127.0.0.1:8611",
//   "clients": [{"client_id": "...", "client_secret": "...", "redirect_uris": ["..."]}],
//   "accounts": {"login": {"name": "...", "organisation_sor": "...", "role": "..."}},
//   "claims": {"tvaerakut": ["organisation_sor", "role"]}, "code_ttl": 60}
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.env.OIDC_TEST_CONFIG, 'utf8'));
const port = Number(config.port);
const issuer = config.issuer || `http://127.0.0.1:${port}`;
const accounts = config.accounts || {};
const scopeClaims = config.claims || { tvaerakut: ['organisation_sor', 'role'] };

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(16).toString('hex')] },
  pkce: { required: () => true },
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], profile: ['name', 'given_name', 'family_name'], ...scopeClaims },
  ttl: { AuthorizationCode: Number(config.code_ttl || 60) },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    if (!Object.hasOwn(accounts, sub)) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...accounts[sub] }) };
  },
  // First-party sign-in: the organisation has agreed for its staff, so no consent screen.
  async loadExistingGrant(ctx) {
    const { Grant } = ctx.oidc.provider;
    const grantId = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await Grant.find(grantId);
      if (existing) return existing;
    }
    const grant = new Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(ctx.oidc.params.scope);
    await grant.save();
    return grant;
  },
});

function page(res, uid, message) {
  res.writeHead(message ? 400 : 200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>Test identity provider</title>
<form method="post" action="/interaction/${uid}/login">${message ? `<p>${message}</p>` : ''}
<label for="login">Account</label><input id="login" name="login"><button type="submit">Sign in</button></form>`);
}

const handle = provider.callback();
const server = createServer(async (req, res) => {
  const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(req.url.split('?')[0]);
  if (!match) return handle(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') return page(res, details.uid);
    let body = '';
    for await (const chunk of req) body += chunk;
    const login = new URLSearchParams(body).get('login') || '';
    if (!Object.hasOwn(accounts, login)) return page(res, details.uid, 'Unknown account');
    return await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  } catch (error) {
    res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end(String(error && error.message));
  }
});
server.listen(port, '127.0.0.1', () => console.log(`listening on ${issuer}`));
