//! The binary's side of codecbench: command-line flags (clap lives only here), turning them into
//! the library's typed plans and options, and each subcommand's files and printing. The library
//! below measures and renders; it parses no flags.

pub mod budget;
pub mod choice;
pub mod cli;
pub mod commands;
pub mod probe;
