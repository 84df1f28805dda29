//! `kith serve` and `kith token`: the HTTP service and development tokens.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use server::auth::{Claims, DevKeys, Verifier};
use server::{AppState, Parts, ServerConfig};
use store::audit::{AuditLog, AuditOptions, AuditWriter};

use crate::cli::{ServeArgs, TokenArgs};

/// Where the development signing key lives, beside the store's data.
pub fn dev_key_path(config: &ServerConfig) -> PathBuf {
    config
        .jwks
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("dev-signing.key")
}

/// Creates (once) the development key and its JWKS, so `kith token` tokens are accepted.
pub fn ensure_dev_keys(config: &ServerConfig) -> Result<DevKeys> {
    let keys = DevKeys::load_or_create(&dev_key_path(config))?;
    if !config.jwks.exists() {
        if let Some(parent) = config.jwks.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        std::fs::write(&config.jwks, keys.jwks())
            .with_context(|| format!("cannot write `{}`", config.jwks.display()))?;
    }
    Ok(keys)
}

fn load_config(
    args_config: Option<&Path>,
    db: Option<&str>,
    addr: Option<&str>,
) -> Result<ServerConfig> {
    // The demo leaves its configuration here; an explicit --config always wins.
    let default_file = Path::new("kith-data/kith.toml");
    let file = args_config.or_else(|| default_file.exists().then_some(default_file));
    let mut config = ServerConfig::load(file, |name| std::env::var(name).ok())?;
    if let Some(db) = db {
        config.db = db.to_string();
    }
    if let Some(addr) = addr {
        config.addr = addr.to_string();
    }
    Ok(config)
}

/// Opens everything the service needs.
pub fn open_state(
    config: &ServerConfig,
    wake: safeguarding::delivery::Wake,
) -> Result<(AppState, AuditWriter)> {
    let audit_url = match &config.audit_db {
        Some(url) => url.clone(),
        None => store::audit::audit_url_for_store(&config.db)?,
    };
    let key_path = config
        .audit_key
        .clone()
        .unwrap_or_else(|| store::audit::default_key_path(&audit_url));
    let signer = store::audit::load_or_create_signer(&key_path).with_context(|| {
        format!(
            "cannot load the ledger signing key `{}`",
            key_path.display()
        )
    })?;
    let log = AuditLog::open(
        &audit_url,
        AuditOptions {
            signer: Some(signer),
            ..AuditOptions::default()
        },
    )
    .with_context(|| format!("cannot open the audit ledger `{audit_url}`"))?;
    let origin = log.origin().to_string();
    let reader = AuditLog::open(&audit_url, AuditOptions::default())?;
    let writer = AuditWriter::start(log);
    let audit = writer
        .handle()
        .context("the audit writer stopped as it started")?;
    let governance = match &config.governance_state {
        Some(dir) => governance::loader::load_state(dir, Some(&config.agreements)),
        None => governance::loader::load_state(&config.agreements, Some(&config.agreements)),
    }
    .with_context(|| {
        format!(
            "cannot load the information-sharing agreements from `{}`",
            config.agreements.display()
        )
    })?;
    if !config.jwks.exists() {
        ensure_dev_keys(config)?;
    }
    let verifier = Verifier::from_jwks_file(&config.jwks, &config.issuer, &config.audience)?;
    let state = AppState::open(Parts {
        store_url: config.db.clone(),
        pool_size: config.pool_size,
        governance,
        audit,
        audit_reader: reader,
        verifier,
        origin,
        wake,
    })?;
    Ok((state, writer))
}

pub fn serve(args: &ServeArgs) -> Result<()> {
    let config = load_config(
        args.config.as_deref(),
        args.db.as_deref(),
        args.addr.as_deref(),
    )?;
    serve_with(&config)
}

/// Runs the service until Ctrl-C or SIGTERM; every accepted request's audit entries are
/// committed before it returns.
pub fn serve_with(config: &ServerConfig) -> Result<()> {
    let wake = safeguarding::delivery::Wake::new();
    let (state, writer) = open_state(config, wake.clone())?;
    // Notifications to local authorities are delivered by a worker of their own, so a slow
    // webhook never holds up a clinician's request.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let delivery = {
        let store = store::Store::open(&config.db)
            .with_context(|| format!("cannot open the store `{}` for delivery", config.db))?;
        let delivery_config = safeguarding::delivery::DeliveryConfig {
            webhooks: config.webhooks.clone(),
            ..safeguarding::delivery::DeliveryConfig::default()
        };
        let (stop, wake) = (stop.clone(), wake.clone());
        std::thread::spawn(move || {
            let mut worker = safeguarding::delivery::Worker::new(
                store,
                delivery_config,
                safeguarding::delivery::HttpTransport::default(),
            );
            if let Err(error) = worker.run(&stop, &wake) {
                eprintln!("error: notification delivery stopped: {error}");
            }
        })
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&config.addr)
            .await
            .with_context(|| format!("cannot listen on `{}`", config.addr))?;
        let local = listener.local_addr()?;
        println!("kith serving on http://{local} (store {})", config.db);
        println!("  OpenAPI: http://{local}/openapi.json");
        axum::serve(listener, server::app(state))
            .with_graceful_shutdown(async {
                // Stop accepting on Ctrl-C or SIGTERM; requests in flight finish first.
                let ctrl_c = tokio::signal::ctrl_c();
                #[cfg(unix)]
                {
                    let mut term = match tokio::signal::unix::signal(
                        tokio::signal::unix::SignalKind::terminate(),
                    ) {
                        Ok(term) => term,
                        Err(_) => {
                            let _ = ctrl_c.await;
                            return;
                        }
                    };
                    tokio::select! {
                        _ = ctrl_c => {},
                        _ = term.recv() => {},
                    }
                }
                #[cfg(not(unix))]
                {
                    let _ = ctrl_c.await;
                }
            })
            .await
            .context("the server stopped with an error")?;
        anyhow::Ok(())
    })?;
    // Every accepted write's ledger entries are committed before the process ends.
    drop(runtime);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    wake.wake();
    let _ = delivery.join();
    writer
        .finish()
        .context("the audit ledger did not close cleanly")?;
    println!("kith stopped; every accepted request's audit entries are committed");
    Ok(())
}

/// Signs a development token for `user` at `org` with `roles`.
pub fn mint(
    config: &ServerConfig,
    user: &str,
    org: &str,
    roles: &[String],
    team: Option<&str>,
    hours: i64,
) -> Result<String> {
    let keys = ensure_dev_keys(config)?;
    let now = jiff::Timestamp::now().as_second();
    let claims = Claims {
        sub: user.to_string(),
        org: org.to_string(),
        roles: roles.to_vec(),
        team: team.map(str::to_string),
        iss: config.issuer.clone(),
        aud: config.audience.clone(),
        exp: now + hours * 3600,
        iat: now,
    };
    Ok(keys.sign(&claims)?)
}

pub fn token(args: &TokenArgs) -> Result<()> {
    let config = load_config(args.config.as_deref(), None, None)?;
    let token = mint(
        &config,
        &args.user,
        &args.org,
        &args.roles,
        args.team.as_deref(),
        args.hours,
    )?;
    println!("{token}");
    Ok(())
}
