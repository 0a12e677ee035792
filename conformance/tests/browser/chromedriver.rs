//! A chromedriver child process on a port of its own, with a fresh Chromium profile, stopped
//! (with every browser process it started) when dropped.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fantoccini::{Client, ClientBuilder};

/// Debian's Chromium (package `chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver (package `chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long chromedriver may take to say which port it listens on. Only bounds a broken
/// start; a working one answers at once.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why chromedriver could not be started or reached.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot run {CHROMEDRIVER}: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("{CHROMEDRIVER} never said which port it listens on")]
    NoPort,
    #[error("cannot prepare the Chromium profile directory: {0}")]
    Profile(#[source] std::io::Error),
    #[error("cannot build the WebDriver client: {0}")]
    Client(#[source] std::io::Error),
    #[error("chromedriver refused a Chromium session: {0}")]
    Session(#[from] fantoccini::error::NewSessionError),
}

/// A running chromedriver. It is the leader of its own process group, so that dropping it ends
/// the browser processes it spawned too, even when a test fails before closing its session.
pub struct ChromeDriver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl ChromeDriver {
    /// Starts chromedriver on a port the OS picks (`--port=0`, read back from its first lines,
    /// so no other process can take the port in between) with a profile under `scratch`.
    pub fn start(scratch: &Path) -> Result<Self, DriverError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let profile = scratch.join(format!("profile-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&profile).map_err(DriverError::Profile)?;
        let mut child = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(DriverError::Spawn)?;
        let (port_tx, port_rx) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            // Keeps draining stdout after the port line, so chromedriver never blocks on a
            // full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(port) = line
                        .strip_prefix("ChromeDriver was started successfully on port ")
                        .and_then(|rest| rest.trim_end_matches('.').parse::<u16>().ok())
                    {
                        let _ = port_tx.send(port);
                    }
                }
            });
        }
        let mut driver = Self {
            child,
            port: 0,
            profile,
        };
        driver.port = port_rx
            .recv_timeout(STARTUP_TIMEOUT)
            .map_err(|_| DriverError::NoPort)?;
        Ok(driver)
    }

    /// A new headless Chromium session. The flags that stop background networking matter:
    /// without them Chromium's own connections to the outside are refused on a closed
    /// network and slow every page.
    pub async fn session(&self) -> Result<Client, DriverError> {
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=900,700".to_owned(),
            format!("--user-data-dir={}", self.profile.display()),
        ];
        let mut capabilities = fantoccini::wd::Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": CHROMIUM, "args": args }),
        );
        let client = ClientBuilder::rustls()
            .map_err(DriverError::Client)?
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await?;
        Ok(client)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (process_group(0)); Chromium's processes are in
        // it unless they left, and a closed session has already ended them.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--"])
            .arg(format!("-{}", self.child.id()))
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        // SIGKILL is delivered asynchronously: a dying Chromium may still write to its profile
        // for a moment, so removal is retried briefly rather than leaving it behind.
        for _ in 0..40 {
            match std::fs::remove_dir_all(&self.profile) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => break,
            }
        }
    }
}
