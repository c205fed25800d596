//! What the simulator received and reported, kept for a test or the soak to check afterwards
//! (off unless a [`SimRecord`] is put in [`SimConfig::record`](super::SimConfig)).
//!
//! One record can be handed to successive simulator runs (restarts on the same state
//! directory), so it covers a whole soak: every iLink 3 business message received (session,
//! UUID, SeqNum, template, and the ClOrdID of a NewOrderSingle) and the ExecID of every
//! execution report the engine produced (which Drop Copy must carry too).

use std::sync::{Arc, Mutex, MutexGuard};

/// One business message received from an iLink 3 client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub session: String,
    pub uuid: u64,
    pub seq: u32,
    pub template_id: u16,
    /// NewOrderSingle only.
    pub cl_ord_id: Option<String>,
}

/// One execution report produced by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    pub session: String,
    pub exec_id: u64,
    /// iLink 3 template of the report (535/536 cancel/replace rejects carry an ExecID on iLink 3
    /// but become Drop Copy 35=9, which has none; 562 is not copied).
    pub template_id: u16,
}

/// The recorded messages.
#[derive(Debug, Default, Clone)]
pub struct RecordData {
    pub received: Vec<Received>,
    pub reported: Vec<Reported>,
}

/// A shared, append-only record (cheap to clone: every clone is the same record).
#[derive(Debug, Clone, Default)]
pub struct SimRecord(Arc<Mutex<RecordData>>);

impl SimRecord {
    pub fn new() -> Self {
        Self::default()
    }

    /// The data so far (a poisoned lock still yields it: the data is append-only).
    pub fn lock(&self) -> MutexGuard<'_, RecordData> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the data so far.
    pub fn snapshot(&self) -> RecordData {
        self.lock().clone()
    }
}

impl PartialEq for SimRecord {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SimRecord {}
