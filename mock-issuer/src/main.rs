//! The `oidc-forge` command: run the issuer, mint tokens offline, or check and print
//! configurations. Every subcommand is a thin wrapper over the library.

use std::io::IsTerminal as _;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use oidc_forge::config::{Config, DEFAULT_CONFIG_TOML};
use oidc_forge::forge::ADMIN_PREFIX;
use oidc_forge::forge::mint::{
    MintedToken, Minter, Mutation, TokenKind, TokenRequest, parse_value,
};
use oidc_forge::{Endpoint, Issuer, IssuerSource, MockIssuer, TlsIdentity};
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
    Serve(Box<ServeArgs>),
    /// Print a token signed by the issuer's keys, valid or wrong in exactly one way: offline,
    /// from the configuration and its keys, or minted by a running issuer (--server).
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
        Command::Serve(args) => serve(*args).await,
        Command::Token(args) => match token(*args).await {
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

#[derive(Debug, Args)]
struct ServeArgs {
    /// Configuration file (TOML); without it, the embedded default.
    #[arg(long, short, env = "OIDC_FORGE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to bind: loopback unless told otherwise. Default: the configuration's loopback
    /// `issuer` address (127.0.0.2, ::1), else 127.0.0.1.
    #[arg(long, env = "OIDC_FORGE_HOST")]
    host: Option<IpAddr>,
    /// Port to bind; 0 picks a free one. Default: the port of the configuration's `issuer`
    /// when it is a loopback URL, else 9000. A loopback `issuer` always takes the port bound.
    #[arg(long, env = "OIDC_FORGE_PORT")]
    port: Option<u16>,
    /// Issuer identifier, used as given: when clients reach the issuer at another address
    /// than the socket's (behind a proxy, or a container's port mapping).
    #[arg(long, env = "OIDC_FORGE_ISSUER_URL")]
    issuer_url: Option<String>,
    /// Serve https with a certificate authority and certificate made at start; the
    /// authority's PEM is written to --tls-ca-file for clients to trust.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    tls: bool,
    /// Where --tls writes the authority's PEM; default: a new oidc-forge-ca-PORT-PID.pem in the
    /// temporary directory, removed at shutdown.
    #[arg(long, value_name = "FILE", requires = "tls")]
    tls_ca_file: Option<PathBuf>,
    /// Serve https with this PEM certificate chain (server certificate first).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
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
    /// Log lines as text (coloured only on a terminal) or as one JSON object each, for CI.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "OIDC_FORGE_LOG_FORMAT")]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// The address `serve` binds without `--host` or a loopback issuer to say otherwise.
const DEFAULT_HOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
/// The port `serve` binds without `--port` or a loopback issuer's own.
const DEFAULT_PORT: u16 = 9000;

async fn serve(args: ServeArgs) -> ExitCode {
    init_logs(args.log_format);
    // Installed before the banner is printed: a signal sent once the banner is seen must never
    // meet the default handler, which would end the process without its cleanup.
    let stop = match stop_signal() {
        Ok(stop) => stop,
        Err(err) => {
            eprintln!("error: cannot listen for Ctrl-C: {err}");
            return ExitCode::FAILURE;
        }
    };
    match start(args).await {
        Ok(Running { issuer, authority }) => {
            stop.await;
            eprintln!("shutting down");
            issuer.shutdown().await;
            drop(authority);
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves at Ctrl-C (SIGINT) or, on Unix, SIGTERM (`docker stop`, a CI runner's timeout); the
/// handlers are installed when this is called.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    let ctrl_c = tokio::signal::ctrl_c();
    Ok(async move {
        if let Err(err) = ctrl_c.await {
            eprintln!("error: cannot listen for Ctrl-C: {err}");
        }
    })
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "oidc_forge=info,tower_http=info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => logs.json().init(),
        // Escapes in a file or a pipe are noise: colour is for a person at a terminal.
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

async fn start(args: ServeArgs) -> Result<Running, Box<dyn std::error::Error>> {
    let config = load_config(args.config)?;
    let (issuer_ip, issuer_port) = config.loopback_address();
    let host = args.host.or(issuer_ip).unwrap_or(DEFAULT_HOST);
    let port = args.port.or(issuer_port).unwrap_or(DEFAULT_PORT);
    let mut builder = MockIssuer::builder()
        .config(config)
        .bind(SocketAddr::new(host, port))
        .admin(!args.no_admin)
        .request_log_capacity(args.request_log);
    if let Some(token) = args.admin_token {
        builder = builder.admin_token(token);
    }
    if let Some(url) = args.issuer_url {
        builder = builder.issuer_url(url);
    }
    if args.tls {
        builder = builder.tls();
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        builder = builder.tls_identity(TlsIdentity::from_pem_files(cert, key)?);
    }
    let issuer = builder.start().await?;
    let authority = match issuer.tls_authority_pem() {
        Some(pem) => Some(AuthorityFile::write(pem, args.tls_ca_file, &issuer)?),
        None => None,
    };
    print_banner(&issuer, authority.as_ref().map(|file| file.path.as_path()));
    Ok(Running { issuer, authority })
}

/// A started server, and the CA file it wrote for `--tls`.
struct Running {
    issuer: MockIssuer,
    authority: Option<AuthorityFile>,
}

/// Where `serve --tls` wrote its authority's PEM. The default file is new for every start
/// (`create_new`: never a file or link someone else put there first, which could later be
/// swapped for their own authority) and removed at shutdown; `--tls-ca-file` is the caller's.
struct AuthorityFile {
    path: PathBuf,
    remove_at_shutdown: bool,
}

impl AuthorityFile {
    fn write(
        pem: &str,
        chosen: Option<PathBuf>,
        issuer: &MockIssuer,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        use std::io::Write as _;
        let cannot = |path: &Path, e: std::io::Error| {
            format!("cannot write the CA certificate to {}: {e}", path.display())
        };
        if let Some(path) = chosen {
            std::fs::write(&path, pem).map_err(|e| cannot(&path, e))?;
            return Ok(Self {
                path,
                remove_at_shutdown: false,
            });
        }
        let path = std::env::temp_dir().join(format!(
            "oidc-forge-ca-{}-{}.pem",
            issuer.local_addr().port(),
            std::process::id()
        ));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| cannot(&path, e))?;
        file.write_all(pem.as_bytes())
            .map_err(|e| cannot(&path, e))?;
        Ok(Self {
            path,
            remove_at_shutdown: true,
        })
    }
}

impl Drop for AuthorityFile {
    fn drop(&mut self) {
        if self.remove_at_shutdown {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// What a developer needs to point an app at the issuer; secrets are shown because they are
/// the configured test secrets the developer must paste into the app.
///
/// Written once, and not at all when stdout is gone (`serve | head -1`): a banner nobody reads
/// must not end the server.
fn print_banner(server: &MockIssuer, authority_file: Option<&Path>) {
    use std::io::Write as _;
    if let Ok(text) = banner(server, authority_file) {
        let _ = std::io::stdout().write_all(text.as_bytes());
    }
}

fn banner(server: &MockIssuer, authority_file: Option<&Path>) -> Result<String, std::fmt::Error> {
    use std::fmt::Write as _;
    let mut out = String::new();
    writeln!(out, "oidc-forge issuer: {}", server.url())?;
    if let IssuerSource::ConfiguredWithBoundPort { configured } = server.issuer_source() {
        writeln!(
            out,
            "  (the configuration says {configured}; this is the port bound. Use --issuer-url to serve another identifier)"
        )?;
    }
    writeln!(out, "  listening on  {}", server.local_addr())?;
    if let Some(path) = authority_file {
        writeln!(
            out,
            "  TLS CA        {} (trust it: SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE)",
            path.display()
        )?;
    }
    write_issuer(&mut out, server.root())?;
    for (slug, tenant) in server.tenants() {
        writeln!(out, "tenant {slug}: {}", tenant.url())?;
        write_issuer(&mut out, tenant)?;
    }
    writeln!(out, "Ctrl-C stops the issuer.")?;
    Ok(out)
}

fn write_issuer(out: &mut String, issuer: &Issuer) -> std::fmt::Result {
    use std::fmt::Write as _;
    let config = issuer.config();
    writeln!(out, "  discovery     {}", issuer.discovery_url())?;
    writeln!(
        out,
        "  authorize     {}{}",
        issuer.url(),
        Endpoint::Authorize.path()
    )?;
    writeln!(
        out,
        "  token         {}{}",
        issuer.url(),
        Endpoint::Token.path()
    )?;
    writeln!(out, "  login         {:?}", config.login.mode)?;
    match issuer.admin_url() {
        Some(admin) => writeln!(out, "  admin API     {admin}/")?,
        None => writeln!(out, "  admin API     disabled")?,
    }
    writeln!(out, "clients:")?;
    for client in &config.clients {
        let kind = match &client.secret {
            Some(secret) => format!("confidential, secret {secret}"),
            None => "public".to_owned(),
        };
        writeln!(out, "  {} ({kind})", client.id)?;
        writeln!(
            out,
            "    redirect URIs: {}",
            client.redirect_uris.join(", ")
        )?;
        writeln!(out, "    scopes: {}", client.scopes.join(" "))?;
    }
    writeln!(out, "users:")?;
    for user in &config.users {
        writeln!(
            out,
            "  {} sub={} permissions=[{}]",
            user.email,
            user.sub,
            user.permissions.join(", ")
        )?;
    }
    Ok(())
}

fn load_config(path: Option<PathBuf>) -> Result<Config, oidc_forge::ConfigError> {
    match path {
        Some(path) => Config::load(&path),
        None => Ok(Config::default()),
    }
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// Mint through this running issuer's admin API (`POST URL/_forge/tokens`): its keys,
    /// users and identifier now, after rotations and runtime changes.
    /// (--config and --issuer-url, perhaps from the environment, are then not used.)
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// A PEM certificate authority to trust for an https --server (`serve --tls` prints it).
    #[arg(long, value_name = "FILE", requires = "server")]
    server_ca: Option<PathBuf>,
    /// The --server's `--admin-token`.
    #[arg(long, env = "OIDC_FORGE_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Offline: the configuration (TOML) whose users, clients and keys to use; without it,
    /// the embedded default.
    #[arg(long, short, env = "OIDC_FORGE_CONFIG")]
    config: Option<PathBuf>,
    /// Offline: `iss`; default: the configuration's `issuer`, else http://127.0.0.1:9000. A
    /// server started with another port signs with its own: mint with --server.
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

/// `error: cause: its cause`: reqwest's own message ("error sending request") says nothing of
/// the refused connection or the untrusted certificate behind it.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

fn parse_claim(text: &str) -> Result<(String, Value), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), parse_value(value))),
        _ => Err(format!("expected NAME=VALUE, found `{text}`")),
    }
}

fn mutations_help() -> String {
    let names: Vec<String> = Mutation::NAMES.iter().map(ToString::to_string).collect();
    format!(
        "Mutations (one defect each; see the README): {}.\n\nExample: oidc-forge token --scope read --permission castles:read --expired",
        names.join(", ")
    )
}

/// The command line as the admin API's JSON request, so that both ways of minting read the
/// same description.
fn token_request(args: &TokenArgs) -> TokenRequest {
    let scopes: Vec<String> = args
        .scopes
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_owned)
        .collect();
    let mut mutations = args.mutations.clone();
    if args.expired {
        mutations.push(Mutation::Expired);
    }
    if let Some(seconds) = args.expired_by {
        mutations.push(Mutation::ExpiredBy(seconds));
    }
    TokenRequest {
        kind: if args.id_token {
            TokenKind::IdToken
        } else {
            TokenKind::AccessToken
        },
        user: args.user.clone(),
        subject: args.subject.clone(),
        client_subject: args.client_subject,
        client: args.client.clone(),
        audience: (!args.audience.is_empty()).then(|| args.audience.clone()),
        scopes: (!scopes.is_empty()).then_some(scopes),
        permissions: (!args.permissions.is_empty()).then(|| args.permissions.clone()),
        claims: args.claims.iter().cloned().collect(),
        lifetime: args.lifetime,
        nonce: args.nonce.clone(),
        mutations,
        ..TokenRequest::default()
    }
}

async fn token(args: TokenArgs) -> Result<String, Box<dyn std::error::Error>> {
    let request = token_request(&args);
    let minted = match &args.server {
        Some(server) => {
            if args.config.is_some() || args.issuer_url.is_some() {
                eprintln!(
                    "note: with --server, the server's configuration and identifier are used"
                );
            }
            mint_on_server(server, &args, &request).await?
        }
        None => {
            let minter = Minter::offline(load_config(args.config)?, args.issuer_url)?;
            request.into_builder(&minter).build()?
        }
    };
    if args.json {
        Ok(serde_json::to_string_pretty(&minted)?)
    } else {
        Ok(minted.token)
    }
}

/// `POST {server}/_forge/tokens`: the running issuer signs with its keys now, for its users
/// now, with its own identifier.
async fn mint_on_server(
    server: &str,
    args: &TokenArgs,
    request: &TokenRequest,
) -> Result<MintedToken, Box<dyn std::error::Error>> {
    let mut http = reqwest::Client::builder();
    // The admin token goes to the issuer itself: never through a proxy for a loopback one.
    if url::Url::parse(server).is_ok_and(|url| oidc_forge::is_loopback(&url)) {
        http = http.no_proxy();
    }
    if let Some(path) = &args.server_ca {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read --server-ca {}: {e}", path.display()))?;
        http = http.tls_certs_merge([reqwest::Certificate::from_pem(&pem)?]);
    }
    let url = format!("{}{}/tokens", server.trim_end_matches('/'), ADMIN_PREFIX);
    let mut post = http.build()?.post(&url).json(request);
    if let Some(token) = &args.admin_token {
        post = post.bearer_auth(token);
    }
    let response = post
        .send()
        .await
        .map_err(|e| format!("cannot reach the admin API at {url}: {}", with_causes(&e)))?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        let description = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|error| error["error_description"].as_str().map(str::to_owned))
            .unwrap_or(body);
        return Err(format!("{url} answered {status}: {description}").into());
    }
    serde_json::from_str(&body)
        .map_err(|e| format!("{url} answered something other than a minted token: {e}").into())
}
