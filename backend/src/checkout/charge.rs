//! Checkout's charge: the gateway call, bounded by the charge timeout, with
//! no transaction open and no pooled connection held, then the record of
//! its answer. It runs in a task of its own, so a request dropped mid-charge
//! (a client gone, the request timeout) still records what the gateway said.
//! Never decides what the shopper is told beyond [`Payment`].

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{sleep, timeout};

use super::outcome::{Payment, Placed, answer, charge_key, stock_changed};
use crate::cache::Cache;
use crate::db::order_mail::PaidConfirmation;
use crate::db::orders::{Order, PENDING_PAYMENT};
use crate::db::payments::{APPROVED, ChargeRecord, DECLINED, FAILED, Settled, Settlement};
use crate::db::{self, Db};
use crate::error::Error;
use crate::metrics::{Metrics, PaymentOutcome};
use crate::payments::{Card, Charge, ChargeOutcome, PaymentGateway};

/// How often a retry looks whether the charge in flight was answered.
const POLL: Duration = Duration::from_millis(50);

/// Which request charges, and with what at hand.
pub(super) enum Attempt {
    /// This request created the order, its charge marked started in the
    /// same statement: it charges, and settles with the confirmation built
    /// from what it wrote.
    Fresh {
        order: Box<Order>,
        confirmation: Box<PaidConfirmation>,
    },
    /// The order existed (a retry): charge only if no charge was ever
    /// marked started (an order from before the mark moved into the
    /// reservation), else wait for that charge's answer.
    Retry { order_id: i64 },
}

/// The payment gateway as checkout calls it: bounded by the charge
/// timeout (`limit`), each answer counted in the metrics.
pub(super) struct Gateway {
    pub(super) service: Arc<dyn PaymentGateway>,
    pub(super) limit: Duration,
    pub(super) metrics: Metrics,
}

impl Gateway {
    async fn charge(&self, charge: &Charge) -> ChargeOutcome {
        let outcome = match timeout(self.limit, self.service.charge(charge)).await {
            Ok(outcome) => outcome,
            Err(_) => ChargeOutcome::Unknown {
                reason: format!("no answer within {} ms", self.limit.as_millis()),
            },
        };
        self.metrics.payment(match &outcome {
            ChargeOutcome::Approved { .. } => PaymentOutcome::Approved,
            ChargeOutcome::Declined { .. } => PaymentOutcome::Declined,
            ChargeOutcome::Failed { .. } => PaymentOutcome::Failed,
            ChargeOutcome::Unknown { .. } => PaymentOutcome::Unknown,
        });
        outcome
    }
}

/// Pays for an order awaiting payment: charges and records the answer —
/// or, when another attempt's charge is in flight, waits for that one. All
/// in a task of its own, so once the charge is marked started a dropped
/// request cannot leave it unsent or unrecorded.
pub(super) async fn pay(
    db: Db,
    cache: Cache,
    gateway: Gateway,
    attempt: Attempt,
    cart_id: i64,
    card: Card,
) -> Result<Placed, Error> {
    let limit = gateway.limit;
    let task = tokio::spawn(async move {
        let (order, confirmation) = match attempt {
            Attempt::Fresh {
                order,
                confirmation,
            } => (*order, Some(*confirmation)),
            Attempt::Retry { order_id } => {
                let started = {
                    let mut conn = db.primary().await?;
                    db::payments::start_charge(&mut conn, order_id).await?
                };
                let Some(order) = started else {
                    // Another attempt's charge is in flight (or its answer was lost).
                    return await_settlement(&db, order_id, limit).await;
                };
                (order, None)
            }
        };
        let charge = Charge {
            idempotency_key: charge_key(&order),
            amount_cents: order.total_cents,
            currency: order.currency.clone(),
            card,
        };
        let outcome = gateway.charge(&charge).await;
        let answer = Answer {
            provider: gateway.service.name(),
            card: &charge.card,
            confirmation: confirmation.as_ref(),
        };
        record(&db, &cache, answer, order, cart_id, outcome).await
    });
    task.await
        .map_err(|error| Error::Internal(anyhow::anyhow!("the charge task failed: {error}")))?
}

