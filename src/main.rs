//! The `codecbench` binary: parse flags, run the command, map errors to exit codes
//! (2 for bad input or a failed run, with a one-line message; 0 on success).

use clap::Parser;
use codecbench::cli::{Cli, Command};
use std::process::ExitCode;

mod commands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => commands::run(args),
        Command::List { what, json } => commands::list(what, json),
        Command::Inspect { file, rows, json } => commands::inspect(&file, rows, json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
