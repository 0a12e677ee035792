// oidc-provider (panva's certified OpenID Provider) on loopback, for the Rust client's interop
// test (conformance/tests/interop_oidc_provider.rs).
//
//   node conformance/interop/oidc-provider.mjs [port] [--exit-with-stdin]
//
// Port 0 (the default) picks a free port. The first line on stdout is `issuer <URL>`; a test
// reads it. With --exit-with-stdin the provider stops when its standard input closes, so a test
// that dies without killing it does not leave it running.
//
// What it serves:
// - one confidential client, CLIENT below: client_secret_basic, a loopback redirect URI, grant
//   types authorization_code and refresh_token, PKCE (S256) required;
// - one user, ACCOUNT below, with email and profile claims, signed in and consenting
//   automatically: the interaction URL answers with a redirect back to the authorization
//   endpoint, so a plain HTTP client that keeps cookies reaches the redirect URI with a code;
// - RFC 8707 resource indicators: an authorization request naming RESOURCE gets a JWT access
//   token for it (RFC 9068, `typ: at+jwt`) with the resource scope `read`; without a resource the
//   access token is opaque and serves the UserInfo endpoint.
// - SIGNING_ALG_CLIENTS: the same client under other ids, with ES256 and EdDSA ID tokens.
// Keys are generated at start (RSA 2048, P-256, Ed25519) and live only as long as the process.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

export const CLIENT = {
  client_id: 'forge-interop',
  client_secret: 'forge-interop-secret',
  redirect_uris: ['http://127.0.0.1:8765/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
};

// The same client with ID tokens signed by the provider's EC and Ed25519 keys
// (id_token_signed_response_alg, OIDC Dynamic Client Registration 1.0 section 2).
export const SIGNING_ALG_CLIENTS = [
  { ...CLIENT, client_id: 'forge-interop-es256', id_token_signed_response_alg: 'ES256' },
  { ...CLIENT, client_id: 'forge-interop-eddsa', id_token_signed_response_alg: 'EdDSA' },
];

export const ACCOUNT = {
  // Not a UUID, as with most issuers: the client must accept any subject (RFC 9068 2.2).
  sub: 'carol-3f9a',
  email: 'carol@example.com',
  email_verified: true,
  name: 'Carol Danvers',
  given_name: 'Carol',
  family_name: 'Danvers',
};

export const RESOURCE = 'urn:oidc-forge:interop-api';

const args = process.argv.slice(2);
const exitWithStdin = args.includes('--exit-with-stdin');
const positional = args.filter((arg) => !arg.startsWith('--'));
const port = Number(positional[0] ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`usage: node oidc-provider.mjs [port] [--exit-with-stdin]; bad port ${positional[0]}`);
  process.exit(2);
}

// One key per algorithm; the kid names the run so a stale cache can never match.
const run = randomBytes(4).toString('hex');
const signingKeys = [
  [generateKeyPairSync('rsa', { modulusLength: 2048 }), 'RS256'],
  [generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ES256'],
  [generateKeyPairSync('ed25519'), 'EdDSA'],
].map(([pair, alg]) => ({
  ...pair.privateKey.export({ format: 'jwk' }),
  kid: `interop-${alg.toLowerCase()}-${run}`,
  alg,
  use: 'sig',
}));

// The issuer URL holds the port, so bind first and build the provider once the port is known.
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [CLIENT, ...SIGNING_ALG_CLIENTS],
  jwks: { keys: signingKeys },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  scopes: ['openid', 'offline_access', 'email', 'profile'],
  async findAccount(_ctx, sub) {
    if (sub !== ACCOUNT.sub) return undefined;
    return {
      accountId: ACCOUNT.sub,
      async claims() {
        return { ...ACCOUNT };
      },
    };
  },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      // The resource named in the authorization request is the one the code grants, without
      // the client repeating it at the token endpoint (RFC 8707 2.2 allows either).
      useGrantedResource: async () => true,
      async getResourceServerInfo(_ctx, resourceIndicator) {
        if (resourceIndicator !== RESOURCE) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: 'read',
          accessTokenFormat: 'jwt',
          accessTokenTTL: 600,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  interactions: {
    url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
  },
});

// The auto-completing interaction: login as ACCOUNT, then a Grant for whatever consent is
// missing, each time redirecting back to the authorization endpoint to resume.
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([\w-]+)$/.exec(ctx.path);
  if (!match || ctx.method !== 'GET') return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  let result;
  switch (details.prompt.name) {
    case 'login':
      result = { login: { accountId: ACCOUNT.sub } };
      break;
    case 'consent': {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      const missing = details.prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      result = { consent: { grantId: await grant.save() } };
      break;
    }
    default:
      ctx.status = 500;
      ctx.body = `unexpected prompt ${details.prompt.name}`;
      return undefined;
  }
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: details.prompt.name !== 'login',
  });
  ctx.status = 303;
  ctx.redirect(returnTo);
  return undefined;
});

// Errors the provider reports go to stderr, so a failing test shows the issuer's reason.
for (const event of [
  'server_error',
  'authorization.error',
  'grant.error',
  'userinfo.error',
  'jwks.error',
  'discovery.error',
  'introspection.error',
  'revocation.error',
]) {
  provider.on(event, (...eventArgs) => {
    const error = eventArgs.find((arg) => arg instanceof Error);
    console.error(`oidc-provider ${event}: ${error?.message ?? ''} ${error?.error_description ?? ''}`.trim());
  });
}

server.on('request', provider.callback());
console.log(`issuer ${issuer}`);
console.log(`client ${CLIENT.client_id} redirect_uri ${CLIENT.redirect_uris[0]} resource ${RESOURCE}`);

const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (exitWithStdin) {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
