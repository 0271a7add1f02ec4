//! `payout`: the payout-rs command line.
//!
//! * `payout sandbox serve <provider>` runs a provider's stateful offline sandbox as a
//!   stand-alone server on loopback, with signed webhooks, a control API (advance, faults,
//!   the request record, the deliveries) and scriptable faults, so a bot written in any
//!   language can be tested against it.
//! * `payout <provider> balance`, `payout <provider> get <id>` and
//!   `payout <provider> webhook verify` talk to the provider (or a sandbox) configured from the
//!   same `<PROVIDER>_*` environment variables as the crate's `Client::from_env()`.
//!
//! See the crate README for the commands and curl examples.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod fault;
mod output;
mod provider;
mod serve;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Stand-alone payout sandboxes, and balance, lookup and webhook checks from the shell.
#[derive(Debug, Parser)]
#[command(name = "payout", version, about, long_about = None)]
struct Cli {
    /// Print JSON instead of human-readable text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Offline sandboxes of the providers.
    Sandbox {
        #[command(subcommand)]
        command: SandboxCommand,
    },
    /// ROCheap (ROCHEAP_API_KEY, ROCHEAP_BASE_URL).
    Rocheap(ProviderArgs),
    /// RomplHub (ROMPLHUB_API_KEY, ROMPLHUB_BASE_URL).
    Romplhub(ProviderArgs),
    /// Plexy Gate agent catalog (AGENT_CATALOG_API_KEY, AGENT_CATALOG_AGENT_ID, AGENT_CATALOG_BASE_URL).
    AgentCatalog(ProviderArgs),
    /// xRocket Pay (XROCKET_API_KEY, XROCKET_BASE_URL).
    Xrocket(ProviderArgs),
    /// RohoPay (ROHOPAY_API_KEY, ROHOPAY_BASE_URL).
    Rohopay(ProviderArgs),
}

#[derive(Debug, Subcommand)]
enum SandboxCommand {
    /// Serve a provider's stateful sandbox on 127.0.0.1 until Ctrl-C.
    Serve(serve::ServeArgs),
}

/// The provider commands, the same for each provider.
#[derive(Debug, Args)]
struct ProviderArgs {
    #[command(subcommand)]
    command: ProviderCommand,
}

#[derive(Debug, Subcommand)]
enum ProviderCommand {
    /// The account balance.
    Balance,
    /// One order / transfer / transaction by its id (the provider's main money object).
    Get {
        /// The id (rocheap order id, romplhub order uid, agent-catalog order id, xrocket
        /// transfer id, rohopay transaction reference).
        id: String,
    },
    /// Webhooks.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
}

#[derive(Debug, Subcommand)]
enum WebhookCommand {
    /// Verify a webhook: the raw body on stdin, the headers with --header, the secret from an
    /// environment variable. Exits 1 when the signature does not verify.
    Verify {
        /// The environment variable holding the webhook secret (for ROCheap: the API key).
        #[arg(long, value_name = "VAR")]
        secret_env: String,
        /// A header as received, `name: value` (repeat for each header).
        #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
        headers: Vec<String>,
    },
}

/// The providers `payout sandbox serve` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Provider {
    /// ROCheap.
    Rocheap,
    /// RomplHub.
    Romplhub,
    /// Plexy Gate agent catalog.
    AgentCatalog,
    /// xRocket Pay.
    Xrocket,
    /// RohoPay.
    Rohopay,
}

impl Provider {
    fn name(self) -> &'static str {
        match self {
            Provider::Rocheap => "rocheap",
            Provider::Romplhub => "romplhub",
            Provider::AgentCatalog => "agent-catalog",
            Provider::Xrocket => "xrocket",
            Provider::Rohopay => "rohopay",
        }
    }
}

/// A failure to report: the message goes to stderr, the process exits 1.
#[derive(Debug)]
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("payout: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("payout: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let json = cli.json;
    match cli.command {
        Command::Sandbox {
            command: SandboxCommand::Serve(args),
        } => serve::run(args, json).await,
        Command::Rocheap(a) => provider::run(Provider::Rocheap, a.command, json).await,
        Command::Romplhub(a) => provider::run(Provider::Romplhub, a.command, json).await,
        Command::AgentCatalog(a) => provider::run(Provider::AgentCatalog, a.command, json).await,
        Command::Xrocket(a) => provider::run(Provider::Xrocket, a.command, json).await,
        Command::Rohopay(a) => provider::run(Provider::Rohopay, a.command, json).await,
    }
}
