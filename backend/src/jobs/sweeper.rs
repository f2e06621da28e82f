//! The payment sweeper: no copy of stock is held forever. Every
//! `PAYMENT_SWEEP_INTERVAL_SECS` (a round started by [`super::periodic`],
//! on one instance fleet-wide), orders awaiting payment for longer than
//! `PAYMENT_SWEEP_AGE_SECS` (a crash or a kill between reserving and
//! charging, a gateway that timed out) are resolved by asking the gateway
//! about their charge ([`crate::checkout::charge_key`]): charged → PAID;
//! no such charge, or declined → CANCELLED with the stock returned; gateway
//! unreachable → left for the next round.
//!
//! Safe with several backends: each round claims its orders with `FOR
//! UPDATE SKIP LOCKED` and a lease ([`db::payments::claim_stale`]), and the
//! settlement re-checks the order under its row lock. Never asks the
//! gateway while holding a transaction or a pooled connection; never
//! settles an order whose charge may still be in flight (the age is never
//! shorter than the charge timeout).

use std::time::Duration;

use crate::cache::Cache;
use crate::checkout::{charge_key, stock_changed};
use crate::db::payments::{APPROVED, ChargeRecord, DECLINED, Settled, Settlement};
use crate::db::{self, Db};
use crate::error::Error;
use crate::payments::{Lookup, PaymentGateway};

/// Orders claimed per batch.
const BATCH: i64 = 100;
/// How long a claim keeps other sweepers off an order (a sweeper that died
/// mid-round loses its claims after this).
const LEASE_SECS: i32 = 120;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Found charged at the gateway: now PAID.
    pub paid: usize,
    /// No charge at the gateway: CANCELLED, stock returned.
    pub cancelled: usize,
    /// The gateway could not be asked, or the order changed meanwhile:
    /// left for the next round.
    pub unresolved: usize,
}

/// One round: resolves the orders awaiting payment for longer than `age`.
pub async fn sweep_once(
    db: &Db,
    cache: &Cache,
    gateway: &dyn PaymentGateway,
    age: Duration,
) -> Result<Swept, Error> {
    let older_than = chrono::Utc::now()
        - chrono::Duration::from_std(age).map_err(|error| Error::Internal(error.into()))?;
    let mut swept = Swept::default();
    loop {
        let claimed = {
            let mut conn = db.primary().await?;
            db::payments::claim_stale(&mut conn, older_than, LEASE_SECS, BATCH).await?
        };
        if claimed.is_empty() {
            return Ok(swept);
        }
        let unresolved_before = swept.unresolved;
        for order in claimed {
            let lookup = gateway.lookup(&charge_key(&order)).await;
            let (settlement, paid) = match &lookup {
                Lookup::Approved { reference } => (
                    Settlement::Paid(record(gateway.name(), APPROVED, Some(reference), None)),
                    true,
                ),
                Lookup::Declined { reason } => (
                    Settlement::Released {
                        charge: Some(record(gateway.name(), DECLINED, None, Some(reason))),
                        charge_started_at: order.charge_started_at,
                    },
                    false,
                ),
                Lookup::NotFound => (
                    Settlement::Released {
                        charge: None,
                        charge_started_at: order.charge_started_at,
                    },
                    false,
                ),
                Lookup::Unreachable { reason } => {
                    tracing::warn!(order = %order.number, %reason, "payment gateway unreachable; the order stays awaiting payment");
                    let mut conn = db.primary().await?;
                    db::payments::release_claim(&mut conn, order.id).await?;
                    swept.unresolved += 1;
                    continue;
                }
            };
            let settled = {
                let mut conn = db.primary().await?;
                db::payments::settle(&mut conn, order.id, &settlement).await?
            };
            match settled {
                Settled::Done(order, restocked) => {
                    tracing::info!(order = %order.number, status = %order.status, "payment sweeper settled an order");
                    if !restocked.is_empty() {
                        stock_changed(cache, &restocked).await;
                    }
                    crate::events::order_changed(cache, &order).await;
                    if paid {
                        swept.paid += 1;
                    } else {
                        swept.cancelled += 1;
                    }
                }
                Settled::Unchanged(order) => {
                    let mut conn = db.primary().await?;
                    db::payments::release_claim(&mut conn, order.id).await?;
                    swept.unresolved += 1;
                }
            }
        }
        if swept.unresolved > unresolved_before {
            // Gateway trouble: the released orders wait for the next round.
            return Ok(swept);
        }
    }
}

fn record<'a>(
    provider: &'a str,
    status: &'static str,
    reference: Option<&'a str>,
    message: Option<&'a str>,
) -> ChargeRecord<'a> {
    ChargeRecord {
        provider,
        status,
        reference,
        message,
        card_last4: None,
    }
}
