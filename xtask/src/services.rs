//! Throwaway PostgreSQL and Redis servers for `cargo xtask test`: installed from Debian's
//! packages when missing (as root with apt), started on loopback with their data in a temp
//! dir, handed to the tests as `PAYOUT_TEST_POSTGRES_URL` and `PAYOUT_TEST_REDIS_URL`, and
//! stopped (data removed) when [`Services`] is dropped, whether the tests passed or not.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The env var that carries the PostgreSQL URL to the tests.
pub const POSTGRES_ENV: &str = "PAYOUT_TEST_POSTGRES_URL";
/// The env var that carries the Redis URL to the tests.
pub const REDIS_ENV: &str = "PAYOUT_TEST_REDIS_URL";

/// The Debian packages that provide the servers.
const PACKAGES: &str = "postgresql redis-server";

pub struct Services {
    dir: PathBuf,
    pg_bin: PathBuf,
    pg_data: PathBuf,
    pg_as_postgres: bool,
    pg: Option<Child>,
    redis: Option<Child>,
    env: Vec<(String, String)>,
}

/// The directory holding `initdb`, `postgres`, `pg_ctl` and `pg_isready`, if installed.
fn find_pg_bin() -> Option<PathBuf> {
    // Debian: /usr/lib/postgresql/<major>/bin (not on PATH). Newest major first.
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file()).then_some((major, bin))
        })
        .collect();
    dirs.sort();
    if let Some((_, bin)) = dirs.pop() {
        return Some(bin);
    }
    let initdb = which("initdb")?;
    let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
    let bin = real.parent()?.to_path_buf();
    bin.join("postgres").is_file().then_some(bin)
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn find_redis() -> Option<PathBuf> {
    which("redis-server").or_else(|| {
        let p = PathBuf::from("/usr/bin/redis-server");
        p.is_file().then_some(p)
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} exited with {status}"))
    }
}

/// Installs the missing servers with apt when we may, or says exactly what to run.
fn ensure_installed() -> Result<(PathBuf, PathBuf), String> {
    if let (Some(pg), Some(redis)) = (find_pg_bin(), find_redis()) {
        return Ok((pg, redis));
    }
    let missing: Vec<&str> = [
        find_pg_bin().is_none().then_some("postgresql"),
        find_redis().is_none().then_some("redis-server"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let apt = Path::new("/usr/bin/apt-get").is_file();
    if !(is_root() && apt) {
        return Err(format!(
            "the tests need PostgreSQL and Redis servers; {} missing. Install them with:\n\n    sudo apt-get update && sudo apt-get install -y {PACKAGES}\n\n(or put `initdb`, `postgres` and `redis-server` on PATH), then run `cargo xtask test` again",
            missing.join(" and ")
        ));
    }
    println!(
        "    the tests need PostgreSQL and Redis servers; {} missing: installing Debian's packages\n    $ apt-get update && apt-get install -y {}",
        missing.join(" and "),
        missing.join(" ")
    );
    run(Command::new("apt-get").arg("update").arg("-q"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    match (find_pg_bin(), find_redis()) {
        (Some(pg), Some(redis)) => Ok((pg, redis)),
        _ => Err(format!(
            "apt-get installed {} but the server binaries are still not found",
            missing.join(" ")
        )),
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

fn wait_for(
    what: &str,
    timeout: Duration,
    mut ready: impl FnMut() -> bool,
    child: &mut Child,
) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if ready() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{what} exited during startup with {status}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "{what} did not become ready within {} s",
        timeout.as_secs()
    ))
}

impl Services {
    /// Installs (if needed) and starts both servers.
    pub fn start() -> Result<Services, String> {
        let (pg_bin, redis_bin) = ensure_installed()?;
        let dir = std::env::temp_dir().join(format!("payout-xtask-services-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let pg_data = dir.join("pg");
        let mut s = Services {
            dir: dir.clone(),
            pg_bin,
            pg_data,
            // PostgreSQL refuses to run as root: run it as the `postgres` system user.
            pg_as_postgres: is_root(),
            pg: None,
            redis: None,
            env: Vec::new(),
        };
        s.start_postgres()?;
        s.start_redis(&redis_bin)?;
        Ok(s)
    }

    /// `(name, value)` pairs for the test processes.
    pub fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    fn pg_command(&self, program: &str) -> Command {
        let exe = self.pg_bin.join(program);
        if self.pg_as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn start_postgres(&mut self) -> Result<(), String> {
        if self.pg_as_postgres {
            if Command::new("id")
                .arg("postgres")
                .output()
                .map(|o| !o.status.success())
                .unwrap_or(true)
            {
                run(Command::new("useradd").args(["--system", "--no-create-home", "postgres"]))?;
            }
            std::fs::create_dir_all(&self.pg_data).map_err(|e| e.to_string())?;
            run(Command::new("chown").arg("-R").arg("postgres").arg(&self.pg_data))?;
        }
        let log = self.dir.join("initdb.log");
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let status = self
            .pg_command("initdb")
            .arg("-D")
            .arg(&self.pg_data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out)
            .status()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !status.success() {
            return Err(format!(
                "initdb failed ({status}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ));
        }
        let port = free_port()?;
        let log = std::fs::File::create(self.dir.join("postgres.log")).map_err(|e| e.to_string())?;
        let mut child = self
            .pg_command("postgres")
            .arg("-D")
            .arg(&self.pg_data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c"])
            .arg(format!("unix_socket_directories={}", self.pg_data.display()))
            .args(["-c", "max_connections=100"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        let isready = self.pg_bin.join("pg_isready");
        let r = wait_for(
            "postgres",
            Duration::from_secs(60),
            || {
                Command::new(&isready)
                    .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false)
            },
            &mut child,
        );
        self.pg = Some(child);
        r.map_err(|e| {
            format!(
                "{e}:\n{}",
                std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
            )
        })?;
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        println!(
            "    PostgreSQL ({}) on 127.0.0.1:{port}: {POSTGRES_ENV}={url}",
            self.pg_bin.display()
        );
        self.env.push((POSTGRES_ENV.to_string(), url));
        Ok(())
    }

    fn start_redis(&mut self, bin: &Path) -> Result<(), String> {
        let port = free_port()?;
        let rdir = self.dir.join("redis");
        std::fs::create_dir_all(&rdir).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(self.dir.join("redis.log")).map_err(|e| e.to_string())?;
        let mut child = Command::new(bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&rdir)
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        let r = wait_for(
            "redis-server",
            Duration::from_secs(30),
            || redis_ping(port),
            &mut child,
        );
        self.redis = Some(child);
        r?;
        let url = format!("redis://127.0.0.1:{port}/");
        println!(
            "    Redis ({}) on 127.0.0.1:{port}: {REDIS_ENV}={url}",
            bin.display()
        );
        self.env.push((REDIS_ENV.to_string(), url));
        Ok(())
    }
}

fn redis_ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
}

impl Drop for Services {
    fn drop(&mut self) {
        if let Some(mut child) = self.redis.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(mut child) = self.pg.take() {
            // A fast shutdown through pg_ctl (the server may run under runuser).
            let stopped = self
                .pg_command("pg_ctl")
                .arg("-D")
                .arg(&self.pg_data)
                .args(["-m", "fast", "-w", "-t", "30", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !stopped {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        println!("    stopped the throwaway PostgreSQL and Redis");
    }
}
