//! The real binary end to end: `kith demo` prepares a synthetic population and serves it; a GP,
//! an emergency-department clinician, a social worker and an unauthorised police officer use the
//! API with the demo's tokens; the server stops gracefully and the audit ledger verifies and
//! names who looked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Server {
    child: Child,
    addr: String,
    tokens: Vec<(String, String)>,
    cci: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Starts `kith demo` serving on a free port and reads its tokens.
fn start(dir: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kith"))
        .current_dir(dir)
        .args(["demo", "--records", "1200", "--addr", "127.0.0.1:0"])
        .env_remove("KITH_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let (mut tokens, mut cci, mut role) = (Vec::new(), String::new(), None);
    let started = Instant::now();
    let addr = loop {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the demo did not start serving"
        );
        let line = lines.next().expect("the demo ended early").unwrap();
        if let Some(rest) = line.split("the example child is ").nth(1) {
            cci = rest.split(',').next().unwrap().to_string();
        }
        if line.trim_start().starts_with("token for") {
            role = line
                .split("role ")
                .nth(1)
                .map(|r| r.trim_end_matches("):").to_string());
        } else if let Some(r) = role.take() {
            tokens.push((r, line.trim().to_string()));
        }
        if let Some(rest) = line.strip_prefix("kith serving on http://") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        addr,
        tokens,
        cci,
    }
}

impl Server {
    fn token(&self, role: &str) -> &str {
        &self.tokens.iter().find(|(r, _)| r == role).unwrap().1
    }

    fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{auth}Connection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status: u16 = response.split_whitespace().nth(1).unwrap().parse().unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

fn kith(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kith"))
        .current_dir(dir)
        .env_remove("KITH_DB")
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn four_practitioners_see_what_they_may_and_the_ledger_proves_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    assert_eq!(server.tokens.len(), 4, "{:?}", server.tokens);
    let cci = server.cci.clone();
    let summary = format!("/api/persons/{cci}?purpose=direct_care&tier=summary");

    // The GP sees the child across the agencies the agreement covers.
    let (status, gp) = server.get(&summary, Some(server.token("gp")));
    assert_eq!(status, 200, "{gp}");
    let holders = gp["holders"].as_array().unwrap();
    assert!(holders.len() >= 2, "{gp}");
    assert!(holders.iter().all(|h| h.get("name").is_some()), "{gp}");

    // The emergency-department clinician too, at the involvement tier by default.
    let (status, ed) = server.get(
        &format!("/api/persons/{cci}?purpose=direct_care"),
        Some(server.token("ed_clinician")),
    );
    assert_eq!(status, 200, "{ed}");
    assert!(
        ed["holders"][0].get("name").is_none(),
        "involvement carries no identity: {ed}"
    );
    assert!(ed["holders"][0].get("lead_agency").is_some(), "{ed}");

    // The social worker reads the multi-agency chronology for a section 47 enquiry.
    let (status, chronology) = server.get(
        &format!("/api/persons/{cci}/chronology?purpose=safeguarding_s47"),
        Some(server.token("social_worker")),
    );
    assert_eq!(status, 200, "{chronology}");
    assert!(
        !chronology["events"].as_array().unwrap().is_empty(),
        "{chronology}"
    );

    // The police officer, covered by no agreement, cannot tell the child exists.
    let (status, police) = server.get(&summary, Some(server.token("police_officer")));
    assert_eq!(status, 404, "{police}");
    let (status, _) = server.get(&summary, None);
    assert_eq!(status, 401);
    let (status, doc) = server.get("/openapi.json", None);
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");

    // A graceful stop commits every accepted request's audit entries.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let exited = server.child.wait().unwrap();
    assert!(exited.success(), "{exited:?}");

    let (ok, verify) = kith(dir.path(), &["audit", "verify"]);
    assert!(ok, "{verify}");
    let (ok, subject) = kith(dir.path(), &["audit", "subject", &cci, "--json"]);
    assert!(ok, "{subject}");
    for user in ["dr-demo", "ed-demo", "sw-demo", "pc-demo"] {
        assert!(
            subject.contains(user),
            "{user} is named in the subject view: {subject}"
        );
    }
}
