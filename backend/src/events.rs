//! Domain events that subscriptions follow and no cache entry carries: an
//! order's new status. Published on the events channel ([`Cache::publish_event`])
//! by whoever committed the change (checkout, the payment sweeper, the
//! order workflow), after the commit, and read back by every instance's
//! subscription resolvers. Book changes need no event of their own: every
//! book write already names the book on the invalidation channel.
//!
//! Owns the events' text form; never decides who may see an event (the
//! subscription resolvers do, as the queries do).

use crate::cache::Cache;
use crate::db::orders::Order;

/// An event as it travels (`order <id> <STATUS>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The order now has `status` (PAID: just paid, it was awaiting payment).
    OrderChanged { order_id: i64, status: String },
}

impl Event {
    pub fn encode(&self) -> String {
        match self {
            Event::OrderChanged { order_id, status } => format!("order {order_id} {status}"),
        }
    }

    /// `None` for text this version does not know (a newer instance's).
    pub fn decode(text: &str) -> Option<Self> {
        let mut words = text.split_whitespace();
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("order"), Some(id), Some(status), None) => Some(Event::OrderChanged {
                order_id: id.parse().ok()?,
                status: status.to_owned(),
            }),
            _ => None,
        }
    }
}

/// Tells every instance that `order` changed status (call after commit).
pub async fn order_changed(cache: &Cache, order: &Order) {
    let event = Event::OrderChanged {
        order_id: order.id,
        status: order.status.clone(),
    };
    cache.publish_event(&event.encode()).await;
}

#[cfg(test)]
mod tests {
    use super::Event;

    #[test]
    fn an_event_reads_back_as_written() {
        let event = Event::OrderChanged {
            order_id: 42,
            status: "PAID".to_owned(),
        };
        assert_eq!(Event::decode(&event.encode()), Some(event));
        assert_eq!(Event::decode("order x PAID"), None);
        assert_eq!(Event::decode("book 1"), None);
    }
}
