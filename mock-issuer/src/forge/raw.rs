//! The raw hook: a token made of header and claims text exactly as written (duplicate members,
//! odd shapes and a lying `alg` survive), signed as asked. For defects no [`Mutation`] names;
//! a valid token is better made with the builder ([`super::mint`]).
//!
//! [`Mutation`]: super::mutation::Mutation

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::attacker::attacker_key;
use super::mint::MintError;
use crate::keys::{RsaVariant, SigningKey};

/// Who signs a raw token.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum RawSigner<'a> {
    /// This key, under its own algorithm.
    Key(&'a SigningKey),
    /// This RSA key, under another RSA algorithm.
    RsaVariant(&'a SigningKey, RsaVariant),
    /// HMAC-SHA256 keyed with these bytes: a shared secret, or the issuer's public key for the
    /// key-confusion attack (CVE-2015-9235).
    Hs256(&'a [u8]),
    /// The attacker's key (RS256), which the issuer never publishes.
    Attacker,
}

/// `base64url(header).base64url(claims).base64url(signature)`, whatever `alg` the header names.
pub fn sign_raw(header: &str, claims: &str, signer: RawSigner<'_>) -> Result<String, MintError> {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let message = signing_input.as_bytes();
    let signature = match signer {
        RawSigner::Key(key) => key.sign_bytes(message),
        RawSigner::RsaVariant(key, variant) => key
            .sign_rsa_variant(variant, message)
            .ok_or_else(|| MintError::Keys(format!("`{}` is not an RSA key", key.kid())))?,
        RawSigner::Hs256(secret) => {
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
            aws_lc_rs::hmac::sign(&key, message).as_ref().to_vec()
        }
        RawSigner::Attacker => attacker_key()?.sign_bytes(message),
    };
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SigningAlg;
    use crate::keys::KeySet;

    #[test]
    fn every_rsa_variant_verifies_with_the_issuers_public_key() {
        use aws_lc_rs::signature::{
            RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512, RSA_PSS_2048_8192_SHA256,
            RSA_PSS_2048_8192_SHA384, RSA_PSS_2048_8192_SHA512, RsaPublicKeyComponents,
        };
        let keys = KeySet::embedded();
        let key = keys.signing_key(SigningAlg::RS256).unwrap();
        let component = |name: &str| {
            URL_SAFE_NO_PAD
                .decode(key.jwk()[name].as_str().unwrap())
                .unwrap()
        };
        let public = RsaPublicKeyComponents {
            n: component("n"),
            e: component("e"),
        };
        for variant in RsaVariant::ALL {
            let header = format!(r#"{{"alg":"{}"}}"#, variant.as_str());
            let token = sign_raw(&header, "{}", RawSigner::RsaVariant(key, variant)).unwrap();
            let (input, signature) = token.rsplit_once('.').unwrap();
            let params = match variant {
                RsaVariant::Rs384 => &RSA_PKCS1_2048_8192_SHA384,
                RsaVariant::Rs512 => &RSA_PKCS1_2048_8192_SHA512,
                RsaVariant::Ps256 => &RSA_PSS_2048_8192_SHA256,
                RsaVariant::Ps384 => &RSA_PSS_2048_8192_SHA384,
                RsaVariant::Ps512 => &RSA_PSS_2048_8192_SHA512,
            };
            public
                .verify(
                    params,
                    input.as_bytes(),
                    &URL_SAFE_NO_PAD.decode(signature).unwrap(),
                )
                .unwrap_or_else(|_| panic!("{} verifies", variant.as_str()));
            assert_eq!(RsaVariant::from_jose(variant.as_str()), Some(variant));
        }
        let es256 = keys.signing_key(SigningAlg::ES256).unwrap();
        assert!(sign_raw("{}", "{}", RawSigner::RsaVariant(es256, RsaVariant::Ps256)).is_err());
    }

    #[test]
    fn the_text_is_kept_as_written_and_hs256_is_keyed_with_the_bytes() {
        let header = r#"{"alg":"HS256","alg":"none"}"#;
        let claims = r#"{"sub":"a","sub":"b"}"#;
        let token = sign_raw(header, claims, RawSigner::Hs256(b"secret")).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[0]).unwrap(), header.as_bytes());
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[1]).unwrap(), claims.as_bytes());
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"secret");
        aws_lc_rs::hmac::verify(
            &key,
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
        )
        .unwrap();
    }
}
