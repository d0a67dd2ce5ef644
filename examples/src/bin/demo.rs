//! `cargo run --bin demo`: the demo server. Configuration: see `typed_sessions_examples::config`.

use metrics_exporter_prometheus::PrometheusBuilder;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;
use typed_sessions_examples::config::DemoConfig;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let config = DemoConfig::from_vars(|name| std::env::var(name).ok())?;
    if config.key_generated {
        tracing::warn!(
            "SESSION_SECRET is unset: using a random key, so sessions end when the server stops"
        );
    }
    let layer = config.layer().await?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let store = config.store_name();
    tracing::info!(
        addr = %config.addr,
        %store,
        csrf = config.csrf,
        metrics = config.metrics,
        "demo listening"
    );
    let mut app = typed_sessions_examples::app_with(layer, config.options());
    if config.metrics {
        let recorder = PrometheusBuilder::new()
            .install_recorder()
            .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
        app = app.merge(typed_sessions_examples::metrics_route(recorder));
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(typed_sessions_examples::shutdown())
        .await
        .map_err(|e| format!("server failed: {e}"))?;
    tracing::info!("demo stopped: every request in flight was answered");
    Ok(())
}
