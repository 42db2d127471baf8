//! The `codecbench` binary: parse flags, run the command, map errors to exit codes
//! (2 for bad input or a failed run, with a one-line message; 1 for `compare
//! --fail-on-regression` finding a regression; 0 on success).

use app::cli::{Cli, Command};
use clap::Parser;
use std::process::ExitCode;

mod app;

use app::commands;

fn main() -> ExitCode {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => commands::run(args),
        Command::List { what, json } => commands::list(what, json),
        Command::Inspect { file, rows, json } => commands::inspect(&file, rows, json),
        Command::Probe(args) => app::probe::probe(args),
        Command::Hypotheses { inputs, out } => commands::hypotheses(&inputs, out.as_deref()),
        Command::Fetch { names, force, list } => commands::fetch(&names, force, list),
        Command::Stats {
            file,
            agreement,
            correlation,
            json,
        } => commands::stats(&file, agreement, correlation, json),
        Command::Speed(args) => commands::speed(args),
        Command::Export(args) => commands::export(args),
        Command::ComparePeers(args) => commands::compare_peers(args),
        Command::Embed { texts, out, model } => commands::embed(&texts, &out, model.as_deref()),
        Command::Compare {
            run_a,
            run_b,
            fail_on_regression,
            alpha,
            min_effect,
            correction,
            all,
            json,
        } => match commands::compare(
            &run_a,
            &run_b,
            &codecbench::report::compare::CompareOptions {
                alpha,
                min_effect,
                correction,
            },
            all,
            json,
        ) {
            Ok(true) if fail_on_regression => return ExitCode::from(1),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, each said once. The library's errors already print
/// their I/O cause inline (`PATH: cannot read: No such file or directory (os error 2)`) and
/// also expose it as their `source`, so a cause whose text the line already holds is skipped
/// (`{:#}` would print it twice).
fn message(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
