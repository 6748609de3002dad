//! Watchlists: rules that pick names out of a stream of owner names.
//!
//! A [`Rule`] is parsed from one line of text (`exact:www.example.com`,
//! `suffix:example.com`, `glob:*.paypa?.*`, `regex:^login\.`, `lookalike:paypal.com`); a
//! [`Watchlist`] compiles a set of them, each under a caller-chosen id, and
//! [`Watchlist::check`] answers which rules a name hits and why ([`Reason`]; for look-alikes
//! the [`Technique`]s that explain the resemblance). [`generate`] is the inverse of the
//! look-alike rule: the names an attacker would register to imitate a protected domain.
//!
//! The matcher does no I/O: the same one serves a check over the history and the live
//! stream of new names. [`stored`] keeps a store's rules in its meta records. Names are compared in canonical form: ASCII lower case,
//! without the trailing dot (`Www.Example.COM.` is `www.example.com`).

mod edit;
mod fold;
mod generate;
mod lookalike;
mod name;
mod rule;
pub mod stored;
mod technique;
mod watchlist;

pub use generate::{generate, Lookalike};
pub use rule::{Rule, RuleError, RuleKind};
pub use technique::{Technique, Techniques};
pub use watchlist::{Hit, Reason, Watchlist};
