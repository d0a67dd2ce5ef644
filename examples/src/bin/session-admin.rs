//! `session-admin`: count, list, revoke, purge and migrate sessions. See
//! `typed_sessions_examples::admin`, or `session-admin --help`.

use clap::Parser;
use clap::error::ErrorKind;
use std::process::ExitCode;
use typed_sessions_examples::admin::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            // One line: clap's own message, without its usage block.
            let message = error.to_string();
            let first = message.lines().next().unwrap_or("error: bad arguments");
            eprintln!("session-admin: {}", first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    match cli.run().await {
        Ok(output) if cli.json => {
            println!("{}", output.json());
            ExitCode::SUCCESS
        }
        Ok(output) => {
            println!("{}", output.text());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("session-admin: {message}");
            ExitCode::from(2)
        }
    }
}
