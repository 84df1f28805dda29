//! Authentication: OIDC-style JWT bearer tokens checked against configured Ed25519 keys.
//!
//! RS256, ES256 and EdDSA tokens are accepted from the keys in a JWKS (the identity provider's
//! public keys). A token's signature, expiry, audience and issuer are checked; its claims name the user
//! (`sub`), their organisation (`org`) and the roles they hold (`roles`). The caller selects one
//! role per request with the `X-Kith-Role` header (needed only when they hold several). Kith
//! can mint development tokens ([`DevKeys`]) for the demo; deployments configure their identity
//! provider's public keys as a JWKS file.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The claims Kith reads from a token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub org: String,
    pub roles: Vec<String>,
    /// The user's team, when their organisation assigns cases to teams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
}

/// Who is calling, with the one role selected for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub org: String,
    pub role: String,
    pub team: Option<String>,
}

impl Principal {
    pub fn actor(&self) -> governance::Actor {
        governance::Actor {
            user: self.user.clone(),
            org: self.org.clone(),
            role: self.role.clone(),
            team: self.team.clone(),
        }
    }
}

/// Why a request was not authenticated. Messages are safe to send to the caller.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("no bearer token: send `Authorization: Bearer <token>`")]
    Missing,
    #[error("the token has expired")]
    Expired,
    #[error("the token's signature does not match any configured key")]
    BadSignature,
    #[error("the token is for another audience")]
    WrongAudience,
    #[error("the token was issued by an unknown issuer")]
    WrongIssuer,
    #[error("the token cannot be read: {0}")]
    Malformed(String),
    #[error("role `{0}` is not one of the token's roles")]
    RoleNotHeld(String),
    #[error("the token carries several roles ({0}); choose one with the `X-Kith-Role` header")]
    RoleNotSelected(String),
    #[error("the token carries no roles")]
    NoRoles,
}

impl AuthError {
    /// A short code for the audit ledger.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::Expired => "expired",
            AuthError::BadSignature => "bad-signature",
            AuthError::WrongAudience => "wrong-audience",
            AuthError::WrongIssuer => "wrong-issuer",
            AuthError::Malformed(_) => "malformed",
            AuthError::RoleNotHeld(_) => "role-not-held",
            AuthError::RoleNotSelected(_) => "role-not-selected",
            AuthError::NoRoles => "no-roles",
        }
    }
}

/// Problems setting authentication up.
#[derive(Debug, Error)]
pub enum KeyError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("`{path}` is not a JWKS document with Ed25519 (OKP) keys: {why}")]
    Jwks { path: String, why: String },
    #[error("no randomness for a new signing key: {0}")]
    Randomness(String),
    #[error("`{path}` is not a Kith development signing key (32 bytes, hex): {why}")]
    DevKey { path: String, why: String },
    #[error("cannot sign the token: {0}")]
    Sign(String),
}

/// Token verification: the accepted keys, issuer and audience.
pub struct Verifier {
    /// Each accepted key with its id and the one algorithm it verifies.
    keys: Vec<(Option<String>, Algorithm, DecodingKey)>,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Verifier {
    /// A verifier for EdDSA tokens signed by any key in a JWKS file.
    pub fn from_jwks_file(path: &Path, issuer: &str, audience: &str) -> Result<Verifier, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Verifier::from_jwks(&text, issuer, audience).map_err(|why| KeyError::Jwks {
            path: path.display().to_string(),
            why,
        })
    }

    /// A verifier from JWKS text. RSA keys verify RS256, P-256 keys ES256 and Ed25519 keys
    /// EdDSA (or the algorithm a key's `alg` names); symmetric keys are refused, since anyone
    /// holding one could mint tokens.
    pub fn from_jwks(text: &str, issuer: &str, audience: &str) -> Result<Verifier, String> {
        use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
        let set: JwkSet = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut keys = Vec::new();
        for (index, jwk) in set.keys.iter().enumerate() {
            let default = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => {
                    Algorithm::ES384
                }
                AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
                AlgorithmParameters::OctetKey(_) => {
                    return Err(format!(
                        "key {index} is a shared secret; Kith accepts only public keys (RSA, EC, Ed25519)"
                    ));
                }
                _ => return Err(format!("key {index} is of a kind Kith does not accept")),
            };
            let algorithm = match jwk.common.key_algorithm {
                Some(named) => named
                    .to_string()
                    .parse::<Algorithm>()
                    .map_err(|_| format!("key {index}: algorithm `{named}` is not accepted"))?,
                None => default,
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key {index}: {e}"))?;
            keys.push((jwk.common.key_id.clone(), algorithm, key));
        }
        if keys.is_empty() {
            return Err("no keys".into());
        }
        Ok(Verifier {
            keys,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
        })
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        validation
    }

