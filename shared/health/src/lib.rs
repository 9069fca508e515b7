//! A deliberately tiny HTTP/1.1 server for liveness and readiness probes.
//!
//! Routes: `GET /health` answers 200 with a JSON [`HealthReport`],
//! `GET /ready` answers 200 `ready`, anything else answers 404.
//! One thread per connection; probes are rare and short.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use protocol::HealthReport;

/// Port used when `PORT` is unset or not a number.
pub const DEFAULT_PORT: u16 = 8080;

type ReportFn = dyn Fn() -> HealthReport + Send + Sync;

/// Reads the listening port from the `PORT` environment variable.
pub fn port_from_env() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(DEFAULT_PORT)
}

/// A bound probe server, ready to [`run`](Server::run).
///
/// ```
/// use health_server::Server;
/// use protocol::HealthReport;
///
/// let server = Server::bind(([127, 0, 0, 1], 0), || HealthReport::healthy("demo", "1.0")).unwrap();
/// assert_ne!(server.local_addr().unwrap().port(), 0);
/// ```
pub struct Server {
    listener: TcpListener,
    report: Arc<ReportFn>,
}

impl Server {
    /// Binds to `addr`; `report` is called for every `GET /health`.
    pub fn bind<F>(addr: impl Into<SocketAddr>, report: F) -> io::Result<Self>
    where
        F: Fn() -> HealthReport + Send + Sync + 'static,
    {
        Ok(Server {
            listener: TcpListener::bind(addr.into())?,
            report: Arc::new(report),
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections forever.
    pub fn run(self) -> io::Result<()> {
        for stream in self.listener.incoming() {
            let stream = match stream {
                Ok(stream) => stream,
                Err(err) => {
                    eprintln!("health-server: accept failed: {err}");
                    continue;
                }
            };
            let report = Arc::clone(&self.report);
            thread::spawn(move || {
                if let Err(err) = handle(stream, &*report) {
                    eprintln!("health-server: connection error: {err}");
                }
            });
        }
        Ok(())
    }

    /// Runs on a background thread; returns the bound address.
    pub fn spawn(self) -> io::Result<SocketAddr> {
        let addr = self.local_addr()?;
        thread::spawn(move || self.run());
        Ok(addr)
    }
}

/// Binds `0.0.0.0:$PORT`, logs one line and serves forever.
pub fn serve<F>(service: &str, report: F) -> io::Result<()>
where
    F: Fn() -> HealthReport + Send + Sync + 'static,
{
    let server = Server::bind(([0, 0, 0, 0], port_from_env()), report)?;
    println!("{service} listening on {}", server.local_addr()?);
    server.run()
}

fn handle(stream: TcpStream, report: &ReportFn) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream);

    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Drain the headers; the routes need none of them.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }

    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("");
    let path = path.split('?').next().unwrap_or("");

    let (status, content_type, body) = match (method, path) {
        ("GET", "/health") => ("200 OK", "application/json", protocol::encode(&report())),
        ("GET", "/ready") => ("200 OK", "text/plain", "ready".to_owned()),
        _ => ("404 Not Found", "text/plain", "not found".to_owned()),
    };

    let mut stream = reader.into_inner();
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::http_get;

    fn start() -> SocketAddr {
        Server::bind(([127, 0, 0, 1], 0), || {
            HealthReport::healthy("probe-test", "9.9.9").with("answer", 42)
        })
        .unwrap()
        .spawn()
        .unwrap()
    }

    #[test]
    fn health_returns_json_report() {
        let (status, body) = http_get(start(), "/health");
        assert_eq!(status, 200);
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["status"], "healthy");
        assert_eq!(value["service"], "probe-test");
        assert_eq!(value["details"]["answer"], 42);
    }

    #[test]
    fn ready_and_unknown_paths() {
        let addr = start();
        assert_eq!(http_get(addr, "/ready"), (200, "ready".to_owned()));
        assert_eq!(http_get(addr, "/ready?verbose=1").0, 200);
        assert_eq!(http_get(addr, "/metrics").0, 404);
    }
}
