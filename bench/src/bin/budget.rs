//! The instruction budget: the instructions per request of the four workloads on the memory
//! and cookie stores, counted by callgrind on the `instructions` bench, against the counts
//! checked in at `bench/budget.txt`. More than 3% over a budget fails (`.ci/run` runs it);
//! a change that must cost more updates the file in the same commit, with the reason.
//!
//! ```sh
//! cargo bench -p typed-sessions-bench --bench instructions --no-run   # prints its path
//! cargo run --release -p typed-sessions-bench --bin budget -- target/release/deps/instructions-HASH
//! cargo run --release -p typed-sessions-bench --bin budget -- --update target/release/deps/instructions-HASH
//! ```
//!
//! A count is `(count(1,200 requests) - count(200 requests)) / 1,000`: the set-up is the same
//! for both, so the difference is the requests' own. Callgrind counts instructions, not time:
//! the same from run to run on a noisy machine.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode};
use typed_sessions_bench::stacks::WORKLOADS;

/// How much a count may grow over its budget before the check fails.
const ALLOWANCE: f64 = 0.03;
const BUDGET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/budget.txt");

/// One line of the budget: a stack, a workload, its instructions per request.
struct Line {
    stack: String,
    workload: String,
    budget: u64,
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let update = args.first().is_some_and(|a| a == "--update");
    if update {
        args.remove(0);
    }
    let [binary] = args.as_slice() else {
        eprintln!("usage: budget [--update] PATH_OF_THE_INSTRUCTIONS_BENCH");
        return ExitCode::from(2);
    };
    match run(Path::new(binary), update) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("budget: {message}");
            ExitCode::from(2)
        }
    }
}

/// Counts every line's workload; `false` when one is over its budget (or, with `update`,
/// rewrites the file with the new counts).
fn run(binary: &Path, update: bool) -> Result<bool, String> {
    let text = std::fs::read_to_string(BUDGET).map_err(|e| format!("{BUDGET}: {e}"))?;
    let lines = parse(&text)?;
    let mut within = true;
    let mut counted = Vec::new();
    for line in &lines {
        let count = per_request(binary, &line.stack, &line.workload)?;
        let growth = count as f64 / line.budget as f64 - 1.0;
        let verdict = if growth > ALLOWANCE { "OVER" } else { "ok" };
        println!(
            "{verdict:>4}  {} / {}: budget {}, now {} ({:+.1}%)",
            line.stack,
            line.workload,
            line.budget,
            count,
            growth * 100.0
        );
        within &= growth <= ALLOWANCE;
        counted.push(count);
    }
    if update {
        std::fs::write(BUDGET, rewrite(&text, &lines, &counted)).map_err(|e| e.to_string())?;
        println!("{BUDGET} updated: say why in the commit");
        return Ok(true);
    }
    if !within {
        println!(
            "over budget by more than {:.0}%: find the cost, or update bench/budget.txt (`--update`) with the reason",
            ALLOWANCE * 100.0
        );
    }
    Ok(within)
}

/// The budget's lines: `stack | workload | count`, `#` comments and blank lines skipped.
fn parse(text: &str) -> Result<Vec<Line>, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let parts: Vec<&str> = line.split('|').map(str::trim).collect();
            let [stack, workload, budget] = parts.as_slice() else {
                return Err(format!("not `stack | workload | count`: {line:?}"));
            };
            let budget = budget
                .replace(',', "")
                .parse()
                .map_err(|_| format!("not a count: {line:?}"))?;
            Ok(Line {
                stack: (*stack).to_owned(),
                workload: (*workload).to_owned(),
                budget,
            })
        })
        .collect()
}

/// The instructions per request of `workload` on `stack`.
fn per_request(binary: &Path, stack: &str, workload: &str) -> Result<u64, String> {
    let index = WORKLOADS
        .iter()
        .position(|w| w.name == workload)
        .ok_or_else(|| format!("no workload {workload:?}"))?;
    let few = instructions(binary, stack, index, 200)?;
    let many = instructions(binary, stack, index, 1200)?;
    Ok(many.saturating_sub(few) / 1000)
}

/// The instructions callgrind counts for `requests` requests of `workload` on `stack`.
fn instructions(binary: &Path, stack: &str, workload: usize, requests: u32) -> Result<u64, String> {
    let out = std::env::temp_dir().join(format!("budget-{}.callgrind", std::process::id()));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(binary)
        .args([stack, &workload.to_string(), &requests.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("valgrind: {e} (install it: apt-get install valgrind)"))?;
    if !status.success() {
        return Err(format!("valgrind on {stack:?} failed: {status}"));
    }
    let counts = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&out);
    counts
        .lines()
        .find_map(|line| line.strip_prefix("summary: "))
        .and_then(|total| total.trim().parse().ok())
        .ok_or_else(|| "no total in callgrind's output".to_owned())
}

/// `text` with each line's count replaced by its new one, comments kept.
fn rewrite(text: &str, lines: &[Line], counted: &[u64]) -> String {
    let mut counts = lines.iter().zip(counted);
    let mut out = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            let _ = writeln!(out, "{raw}");
        } else if let Some((line, count)) = counts.next() {
            let _ = writeln!(out, "{} | {} | {count}", line.stack, line.workload);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_reads_and_rewrites_keeping_its_comments() {
        let text = "# why\nstack A | read existing session | 29,516\n\n# a reason\nstack B | untouched route | 10\n";
        let lines = parse(text).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            (lines[0].stack.as_str(), lines[0].budget),
            ("stack A", 29_516)
        );
        let rewritten = rewrite(text, &lines, &[30_000, 11]);
        assert_eq!(
            rewritten,
            "# why\nstack A | read existing session | 30000\n\n# a reason\nstack B | untouched route | 11\n"
        );
        assert!(parse("stack | only two").is_err());
        assert!(parse("stack | workload | many").is_err());
        assert!(
            parse(&std::fs::read_to_string(BUDGET).unwrap()).is_ok(),
            "the checked-in file"
        );
    }
}
