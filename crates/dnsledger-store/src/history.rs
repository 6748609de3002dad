//! Reading rows without knowing where they are stored.
//!
//! [`History`] is what answers read from: a local [`Store`], or a router that asks several
//! shard stores and merges their rows by [`Position`](crate::Position). Everything a
//! request can ask for is in one [`RowRequest`], so both kinds answer the same requests.

use std::time::Instant;

use crate::query::{Family, Lookup, QueryError, Row, Rows, TimeFence};
use crate::{cf, Store, StoreError};

/// How lookup rows are shaped beyond DNSDB's default of one aggregate per row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// One row per period of activity: DNSDB's `aggr=false`, dnsdbq's `-g`.
    pub periods: bool,
    /// Rows carry their per-day histogram: `activity=true`, `--activity`.
    pub activity: bool,
}

impl Shape {
    pub fn apply(self, rows: Rows<'_>) -> Rows<'_> {
        match (self.periods, self.activity) {
            (true, _) => rows.periods(),
            (false, true) => rows.with_activity(),
            (false, false) => rows,
        }
    }
}

/// Which rows: those of a lookup, or every row of a family (flex search's walk).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    Lookup(Lookup),
    Family(Family),
}

/// One read of the history.
#[derive(Clone, Debug)]
pub struct RowRequest {
    pub selection: Selection,
    /// Applies to lookups; a family walk returns every row.
    pub fence: TimeFence,
    pub shape: Shape,
    /// Reading stops with [`StoreError::OutOfTime`] past this instant.
    pub deadline: Option<Instant>,
    /// The most rows the reader will take: a remote history asks for no more.
    pub wanted: Option<u64>,
}

impl RowRequest {
    /// Every row of `selection`, aggregated, without fences or a deadline.
    pub fn new(selection: Selection) -> RowRequest {
        RowRequest {
            selection,
            fence: TimeFence::default(),
            shape: Shape::default(),
            deadline: None,
            wanted: None,
        }
    }
}

/// Rows in ascending position; an error ends them.
pub type RowStream<'a> = Box<dyn Iterator<Item = Result<Row, StoreError>> + 'a>;

/// The estimated size of one column family.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FamilySize {
    pub name: String,
    pub estimated_keys: u64,
    pub estimated_bytes: u64,
}

/// Where answers read rows from.
pub trait History: Send + Sync {
    /// The rows of `request`, or why the request cannot run (a 400 for an API client).
    fn rows(&self, request: &RowRequest) -> Result<RowStream<'_>, QueryError>;

    /// RocksDB's estimates of every column family (`/api/v1/stats`), summed over stores.
    fn sizes(&self) -> Result<Vec<FamilySize>, StoreError>;
}

impl Store {
    /// The rows of `request` read from this store.
    pub fn request(&self, request: &RowRequest) -> Result<Rows<'_>, QueryError> {
        let rows = match &request.selection {
            Selection::Lookup(lookup) => self.lookup(lookup, request.fence)?,
            Selection::Family(family) => self.all_rows(*family),
        };
        let rows = request.shape.apply(rows);
        Ok(match request.deadline {
            Some(deadline) => rows.with_deadline(deadline),
            None => rows,
        })
    }
}

impl History for Store {
    fn rows(&self, request: &RowRequest) -> Result<RowStream<'_>, QueryError> {
        Ok(Box::new(self.request(request)?))
    }

    fn sizes(&self) -> Result<Vec<FamilySize>, StoreError> {
        Ok(cf::ALL
            .iter()
            .map(|name| FamilySize {
                name: (*name).to_string(),
                estimated_keys: self.estimated_keys(name),
                estimated_bytes: self.estimated_bytes(name),
            })
            .collect())
    }
}
