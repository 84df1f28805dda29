//! The service's configuration: a TOML file, with `KITH_*` environment variables overriding it.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

/// Everything `kith serve` needs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub addr: String,
    /// Store URL (`sqlite:PATH` or `postgres://…`).
    pub db: String,
    /// Audit ledger URL; by default beside the store.
    pub audit_db: Option<String>,
    /// The ledger's checkpoint signing key; by default beside the ledger.
    pub audit_key: Option<PathBuf>,
    /// Information-sharing agreements (TOML files).
    pub agreements: PathBuf,
    /// Consents, relationships, opt-outs (a governance state directory with `state.json`).
    pub governance_state: Option<PathBuf>,
    /// Accepted token issuer and audience.
    pub issuer: String,
    pub audience: String,
    /// Public keys accepted for tokens (JWKS, Ed25519).
    pub jwks: PathBuf,
    /// Store connections for request handling.
    pub pool_size: usize,
    /// Where each local authority receives safeguarding notifications: LA code → `http://` URL.
    pub webhooks: std::collections::BTreeMap<String, String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: "127.0.0.1:8080".into(),
            db: "sqlite:kith-data/kith.db".into(),
            audit_db: None,
            audit_key: None,
            agreements: PathBuf::from("config/agreements"),
            governance_state: None,
            issuer: "https://kith.local/dev".into(),
            audience: "kith".into(),
            jwks: PathBuf::from("kith-data/dev-jwks.json"),
            pool_size: 8,
            webhooks: Default::default(),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read the configuration `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("configuration `{path}`: {message}")]
    Parse { path: String, message: String },
    #[error("environment variable `{name}`: {message}")]
    Env { name: String, message: String },
}

impl ServerConfig {
    /// Reads `path` (if given) and applies environment overrides from `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ServerConfig, ConfigError> {
        let mut config = match path {
            None => ServerConfig::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?
            }
        };
        let text = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = text("KITH_ADDR") {
            config.addr = v;
        }
        if let Some(v) = text("KITH_DB") {
            config.db = v;
        }
        if let Some(v) = text("KITH_AUDIT_DB") {
            config.audit_db = Some(v);
        }
        if let Some(v) = text("KITH_AUDIT_KEY") {
            config.audit_key = Some(v.into());
        }
        if let Some(v) = text("KITH_AGREEMENTS") {
            config.agreements = v.into();
        }
        if let Some(v) = text("KITH_GOVERNANCE_STATE") {
            config.governance_state = Some(v.into());
        }
        if let Some(v) = text("KITH_ISSUER") {
            config.issuer = v;
        }
        if let Some(v) = text("KITH_AUDIENCE") {
            config.audience = v;
        }
        if let Some(v) = text("KITH_JWKS") {
            config.jwks = v.into();
        }
        if let Some(v) = text("KITH_POOL_SIZE") {
            config.pool_size = v.parse().map_err(|_| ConfigError::Env {
                name: "KITH_POOL_SIZE".into(),
                message: format!("`{v}` is not a number of connections"),
            })?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kith.toml");
        std::fs::write(&path, "addr = \"0.0.0.0:9000\"\npool_size = 4\n").unwrap();
        let config = ServerConfig::load(Some(&path), |name| {
            (name == "KITH_POOL_SIZE").then(|| "2".to_string())
        })
        .unwrap();
        assert_eq!(config.addr, "0.0.0.0:9000");
        assert_eq!(config.pool_size, 2);
        assert_eq!(config.audience, "kith");
    }

    #[test]
    fn unknown_keys_and_bad_numbers_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kith.toml");
        std::fs::write(&path, "adress = \"x\"\n").unwrap();
        let err = ServerConfig::load(Some(&path), |_| None).unwrap_err();
        assert!(err.to_string().contains("adress"), "{err}");
        let err = ServerConfig::load(None, |name| {
            (name == "KITH_POOL_SIZE").then(|| "many".to_string())
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable `KITH_POOL_SIZE`: `many` is not a number of connections"
        );
    }
}
