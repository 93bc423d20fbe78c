//! mashctl: the MASH system from the command line, as each of its users
//! would use it. See `mashctl --help`.

use mash_alloc as _;

mod agency;
mod args;
mod connect;
mod enquiry;
mod export;
mod extract;
mod frontdoor;
mod hold;
mod log;
mod matching;
mod pki;
mod policy;
mod push;
mod report;
mod synth;
mod up;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    let result = tokio::runtime::Runtime::new().map_err(anyhow::Error::from).and_then(|rt| rt.block_on(args::run(cli)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

/// A gRPC refusal as its code and message; anything else with its causes.
fn describe(error: &anyhow::Error) -> String {
    match error.downcast_ref::<tonic::Status>() {
        Some(status) => format!("{:?}: {}", status.code(), status.message()),
        None => format!("{error:#}"),
    }
}
