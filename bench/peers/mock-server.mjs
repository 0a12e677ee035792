// oauth2-mock-server, signing RS256 with the same key oidc-forge uses. It accepts any client
// credentials. Started by bench/peers/run.sh.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OAuth2Server } from 'oauth2-mock-server';

const port = Number(process.env.PORT);
const pem = readFileSync(process.env.KEY_PEM, 'utf8');
const jwk = { ...createPrivateKey(pem).export({ format: 'jwk' }), kid: 'forge-rs256', alg: 'RS256', use: 'sig' };

const server = new OAuth2Server();
await server.issuer.keys.add(jwk);
await server.start(port, '127.0.0.1');
console.log(`oauth2-mock-server listening on ${port}`);