/// What the gateway was asked with, and what settling it needs.
struct Answer<'a> {
    provider: &'a str,
    card: &'a Card,
    /// The confirmation to queue if approved (checkout's own order).
    confirmation: Option<&'a PaidConfirmation>,
}

/// Records the gateway's answer (nothing, when it gave none).
async fn record(
    db: &Db,
    cache: &Cache,
    answer_with: Answer<'_>,
    order: Order,
    cart_id: i64,
    outcome: ChargeOutcome,
) -> Result<Placed, Error> {
    let last4 = answer_with.card.last4();
    let charge = |status, reference, message| ChargeRecord {
        provider: answer_with.provider,
        status,
        reference,
        message,
        card_last4: Some(last4.as_str()),
    };
    let (settlement, payment) = match &outcome {
        ChargeOutcome::Unknown { reason } => {
            tracing::warn!(order = %order.number, %reason, "charge outcome unknown; the order awaits payment until the gateway is asked");
            return Ok(Placed {
                order,
                payment: Payment::Pending,
            });
        }
        ChargeOutcome::Approved { reference } => (
            Settlement::Paid(charge(APPROVED, Some(reference.as_str()), None)),
            Payment::Settled,
        ),
        ChargeOutcome::Declined { reason } => (
            Settlement::Declined {
                charge: charge(DECLINED, None, Some(reason.as_str())),
                cart_id,
            },
            Payment::Declined {
                reason: reason.clone(),
            },
        ),
        ChargeOutcome::Failed { reason } => (
            Settlement::Declined {
                charge: charge(FAILED, None, Some(reason.as_str())),
                cart_id,
            },
            Payment::Failed {
                reason: reason.clone(),
            },
        ),
    };
    let settled = {
        let mut conn = db.primary().await?;
        match (&settlement, answer_with.confirmation) {
            (Settlement::Paid(charge), Some(confirmation)) => {
                db::payments::settle_paid(&mut conn, order.id, charge, confirmation).await?
            }
            _ => db::payments::settle(&mut conn, order.id, &settlement).await?,
        }
    };
    match settled {
        Settled::Done(order, restocked) => {
            if !restocked.is_empty() {
                stock_changed(cache, &restocked).await;
            }
            crate::events::order_changed(cache, &order).await;
            Ok(Placed { order, payment })
        }
        Settled::Unchanged(order) => {
            if matches!(outcome, ChargeOutcome::Approved { .. }) {
                // Only the sweeper settles an order with a charge in flight,
                // and only after asking the gateway: an approval after that
                // is money taken for an order no longer awaiting it.
                tracing::error!(order = %order.number, status = %order.status, "a charge was approved for an order no longer awaiting payment: refund it");
            }
            answer(db, order).await
        }
    }
}

/// Waits (until the charge timeout `limit` since the charge started,
/// holding no connection between looks) for the charge another attempt has
/// in flight to be answered, then reports the order as it stands.
async fn await_settlement(db: &Db, order_id: i64, limit: Duration) -> Result<Placed, Error> {
    let wait = chrono::Duration::from_std(limit + POLL).unwrap_or(chrono::Duration::MAX);
    loop {
        let order = {
            let mut conn = db.primary().await?;
            db::orders::find(&mut conn, order_id)
                .await?
                .ok_or(Error::NotFound("order"))?
        };
        // The charge is answered, or (started longer ago than the charge
        // timeout) its answer was lost: the sweeper will ask the gateway.
        let answered_by = order
            .charge_started_at
            .and_then(|started| started.checked_add_signed(wait));
        let overdue = answered_by.is_none_or(|by| chrono::Utc::now() >= by);
        if order.status != PENDING_PAYMENT || overdue {
            return answer(db, order).await;
        }
        sleep(POLL).await;
    }
}
