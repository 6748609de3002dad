//! `dnsledger submit --server URL --spool DIR`: sends the batches a sensor left in its spool
//! (its server, or NATS, was away when it stopped), oldest first, then exits.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use dnsledger_submit::Delivery;

use crate::exit;
use crate::output::{submission_status, DeliveryArgs};

#[derive(Args, Debug)]
pub struct SubmitCmdArgs {
    /// The server's base URL: http://HOST:PORT or https://HOST:PORT; or the NATS servers
    /// the sensor published to: nats://HOST:PORT[,HOST:PORT...] (with the same --nats-*).
    #[arg(long, value_name = "URL")]
    server: String,

    #[command(flatten)]
    delivery: DeliveryArgs,
}

/// A replay makes no batch of its own: the spooled ones keep the ids they were given.
const NO_NEW_BATCHES: &str = "replay";

pub fn run(args: &SubmitCmdArgs) -> Result<u8> {
    let config = args.delivery.config(NO_NEW_BATCHES.into());
    let transport = args.delivery.transport(&args.server, NO_NEW_BATCHES)?;
    let mut delivery = Delivery::open(&config, transport)
        .with_context(|| format!("opening the spool {}", config.spool.display()))?;
    let waiting = delivery.spooled();
    delivery.drain(Instant::now() + config.drain_timeout);
    let outcome = delivery.finish();
    eprintln!(
        "dnsledger submit: {waiting} batches waiting, {} acknowledged, {} left",
        outcome.stats.batches_replayed, outcome.stats.batches_left_in_spool
    );
    for (name, value) in outcome.stats.counters().iter().filter(|(_, v)| *v > 0) {
        eprintln!("submit.{name} {value}");
    }
    let emptied = match outcome.stats.batches_left_in_spool {
        0 => exit::OK,
        _ => exit::ERROR,
    };
    Ok(submission_status(&outcome).max(emptied))
}
