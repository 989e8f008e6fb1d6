//! A child process under test: its output captured as it comes, every wait bounded, and the
//! process killed when the handle is dropped (a failing test never leaves servers behind).

use anyhow::{Context as _, Result, anyhow, bail};
use std::fmt;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Most bytes kept of each output stream; beyond, the rest is dropped with a marker, so a
/// runaway process cannot exhaust the test's memory.
const MAX_CAPTURE: usize = 8 * 1024 * 1024;

/// What a process wrote so far, shared with the tasks reading its pipes.
#[derive(Default)]
struct Captured {
    stdout: Mutex<String>,
    stderr: Mutex<String>,
    /// Pipes that reached their end (0, 1 or 2).
    closed: AtomicUsize,
    /// Woken on every chunk of output and at the end of each pipe.
    changed: Notify,
}

impl Captured {
    fn stream(&self, which: Stream) -> &Mutex<String> {
        match which {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        }
    }

    fn text(&self, which: Stream) -> String {
        self.stream(which)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

async fn pump(mut pipe: impl AsyncRead + Unpin, which: Stream, captured: Arc<Captured>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut text = captured
                    .stream(which)
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if text.len() < MAX_CAPTURE {
                    text.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if text.len() >= MAX_CAPTURE {
                        text.push_str("\n[output truncated]\n");
                    }
                }
                drop(text);
                captured.changed.notify_waiters();
            }
        }
    }
    captured.closed.fetch_add(1, Ordering::SeqCst);
    captured.changed.notify_waiters();
}

/// A running child process whose stdout and stderr are captured.
pub struct ChildProcess {
    name: String,
    child: Child,
    captured: Arc<Captured>,
    readers: Vec<JoinHandle<()>>,
}

impl fmt::Debug for ChildProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildProcess")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        // `kill_on_drop` kills the process; the readers end with its pipes.
        for reader in &self.readers {
            reader.abort();
        }
    }
}

/// How a process ended, with everything it wrote.
#[derive(Debug, Clone)]
pub struct Finished {
    /// What the process was (for messages).
    pub name: String,
    /// The exit code, `None` when a signal ended it.
    pub code: Option<i32>,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl fmt::Display for Finished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} exited with {:?}", self.name, self.code)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

impl ChildProcess {
    /// Starts `command` with piped output, killed when the returned handle is dropped. Call it
    /// inside a tokio runtime: the output is read by tasks of that runtime.
    pub fn spawn(name: impl Into<String>, mut command: Command) -> Result<Self> {
        let name = name.into();
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let captured = Arc::new(Captured::default());
        let mut readers = Vec::with_capacity(2);
        if let Some(out) = child.stdout.take() {
            readers.push(tokio::spawn(pump(
                out,
                Stream::Stdout,
                Arc::clone(&captured),
            )));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(tokio::spawn(pump(
                err,
                Stream::Stderr,
                Arc::clone(&captured),
            )));
        }
        Ok(Self {
            name,
            child,
            captured,
            readers,
        })
    }

    /// The process id, while the process runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        self.captured.text(Stream::Stdout)
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.captured.text(Stream::Stderr)
    }

    /// Waits until `ready(stdout, stderr)` holds. Fails when the process closes its output
    /// first (it exited), or after `timeout`; the error carries the output.
    pub async fn wait_for_output(
        &self,
        what: &str,
        timeout: Duration,
        ready: impl Fn(&str, &str) -> bool,
    ) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before the check, so output arriving in between still wakes us.
            let changed = self.captured.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let (stdout, stderr) = (self.stdout(), self.stderr());
            if ready(&stdout, &stderr) {
                return Ok(());
            }
            if self.captured.closed.load(Ordering::SeqCst) >= self.readers.len() {
                bail!(
                    "{} ended its output before {what}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
                    self.name
                );
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                bail!(
                    "{} did not show {what} within {timeout:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
                    self.name
                );
            }
        }
    }

    /// Sends SIGTERM, as a process manager does to stop a service.
    #[cfg(unix)]
    pub fn terminate(&self) -> Result<()> {
        use rustix::process::{Pid, Signal, kill_process};
        let pid = self
            .pid()
            .ok_or_else(|| anyhow!("{} has already exited", self.name))?;
        let pid = i32::try_from(pid)
            .ok()
            .and_then(Pid::from_raw)
            .ok_or_else(|| anyhow!("{} has an invalid process id {pid}", self.name))?;
        kill_process(pid, Signal::TERM).with_context(|| format!("sending SIGTERM to {}", self.name))
    }

    /// Waits for the process to exit and its output to be read, at most `timeout`; after that
    /// the process is killed and the error carries what it wrote.
    pub async fn wait(mut self, timeout: Duration) -> Result<Finished> {
        let status = match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.with_context(|| format!("waiting for {}", self.name))?,
            Err(_) => {
                let _ = self.child.kill().await;
                return Err(anyhow!(
                    "{} did not exit within {timeout:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    self.name,
                    self.stdout(),
                    self.stderr()
                ));
            }
        };
        // A grandchild holding the pipes open must not hang the test: the drain is bounded too.
        for reader in std::mem::take(&mut self.readers) {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        Ok(Finished {
            name: self.name.clone(),
            code: status.code(),
            stdout: self.stdout(),
            stderr: self.stderr(),
        })
    }
}
