//! TLS servers of the tests' own: certificates made with the `openssl` CLI,
//! and a private Redis and PostgreSQL that speak only TLS on a free port of
//! 127.0.0.1, in a temporary folder, stopped when dropped. The machine's
//! shared servers are left alone.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::needs::Need;

/// A certificate authority and a server certificate it signed for
/// `127.0.0.1` and `localhost`, plus a second authority that signed nothing.
pub struct Certs {
    pub dir: tempfile::TempDir,
    /// The authority that signed the server's certificate.
    pub ca: PathBuf,
    /// An authority that did not.
    pub other_ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Run `openssl ARGS` in `dir`; the test fails, naming the fix, without it.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run openssl ({e}); install it with scripts/setup.sh (apt-get install openssl)")
    });
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Certs {
    pub fn new() -> Certs {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        for (name, cn) in [("ca", "kvhost test CA"), ("other-ca", "kvhost untrusted CA")] {
            let (key, pem, subj) = (format!("{name}.key"), format!("{name}.pem"), format!("/CN={cn}"));
            let mut args = vec!["req", "-x509", "-days", "2", "-subj", &subj, "-keyout", &key, "-out", &pem];
            args.extend(ec);
            args.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
            openssl(d, &args);
        }
        let mut args = vec!["req", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"];
        args.extend(ec);
        openssl(d, &args);
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
        );
        Certs {
            ca: d.join("ca.pem"),
            other_ca: d.join("other-ca.pem"),
            cert: d.join("server.pem"),
            key: d.join("server.key"),
            dir,
        }
    }
}

impl Default for Certs {
    fn default() -> Self {
        Self::new()
    }
}

/// A free TCP port on 127.0.0.1 (free when this returns).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Wait until `port` accepts connections, or fail with what `log` says.
fn wait_for_port(port: u16, what: &str, log: &Path) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if start.elapsed() > Duration::from_secs(30) {
            panic!("{what} did not start on port {port}:\n{}", std::fs::read_to_string(log).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A redis-server that speaks only TLS, with `certs`' server certificate.
pub struct TlsRedis {
    pub port: u16,
    child: Child,
}

impl TlsRedis {
    pub fn start(certs: &Certs) -> TlsRedis {
        Need::Redis.check();
        let port = free_port();
        let log = certs.dir.path().join("redis.log");
        let p = |p: &Path| p.display().to_string();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--tls-cert-file", &p(&certs.cert), "--tls-key-file", &p(&certs.key)])
            .args(["--tls-ca-cert-file", &p(&certs.ca), "--tls-auth-clients", "no"])
            .args(["--save", "", "--appendonly", "no", "--dir", &p(certs.dir.path()), "--logfile", &p(&log)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| Need::Redis.missing(format!("cannot run redis-server: {e}")));
        let server = TlsRedis { port, child };
        wait_for_port(port, "redis-server with TLS", &log);
        server
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL cluster of its own (initdb, run as the `postgres` OS user)
/// with `ssl = on` and `certs`' server certificate, trust authentication,
/// on a free port.
pub struct TlsPostgres {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsPostgres {
    pub fn start(certs: &Certs) -> TlsPostgres {
        Need::Postgres.check();
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| versions.flatten().map(|v| v.path().join("bin")).find(|b| b.join("initdb").is_file()))
            .unwrap_or_else(|| Need::Postgres.missing("no /usr/lib/postgresql/*/bin/initdb"));
        // A folder the postgres user owns: it refuses to run as root.
        let dir = tempfile::Builder::new().prefix("kvhost-tls-pg").tempdir().unwrap();
        let data = dir.path().join("data");
        let as_postgres = |args: &[&str]| {
            let out = Command::new("runuser").arg("-u").arg("postgres").arg("--").args(args).output().unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let chown = |path: &Path| {
            let out = Command::new("chown").arg("-R").arg("postgres:postgres").arg(path).output().unwrap();
            assert!(out.status.success(), "chown: {}", String::from_utf8_lossy(&out.stderr));
        };
        chown(dir.path());
        let initdb = bin.join("initdb").display().to_string();
        as_postgres(&[&initdb, "-D", &data.display().to_string(), "-A", "trust", "-U", "postgres", "--no-sync"]);
        std::fs::copy(&certs.cert, data.join("server.crt")).unwrap();
        std::fs::copy(&certs.key, data.join("server.key")).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(data.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let port = free_port();
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nssl = on\n\
             ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nfsync = off\n",
            dir.path().display()
        );
        let mut pgconf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        pgconf.push_str(&conf);
        std::fs::write(data.join("postgresql.conf"), pgconf).unwrap();
        // TLS only: a connection without it is refused.
        std::fs::write(data.join("pg_hba.conf"), "hostssl all all 127.0.0.1/32 trust\n").unwrap();
        chown(dir.path());
        let pg_ctl = bin.join("pg_ctl").display().to_string();
        let log = dir.path().join("log").display().to_string();
        as_postgres(&[&pg_ctl, "-D", &data.display().to_string(), "-l", &log, "-w", "-t", "60", "start"]);
        TlsPostgres { port, bin, data, _dir: dir }
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_ctl)
            .args(["-D"])
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}
