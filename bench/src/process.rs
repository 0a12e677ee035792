//! The issuer as a child process: start it, find its port, read its CPU time and memory.

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Linux reports `utime` and `stime` in clock ticks of `USER_HZ`, which is 100 on every
/// architecture the kernel ABI fixes it for (`sysconf(_SC_CLK_TCK)`).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time (user + system) a process has used, in microseconds, from `/proc/<pid>/stat`.
pub fn cpu_us(pid: u32) -> Result<f64, String> {
    stat_cpu_us(&format!("/proc/{pid}/stat"))
}

/// The calling thread's own CPU time in microseconds: the load generator and the limit loops
/// run on one thread, and other threads of this process (an in-process issuer's background
/// work) must not count.
pub fn own_cpu_us() -> Result<f64, String> {
    stat_cpu_us("/proc/thread-self/stat")
}

fn stat_cpu_us(path: &str) -> Result<f64, String> {
    let stat = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    // The command name (field 2) may hold spaces and parentheses: count from the last `)`.
    let after_name = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or("malformed /proc stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime), counted from 1 with the pid and name as 1 and 2.
    let ticks = |index: usize| -> Result<f64, String> {
        fields
            .get(index - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("no field {index} in {path}"))
    };
    Ok((ticks(14)? + ticks(15)?) / TICKS_PER_SECOND * 1e6)
}

/// Resident memory of a process in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// A running `oidc-forge serve`, ended when dropped.
pub struct Issuer {
    child: Child,
    pub addr: SocketAddr,
}

impl Issuer {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the child issuer is run.
#[derive(Debug, Clone)]
pub struct IssuerOptions {
    pub binary: std::path::PathBuf,
    /// `RUST_LOG` for the child: `warn` keeps per-request lines out; unset means the binary's
    /// default (a line per request at info).
    pub rust_log: Option<String>,
    /// `--request-log N`; `None` keeps the binary's default.
    pub request_log: Option<usize>,
    /// `--config FILE`; `None` serves the embedded configuration.
    pub config: Option<std::path::PathBuf>,
}

/// Starts `serve --port 0` and reads the bound address from its banner.
pub fn start_issuer(options: &IssuerOptions) -> Result<Issuer, String> {
    let mut command = Command::new(&options.binary);
    command.args(["serve", "--port", "0"]);
    if let Some(capacity) = options.request_log {
        command.args(["--request-log", &capacity.to_string()]);
    }
    if let Some(config) = &options.config {
        command.arg("--config").arg(config);
    }
    apply_log(&mut command, options.rust_log.as_deref());
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", options.binary.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(addr) = line.trim().strip_prefix("listening on") {
                    break addr
                        .trim()
                        .parse::<SocketAddr>()
                        .map_err(|e| format!("cannot read the address in {line:?}: {e}"))?;
                }
            }
            _ => {
                let _ = child.kill();
                return Err("the issuer exited before printing its address".into());
            }
        }
    };
    // Keep draining the banner so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(Issuer { child, addr })
}

fn apply_log(command: &mut Command, rust_log: Option<&str>) {
    match rust_log {
        Some(filter) => command.env("RUST_LOG", filter),
        None => command.env_remove("RUST_LOG"),
    };
}

/// Time from spawn to the first 200 from discovery, and the idle RSS half a second later.
pub fn startup_once(options: &IssuerOptions) -> Result<(Duration, u64), String> {
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        probe.local_addr().map_err(|e| e.to_string())?.port()
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let request = crate::load::get(
        &addr.to_string(),
        "/.well-known/openid-configuration",
        &[("Connection", "close")],
    );
    let mut command = Command::new(&options.binary);
    command.args(["serve", "--port", &port.to_string()]);
    if let Some(capacity) = options.request_log {
        command.args(["--request-log", &capacity.to_string()]);
    }
    apply_log(&mut command, options.rust_log.as_deref());
    let start = Instant::now();
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", options.binary.display()))?;
    let issuer = Issuer { child, addr };
    let elapsed = loop {
        if let Ok(200) = blocking_status(addr, &request) {
            break start.elapsed();
        }
        if start.elapsed() > Duration::from_secs(10) {
            return Err("no discovery answer within 10 s".into());
        }
    };
    std::thread::sleep(Duration::from_millis(500));
    let rss = rss_kib(issuer.pid())?;
    drop(issuer);
    Ok((elapsed, rss))
}

/// One blocking request for the startup probe: a plain socket, so polling costs the starting
/// issuer as little CPU as possible.
fn blocking_status(addr: SocketAddr, request: &[u8]) -> std::io::Result<u16> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.write_all(request)?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))
}

/// Whether `path` exists and is a file.
pub fn exists(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_time_and_memory_are_readable() {
        let pid = std::process::id();
        assert!(cpu_us(pid).unwrap() >= 0.0);
        assert!(rss_kib(pid).unwrap() > 0);
    }
}