    /// Checks a token and selects the caller's role.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        selected_role: Option<&str>,
    ) -> Result<Principal, AuthError> {
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Malformed(e.to_string()))?;
        if !self
            .keys
            .iter()
            .any(|(_, algorithm, _)| *algorithm == header.alg)
        {
            return Err(AuthError::Malformed(format!(
                "algorithm {:?} is not accepted by any configured key",
                header.alg
            )));
        }
        let mut last = AuthError::BadSignature;
        for (kid, algorithm, key) in &self.keys {
            if *algorithm != header.alg {
                continue;
            }
            if let (Some(want), Some(have)) = (kid.as_deref(), header.kid.as_deref())
                && want != have
            {
                continue;
            }
            match jsonwebtoken::decode::<Claims>(token, key, &self.validation(*algorithm)) {
                Ok(data) => return select_role(data.claims, selected_role),
                Err(error) => {
                    use jsonwebtoken::errors::ErrorKind;
                    last = match error.kind() {
                        ErrorKind::ExpiredSignature => return Err(AuthError::Expired),
                        ErrorKind::InvalidAudience => return Err(AuthError::WrongAudience),
                        ErrorKind::InvalidIssuer => return Err(AuthError::WrongIssuer),
                        ErrorKind::InvalidSignature => AuthError::BadSignature,
                        other => AuthError::Malformed(format!("{other:?}")),
                    };
                }
            }
        }
        Err(last)
    }
}

fn select_role(claims: Claims, selected: Option<&str>) -> Result<Principal, AuthError> {
    let role = match (selected, claims.roles.as_slice()) {
        (_, []) => return Err(AuthError::NoRoles),
        (Some(role), roles) => {
            if !roles.iter().any(|r| r == role) {
                return Err(AuthError::RoleNotHeld(role.to_string()));
            }
            role.to_string()
        }
        (None, [only]) => only.clone(),
        (None, roles) => return Err(AuthError::RoleNotSelected(roles.join(", "))),
    };
    Ok(Principal {
        user: claims.sub,
        org: claims.org,
        role,
        team: claims.team,
    })
}

/// A development signing key kept in a file (hex seed, mode 0600), for `kith token` and the
/// demo. Deployments use their identity provider instead.
pub struct DevKeys {
    seed: [u8; 32],
}

impl std::fmt::Debug for DevKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevKeys(..)")
    }
}

/// The key id the development key signs with.
pub const DEV_KID: &str = "kith-dev-1";

