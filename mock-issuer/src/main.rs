//! The `oidc-forge` command: run the issuer, mint tokens offline, or check and print
//! configurations. Every subcommand is a thin wrapper over the library.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use oidc_forge::config::{Config, DEFAULT_CONFIG_TOML};
use oidc_forge::forge::mint::{Minter, Mutation, TokenKind, parse_value};
use oidc_forge::{MockIssuer, state::paths};
use serde_json::Value;

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
        /// Leave out the admin API (`/_forge/...` answers 404): for shared environments, where
        /// anyone reaching the issuer could otherwise mint tokens it signs.
        #[arg(long, env = "OIDC_FORGE_NO_ADMIN")]
        no_admin: bool,
        /// Require `Authorization: Bearer TOKEN` on every admin request. The admin API always
        /// refuses requests from web pages and from hosts other than the issuer's or loopback.
        #[arg(long, env = "OIDC_FORGE_ADMIN_TOKEN", conflicts_with = "no_admin")]
        admin_token: Option<String>,
        /// Requests the request log keeps (0 turns it off).
        #[arg(long, default_value_t = oidc_forge::forge::request_log::DEFAULT_CAPACITY)]
        request_log: usize,
    },
    /// Print a token signed by the issuer's keys, valid or wrong in exactly one way; offline,
    /// from the configuration and its keys (no server needed).
    #[command(after_help = mutations_help())]
    Token(Box<TokenArgs>),
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
            no_admin,
            admin_token,
            request_log,
        } => {
            let mut builder = MockIssuer::builder()
                .bind(SocketAddr::new(host, port))
                .admin(!no_admin)
                .request_log_capacity(request_log);
            if let Some(token) = admin_token {
                builder = builder.admin_token(token);
            }
            serve(config, builder, issuer_url).await
        }
        Command::Token(args) => match token(*args) {
            Ok(output) => {
                println!("{output}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::FAILURE
            }
        },
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

async fn serve(
    config: Option<PathBuf>,
    builder: oidc_forge::MockIssuerBuilder,
    issuer_url: Option<String>,
) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "oidc_forge=info,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match load_config(config) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut builder = builder.config(config);
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
    match issuer.admin_url() {
        Some(admin) => println!("  admin API     {admin}/"),
        None => println!("  admin API     disabled"),
    }
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

fn load_config(path: Option<PathBuf>) -> Result<Config, oidc_forge::ConfigError> {
    match path {
        Some(path) => Config::load(&path),
        None => Ok(Config::default()),
    }
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// Configuration file (TOML) whose users, clients and keys to use; without it, the
    /// embedded default.
    #[arg(long, short, env = "OIDC_FORGE_CONFIG")]
    config: Option<PathBuf>,
    /// `iss`; default: the configuration's `issuer`, else http://127.0.0.1:9000.
    #[arg(long, env = "OIDC_FORGE_ISSUER_URL")]
    issuer_url: Option<String>,
    /// Mint an ID token instead of an access token.
    #[arg(long)]
    id_token: bool,
    /// The subject: a configured user's email or sub (default: the auto-login user).
    #[arg(long, value_name = "EMAIL_OR_SUB")]
    user: Option<String>,
    /// Any subject, configured or not.
    #[arg(long, value_name = "SUB", conflicts_with = "user")]
    subject: Option<String>,
    /// The client itself is the subject, as with client_credentials.
    #[arg(long, conflicts_with_all = ["user", "subject", "id_token"])]
    client_subject: bool,
    /// The client the token is for (default: the first configured).
    #[arg(long, value_name = "ID")]
    client: Option<String>,
    /// An audience (repeatable); replaces the client's default.
    #[arg(long, value_name = "AUD")]
    audience: Vec<String>,
    /// A scope (repeatable, or space-separated); replaces the default `openid`.
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// A permission (repeatable); replaces the subject's own.
    #[arg(long = "permission", value_name = "PERMISSION")]
    permissions: Vec<String>,
    /// A claim (repeatable); VALUE is JSON when it parses (7, true, ["a"]), else a string.
    #[arg(long = "claim", value_name = "NAME=VALUE", value_parser = parse_claim)]
    claims: Vec<(String, Value)>,
    /// Seconds until exp.
    #[arg(long, value_name = "SECONDS")]
    lifetime: Option<u64>,
    /// The ID token's nonce.
    #[arg(long)]
    nonce: Option<String>,
    /// Shorthand for --mutation expired: exp an hour ago.
    #[arg(long, conflicts_with = "expired_by")]
    expired: bool,
    /// Shorthand for --mutation expired-by=N: exp N seconds ago.
    #[arg(long, value_name = "N")]
    expired_by: Option<u64>,
    /// A defect (repeatable); names below.
    #[arg(long = "mutation", value_name = "NAME[=ARG]")]
    mutations: Vec<Mutation>,
    /// Print {"token", "header", "claims"} as JSON instead of the bare token.
    #[arg(long)]
    json: bool,
}

fn parse_claim(text: &str) -> Result<(String, Value), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), parse_value(value))),
        _ => Err(format!("expected NAME=VALUE, found `{text}`")),
    }
}

fn mutations_help() -> String {
    let names: Vec<String> = Mutation::examples()
        .iter()
        .map(ToString::to_string)
        .collect();
    format!(
        "Mutations (one defect each; see the README): {}.\n\nExample: oidc-forge token --scope read --permission castles:read --expired",
        names.join(", ")
    )
}

fn token(args: TokenArgs) -> Result<String, Box<dyn std::error::Error>> {
    let config = load_config(args.config)?;
    let minter = Minter::offline(config, args.issuer_url)?;
    let kind = if args.id_token {
        TokenKind::IdToken
    } else {
        TokenKind::AccessToken
    };
    let mut builder = minter.token(kind);
    if let Some(user) = args.user {
        builder = builder.user(user);
    }
    if let Some(subject) = args.subject {
        builder = builder.subject(subject);
    }
    if args.client_subject {
        builder = builder.client_subject();
    }
    if let Some(client) = args.client {
        builder = builder.client(client);
    }
    for audience in args.audience {
        builder = builder.audience(audience);
    }
    let scopes: Vec<String> = args
        .scopes
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_owned)
        .collect();
    if !scopes.is_empty() {
        builder = builder.scopes(scopes);
    }
    if !args.permissions.is_empty() {
        builder = builder.permissions(args.permissions);
    }
    for (name, value) in args.claims {
        builder = builder.claim(name, value);
    }
    if let Some(lifetime) = args.lifetime {
        builder = builder.lifetime(lifetime);
    }
    if let Some(nonce) = args.nonce {
        builder = builder.nonce(nonce);
    }
    if args.expired {
        builder = builder.mutate(Mutation::Expired);
    }
    if let Some(seconds) = args.expired_by {
        builder = builder.mutate(Mutation::ExpiredBy(seconds));
    }
    let minted = builder.mutations(args.mutations).build()?;
    if args.json {
        Ok(serde_json::to_string_pretty(&minted)?)
    } else {
        Ok(minted.token)
    }
}
