//! Integration tests of every endpoint over real HTTP against an in-process issuer on
//! 127.0.0.1 port 0. One test binary, one module per endpoint.

mod support;

mod authorize;
mod cli;
mod discovery;
mod forge_admin;
mod forge_cli;
mod forge_faults;
mod forge_keys_users;
mod forge_mint;
mod forge_requests;
mod forge_token_response;
mod introspect_revoke;
mod limits;
mod logout;
mod properties;
mod revocation;
mod secrets;
mod shutdown;
mod snapshots;
mod stress;
mod tenants;
mod token;
mod userinfo;
