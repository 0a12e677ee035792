//! The `oidc-forge` command: run the issuer, or check and print configurations.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use oidc_forge::config::{Config, DEFAULT_CONFIG_TOML};
use oidc_forge::{MockIssuer, state::paths};

#[derive(Debug, Parser)]
#[command(
    name = "oidc-forge",
    version,
    about = "A local OpenID Connect issuer for tests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the issuer until Ctrl-C.
    Serve {
        /// Configuration file (TOML); without it, the embedded default.
        #[arg(long, short, env = "OIDC_FORGE_CONFIG")]
        config: Option<PathBuf>,
        /// Address to bind: loopback unless told otherwise.
        #[arg(long, default_value = "127.0.0.1", env = "OIDC_FORGE_HOST")]
        host: IpAddr,
        /// Port to bind; 0 picks a free one.
        #[arg(long, default_value_t = 9000, env = "OIDC_FORGE_PORT")]
        port: u16,
        /// Issuer identifier, when it is not `http://HOST:PORT` (behind a proxy, say).
        #[arg(long, env = "OIDC_FORGE_ISSUER_URL")]
        issuer_url: Option<String>,
    },
    /// Validate a configuration file and exit.
    CheckConfig {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print the embedded default configuration, a starting point for your own.
    PrintDefaultConfig,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            host,
            port,
            issuer_url,
        } => serve(config, SocketAddr::new(host, port), issuer_url).await,
        Command::CheckConfig { config } => match Config::load(&config) {
            Ok(_) => {
                println!("{}: valid", config.display());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::FAILURE
            }
        },
        Command::PrintDefaultConfig => {
            print!("{DEFAULT_CONFIG_TOML}");
            ExitCode::SUCCESS
        }
    }
}

async fn serve(config: Option<PathBuf>, addr: SocketAddr, issuer_url: Option<String>) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "oidc_forge=info,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match config {
        Some(path) => match Config::load(&path) {
            Ok(config) => config,
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::FAILURE;
            }
        },
        None => Config::default(),
    };
    let mut builder = MockIssuer::builder().config(config).bind(addr);
    if let Some(url) = issuer_url {
        builder = builder.issuer_url(url);
    }
    let issuer = match builder.start().await {
        Ok(issuer) => issuer,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    print_banner(&issuer);
    if let Err(err) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot listen for Ctrl-C: {err}");
    }
    eprintln!("shutting down");
    issuer.shutdown().await;
    ExitCode::SUCCESS
}

/// What a developer needs to point an app at the issuer; secrets are shown because they are
/// the configured test secrets the developer must paste into the app.
fn print_banner(issuer: &MockIssuer) {
    let config = issuer.config();
    println!("oidc-forge issuer: {}", issuer.url());
    println!("  listening on  {}", issuer.local_addr());
    println!("  discovery     {}", issuer.discovery_url());
    println!("  authorize     {}{}", issuer.url(), paths::AUTHORIZE);
    println!("  token         {}{}", issuer.url(), paths::TOKEN);
    println!("  login         {:?}", config.login.mode);
    println!("clients:");
    for client in &config.clients {
        let kind = match &client.secret {
            Some(secret) => format!("confidential, secret {secret}"),
            None => "public".to_owned(),
        };
        println!("  {} ({kind})", client.id);
        println!("    redirect URIs: {}", client.redirect_uris.join(", "));
        println!("    scopes: {}", client.scopes.join(" "));
    }
    println!("users:");
    for user in &config.users {
        println!(
            "  {} sub={} permissions=[{}]",
            user.email,
            user.sub,
            user.permissions.join(", ")
        );
    }
}
