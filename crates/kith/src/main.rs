//! `kith`: the command line of the Kith information-sharing hub.
//!
//! Parsing lives in [`cli`]; each subcommand resolves its arguments into working objects and
//! runs in its own module, so `main` stays a dispatcher.

mod audit_cmd;
mod cli;
mod demo;
mod evaluate;
mod governance_cmd;
mod ingest_cmd;
mod link_cmd;
mod registry_cmd;
mod serve_cmd;
mod status;
mod synth_cmd;

use clap::Parser;

fn main() -> std::process::ExitCode {
    quiet_on_closed_stdout();
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KITH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let outcome = match cli.command {
        cli::Command::Ingest(args) => ingest_cmd::run(&args),
        cli::Command::Synth(args) => synth_cmd::run(&args),
        cli::Command::Demo(args) => demo::run(&args),
        cli::Command::Status(args) => status::run(&args),
        cli::Command::Quarantine(args) => status::quarantine(&args),
        cli::Command::Link(args) => link_cmd::run(&args),
        cli::Command::Evaluate(args) => evaluate::run(&args),
        cli::Command::Registry(args) => registry_cmd::run(&args),
        cli::Command::Review(args) => registry_cmd::review(&args),
        cli::Command::Xref(args) => registry_cmd::xref(&args),
        cli::Command::Stats(args) => registry_cmd::stats(&args),
        cli::Command::Serve(args) => serve_cmd::serve(&args),
        cli::Command::Token(args) => serve_cmd::token(&args),
        cli::Command::Audit(args) => audit_cmd::run(&args),
        cli::Command::Governance(args) => governance_cmd::run(&args),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `kith status | head` closes stdout early; that is the reader's choice, not a crash, so exit
/// quietly as other Unix tools do instead of printing a panic.
fn quiet_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default_hook(info);
    }));
}
