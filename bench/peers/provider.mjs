// panva's oidc-provider with one confidential client allowed client_credentials, issuing
// RS256 JWT access tokens through resource indicators (RFC 8707), signed with the same key
// oidc-forge uses (fixtures/keys/rs256.pem). Started by bench/peers/run.sh.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const pem = readFileSync(process.env.KEY_PEM, 'utf8');
const jwk = { ...createPrivateKey(pem).export({ format: 'jwk' }), kid: 'forge-rs256', alg: 'RS256', use: 'sig' };
const resource = 'urn:oidc-forge:bench';

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'forge-web',
    client_secret: 'forge-web-secret',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'read',
  }],
  scopes: ['read'],
  jwks: { keys: [jwk] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'read',
        audience: resource,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 3600,
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
});
// Errors are answered to the client; printing each one would only slow the peer down.
provider.on('server_error', (_ctx, err) => console.error(err));
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${port}`));
