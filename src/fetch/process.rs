//! Runs the registry clients (pip, apt-get, dpkg-deb) as child processes: their output passes
//! through to our stderr as it comes, and the last lines are kept so that a failure can say
//! what the client said. Also what the clients share: the download they are asked for, how a
//! failure is reported, and the small directory helper that finds what a client downloaded.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

use super::sources::Package;
use crate::error::Error;

/// One package to download, as the registry clients (`pip`, `deb`) take it.
pub struct Download<'a> {
    /// The source being fetched (errors name it).
    pub source_name: &'a str,
    /// The pinned package.
    pub package: &'a Package,
    /// The empty directory to download into.
    pub dir: &'a Path,
    /// Offline: take the package from this directory instead of the registry.
    pub find_links: Option<&'a Path>,
}

/// A step of fetching `source_name` failed: the error for a reason.
pub fn failure<'a>(source_name: &'a str, step: &'static str) -> impl Fn(String) -> Error + 'a {
    move |reason| Error::FetchFailed {
        source_name: source_name.to_string(),
        step,
        reason,
    }
}

/// Why a client did not start: `missing` when the program is not installed, else the OS
/// error for `program`.
pub fn not_started(e: &std::io::Error, program: &str, missing: String) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        missing
    } else {
        format!("cannot start `{program}`: {e}")
    }
}

/// How many trailing output lines a failure quotes.
const TAIL_LINES: usize = 15;

/// A finished child process.
#[derive(Debug)]
pub struct Teed {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its last output lines (stdout and stderr interleaved as they arrived).
    pub tail: Vec<String>,
}

/// Run `cmd` to completion with stdin closed, copying its stdout and stderr line by line to our
/// stderr and keeping the last lines. Errors only when the process cannot be started or waited
/// for (`NotFound` when the program is missing).
pub fn run_teed(cmd: &mut Command) -> std::io::Result<Teed> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES + 1)));
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(spawn_reader(out, Arc::clone(&tail)));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(spawn_reader(err, Arc::clone(&tail)));
    }
    let status = child.wait()?;
    for reader in readers {
        // A reader thread only ends by EOF or a read error; either way its lines are in `tail`.
        let _ = reader.join();
    }
    let tail = match Arc::try_unwrap(tail) {
        Ok(m) => m.into_inner().unwrap_or_else(|p| p.into_inner()),
        Err(shared) => shared.lock().map(|g| g.clone()).unwrap_or_default(),
    };
    Ok(Teed {
        status,
        tail: tail.into_iter().collect(),
    })
}

fn spawn_reader<R: Read + Send + 'static>(
    stream: R,
    tail: Arc<Mutex<VecDeque<String>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\n', '\r']);
            {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "    {text}");
            }
            if let Ok(mut t) = tail.lock() {
                if t.len() == TAIL_LINES {
                    t.pop_front();
                }
                t.push_back(text.to_string());
            }
        }
    })
}

/// The one file in `dir` whose name ends with `suffix`; the reason as text otherwise.
pub fn single_file_in(dir: &Path, suffix: &str) -> std::result::Result<PathBuf, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list it: {e}"))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list it: {e}"))?;
        let path = entry.path();
        if path.is_file()
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(suffix))
        {
            found.push(path);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!("no *{suffix} file")),
        n => Err(format!("{n} *{suffix} files")),
    }
}
