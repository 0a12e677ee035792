//! Conformance scenarios for oidc-forge: the client's API and web flows run against the issuer,
//! valid and hostile, each with a spec citation. The scenario table and its runner arrive with
//! the conformance issue; this crate holds their place in the workspace.