impl DevKeys {
    /// Loads the key at `path`, creating it (readable by the owner only) if missing.
    pub fn load_or_create(path: &Path) -> Result<DevKeys, KeyError> {
        let show = || path.display().to_string();
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
                path: show(),
                source,
            })?;
            let bytes = decode_hex(text.trim()).ok_or_else(|| KeyError::DevKey {
                path: show(),
                why: "not hex".into(),
            })?;
            let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyError::DevKey {
                path: show(),
                why: "not 32 bytes".into(),
            })?;
            return Ok(DevKeys { seed });
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Randomness(e.to_string()))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| KeyError::Write {
                path: show(),
                source,
            })?;
        }
        let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        write_private(path, &hex).map_err(|source| KeyError::Write {
            path: show(),
            source,
        })?;
        Ok(DevKeys { seed })
    }

    /// A key from seed bytes (tests).
    pub fn from_seed(seed: [u8; 32]) -> DevKeys {
        DevKeys { seed }
    }

    fn public(&self) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(&self.seed)
            .verifying_key()
            .to_bytes()
    }

    /// The public key as a JWKS document.
    pub fn jwks(&self) -> String {
        serde_json::json!({
            "keys": [{
                "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": DEV_KID,
                "x": URL_SAFE_NO_PAD.encode(self.public()),
            }]
        })
        .to_string()
    }

    /// Signs a token for `claims`.
    pub fn sign(&self, claims: &Claims) -> Result<String, KeyError> {
        // PKCS#8 v1 wrapping of an Ed25519 seed (RFC 8410).
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&self.seed);
        let key = EncodingKey::from_ed_der(&der);
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(DEV_KID.into());
        jsonwebtoken::encode(&header, claims, &key).map_err(|e| KeyError::Sign(e.to_string()))
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "dr-patel".into(),
            org: "B86001".into(),
            roles: vec!["gp".into(), "safeguarding_lead".into()],
            team: None,
            iss: "https://idp.example".into(),
            aud: "kith".into(),
            exp,
            iat: 0,
        }
    }

    fn now() -> i64 {
        jiff::Timestamp::now().as_second()
    }

    #[test]
    fn a_signed_token_authenticates_with_a_selected_role() {
        let keys = DevKeys::from_seed([7; 32]);
        let verifier = Verifier::from_jwks(&keys.jwks(), "https://idp.example", "kith").unwrap();
        let token = keys.sign(&claims(now() + 600)).unwrap();
        let header = format!("Bearer {token}");
        let principal = verifier.authenticate(Some(&header), Some("gp")).unwrap();
        assert_eq!(principal.user, "dr-patel");
        assert_eq!(principal.role, "gp");
        assert_eq!(
            verifier.authenticate(Some(&header), None),
            Err(AuthError::RoleNotSelected("gp, safeguarding_lead".into()))
        );
        assert_eq!(
            verifier.authenticate(Some(&header), Some("social_worker")),
            Err(AuthError::RoleNotHeld("social_worker".into()))
        );
    }

    /// Test keys made with `openssl genpkey`; the JWKS carries their public halves.
    const RSA_PEM: &str = include_str!("../tests/keys/rsa.pem");
    const EC_PEM: &str = include_str!("../tests/keys/ec.pem");
    const RSA_N: &str = include_str!("../tests/keys/rsa.n");
    const EC_X: &str = include_str!("../tests/keys/ec.x");
    const EC_Y: &str = include_str!("../tests/keys/ec.y");

    #[test]
    fn rs256_and_es256_tokens_from_an_identity_provider_are_accepted() {
        let jwks = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "idp-rsa", "n": RSA_N.trim(), "e": "AQAB"},
            {"kty": "EC", "kid": "idp-ec", "crv": "P-256", "x": EC_X.trim(), "y": EC_Y.trim()},
        ]})
        .to_string();
        let verifier = Verifier::from_jwks(&jwks, "https://idp.example", "kith").unwrap();
        for (algorithm, pem, kid) in [
            (Algorithm::RS256, RSA_PEM, "idp-rsa"),
            (Algorithm::ES256, EC_PEM, "idp-ec"),
        ] {
            let key = match algorithm {
                Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
                _ => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            };
            let mut header = Header::new(algorithm);
            header.kid = Some(kid.into());
            let token = jsonwebtoken::encode(&header, &claims(now() + 600), &key).unwrap();
            let principal = verifier
                .authenticate(Some(&format!("Bearer {token}")), Some("gp"))
                .unwrap();
            assert_eq!(principal.org, "B86001", "{algorithm:?}");
        }
        // An EdDSA token is refused: no configured key verifies that algorithm.
        let ed = DevKeys::from_seed([7; 32])
            .sign(&claims(now() + 600))
            .unwrap();
        assert!(matches!(
            verifier.authenticate(Some(&format!("Bearer {ed}")), Some("gp")),
            Err(AuthError::Malformed(_))
        ));
        let secret = r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#;
        assert!(
            Verifier::from_jwks(secret, "i", "a")
                .unwrap_err()
                .contains("shared secret")
        );
    }

    #[test]
    fn expired_forged_and_misdirected_tokens_are_refused() {
        let keys = DevKeys::from_seed([7; 32]);
        let verifier = Verifier::from_jwks(&keys.jwks(), "https://idp.example", "kith").unwrap();
        let expired = keys.sign(&claims(now() - 3600)).unwrap();
        assert_eq!(
            verifier.authenticate(Some(&format!("Bearer {expired}")), Some("gp")),
            Err(AuthError::Expired)
        );
        let forged = DevKeys::from_seed([8; 32])
            .sign(&claims(now() + 600))
            .unwrap();
        assert_eq!(
            verifier.authenticate(Some(&format!("Bearer {forged}")), Some("gp")),
            Err(AuthError::BadSignature)
        );
        let mut other = claims(now() + 600);
        other.aud = "someone-else".into();
        let misdirected = keys.sign(&other).unwrap();
        assert_eq!(
            verifier.authenticate(Some(&format!("Bearer {misdirected}")), Some("gp")),
            Err(AuthError::WrongAudience)
        );
        assert_eq!(verifier.authenticate(None, None), Err(AuthError::Missing));
        assert!(matches!(
            verifier.authenticate(Some("Bearer not.a.token"), None),
            Err(AuthError::Malformed(_))
        ));
    }
}
